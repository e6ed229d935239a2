// The left side panel "Tickets": the broker's named objects, live.
import { Clipboard, Dialog, showDialog } from "@jupyterlab/apputils";
import { Widget } from "@lumino/widgets";
import type { Api } from "./api";
import type { ChangeFeed, FeedState } from "./feed";
import { provenance, summary } from "./format";
import { ticketIcon } from "./icon";
import { diffObjects } from "./listdiff";
import { isTable, title, type Obj } from "./objects";
import { fetchCode, PUBLISH_HINT } from "./snippets";

export interface PanelOptions {
  api: Api;
  feed: ChangeFeed;
  open(obj: Obj): void;
  /** ms between list refreshes when events come in bursts */
  debounceMs?: number;
}

function el<K extends keyof HTMLElementTagNameMap>(tag: K, className: string, text = ""): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  e.className = className;
  if (text) e.textContent = text;
  return e;
}

export class TicketsPanel extends Widget {
  private list = el("ul", "tb-lab-list");
  private empty = el("div", "tb-lab-empty");
  private error = el("div", "tb-lab-error");
  private feedNote = el("div", "tb-lab-feed");
  private objects = new Map<string, Obj>();
  private rows = new Map<string, HTMLLIElement>();
  private canRelease = false;
  private loaded = false;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private ticker: ReturnType<typeof setInterval> | undefined;
  private inFlight = false;
  private pending = false;
  private unsubscribe: (() => void) | null = null;

  constructor(private opts: PanelOptions) {
    super();
    this.id = "ticketbooth-panel";
    this.addClass("tb-lab-panel");
    this.title.icon = ticketIcon;
    this.title.caption = "Tickets: tables and figures published to the ticketbooth broker";
    const head = el("div", "tb-lab-head");
    head.append(el("span", "tb-lab-title", "Tickets"));
    const reload = el("button", "tb-lab-btn", "Refresh");
    reload.title = "Ask the server for the list again";
    reload.addEventListener("click", () => this.refresh());
    head.append(reload);
    this.empty.append(
      el("p", "", "Nothing is published yet. In a notebook:"),
      el("pre", "tb-lab-code", PUBLISH_HINT),
      el("p", "", "Published tables and figures show up here; open one to view it without a kernel."),
    );
    this.empty.hidden = true;
    this.error.hidden = true;
    this.error.setAttribute("role", "alert");
    this.node.append(head, this.feedNote, this.error, this.empty, this.list);
  }

  protected onAfterAttach(): void {
    if (!this.unsubscribe) {
      this.unsubscribe = this.opts.feed.subscribe({
        change: () => this.schedule(),
        state: (state, message) => this.showFeed(state, message),
      });
    }
    this.ticker ??= setInterval(() => this.tick(), 15_000);
    void this.loadStatus();
    this.refresh();
  }

  protected onBeforeDetach(): void {
    this.unsubscribe?.();
    this.unsubscribe = null;
    clearInterval(this.ticker);
    this.ticker = undefined;
  }

  private showFeed(state: FeedState, message: string): void {
    this.feedNote.textContent = state === "error" ? message : "";
    this.feedNote.hidden = state !== "error";
    if (state === "open") this.schedule(); // (re)connected: the list may have changed meanwhile
  }

  private async loadStatus(): Promise<void> {
    try {
      const status = await this.opts.api.status();
      if (status.can_release !== this.canRelease) {
        this.canRelease = status.can_release;
        for (const [ticket, row] of this.rows) this.fillRow(row, this.objects.get(ticket)!);
      }
    } catch (err) {
      this.showError(err, "Cannot ask the server's status");
    }
  }

