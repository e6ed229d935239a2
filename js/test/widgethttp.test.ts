// The widget with the HTTP fallback: mount() on a fake model, a fake server and EventSource.
import { afterEach, describe, expect, it } from "vitest";
import { FAKE_COLUMNS, fakeValue } from "../src/fake";
import { _resetProbes } from "../src/http";
import { mount, type Mounted } from "../src/index";
import type { TableView } from "../src/tableview";
import { FakeModel, tick, until } from "./fakemodel";
import { FakeEventSource, FakeServer } from "./fakeserver";

let mounted: Mounted | null = null;
afterEach(() => {
  mounted?.destroy();
  mounted = null;
  _resetProbes();
  FakeEventSource.all = [];
  document.body.replaceChildren();
  document.head.replaceChildren();
});

function setBaseUrl(baseUrl: string): void {
  const s = document.createElement("script");
  s.id = "jupyter-config-data";
  s.type = "application/json";
  s.textContent = JSON.stringify({ baseUrl, appName: "JupyterLab" });
  document.head.append(s);
}

interface Setup {
  ticket?: string;
  base?: string;
  kernel?: "silent" | "dead" | "answers";
  sort?: unknown[];
  enabled?: boolean;
  broker?: string;
}

function setup({ ticket = "big", base = "/", kernel = "silent", sort = [], enabled = true, broker = "b1" }: Setup = {}) {
  const server = new FakeServer(base, 100_000);
  server.enabled = enabled;
  const model = new FakeModel({
    kind: "table", ticket, num_rows: 100_000, columns: FAKE_COLUMNS, sort, version: 5, publisher_version: 1,
    broker_id: broker,
  });
  model.onSend = (c) => {
    if (kernel === "dead") throw new Error("Cannot send");
    if (kernel === "answers" && c.kind === "window") {
      queueMicrotask(() =>
        model.reply(
          { kind: "window-response", id: c.id, response: { row_start: c.row_start, row_end: c.row_end, version: model.get("version") } },
          [server.data.encode(c.row_start, c.row_end).buffer as ArrayBuffer],
        ),
      );
    }
    if (kernel === "answers" && c.kind === "viewport") {
      const response = { row_start: c.row_start, row_end: c.row_end };
      queueMicrotask(() => model.reply({ kind: "viewport-response", id: c.id, response }));
    }
  };
  const host = document.createElement("div");
  document.body.append(host);
  mounted = mount(model, host, {
    fallbackHeight: 300, rowHeight: 30, debounceMs: 0, windowSize: 200,
    sourceOptions: {
      graceMs: 50, retryMs: 60_000, viewportDelayMs: 20, viewportTimeoutMs: 200,
      fetch: server.fetch, eventSource: FakeEventSource.factory,
    },
  });
  const view = mounted.view() as TableView;
  const cell = (row: number, col: number) =>
    host.querySelector<HTMLElement>(`.tb-row[data-row="${row}"]`)?.querySelectorAll(".tb-cell")[col + 1]?.textContent;
  return { server, model, host, view, cell };
}

