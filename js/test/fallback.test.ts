import { describe, expect, it } from "vitest";
import { CommDataSource, isStaleError } from "../src/datasource";
import { FallbackDataSource } from "../src/fallback";
import { HttpDataSource } from "../src/http";
import { FakeModel, tick, until } from "./fakemodel";
import { FakeServer } from "./fakeserver";

/** A kernel that answers window requests (from the fake server's rows) when `alive`. */
function kernel(server: FakeServer) {
  const model = new FakeModel({ version: 1 });
  const k = { model, alive: true, dead: false, answered: 0, versionShown: 1 };
  model.onSend = (c) => {
    if (k.dead) throw new Error("Cannot send");
    if (!k.alive || c.kind !== "window") return;
    k.answered += 1;
    queueMicrotask(() =>
      model.reply(
        { kind: "window-response", id: c.id, response: { row_start: c.row_start, row_end: c.row_end, version: k.versionShown } },
        [server.data.encode(c.row_start, c.row_end).buffer as ArrayBuffer],
      ),
    );
  };
  return k;
}

interface SetupOptions {
  graceMs?: number;
  retryMs?: number;
  http?: boolean;
  commTimeoutMs?: number;
  preferHttp?: () => boolean;
  httpGraceMs?: number;
}

function setup(opts: SetupOptions = {}) {
  const server = new FakeServer("/", 1000);
  const k = kernel(server);
  const flips: boolean[] = [];
  const served: [number, number][] = [];
  const http = new HttpDataSource("/", () => ({ ticket: "big", sort: [], version: 1 }), { fetch: server.fetch });
  const source = new FallbackDataSource(
    new CommDataSource(k.model, { windowTimeoutMs: opts.commTimeoutMs ?? 5_000 }),
    async () => (opts.http === false ? null : http),
    {
      graceMs: opts.graceMs ?? 60,
      retryMs: opts.retryMs ?? 60_000,
      onKernelFailed: (f) => flips.push(f),
      preferHttp: opts.preferHttp,
      httpGraceMs: opts.httpGraceMs,
      onHttpWindow: (a, b) => served.push([a, b]),
    },
  );
  const commWindows = () => k.model.sent.filter((s) => s.content.kind === "window").length;
  return { server, k, source, flips, commWindows, served };
}

