// The Jupyter server extension's HTTP API (docs/server.md): finding the server,
// table windows and renderer modules over HTTP, one object's description.
// Independent of the widget model so a kernel-less viewer can reuse it.
import type { Table } from "@uwdata/flechette";
import { decodeIPC, StaleResponseError, type DataSource, type RendererName } from "./datasource";
import type { ColumnSpec, SortKey } from "./model";
import { abortError } from "./protocol";

export type FetchLike = (input: string, init?: RequestInit) => Promise<Response>;

export interface HttpOptions {
  /** Defaults to the global fetch. */
  fetch?: FetchLike;
  /** Jupyter's token, sent as `Authorization: token ...` (the login cookie works without). */
  token?: string;
}

/** What the server says at `GET status`. */
export interface ServerStatus {
  version: string;
  broker: { url: string; tcp_url: string | null; in_process: boolean };
  /** Your user on a shared broker with per-user tokens, else "". */
  user?: string;
  can_release: boolean;
  /** The id of the server's broker ("" when it cannot be reached; absent before 0.1). */
  broker_id?: string;
}

/** An object as the server lists it (`GET objects`, docs/server.md). */
export interface ListedObject {
  ticket: string;
  /** The scope name, or "" for a shared ticket. */
  name: string;
  /** "Table", or the figure's type. */
  type: string;
  num_rows: number;
  num_columns: number;
  nbytes: number;
  publisher: string;
  /** Seconds since the epoch. */
  published_at: number;
  version: number;
}

/** An object as `GET object?ticket=` describes it. */
export interface ObjectInfo extends ListedObject {
  columns?: ColumnSpec[];
  mimebundle?: Record<string, unknown>;
}

/** A non-2xx answer; `body` is the parsed JSON error when there was one. */
export class HttpError extends Error {
  constructor(public readonly status: number, message: string, public readonly body: any = null) {
    super(message);
    this.name = "HttpError";
  }
}

/** The page's Jupyter base URL (`baseUrl` in `#jupyter-config-data`), always ending in "/". */
export function jupyterBaseUrl(doc: Document | undefined = globalThis.document): string {
  let base = "/";
  try {
    const text = doc?.getElementById("jupyter-config-data")?.textContent;
    const value = text ? JSON.parse(text)?.baseUrl : undefined;
    if (typeof value === "string" && value) base = value;
  } catch {
    // no or broken config: the server root
  }
  return base.endsWith("/") ? base : `${base}/`;
}

/** Jupyter's token from the page config, if the page has one. */
export function jupyterToken(doc: Document | undefined = globalThis.document): string {
  try {
    const text = doc?.getElementById("jupyter-config-data")?.textContent;
    const token = text ? JSON.parse(text)?.token : undefined;
    return typeof token === "string" ? token : "";
  } catch {
    return "";
  }
}

/** `{baseUrl}ticketbooth/api/{path}?{params}`; params that are undefined/null are left out. */
export function apiUrl(baseUrl: string, path: string, params: Record<string, unknown> = {}): string {
  const base = baseUrl.endsWith("/") ? baseUrl : `${baseUrl}/`;
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined && value !== null) query.append(key, String(value));
  }
  const q = query.toString();
  return `${base}ticketbooth/api/${path}${q ? `?${q}` : ""}`;
}

function fetchFn(opts: HttpOptions): FetchLike {
  if (opts.fetch) return opts.fetch;
  if (typeof globalThis.fetch !== "function") throw new Error("no fetch in this environment");
  return (input, init) => globalThis.fetch(input, init);
}

async function request(url: string, opts: HttpOptions, signal?: AbortSignal): Promise<Response> {
  if (signal?.aborted) throw abortError(signal.reason);
  const headers: Record<string, string> = {};
  if (opts.token) headers.Authorization = `token ${opts.token}`;
  const res = await fetchFn(opts)(url, { credentials: "same-origin", signal, headers });
  if (res.ok) return res;
  let body: any = null;
  try {
    body = await res.json();
  } catch {
    // not JSON
  }
  const why = typeof body?.error === "string" ? body.error : res.statusText || "request failed";
  throw new HttpError(res.status, `HTTP ${res.status}: ${why}`, body);
}

