// The server's change feed (`GET {baseUrl}ticketbooth/api/events`, server-sent events):
// one `change` event per publish / republish / release; the current objects come first.
import { apiUrl } from "./http";

export interface ServerEvent {
  kind: "published" | "updated" | "released";
  ticket: string;
  name: string;
  type: string;
  version: number;
  reason: string;
}

/** The part of the EventSource API used here (tests pass a fake). */
export interface EventSourceLike {
  addEventListener(type: string, listener: (ev: any) => void): void;
  close(): void;
}

export type EventSourceFactory = (url: string) => EventSourceLike;

export interface EventsOptions {
  /** Only this ticket's events (the server filters; they are filtered here as well). */
  ticket?: string;
  /** Connection errors (EventSource reconnects by itself while the server answers). */
  onError?: (ev: unknown) => void;
  /** Defaults to `new EventSource(url, {withCredentials: true})`. */
  eventSource?: EventSourceFactory;
}

function defaultFactory(url: string): EventSourceLike {
  const ES = (globalThis as any).EventSource;
  if (typeof ES !== "function") throw new Error("no EventSource in this environment");
  return new ES(url, { withCredentials: true });
}

/** Follow the server's changes; returns the function that stops following. */
export function events(
  baseUrl: string,
  onEvent: (event: ServerEvent) => void,
  opts: EventsOptions = {},
): () => void {
  const url = apiUrl(baseUrl, "events", { ticket: opts.ticket || null });
  const source = (opts.eventSource ?? defaultFactory)(url);
  let open = true;
  source.addEventListener("change", (ev: { data?: unknown }) => {
    if (!open) return;
    let event: ServerEvent;
    try {
      event = JSON.parse(String(ev.data));
    } catch {
      return;
    }
    if (!event || typeof event !== "object" || typeof event.ticket !== "string") return;
    if (opts.ticket && event.ticket !== opts.ticket && event.name !== opts.ticket) return;
    onEvent(event);
  });
  source.addEventListener("error", (ev: unknown) => {
    if (open) opts.onError?.(ev);
  });
  return () => {
    open = false;
    source.close();
  };
}
