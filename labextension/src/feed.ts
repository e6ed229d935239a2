// One server-sent-events connection per page (browsers allow few connections per host),
// shared by the panel and every open viewer.
import { PageConfig, URLExt } from "@jupyterlab/coreutils";
import { apiPath } from "./api";
import type { ChangeEvent } from "./objects";

export type FeedState = "connecting" | "open" | "error";

export interface FeedListener {
  change?(event: ChangeEvent): void;
  /** Connection state; `message` says what went wrong on "error". */
  state?(state: FeedState, message: string): void;
}

/** The events URL, with the page's token when there is one (EventSource sends no headers). */
export function eventsUrl(baseUrl: string, token: string): string {
  return URLExt.join(baseUrl, apiPath("events", token ? { token } : {}));
}

export class ChangeFeed {
  private source: EventSource | null = null;
  private listeners = new Set<FeedListener>();
  private current: FeedState = "connecting";
  private message = "";

  constructor(private url: () => string = () => eventsUrl(PageConfig.getBaseUrl(), PageConfig.getToken())) {}

  get state(): FeedState {
    return this.current;
  }

  /** Follow the changes; the connection opens with the first listener and closes with the last. */
  subscribe(listener: FeedListener): () => void {
    this.listeners.add(listener);
    listener.state?.(this.current, this.message);
    if (!this.source) this.open();
    return () => {
      this.listeners.delete(listener);
      if (this.listeners.size === 0) this.close();
    };
  }

  private setState(state: FeedState, message = ""): void {
    if (state === this.current && message === this.message) return;
    this.current = state;
    this.message = message;
    this.listeners.forEach((l) => l.state?.(state, message));
  }

  private open(): void {
    this.setState("connecting");
    const source = new EventSource(this.url(), { withCredentials: true });
    this.source = source;
    source.addEventListener("open", () => this.setState("open"));
    source.addEventListener("error", () => {
      // EventSource retries by itself unless the server refused (then readyState is CLOSED)
      const closed = source.readyState === EventSource.CLOSED;
      this.setState("error", closed ? "the server closed the change feed" : "lost the server's change feed; reconnecting…");
      if (closed) {
        this.source = null;
        setTimeout(() => this.listeners.size && !this.source && this.open(), 5000);
      }
    });
    source.addEventListener("change", (ev) => {
      let data: any;
      try {
        data = JSON.parse(String((ev as MessageEvent).data));
      } catch {
        return;
      }
      if (data?.kind === "error") {
        this.setState("error", String(data.error ?? "the broker did not answer"));
        return;
      }
      if (typeof data?.ticket !== "string") return;
      if (this.current !== "open") this.setState("open");
      this.listeners.forEach((l) => l.change?.(data as ChangeEvent));
    });
  }

  private close(): void {
    this.source?.close();
    this.source = null;
    this.current = "connecting";
    this.message = "";
  }
}