const probes = new Map<string, Promise<ServerStatus | null>>();

/**
 * Whether the ticketbooth server extension answers under `baseUrl`: its status, or null
 * (404, no server, any error). Asked once per page and base URL.
 */
export function probeServer(baseUrl: string, opts: HttpOptions = {}): Promise<ServerStatus | null> {
  let p = probes.get(baseUrl);
  if (!p) {
    p = request(apiUrl(baseUrl, "status"), opts)
      .then((res) => res.json() as Promise<ServerStatus>)
      .then((status) => (status && typeof status === "object" ? status : null))
      .catch(() => null);
    probes.set(baseUrl, p);
  }
  return p;
}

/** For tests: forget the probes. */
export function _resetProbes(): void {
  probes.clear();
}

/** `GET object?ticket=T`: the object's description (columns or mimebundle). */
export async function objectInfo(
  baseUrl: string, ticket: string, opts: HttpOptions = {}, signal?: AbortSignal,
): Promise<ObjectInfo> {
  const res = await request(apiUrl(baseUrl, "object", { ticket }), opts, signal);
  return (await res.json()) as ObjectInfo;
}

/** Which table, in which order, at which publisher version (null: whatever is current). */
export interface HttpViewState {
  ticket: string;
  sort: readonly SortKey[];
  version: number | null;
}

export interface HttpWindow {
  table: Table;
  /** The publisher's version of the rows (X-Ticketbooth-Version). */
  version: number;
  /** Rows in the whole table (X-Ticketbooth-Rows). */
  numRows: number;
  rowStart: number;
  rowEnd: number;
}

export interface HttpSourceOptions extends HttpOptions {
  /** Told when a window answered 409: the table was republished (its current version). */
  onStale?: (current: number | null) => void;
}

/**
 * A DataSource over the server's HTTP API. `state()` says which ticket, sort and
 * publisher version to ask for; the `version` argument of window() is the caller's own
 * version counter and only labels a StaleResponseError.
 */
export class HttpDataSource implements DataSource {
  constructor(
    readonly baseUrl: string,
    private state: () => HttpViewState,
    private opts: HttpSourceOptions = {},
  ) {}

  /** Rows [rowStart, rowEnd) with the answer's headers; 409 throws StaleResponseError. */
  async fetchWindow(rowStart: number, rowEnd: number, signal?: AbortSignal, expected = 0): Promise<HttpWindow> {
    const { ticket, sort, version } = this.state();
    if (!ticket) throw new Error("no ticket to ask the server for");
    const url = apiUrl(this.baseUrl, "window", {
      ticket,
      start: rowStart,
      end: rowEnd,
      sort: sort.length ? JSON.stringify(sort.map((k) => ({ column: k.column, descending: k.descending }))) : null,
      version: version ?? null,
    });
    let res: Response;
    try {
      res = await request(url, this.opts, signal);
    } catch (err) {
      if (err instanceof HttpError && err.status === 409) {
        const current = typeof err.body?.version === "number" ? err.body.version : null;
        this.opts.onStale?.(current);
        throw new StaleResponseError(expected, current ?? -1);
      }
      throw err;
    }
    const header = (name: string) => Number(res.headers.get(name) ?? NaN);
    const got = header("X-Ticketbooth-Version");
    if (version != null && Number.isFinite(got) && got !== version) {
      this.opts.onStale?.(got);
      throw new StaleResponseError(expected, got);
    }
    const bytes = new Uint8Array(await res.arrayBuffer());
    return {
      table: decodeIPC(bytes),
      version: got,
      numRows: header("X-Ticketbooth-Rows"),
      rowStart: header("X-Ticketbooth-Row-Start"),
      rowEnd: header("X-Ticketbooth-Row-End"),
    };
  }

  async window(rowStart: number, rowEnd: number, version: number, signal?: AbortSignal): Promise<Table> {
    return (await this.fetchWindow(rowStart, rowEnd, signal, version)).table;
  }

  async renderer(name: RendererName, signal?: AbortSignal): Promise<Uint8Array> {
    const res = await request(apiUrl(this.baseUrl, `renderer/${encodeURIComponent(name)}`), this.opts, signal);
    return new Uint8Array(await res.arrayBuffer());
  }
}
