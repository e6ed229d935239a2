// The widget's data source: the kernel over the comm, and, when the page's Jupyter server
// runs the ticketbooth extension on the kernel's broker and the ticket can be named (not a
// kernel-private export ticket), the server over HTTP: first while the view is unsorted,
// else when the kernel is busy or gone (see fallback.ts). While the kernel is failed, the
// view follows the ticket through the server's events (localfollow.ts).
import { CommDataSource, type DataSource } from "./datasource";
import { invoke } from "./protocol";
import { FallbackDataSource } from "./fallback";
import { HttpDataSource, jupyterBaseUrl, jupyterToken, objectInfo, probeServer, type FetchLike } from "./http";
import { LocalFollower } from "./localfollow";
import { listen, type SortKey, type WidgetModel } from "./model";
import type { EventSourceFactory } from "./serverevents";
import { normalizeSort } from "./sort";

export interface WidgetSourceOptions {
  /** false: the comm only. */
  http?: boolean;
  /** Defaults to the page's Jupyter base URL. */
  baseUrl?: string;
  /** Kernel silence (ms) before HTTP is asked too. */
  graceMs?: number;
  /** false: the kernel first for every window (by default the server is asked first while
   * the view is unsorted: the server sorts on its own, the kernel already has its order). */
  httpFirst?: boolean;
  /** How long after the last window the server answered the kernel is told the rows in view
   * (it pushes them again with the next version), ms. */
  viewportDelayMs?: number;
  /** How long the kernel may take to acknowledge them before it is taken as failed, ms. */
  viewportTimeoutMs?: number;
  /** How often (ms) a failed kernel is tried again. */
  retryMs?: number;
  fetch?: FetchLike;
  eventSource?: EventSourceFactory;
}

export interface WidgetSource {
  source: DataSource;
  /** The follower while HTTP is usable (tests, diagnostics). */
  follower(): LocalFollower | null;
  dispose(): void;
}

export function widgetSource(model: WidgetModel, opts: WidgetSourceOptions = {}): WidgetSource {
  const comm = new CommDataSource(model);
  const ticket = String(model.get("ticket") ?? "");
  if (opts.http === false || !ticket) return { source: comm, follower: () => null, dispose() {} };

  const baseUrl = opts.baseUrl ?? jupyterBaseUrl();
  const http = { fetch: opts.fetch, token: jupyterToken() };
  let disposed = false;
  let follower: LocalFollower | null = null;
  // the sort the rows of the current `version` are in: a click changes `sort` at once, but
  // the kernel's rows (and so the HTTP ones) change only with the next version
  let appliedSort: SortKey[] = normalizeSort(model.get("sort"));
  const unsub = listen(model, "change:version", () => (appliedSort = normalizeSort(model.get("sort"))));
  // the server fetches (maps) a table version on the first request for it: ask for the
  // object's description as soon as the view shows a version, so the first jump does not wait
  let unsubWarm = () => {};
  const warm = () => {
    if (!disposed) objectInfo(baseUrl, ticket, http).catch(() => undefined);
  };

  const ready = probeServer(baseUrl, http).then((status) => {
    // the same name on another broker is another table: the server is asked only when its
    // broker is the one the kernel's view is on
    const broker = String(model.get("broker_id") ?? "");
    if (!status || disposed || !broker || status.broker_id !== broker) return null;
    follower = new LocalFollower(model, baseUrl, ticket, { ...http, eventSource: opts.eventSource });
    if (source.kernelFailed) follower.start();
    warm();
    unsubWarm = listen(model, "change:publisher_version", warm);
    return new HttpDataSource(
      baseUrl,
      () => {
        const v = Number(model.get("publisher_version") ?? 0);
        return { ticket, sort: appliedSort, version: v > 0 ? v : null };
      },
      {
        ...http,
        onStale: () => {
          if (follower?.active) follower.refresh();
        },
      },
    ) as DataSource;
  });
  // the kernel pushes the rows in view with each new version: tell it which rows the server
  // served, once the scrolling stops (a message per window would cost the page a kernel
  // busy/idle pair each). Its answer, or silence, also says whether the kernel is there,
  // which the windows no longer ask it: gone or busy, the view follows the server's events.
  let viewport: ReturnType<typeof setTimeout> | undefined;
  const tellViewport = (rowStart: number, rowEnd: number) => {
    clearTimeout(viewport);
    viewport = setTimeout(() => {
      if (disposed) return;
      const params = { row_start: rowStart, row_end: rowEnd };
      const timeoutMs = opts.viewportTimeoutMs ?? 5_000;
      source.tellKernel(() => invoke(model, "viewport", params, { timeoutMs })).catch(() => undefined);
    }, opts.viewportDelayMs ?? 300);
  };
  const source = new FallbackDataSource(comm, () => ready, {
    graceMs: opts.graceMs,
    retryMs: opts.retryMs,
    preferHttp: () =>
      opts.httpFirst !== false && appliedSort.length === 0 && normalizeSort(model.get("sort")).length === 0,
    onHttpWindow: tellViewport,
    onKernelFailed: (failed) => {
      if (!follower || disposed) return;
      if (failed) follower.start();
      else follower.stop();
    },
  });
  source.prepare(); // a first jump soon after the view shows can go to the server already
  return {
    source,
    follower: () => follower,
    dispose() {
      disposed = true;
      clearTimeout(viewport);
      unsub();
      unsubWarm();
      follower?.stop();
    },
  };
}
