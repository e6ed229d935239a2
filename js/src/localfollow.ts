// While the kernel cannot answer, the view follows its ticket through the server's
// events instead and updates the model locally (model.set, never save_changes): a
// republish changes num_rows / columns / publisher_version and bumps `version`, so the
// view loads the new rows over HTTP; a re-sort bumps `version` so they come sorted.
import { objectInfo, type HttpOptions, type ObjectInfo } from "./http";
import { listen, type WidgetModel } from "./model";
import { events, type EventSourceFactory, type ServerEvent } from "./serverevents";

const RELEASED: Record<string, string> = {
  closed: "its session was closed; the view updates if the ticket is published again",
  expired: "it stopped answering (killed or disconnected); the view updates if the ticket is published again",
};

export interface LocalFollowOptions extends HttpOptions {
  eventSource?: EventSourceFactory;
}

export class LocalFollower {
  private stopEvents: (() => void) | null = null;
  private unsubSort: (() => void) | null = null;
  private refreshing: Promise<void> | null = null;
  private again = false;
  private applying = false;

  constructor(
    private model: WidgetModel,
    private baseUrl: string,
    private ticket: string,
    private opts: LocalFollowOptions = {},
  ) {}

  get active(): boolean {
    return this.stopEvents !== null;
  }

  start(): void {
    if (this.stopEvents) return;
    this.stopEvents = events(this.baseUrl, (e) => this.onEvent(e), {
      ticket: this.ticket,
      eventSource: this.opts.eventSource,
    });
    let sortKey = JSON.stringify(this.model.get("sort") ?? []);
    this.unsubSort = listen(this.model, "change:sort", () => {
      const key = JSON.stringify(this.model.get("sort") ?? []);
      if (key === sortKey) return;
      sortKey = key;
      if (this.applying) return; // a new table: apply() bumps the version once
      this.bumpVersion(); // nobody else will re-sort: ask the server for the new order
    });
  }

  stop(): void {
    this.stopEvents?.();
    this.stopEvents = null;
    this.unsubSort?.();
    this.unsubSort = null;
  }

  private onEvent(e: ServerEvent): void {
    if (e.kind === "released") {
      const publisherGone = e.reason === "closed" || e.reason === "expired";
      this.model.set("status", publisherGone ? "publisher-gone" : "released");
      this.model.set("status_message", RELEASED[e.reason] ?? e.reason ?? "");
      return;
    }
    const shown = Number(this.model.get("publisher_version") ?? 0);
    if (e.version > shown || this.model.get("status") !== "live") this.refresh();
  }

  /** Load the ticket's current description from the server and show it. */
  refresh(): Promise<void> {
    if (this.refreshing) {
      this.again = true;
      return this.refreshing;
    }
    this.refreshing = objectInfo(this.baseUrl, this.ticket, this.opts)
      .then((info) => {
        if (this.active) this.apply(info);
      })
      .catch(() => undefined)
      .finally(() => {
        this.refreshing = null;
        if (this.again && this.active) {
          this.again = false;
          this.refresh();
        }
      });
    return this.refreshing;
  }

  private apply(info: ObjectInfo): void {
    const m = this.model;
    if (info.version <= Number(m.get("publisher_version") ?? 0) && m.get("status") === "live") return;
    this.applying = true;
    try {
      this.show(info);
    } finally {
      this.applying = false;
    }
    this.bumpVersion();
  }

  private show(info: ObjectInfo): void {
    const m = this.model;
    if (info.mimebundle) {
      m.set("mimebundle", info.mimebundle);
      m.set("kind", "figure");
    } else {
      const columns = (info.columns ?? []).map((c) => ({ name: String(c.name), type: String(c.type) }));
      if (JSON.stringify(columns) !== JSON.stringify(m.get("columns") ?? [])) {
        m.set("columns", columns);
        m.set("sort", []); // the kernel keeps the sort only when the columns stay the same
      }
      m.set("num_rows", Number(info.num_rows));
      m.set("kind", "table");
    }
    m.set("publisher_version", info.version);
    m.set("status", "live");
    m.set("status_message", "");
  }

  private bumpVersion(): void {
    this.model.set("version", Number(this.model.get("version") ?? 0) + 1);
  }
}
