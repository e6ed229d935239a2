// A fake ticketbooth server extension (fetch) and EventSource for the HTTP tests.
import { FakeDataSource } from "../src/fake";
import type { ColumnSpec } from "../src/model";
import type { EventSourceLike } from "../src/serverevents";

export interface Call {
  url: string;
  path: string;
  params: URLSearchParams;
  init?: RequestInit;
}

export class FakeServer {
  calls: Call[] = [];
  /** false: `GET status` answers 404 (no extension). */
  enabled = true;
  /** The id of the broker the server is on (a view's `broker_id` must match it). */
  brokerId = "b1";
  /** The published table: its version and rows. */
  version = 1;
  data: FakeDataSource;
  /** Delay (ms) of every answer. */
  delayMs = 0;

  constructor(public base = "/", numRows = 1000, columns?: ColumnSpec[]) {
    this.data = new FakeDataSource({ numRows, columns });
  }

  get columns(): ColumnSpec[] {
    return this.data.columns;
  }

  windowCalls(): Call[] {
    return this.calls.filter((c) => c.path === "window");
  }

  fetch = async (input: string, init?: RequestInit): Promise<Response> => {
    const url = new URL(input, "http://host");
    const prefix = `${this.base}ticketbooth/api/`;
    const path = url.pathname.startsWith(prefix) ? url.pathname.slice(prefix.length) : `?${url.pathname}`;
    this.calls.push({ url: input, path, params: url.searchParams, init });
    if (this.delayMs) await new Promise((r) => setTimeout(r, this.delayMs));
    if (init?.signal?.aborted) throw Object.assign(new Error("aborted"), { name: "AbortError" });
    const json = (status: number, body: unknown) =>
      new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } });
    if (!this.enabled) return json(404, { message: "Not Found" });
    const q = url.searchParams;
    if (path === "status") {
      const broker = { url: "x", tcp_url: null, in_process: true };
      return json(200, { version: "0.1", broker, can_release: true, broker_id: this.brokerId });
    }
    if (path === "object") {
      return json(200, {
        ticket: q.get("ticket"), name: q.get("ticket"), type: "Table", num_rows: this.data.numRows,
        num_columns: this.columns.length, nbytes: 1, publisher: "p", published_at: 0,
        version: this.version, columns: this.columns,
      });
    }
    if (path === "window") {
      const want = q.get("version");
      if (want !== null && Number(want) !== this.version) {
        return json(409, { error: "the table was republished", version: this.version });
      }
      const start = Number(q.get("start"));
      const end = Math.min(Number(q.get("end")), this.data.numRows);
      return new Response(this.data.encode(start, end) as BodyInit, {
        status: 200,
        headers: {
          "Content-Type": "application/vnd.apache.arrow.stream",
          "X-Ticketbooth-Version": String(this.version),
          "X-Ticketbooth-Rows": String(this.data.numRows),
          "X-Ticketbooth-Row-Start": String(start),
          "X-Ticketbooth-Row-End": String(end),
        },
      });
    }
    if (path.startsWith("renderer/")) return new Response(`export function render() {} // ${path}`, { status: 200 });
    return json(404, { error: `no ${path}` });
  };
}

export class FakeEventSource implements EventSourceLike {
  static all: FakeEventSource[] = [];
  listeners = new Map<string, ((ev: any) => void)[]>();
  closed = false;

  constructor(public url: string) {
    FakeEventSource.all.push(this);
  }

  static factory = (url: string) => new FakeEventSource(url);

  addEventListener(type: string, listener: (ev: any) => void): void {
    this.listeners.set(type, [...(this.listeners.get(type) ?? []), listener]);
  }

  close(): void {
    this.closed = true;
  }

  /** Deliver an `event: change` with this data. */
  change(data: object): void {
    for (const l of this.listeners.get("change") ?? []) l({ data: JSON.stringify(data) });
  }
}
