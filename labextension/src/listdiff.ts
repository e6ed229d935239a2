// Which rows of the list to add, update or remove when a new object list arrives.
import { title, type Obj } from "./objects";

export interface ListDiff {
  /** Tickets in display order. */
  order: string[];
  added: string[];
  removed: string[];
  /** In both lists, with anything shown changed. */
  changed: string[];
}

/** Display order: by title (scope name, else ticket), then by ticket. */
export function sortObjects(objects: readonly Obj[]): Obj[] {
  return [...objects].sort((a, b) => title(a).localeCompare(title(b)) || a.ticket.localeCompare(b.ticket));
}

const SHOWN: (keyof Obj)[] = [
  "name", "type", "num_rows", "num_columns", "nbytes", "publisher", "published_at", "version",
];

export function sameShown(a: Obj, b: Obj): boolean {
  return SHOWN.every((k) => a[k] === b[k]);
}

export function diffObjects(prev: readonly Obj[], next: readonly Obj[]): ListDiff {
  const before = new Map(prev.map((o) => [o.ticket, o]));
  const after = new Map(next.map((o) => [o.ticket, o]));
  const added: string[] = [];
  const changed: string[] = [];
  for (const [ticket, obj] of after) {
    const old = before.get(ticket);
    if (!old) added.push(ticket);
    else if (!sameShown(old, obj)) changed.push(ticket);
  }
  const removed = [...before.keys()].filter((t) => !after.has(t));
  return { order: sortObjects([...after.values()]).map((o) => o.ticket), added, removed, changed };
}
