// An object as the server lists it (`GET objects`, docs/server.md), and the status.

export interface Obj {
  ticket: string;
  /** The scope name, or "" for a shared ticket. */
  name: string;
  /** "Table", or the figure's type (e.g. "matplotlib.figure.Figure"). */
  type: string;
  num_rows: number;
  num_columns: number;
  nbytes: number;
  publisher: string;
  /** Seconds since the epoch. */
  published_at: number;
  version: number;
}

export interface Status {
  version: string;
  broker: { url: string; tcp_url: string | null; in_process: boolean };
  can_release: boolean;
}

/** A change on the server's event stream (`GET events`). */
export interface ChangeEvent {
  kind: "published" | "updated" | "released";
  ticket: string;
  name: string;
  type: string;
  version: number;
  reason: string;
}

export function isTable(obj: Pick<Obj, "type">): boolean {
  return obj.type === "Table";
}

/** What the list shows as the object's title: its scope name or its ticket. */
export function title(obj: Pick<Obj, "name" | "ticket">): string {
  return obj.name || obj.ticket;
}
