import { describe, expect, it } from "vitest";
import type { Table } from "@uwdata/flechette";
import { CommDataSource, decodeIPC, type DataSource } from "../src/datasource";
import { FakeDataSource } from "../src/fake";
import { WindowLoader } from "../src/loader";
import { FakeModel, tick, until } from "./fakemodel";

/** A source whose responses the test releases by hand. */
class DeferredSource implements DataSource {
  calls: { rowStart: number; rowEnd: number; version: number; resolve: (t: Table) => void; signal?: AbortSignal }[] = [];
  fake = new FakeDataSource({ numRows: 1_000_000 });
  window(rowStart: number, rowEnd: number, version: number, signal?: AbortSignal): Promise<Table> {
    return new Promise((resolve) => this.calls.push({ rowStart, rowEnd, version, resolve, signal }));
  }
  release(i: number) {
    const c = this.calls[i];
    c.resolve(decodeIPC(this.fake.encode(c.rowStart, c.rowEnd)));
  }
  async renderer(): Promise<Uint8Array> {
    return new Uint8Array();
  }
}

describe("WindowLoader", () => {
  it("fetches only the windows in view, caches them, and one window ahead while scrolling on", async () => {
    const src = new FakeDataSource({ numRows: 1000 });
    let changes = 0;
    const loader = new WindowLoader(src, { windowSize: 100, onChange: () => changes++ });
    loader.reset(1, 1000, ["id", "name"]);
    loader.request(250, 260);
    expect(src.windowCalls.map((c) => [c.rowStart, c.rowEnd])).toEqual([[200, 300]]);
    await until(() => changes === 1);
    const w = loader.windowFor(255)!;
    expect(w.rowStart).toBe(200);
    expect(w.columns[0]!.at(55)).toBe(255n);
    expect(w.columns[1]!.at(55)).toBe("foxtrot-255");
    loader.request(250, 260);
    expect(src.windowCalls.length).toBe(1); // cached, nothing refetched
    loader.request(270, 280); // scrolling down: the next window too
    expect(src.windowCalls.map((c) => c.rowStart)).toEqual([200, 300]);
    await until(() => changes === 2);
    loader.request(240, 250); // and up
    expect(src.windowCalls.map((c) => c.rowStart)).toEqual([200, 300, 100]);
    await until(() => changes === 3);
    expect(loader.cachedWindows).toBe(3);
  });

  it("asks for adjacent windows in one request, each cached", async () => {
    const src = new FakeDataSource({ numRows: 10_000 });
    const loader = new WindowLoader(src, { windowSize: 100 });
    loader.reset(1, 10_000, ["id"]);
    loader.request(5_590, 5_610); // a jump onto a window boundary
    expect(src.windowCalls).toEqual([{ rowStart: 5_500, rowEnd: 5_700, version: 1 }]);
    await until(() => loader.cachedWindows === 2);
    expect(loader.windowFor(5_599)!.columns[0]!.at(5_599 - loader.windowFor(5_599)!.rowStart)).toBe(5_599n);
    expect(loader.windowFor(5_600)!.columns[0]!.at(5_600 - loader.windowFor(5_600)!.rowStart)).toBe(5_600n);
  });

  it("last window is clipped to num_rows", () => {
    const src = new FakeDataSource({ numRows: 1050 });
    const loader = new WindowLoader(src, { windowSize: 100 });
    loader.reset(1, 1050, ["id"]);
    loader.request(1045, 1049);
    expect(src.windowCalls).toEqual([{ rowStart: 1000, rowEnd: 1050, version: 1 }]);
  });

  it("drops a window that arrives after a version bump", async () => {
    const src = new DeferredSource();
    let changes = 0;
    const loader = new WindowLoader(src, { windowSize: 100, onChange: () => changes++ });
    loader.reset(1, 1000, ["id"]);
    loader.request(0, 10);
    expect(src.calls.length).toBe(1);
    expect(src.calls[0].signal!.aborted).toBe(false);
    loader.reset(2, 1000, ["id"]);
    expect(src.calls[0].signal!.aborted).toBe(true);
    src.release(0); // old version answer
    await tick();
    expect(changes).toBe(0);
    expect(loader.windowFor(5)).toBeUndefined();
    loader.request(0, 10);
    expect(src.calls[1].version).toBe(2);
    src.release(1);
    await tick();
    expect(changes).toBe(1);
    expect(loader.windowFor(5)).toBeDefined();
  });

  it("cancels requests that scrolled out of interest", () => {
    const src = new DeferredSource();
    const loader = new WindowLoader(src, { windowSize: 100 });
    loader.reset(1, 1_000_000, ["id"]);
    loader.request(0, 10);
    loader.request(500_000, 500_010);
    expect(src.calls[0].signal!.aborted).toBe(true);
    expect(loader.inflightWindows).toEqual([5000]); // a jump: no prefetch
  });

  it("sends the first request at once and coalesces the rest of a fast scroll", async () => {
    const src = new FakeDataSource({ numRows: 1_000_000, delayMs: 50 });
    const loader = new WindowLoader(src, { windowSize: 100, debounceMs: 10 });
    loader.reset(1, 1_000_000, ["id"]);
    for (let r = 0; r < 50_000; r += 1000) loader.request(r, r + 10);
    // leading edge: the first position is requested without waiting
    expect(src.windowCalls.map((c) => c.rowStart)).toEqual([0]);
    await tick(30);
    // trailing edge: only where the scroll ended, and the first burst is cancelled
    expect(src.windowCalls.map((c) => c.rowStart)).toEqual([0, 49_000]);
    expect(loader.inflightWindows).toEqual([490]);
  });

  it("reports errors and does not hammer a failing window", async () => {
    const src = new FakeDataSource({ numRows: 1000 });
    src.window = async () => {
      throw new Error("kernel says no");
    };
    const errors: string[] = [];
    const loader = new WindowLoader(src, { windowSize: 100, onError: (m) => errors.push(m) });
    loader.reset(1, 1000, ["id"]);
    loader.request(0, 5);
    await tick();
    expect(errors[0]).toBe("kernel says no");
    expect(loader.hasFailed(3)).toBe(true);
    const n = errors.length;
    loader.request(0, 5);
    await tick();
    expect(errors.length).toBe(n);
  });
});

