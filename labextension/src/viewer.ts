// A main-area view of one object, without a kernel: the widget's views (../js/src) over a
// LocalModel fed from the server's HTTP API, kept current by the change feed.
import type { Message } from "@lumino/messaging";
import { Widget } from "@lumino/widgets";
import { HttpDataSource, HttpError, objectInfo, type ObjectInfo } from "../../js/src/http";
import { endStatus } from "../../js/src/chrome";
import { mount, type Mounted } from "../../js/src/index";
import { rendererLoader } from "../../js/src/renderers";
import { normalizeSort } from "../../js/src/sort";
import type { Api } from "./api";
import type { ChangeFeed } from "./feed";
import { ticketIcon } from "./icon";
import { importModuleSource } from "./importer";
import { LocalModel } from "./localmodel";
import { isTable, title, type ChangeEvent, type Obj } from "./objects";

export function viewerId(ticket: string): string {
  return `ticketbooth-view-${ticket.replace(/[^A-Za-z0-9_-]/g, (c) => `_${c.charCodeAt(0).toString(16)}`)}`;
}

export class ObjectViewer extends Widget {
  readonly model: LocalModel;
  readonly source: HttpDataSource;
  private mounted: Mounted;
  private unsubscribe: () => void;
  /** The publisher's version shown; windows ask for it (409 when it moved on). */
  private publisherVersion: number | null = null;
  /** The view's own data version: moves on a republish and on a new sort. */
  private viewVersion = 1;
  private refreshing: Promise<void> | null = null;
  private again = false;

  constructor(private api: Api, feed: ChangeFeed, readonly obj: Obj) {
    super();
    this.id = viewerId(obj.ticket);
    this.addClass("tb-lab-viewer");
    this.title.label = title(obj);
    this.title.caption = `${title(obj)} (${obj.type})`;
    this.title.icon = ticketIcon;
    this.title.closable = true;
    this.model = new LocalModel({
      kind: "empty",
      label: title(obj),
      status: "loading",
      status_message: "",
      num_rows: 0,
      columns: [],
      sort: [],
      mimebundle: null,
      version: this.viewVersion,
      publisher_version: 0,
      height: 0,
    });
    // a new sort: new data version, so the table view reloads its windows in that order
    this.model.onSave = () => this.model.set("version", ++this.viewVersion);
    this.source = new HttpDataSource(
      api.settings.baseUrl,
      () => ({ ticket: obj.ticket, sort: normalizeSort(this.model.get("sort")), version: this.publisherVersion }),
      { fetch: api.fetch, onStale: () => void this.refresh() },
    );
    this.mounted = mount(this.model, this.node, {
      source: this.source,
      loadRenderer: rendererLoader(this.source, importModuleSource),
    });
    this.unsubscribe = feed.subscribe({ change: (e) => this.onChange(e) });
    void this.refresh();
  }

  private onChange(e: ChangeEvent): void {
    if (e.ticket !== this.obj.ticket) return;
    if (e.kind === "released") {
      this.model.update(endStatus(e.reason || ""));
    } else if (e.version !== this.publisherVersion || this.model.get("status") !== "live") {
      void this.refresh();
    }
  }

  /** Fetch the object's description and show it (one request at a time; coalesced). */
  refresh(): Promise<void> {
    if (this.refreshing) {
      this.again = true;
      return this.refreshing;
    }
    this.refreshing = this.load().finally(() => {
      this.refreshing = null;
      if (this.again && !this.isDisposed) {
        this.again = false;
        void this.refresh();
      }
    });
    return this.refreshing;
  }

  private async load(): Promise<void> {
    let info: ObjectInfo;
    try {
      info = await objectInfo(this.api.settings.baseUrl, this.obj.ticket, { fetch: this.api.fetch });
    } catch (err) {
      if (this.isDisposed) return;
      const gone = err instanceof HttpError && err.status === 404;
      this.model.update({
        status: gone ? "released" : "error",
        status_message: err instanceof Error ? err.message : String(err),
      });
      return;
    }
    if (this.isDisposed) return;
    const changed = info.version !== this.publisherVersion;
    this.publisherVersion = info.version;
    if (changed) this.viewVersion += 1;
    const common = { publisher_version: info.version, version: this.viewVersion, status: "live", status_message: "" };
    if (isTable(info)) {
      this.model.update({ ...common, kind: "table", num_rows: info.num_rows, columns: info.columns ?? [] });
    } else {
      this.model.update({ ...common, kind: "figure", mimebundle: info.mimebundle ?? {} });
    }
  }

  /** Closing the tab ends the view (Lumino only detaches a closed widget): Open makes a new
   * one, and the closed one stops following the feed. */
  protected onCloseRequest(msg: Message): void {
    super.onCloseRequest(msg);
    this.dispose();
  }

  dispose(): void {
    if (this.isDisposed) return;
    this.unsubscribe();
    this.mounted.destroy();
    super.dispose();
  }
}
