import { afterEach, describe, expect, it } from "vitest";
import { isStaleError } from "../src/datasource";
import { fakeValue } from "../src/fake";
import { _resetProbes, apiUrl, HttpDataSource, jupyterBaseUrl, objectInfo, probeServer } from "../src/http";
import { events, type ServerEvent } from "../src/serverevents";
import { FakeEventSource, FakeServer } from "./fakeserver";

afterEach(() => {
  _resetProbes();
  document.head.replaceChildren();
});

const state = (version: number | null, sort: { column: string; descending: boolean }[] = [], ticket = "big") =>
  () => ({ ticket, sort, version });

describe("HttpDataSource", () => {
  it("decodes an Arrow window and reads the headers", async () => {
    const server = new FakeServer("/", 1000);
    const http = new HttpDataSource("/", state(1), { fetch: server.fetch });
    const w = await http.fetchWindow(200, 400);
    expect(w.table.numRows).toBe(200);
    expect(w.table.getChild("id")!.at(0)).toBe(200n);
    expect(w.table.getChild("name")!.at(5)).toBe(fakeValue("name", 205));
    expect(w).toMatchObject({ version: 1, numRows: 1000, rowStart: 200, rowEnd: 400 });
    const call = server.windowCalls()[0];
    expect(call.init?.credentials).toBe("same-origin");
    expect(Object.fromEntries(call.params)).toEqual({ ticket: "big", start: "200", end: "400", version: "1" });
    const table = await http.window(990, 1000, 5);
    expect(table.getChild("id")!.at(9)).toBe(999n);
  });

  it("a 409 (republished) is a stale response and reports the current version", async () => {
    const server = new FakeServer("/", 100);
    server.version = 3;
    const seen: (number | null)[] = [];
    const http = new HttpDataSource("/", state(2), { fetch: server.fetch, onStale: (v) => seen.push(v) });
    const err = await http.window(0, 10, 7).catch((e) => e);
    expect(isStaleError(err)).toBe(true);
    expect(err.expected).toBe(7);
    expect(err.got).toBe(3);
    expect(seen).toEqual([3]);
  });

  it("other HTTP errors are plain errors carrying the server's message", async () => {
    const server = new FakeServer("/", 100);
    const http = new HttpDataSource("/", state(null), {
      fetch: async () => new Response(JSON.stringify({ error: "nothing published under 'x'" }), { status: 404 }),
    });
    const err = await http.window(0, 10, 1).catch((e) => e);
    expect(isStaleError(err)).toBe(false);
    expect(err.message).toBe("HTTP 404: nothing published under 'x'");
    expect(server.calls).toEqual([]);
  });

  it("builds URLs under a non-root base URL and encodes ticket and sort", async () => {
    const server = new FakeServer("/prefix/", 100);
    const sort = [{ column: 'a&b "c"/é', descending: true }, { column: "id", descending: false }];
    const http = new HttpDataSource("/prefix/", state(4, sort, "shared:ab+cd ef"), { fetch: server.fetch });
    server.version = 4;
    await http.window(0, 10, 1);
    const url = server.windowCalls()[0].url;
    expect(url.startsWith("/prefix/ticketbooth/api/window?ticket=shared%3Aab%2Bcd+ef&start=0&end=10&sort=")).toBe(true);
    expect(url).not.toMatch(/[" é]|a&b/);
    const params = new URL(url, "http://h").searchParams;
    expect(params.get("ticket")).toBe("shared:ab+cd ef");
    expect(JSON.parse(params.get("sort")!)).toEqual(sort);
    expect(params.get("version")).toBe("4");
    expect(apiUrl("/prefix", "status")).toBe("/prefix/ticketbooth/api/status");
  });

  it("fetches renderer modules and object descriptions", async () => {
    const server = new FakeServer("/p/", 100);
    const http = new HttpDataSource("/p/", state(1), { fetch: server.fetch });
    const bytes = await http.renderer("plotly");
    expect(new TextDecoder().decode(bytes)).toContain("renderer/plotly");
    const info = await objectInfo("/p/", "shared:1f", { fetch: server.fetch });
    expect(info).toMatchObject({ ticket: "shared:1f", num_rows: 100, version: 1, type: "Table" });
    expect(info.columns!.map((c) => c.name)).toContain("id");
    expect(server.calls.map((c) => c.url)).toEqual([
      "/p/ticketbooth/api/renderer/plotly",
      "/p/ticketbooth/api/object?ticket=shared%3A1f",
    ]);
  });
});

describe("server discovery", () => {
  it("reads baseUrl from #jupyter-config-data (default /)", () => {
    expect(jupyterBaseUrl()).toBe("/");
    const script = document.createElement("script");
    script.id = "jupyter-config-data";
    script.type = "application/json";
    script.textContent = JSON.stringify({ baseUrl: "/prefix" });
    document.head.append(script);
    expect(jupyterBaseUrl()).toBe("/prefix/");
    script.textContent = "{broken";
    expect(jupyterBaseUrl()).toBe("/");
  });

  it("probes the status once per base URL; a 404 means no server extension", async () => {
    const on = new FakeServer("/a/");
    const off = new FakeServer("/b/");
    off.enabled = false;
    const [s1, s2] = await Promise.all([probeServer("/a/", { fetch: on.fetch }), probeServer("/a/", { fetch: on.fetch })]);
    expect(s1).toMatchObject({ can_release: true });
    expect(s2).toBe(s1);
    expect(on.calls.map((c) => c.url)).toEqual(["/a/ticketbooth/api/status"]);
    expect(await probeServer("/b/", { fetch: off.fetch })).toBeNull();
    expect(await probeServer("/c/", { fetch: async () => { throw new TypeError("offline"); } })).toBeNull();
  });
});

describe("events()", () => {
  it("follows one ticket's change events until closed", () => {
    FakeEventSource.all = [];
    const got: ServerEvent[] = [];
    const stop = events("/pre/", (e) => got.push(e), { ticket: "sales", eventSource: FakeEventSource.factory });
    const es = FakeEventSource.all[0];
    expect(es.url).toBe("/pre/ticketbooth/api/events?ticket=sales");
    es.change({ kind: "published", ticket: "shared:aa", name: "sales", type: "Table", version: 1, reason: "" });
    es.change({ kind: "updated", ticket: "other", name: "other", type: "Table", version: 2, reason: "" });
    for (const l of es.listeners.get("change")!) l({ data: "not json" });
    expect(got.map((e) => e.version)).toEqual([1]);
    stop();
    expect(es.closed).toBe(true);
    es.change({ kind: "updated", ticket: "sales", name: "sales", type: "Table", version: 3, reason: "" });
    expect(got.length).toBe(1);
  });
});