  private schedule(): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.refresh(), this.opts.debounceMs ?? 150);
  }

  /** Ask for the list now (one request at a time; a call meanwhile asks again after it). */
  refresh(): void {
    if (this.inFlight) {
      this.pending = true;
      return;
    }
    this.inFlight = true;
    this.opts.api
      .objects()
      .then((objects) => {
        this.showError(null);
        this.apply(objects);
      })
      .catch((err) => this.showError(err))
      .finally(() => {
        this.inFlight = false;
        if (this.pending && !this.isDisposed) {
          this.pending = false;
          this.refresh();
        }
      });
  }

  private showError(err: unknown, what = "Cannot list the tickets"): void {
    this.error.hidden = err == null;
    this.error.textContent = err == null ? "" : `${what}: ${err instanceof Error ? err.message : String(err)}`;
  }

  private apply(objects: Obj[]): void {
    const diff = diffObjects([...this.objects.values()], objects);
    this.objects = new Map(objects.map((o) => [o.ticket, o]));
    for (const ticket of diff.removed) {
      this.rows.get(ticket)?.remove();
      this.rows.delete(ticket);
    }
    for (const ticket of [...diff.added, ...diff.changed]) {
      let row = this.rows.get(ticket);
      if (!row) {
        row = el("li", "tb-lab-item");
        this.rows.set(ticket, row);
      }
      this.fillRow(row, this.objects.get(ticket)!);
    }
    diff.order.forEach((ticket, i) => {
      const row = this.rows.get(ticket)!;
      if (this.list.children[i] !== row) this.list.insertBefore(row, this.list.children[i] ?? null);
    });
    this.loaded = true;
    this.empty.hidden = !this.loaded || objects.length > 0;
  }

  private fillRow(row: HTMLLIElement, obj: Obj): void {
    row.dataset.ticket = obj.ticket;
    row.dataset.version = String(obj.version);
    row.title = `${obj.ticket}\n${obj.type}\npublished by ${obj.publisher}`;
    const name = el("button", "tb-lab-name", title(obj));
    name.title = `Open ${title(obj)}`;
    name.addEventListener("click", () => this.opts.open(obj));
    const kind = el("span", "tb-lab-kind", isTable(obj) ? "table" : "figure");
    const top = el("div", "tb-lab-top");
    top.append(name, kind);
    const size = el("div", "tb-lab-summary", summary(obj));
    const prov = el("div", "tb-lab-prov", provenance(obj, Date.now()));
    const actions = el("div", "tb-lab-actions");
    const open = el("button", "tb-lab-btn tb-lab-open", "Open");
    open.addEventListener("click", () => this.opts.open(obj));
    const copy = el("button", "tb-lab-btn tb-lab-copy", "Copy code to fetch");
    copy.title = fetchCode(obj);
    copy.addEventListener("click", () => {
      Clipboard.copyToSystem(fetchCode(obj));
      copy.style.minWidth = `${copy.offsetWidth}px`; // the row keeps its layout meanwhile
      copy.textContent = "Copied";
      setTimeout(() => {
        copy.textContent = "Copy code to fetch";
        copy.style.minWidth = "";
      }, 1500);
    });
    actions.append(open, copy);
    if (this.canRelease) {
      const release = el("button", "tb-lab-btn tb-lab-release", "Release");
      release.title = "Unpublish it: kernels that fetched it keep their copy";
      release.addEventListener("click", () => void this.release(obj));
      actions.append(release);
    }
    row.replaceChildren(top, size, prov, actions);
  }

  private async release(obj: Obj): Promise<void> {
    const answer = await showDialog({
      title: `Release ${title(obj)}?`,
      body: "It is unpublished for every notebook; kernels that fetched it keep their copy.",
      buttons: [Dialog.cancelButton(), Dialog.warnButton({ label: "Release" })],
    });
    if (!answer.button.accept) return;
    try {
      await this.opts.api.release(obj.ticket);
      this.refresh();
    } catch (err) {
      this.showError(err, `Cannot release ${title(obj)}`);
    }
  }

  /** Ages move on. */
  private tick(): void {
    const now = Date.now();
    for (const [ticket, row] of this.rows) {
      const obj = this.objects.get(ticket);
      const prov = row.querySelector(".tb-lab-prov");
      if (obj && prov) prov.textContent = provenance(obj, now);
    }
  }

  dispose(): void {
    if (this.isDisposed) return;
    this.onBeforeDetach();
    clearTimeout(this.timer);
    super.dispose();
  }
}
