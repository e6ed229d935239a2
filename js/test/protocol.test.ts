import { afterEach, describe, expect, it, vi } from "vitest";
import { invoke, RemoteError, TimeoutError } from "../src/protocol";
import { FakeModel } from "./fakemodel";

afterEach(() => vi.useRealTimers());

describe("invoke", () => {
  it("sends {kind, id, ...params} and resolves with response and buffers", async () => {
    const model = new FakeModel();
    const p = invoke(model, "window", { row_start: 0, row_end: 10, version: 3 });
    const sent = model.sent[0].content;
    expect(sent).toMatchObject({ kind: "window", row_start: 0, row_end: 10, version: 3 });
    expect(typeof sent.id).toBe("string");
    model.reply({ kind: "window-response", id: sent.id, response: { ok: 1 } }, [new Uint8Array([1, 2, 3]).buffer]);
    const { response, buffers } = await p;
    expect(response).toEqual({ ok: 1 });
    expect(buffers[0]).toBeInstanceOf(DataView);
    expect(buffers[0].byteLength).toBe(3);
  });

  it("uses unique ids", () => {
    const model = new FakeModel();
    void invoke(model, "a", {}, { timeoutMs: 0 });
    void invoke(model, "a", {}, { timeoutMs: 0 });
    expect(model.sent[0].content.id).not.toBe(model.sent[1].content.id);
  });

  it("settles once and removes its listener", async () => {
    const model = new FakeModel();
    const p = invoke(model, "k", {});
    const id = model.sent[0].content.id;
    expect(model.listenerCount("msg:custom")).toBe(1);
    model.reply({ kind: "k-response", id, response: "first" });
    model.reply({ kind: "k-response", id, response: "second" });
    model.reply({ kind: "k-response", id, error: "late error" });
    await expect(p).resolves.toMatchObject({ response: "first" });
    expect(model.listenerCount("msg:custom")).toBe(0);
  });

  it("drops responses with unknown ids or another kind", async () => {
    const model = new FakeModel();
    const p = invoke(model, "k", {});
    const id = model.sent[0].content.id;
    let settled = false;
    p.then(() => (settled = true));
    model.reply({ kind: "k-response", id: "someone-else", response: "wrong" });
    model.reply({ kind: "other-response", id, response: "wrong kind" });
    await Promise.resolve();
    expect(settled).toBe(false);
    model.reply({ kind: "k-response", id, response: "right" });
    await expect(p).resolves.toMatchObject({ response: "right" });
  });

  it("rejects with the remote error text", async () => {
    const model = new FakeModel();
    const p = invoke(model, "k", {});
    model.reply({ kind: "k-response", id: model.sent[0].content.id, error: "boom" });
    await expect(p).rejects.toBeInstanceOf(RemoteError);
    await expect(p).rejects.toThrow(/boom/);
  });

  it("times out and ignores a later response", async () => {
    vi.useFakeTimers();
    const model = new FakeModel();
    const p = invoke(model, "k", {}, { timeoutMs: 500 });
    const caught = p.catch((e) => e);
    vi.advanceTimersByTime(499);
    expect(model.listenerCount("msg:custom")).toBe(1);
    vi.advanceTimersByTime(2);
    const err = await caught;
    expect(err).toBeInstanceOf(TimeoutError);
    expect(model.listenerCount("msg:custom")).toBe(0);
    model.reply({ kind: "k-response", id: model.sent[0].content.id, response: 1 }); // no throw
  });

  it("aborts via AbortSignal, before and after sending", async () => {
    const model = new FakeModel();
    const ctl = new AbortController();
    const p = invoke(model, "k", {}, { signal: ctl.signal });
    ctl.abort();
    await expect(p).rejects.toMatchObject({ name: "AbortError" });
    expect(model.listenerCount("msg:custom")).toBe(0);

    const pre = new AbortController();
    pre.abort();
    await expect(invoke(model, "k", {}, { signal: pre.signal })).rejects.toMatchObject({ name: "AbortError" });
    expect(model.sent.length).toBe(1); // nothing sent for the pre-aborted one
  });

  it("rejects if send throws", async () => {
    const model = new FakeModel();
    model.send = () => {
      throw new Error("comm closed");
    };
    await expect(invoke(model, "k", {})).rejects.toThrow("comm closed");
    expect(model.listenerCount("msg:custom")).toBe(0);
  });
});
