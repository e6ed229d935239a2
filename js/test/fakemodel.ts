// A fake anywidget model: get/set/on/off/send/save_changes, and emit() to
// play the Python side (msg:custom responses).
import type { Callback, WidgetModel } from "../src/model";

export class FakeModel implements WidgetModel {
  state: Record<string, any>;
  listeners = new Map<string, Set<Callback>>();
  sent: { content: any; buffers?: unknown }[] = [];
  saves = 0;
  /** Optional auto-responder playing the kernel. */
  onSend?: (content: any) => void;

  constructor(state: Record<string, any> = {}) {
    this.state = { kind: "empty", status: "live", status_message: "", label: "t", version: 1, ...state };
  }

  get(key: string): any {
    return this.state[key];
  }

  set(key: string, value: unknown): void {
    const old = this.state[key];
    this.state[key] = value;
    if (old !== value) this.emit(`change:${key}`, value);
  }

  /** Set several traits, then fire their change events (like Backbone). */
  update(values: Record<string, unknown>): void {
    const changed = Object.keys(values).filter((k) => this.state[k] !== values[k]);
    Object.assign(this.state, values);
    for (const k of changed) this.emit(`change:${k}`, values[k]);
  }

  on(event: string, cb: Callback): void {
    if (!this.listeners.has(event)) this.listeners.set(event, new Set());
    this.listeners.get(event)!.add(cb);
  }

  off(event?: string | null, cb?: Callback | null): void {
    if (!event) return this.listeners.clear();
    if (!cb) return void this.listeners.delete(event);
    this.listeners.get(event)?.delete(cb);
  }

  listenerCount(event: string): number {
    return this.listeners.get(event)?.size ?? 0;
  }

  send(content: any, _callbacks?: any, buffers?: unknown): void {
    this.sent.push({ content, buffers });
    this.onSend?.(content);
  }

  save_changes(): void {
    this.saves += 1;
  }

  emit(event: string, ...args: unknown[]): void {
    for (const cb of [...(this.listeners.get(event) ?? [])]) cb(...args);
  }

  /** Emit a custom message as the kernel would. */
  reply(content: any, buffers: (ArrayBuffer | DataView)[] = []): void {
    this.emit("msg:custom", content, buffers);
  }
}

export const tick = (ms = 0) => new Promise((r) => setTimeout(r, ms));

/** Wait until `cond` holds (polling real timers). */
export async function until(cond: () => boolean, timeoutMs = 10_000): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > timeoutMs) throw new Error("timed out waiting for condition");
    await tick(2);
  }
}