describe("WindowLoader pushed rows", () => {
  it("takes rows pushed ahead of their version when the version comes, without asking", async () => {
    const src = new FakeDataSource({ numRows: 1000 });
    const loader = new WindowLoader(src, { windowSize: 32 });
    loader.reset(1, 1000, ["id"]);
    loader.request(70, 80);
    await until(() => loader.windowFor(75) !== undefined);
    const calls = src.windowCalls.length;
    // the kernel pushes rows 64..128 of version 2, then sets the version
    loader.offer(2, 64, 128, decodeIPC(src.encode(64, 128)));
    expect(loader.windowFor(75)!.stale).toBe(false); // still version 1 until reset
    loader.reset(2, 1000, ["id"], true);
    const w = loader.windowFor(75)!;
    expect(w.stale).toBe(false);
    expect(w.columns[0]!.at(75 - w.rowStart)).toBe(75n);
    loader.request(70, 80);
    expect(src.windowCalls.length).toBe(calls); // nothing asked: the push covered it
    // only whole windows are taken; pushes for older versions are dropped
    loader.offer(2, 130, 200, decodeIPC(src.encode(130, 200)));
    expect(loader.windowFor(135)).toBeUndefined(); // window 4 (128..160) is not whole
    expect(loader.windowFor(165)).toBeDefined(); // window 5 (160..192) is
    loader.offer(1, 300, 400, decodeIPC(src.encode(300, 400)));
    expect(loader.windowFor(350)).toBeUndefined();
  });
});

