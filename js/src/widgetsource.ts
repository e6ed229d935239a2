// The widget's data source: the kernel over the comm, and, when the page's Jupyter server
// runs the ticketbooth extension and the ticket can be named (not a kernel-private export
// ticket), the server over HTTP when the kernel is busy or gone (see fallback.ts). While the
// kernel is failed, the view follows the ticket through the server's events (localfollow.ts).
import { CommDataSource, type DataSource } from "./datasource";
import { FallbackDataSource } from "./fallback";
import { HttpDataSource, jupyterBaseUrl, jupyterToken, probeServer, type FetchLike } from "./http";
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

  const ready = probeServer(baseUrl, http).then((status) => {
    if (!status || disposed) return null;
    follower = new LocalFollower(model, baseUrl, ticket, { ...http, eventSource: opts.eventSource });
    if (source.kernelFailed) follower.start();
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
  const source = new FallbackDataSource(comm, () => ready, {
    graceMs: opts.graceMs,
    retryMs: opts.retryMs,
    onKernelFailed: (failed) => {
      if (!follower || disposed) return;
      if (failed) follower.start();
      else follower.stop();
    },
  });
  return {
    source,
    follower: () => follower,
    dispose() {
      disposed = true;
      unsub();
      follower?.stop();
    },
  };
}