describe("widget data over HTTP", () => {
  it("a silent kernel: the rows come from the server, under a non-root base URL", async () => {
    setBaseUrl("/prefix/");
    const { server, view, cell } = setup({ base: "/prefix/", ticket: "shared:00ff", sort: [{ column: "name", descending: true }] });
    await until(() => view.loader.cachedWindows > 0);
    view.grid.render();
    expect(cell(3, 1)).toBe(fakeValue("name", 3)); // the fake server's rows
    const call = server.windowCalls()[0];
    expect(call.url.startsWith("/prefix/ticketbooth/api/window?ticket=shared%3A00ff&start=0&end=200&sort=")).toBe(true);
    expect(JSON.parse(call.params.get("sort")!)).toEqual([{ column: "name", descending: true }]);
    expect(call.params.get("version")).toBe("1"); // publisher_version, not the view's version 5
    expect(server.calls[0].url).toBe("/prefix/ticketbooth/api/status");
  });

  it("a kernel that answers: the first rows are the kernel's, while the server is probed and warmed", async () => {
    const { server, model, view } = setup({ kernel: "answers" });
    await until(() => view.loader.cachedWindows > 0);
    await tick(150);
    // the object asked for once the server is known: the server maps the table before a jump
    expect(server.calls.map((c) => c.path)).toEqual(["status", "object"]);
    model.set("publisher_version", 2); // a new version shown: warmed again
    await tick(50);
    expect(server.calls.map((c) => c.path)).toEqual(["status", "object", "object"]);
    expect(server.windowCalls()).toEqual([]);
  });

  it("an unsorted view asks the server first once it is known; the kernel hears the rows in view", async () => {
    const { server, model, view, cell } = setup({ kernel: "answers" });
    await until(() => view.loader.cachedWindows > 0);
    await tick(50); // the status probe answered
    const kernelWindows = () => model.sent.filter((s) => s.content.kind === "window").length;
    const before = kernelWindows();
    view.grid.scrollToRow(50_000);
    view.grid.render();
    await until(() => server.windowCalls().length === 1);
    await until(() => cell(50_000, 1) === fakeValue("name", 50_000));
    expect(kernelWindows()).toBe(before); // the kernel was not asked for these rows
    const call = server.windowCalls()[0];
    const [start, end] = [Number(call.params.get("start")), Number(call.params.get("end"))];
    expect(start <= 50_000 && 50_000 < end).toBe(true);
    await until(() => model.sent.some((s) => s.content.kind === "viewport"));
    const told = model.sent.filter((s) => s.content.kind === "viewport");
    expect(told.map((s) => [s.content.row_start, s.content.row_end])).toEqual([[start, end]]);
    await tick(300); // acknowledged: the kernel is there, the view does not follow the server
    expect(FakeEventSource.all).toEqual([]);
  });

  it("a kernel silent about the rows in view is taken as failed: the view follows the server", async () => {
    const { server, model, view } = setup({ kernel: "answers" });
    await until(() => view.loader.cachedWindows > 0);
    await tick(50);
    model.onSend = () => {}; // busy (or gone without closing the comm): nothing answers
    view.grid.scrollToRow(60_000);
    view.grid.render();
    await until(() => server.windowCalls().length === 1);
    await until(() => model.sent.some((s) => s.content.kind === "viewport"));
    expect(FakeEventSource.all).toEqual([]);
    await until(() => FakeEventSource.all.length === 1, 2_000); // after viewportTimeoutMs
  });

  it("a sorted view keeps asking the kernel first (the server would sort on its own)", async () => {
    const { server, model, view } = setup({ kernel: "answers", sort: [{ column: "name", descending: true }] });
    await until(() => view.loader.cachedWindows > 0);
    await tick(50);
    view.grid.scrollToRow(50_000);
    view.grid.render();
    await until(() => model.sent.filter((s) => s.content.kind === "window").length >= 2);
    await tick(100);
    expect(server.windowCalls()).toEqual([]);
    expect(model.sent.some((s) => s.content.kind === "viewport")).toBe(false);
  });

  it("a closed comm found by the viewport message marks the kernel failed", async () => {
    const { server, model, view } = setup({ kernel: "answers" });
    await until(() => view.loader.cachedWindows > 0);
    await tick(50);
    model.onSend = () => {
      throw new Error("Cannot send");
    };
    view.grid.scrollToRow(70_000);
    view.grid.render();
    await until(() => server.windowCalls().length === 1);
    await until(() => FakeEventSource.all.length === 1); // failed: the view follows the server
  });

  it("no HTTP for a kernel-private ticket (ticket '')", async () => {
    const { server, model } = setup({ ticket: "" });
    await tick(200);
    expect(model.sent.some((s) => s.content.kind === "window")).toBe(true);
    expect(server.calls).toEqual([]);
  });

  it("no HTTP when the server's broker is another one (or the view names none)", async () => {
    for (const broker of ["other", ""]) {
      const { server, model, view } = setup({ kernel: "dead", broker });
      await tick(200);
      expect(server.calls.map((c) => c.path)).toEqual(["status"]);
      expect(model.sent.some((s) => s.content.kind === "window")).toBe(true);
      expect(view.loader.cachedWindows).toBe(0);
      expect(FakeEventSource.all).toEqual([]);
      mounted!.destroy();
      mounted = null;
      _resetProbes();
    }
  });

  it("no HTTP when the status probe answers 404", async () => {
    const { server, model, view } = setup({ enabled: false, kernel: "dead" });
    await tick(200);
    expect(server.calls.map((c) => c.path)).toEqual(["status"]);
    expect(model.sent.some((s) => s.content.kind === "window")).toBe(true);
    expect(view.loader.cachedWindows).toBe(0);
    expect(FakeEventSource.all).toEqual([]);
  });

  it("kernel gone: follows the server's events and shows the republished table, locally", async () => {
    const { server, model, view, cell } = setup({ kernel: "dead" });
    await until(() => view.loader.cachedWindows > 0);
    await until(() => FakeEventSource.all.length === 1);
    const es = FakeEventSource.all[0];
    expect(es.url).toBe("/ticketbooth/api/events?ticket=big");
    // republished with more rows; the first event repeats the current object (ignored)
    es.change({ kind: "published", ticket: "big", name: "big", type: "Table", version: 1, reason: "" });
    server.version = 2;
    server.data.numRows = 250_000;
    server.data.applySort([{ column: "id", descending: true }]); // new rows: reversed ids
    es.change({ kind: "updated", ticket: "big", name: "big", type: "Table", version: 2, reason: "" });
    await until(() => model.get("publisher_version") === 2);
    expect(model.get("num_rows")).toBe(250_000);
    expect(model.get("version")).toBe(6);
    // the follower's refresh, and the warm-ups when the view showed v1 and v2
    expect(server.calls.filter((c) => c.path === "object").length).toBe(3);
    await until(() => view.loader.currentVersion === 6 && view.loader.cachedWindows > 0);
    view.grid.render();
    expect(cell(0, 0)).toBe("249,999");
    expect(server.windowCalls().at(-1)!.params.get("version")).toBe("2");
    expect(model.saves).toBe(0); // local only: nothing sent to the (gone) kernel
  });

  it("kernel gone: a 409 refreshes from the server; a re-sort asks the server in the new order", async () => {
    const { server, model, view } = setup({ kernel: "dead" });
    await until(() => view.loader.cachedWindows > 0);
    server.version = 3; // republished, event not seen yet
    view.grid.scrollToRow(50_000);
    view.grid.render();
    await until(() => model.get("publisher_version") === 3);
    expect(model.get("version")).toBe(6);
    await until(() => view.loader.currentVersion === 6 && view.loader.cachedWindows > 0);

    view.toggleSort("value", false);
    await until(() => model.get("version") === 7);
    await until(() => view.loader.cachedWindows > 0);
    const last = server.windowCalls().at(-1)!;
    expect(JSON.parse(last.params.get("sort")!)).toEqual([{ column: "value", descending: false }]);
    expect(last.params.get("version")).toBe("3");
  });

  it("destroy closes the event stream", async () => {
    const { view } = setup({ kernel: "dead" });
    await until(() => view.loader.cachedWindows > 0);
    await until(() => FakeEventSource.all.length === 1);
    mounted!.destroy();
    mounted = null;
    expect(FakeEventSource.all[0].closed).toBe(true);
  });
});