describe("FallbackDataSource", () => {
  it("uses the kernel's answer when it comes within the grace; HTTP is not asked", async () => {
    const { server, source, commWindows } = setup({ graceMs: 200 });
    const t = await source.window(0, 100, 1);
    expect(t.getChild("id")!.at(99)).toBe(99n);
    await tick(250);
    expect(commWindows()).toBe(1);
    expect(server.windowCalls()).toEqual([]);
    expect(source.kernelFailed).toBe(false);
  });

  it("asks HTTP when the kernel is silent for the grace, then goes to HTTP at once", async () => {
    const { server, k, source, flips, commWindows } = setup({ graceMs: 80 });
    k.alive = false; // busy: messages queue up unanswered
    let t0 = Date.now();
    const t = await source.window(100, 200, 1);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(70);
    expect(t.getChild("id")!.at(0)).toBe(100n);
    expect(server.windowCalls().length).toBe(1);
    expect(source.kernelFailed).toBe(true);
    expect(flips).toEqual([true]);
    t0 = Date.now();
    await source.window(200, 300, 1);
    expect(Date.now() - t0).toBeLessThan(60);
    expect(commWindows()).toBe(1); // not retried within retryMs
  });

  it("a closed comm (send throws) goes to HTTP without waiting for the grace", async () => {
    const { server, k, source } = setup({ graceMs: 10_000 });
    k.dead = true;
    const t0 = Date.now();
    const t = await source.window(0, 50, 1);
    expect(Date.now() - t0).toBeLessThan(1000);
    expect(t.numRows).toBe(50);
    expect(server.windowCalls().length).toBe(1);
    expect(source.kernelFailed).toBe(true);
  });

  it("tries the kernel again after retryMs and goes back to it when it answers", async () => {
    const { server, k, source, flips, commWindows } = setup({ graceMs: 30, retryMs: 100 });
    k.dead = true;
    await source.window(0, 50, 1);
    expect(commWindows()).toBe(1); // tried (the fake records, then throws)
    k.dead = false;
    await source.window(50, 100, 1); // within retryMs: HTTP only
    expect(commWindows()).toBe(1);
    await tick(120);
    await source.window(100, 150, 1); // the retry: both asked, the kernel answers
    expect(commWindows()).toBe(2);
    await until(() => !source.kernelFailed);
    expect(flips).toEqual([true, false]);
    const before = server.windowCalls().length;
    await source.window(150, 200, 1);
    await tick(60);
    expect(server.windowCalls().length).toBe(before); // back on the comm only
  });

  it("a busy kernel that answers late is taken as back", async () => {
    const { k, source, flips } = setup({ graceMs: 30 });
    k.alive = false;
    await source.window(0, 50, 1);
    expect(source.kernelFailed).toBe(true);
    // the queued request is answered when the kernel is free again
    const req = k.model.sent[0].content;
    k.model.reply({ kind: "window-response", id: req.id, response: { row_start: 0, row_end: 50, version: 1 } }, [
      new ArrayBuffer(0),
    ]);
    await until(() => !source.kernelFailed);
    expect(flips).toEqual([true, false]);
  });

  it("a timeout of a request sent before the kernel's last answer does not fail it again", async () => {
    const { k, source, flips } = setup({ graceMs: 20, retryMs: 40, commTimeoutMs: 300 });
    k.alive = false;
    await source.window(0, 50, 1); // HTTP after the grace; the comm request waits on
    expect(flips).toEqual([true]);
    k.alive = true;
    await tick(50);
    await source.window(50, 100, 1); // the retry: the kernel answers
    await until(() => !source.kernelFailed);
    await tick(350); // the first request times out now
    expect(flips).toEqual([true, false]);
    expect(source.kernelFailed).toBe(false);
  });

  it("a kernel request that times out marks the kernel failed", async () => {
    const { k, source, flips } = setup({ graceMs: 20, commTimeoutMs: 100, http: false });
    k.alive = false;
    const err = await source.window(0, 50, 1).catch((e) => e);
    expect(err.name).toBe("TimeoutError");
    expect(flips).toEqual([true]);
  });

  it("without an HTTP source the kernel's failure is the answer", async () => {
    const { server, k, source } = setup({ graceMs: 20, http: false });
    k.dead = true;
    const err = await source.window(0, 50, 1).catch((e) => e);
    expect(err.message).toMatch(/Cannot send/);
    expect(server.calls).toEqual([]);
  });

  it("a stale answer from the kernel is final (the loader drops it); HTTP is not asked", async () => {
    const { server, k, source } = setup({ graceMs: 200 });
    k.versionShown = 2;
    const err = await source.window(0, 50, 1).catch((e) => e);
    expect(isStaleError(err)).toBe(true);
    await tick(250);
    expect(server.windowCalls()).toEqual([]);
  });

  it("an abort cancels both requests", async () => {
    const { server, k, source } = setup({ graceMs: 10 });
    k.alive = false;
    server.delayMs = 200;
    const ctl = new AbortController();
    const p = source.window(0, 50, 1, ctl.signal).catch((e) => e);
    await tick(50);
    expect(server.windowCalls().length).toBe(1);
    ctl.abort();
    const err = await p;
    expect(err.name).toBe("AbortError");
    expect(server.windowCalls()[0].init?.signal?.aborted).toBe(true);
  });

  describe("with preferHttp", () => {
    it("asks the server first once it is known; the kernel is not asked", async () => {
      const { server, source, commWindows, served } = setup({ preferHttp: () => true, graceMs: 10_000 });
      await source.window(0, 100, 1); // the server is not known yet: the kernel answers
      expect(commWindows()).toBe(1);
      const t = await source.window(500, 600, 1);
      expect(t.getChild("id")!.at(0)).toBe(500n);
      await tick(300);
      expect(commWindows()).toBe(1);
      expect(server.windowCalls().length).toBe(1);
      expect(served).toEqual([[500, 600]]);
      expect(source.kernelFailed).toBe(false);
    });

    it("prepare() finds the server before the first request, which then goes there", async () => {
      const { server, source, commWindows } = setup({ preferHttp: () => true, graceMs: 10_000 });
      source.prepare();
      await tick(20);
      await source.window(0, 100, 1);
      expect(server.windowCalls().length).toBe(1);
      expect(commWindows()).toBe(0);
    });

    it("a stale server answer asks the kernel at once, whose answer counts", async () => {
      const { server, k, source, commWindows, served } = setup({ preferHttp: () => true, httpGraceMs: 10_000 });
      await source.window(0, 10, 1);
      server.version = 2; // republished; the kernel still shows version 1
      const t0 = Date.now();
      const t = await source.window(10, 20, 1);
      expect(Date.now() - t0).toBeLessThan(1000);
      expect(t.getChild("id")!.at(0)).toBe(10n);
      expect(commWindows()).toBe(2);
      expect(k.answered).toBe(2);
      expect(served).toEqual([]);
    });

    it("a silent server: the kernel is asked after httpGraceMs", async () => {
      const { server, source, commWindows } = setup({ preferHttp: () => true, httpGraceMs: 40 });
      await source.window(0, 10, 1);
      server.delayMs = 2_000;
      const t0 = Date.now();
      await source.window(10, 20, 1);
      const took = Date.now() - t0;
      expect(took).toBeGreaterThanOrEqual(35);
      expect(took).toBeLessThan(1_000);
      expect(commWindows()).toBe(2);
      expect(source.kernelFailed).toBe(false); // the server was slow, not the kernel
    });

    it("asked per request: false sends the request to the kernel first", async () => {
      let prefer = true;
      const { server, source, commWindows } = setup({ preferHttp: () => prefer, graceMs: 10_000 });
      await source.window(0, 10, 1);
      await source.window(10, 20, 1);
      prefer = false;
      await source.window(20, 30, 1);
      expect(server.windowCalls().length).toBe(1);
      expect(commWindows()).toBe(2);
    });
  });
});