describe("WindowLoader keepPrevious", () => {
  it("serves old-version windows marked stale until the new ones arrive", async () => {
    const src = new DeferredSource();
    const loader = new WindowLoader(src, { windowSize: 100 });
    loader.reset(1, 1000, ["id"]);
    loader.request(0, 10);
    src.release(0);
    await tick();
    expect(loader.windowFor(5)!.stale).toBe(false);
    loader.reset(2, 1000, ["id"], true);
    expect(loader.windowFor(5)!.stale).toBe(true);
    loader.request(0, 10);
    src.release(src.calls.findIndex((c) => c.version === 2 && c.rowStart === 0));
    await tick();
    expect(loader.windowFor(5)!.stale).toBe(false);
    loader.reset(3, 1000, ["id"], false);
    expect(loader.windowFor(5)).toBeUndefined();
  });

  it("holds at most a cache's worth of old windows however many versions go by", async () => {
    const src = new FakeDataSource({ numRows: 100_000 });
    const loader = new WindowLoader(src, { windowSize: 100, cacheWindows: 8 });
    for (let v = 1; v <= 60; v++) {
      loader.reset(v, 100_000, ["id"], true);
      const first = (v % 20) * 500; // a different place each version, as a user scrolls
      loader.request(first, first + 10);
      await until(() => loader.windowFor(first) !== undefined && !loader.windowFor(first)!.stale);
    }
    expect(loader.cachedWindows).toBeLessThanOrEqual(8);
    expect(loader.previousWindows).toBeLessThanOrEqual(8);
  });
});

describe("CommDataSource", () => {
  function kernel(model: FakeModel, fake: FakeDataSource, versionOverride?: number) {
    model.onSend = (msg) => {
      if (msg.kind !== "window") return;
      const bytes = fake.encode(msg.row_start, msg.row_end);
      const response = { row_start: msg.row_start, row_end: msg.row_end, version: versionOverride ?? msg.version };
      queueMicrotask(() => model.reply({ kind: "window-response", id: msg.id, response }, [new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)]));
    };
  }

  it("requests a window and decodes the Arrow IPC buffer", async () => {
    const model = new FakeModel();
    const fake = new FakeDataSource({ numRows: 100 });
    kernel(model, fake);
    const t = await new CommDataSource(model).window(10, 20, 4);
    expect(model.sent[0].content).toMatchObject({ kind: "window", row_start: 10, row_end: 20, version: 4 });
    expect(t.numRows).toBe(10);
    expect(t.getChild("id").at(0)).toBe(10n);
    expect(t.getChild("name").at(9)).toBe("juliet-19");
  });

  it("rejects a response for another version as stale; the loader drops it silently", async () => {
    const model = new FakeModel();
    kernel(model, new FakeDataSource({ numRows: 100 }), 99);
    await expect(new CommDataSource(model).window(0, 10, 4)).rejects.toMatchObject({ name: "StaleResponseError" });
    const errors: string[] = [];
    const loader = new WindowLoader(new CommDataSource(model), { windowSize: 50, onError: (m) => errors.push(m) });
    loader.reset(4, 100, ["id"]);
    loader.request(0, 5);
    await tick(5);
    expect(loader.windowFor(0)).toBeUndefined();
    expect(errors).toEqual([]);
  });

  it("accepts a response without a version field", async () => {
    const model = new FakeModel();
    const fake = new FakeDataSource({ numRows: 100 });
    model.onSend = (msg) => {
      const bytes = fake.encode(msg.row_start, msg.row_end);
      queueMicrotask(() => model.reply({ kind: "window-response", id: msg.id, response: {} }, [bytes.buffer as ArrayBuffer]));
    };
    const t = await new CommDataSource(model).window(0, 5, 1);
    expect(t.numRows).toBe(5);
  });

  it("fetches renderer module bytes", async () => {
    const model = new FakeModel();
    model.onSend = (msg) =>
      queueMicrotask(() => model.reply({ kind: "renderer-response", id: msg.id, response: {} }, [new TextEncoder().encode("export const x = 1;").buffer]));
    const bytes = await new CommDataSource(model).renderer("plotly");
    expect(model.sent[0].content).toMatchObject({ kind: "renderer", name: "plotly" });
    expect(new TextDecoder().decode(bytes)).toBe("export const x = 1;");
  });
});
