// One request shape: JS sends {kind, id, ...params}; Python answers with a
// custom message {kind: `${kind}-response`, id, response} or {..., error}.
// Binary payloads travel in the message buffers.
import type { WidgetModel } from "./model";

export interface InvokeOptions {
  /** Reject with a TimeoutError after this many ms (default 30 s; 0 = never). */
  timeoutMs?: number;
  /** Abort the request (the eventual response is then dropped). */
  signal?: AbortSignal;
}

export interface InvokeResult<T = any> {
  response: T;
  buffers: DataView[];
}

export class RemoteError extends Error {
  constructor(kind: string, message: string) {
    super(`${kind}: ${message}`);
    this.name = "RemoteError";
  }
}

export class TimeoutError extends Error {
  constructor(kind: string, ms: number) {
    super(`${kind}: no response after ${ms} ms`);
    this.name = "TimeoutError";
  }
}

export function abortError(reason?: unknown): Error {
  if (reason instanceof Error) return reason;
  const err = new Error(typeof reason === "string" ? reason : "aborted");
  err.name = "AbortError";
  return err;
}

export function isAbortError(err: unknown): boolean {
  return err instanceof Error && err.name === "AbortError";
}

let counter = 0;
export function newId(): string {
  const c = (globalThis as any).crypto;
  if (c && typeof c.randomUUID === "function") return c.randomUUID();
  counter += 1;
  return `req-${Date.now().toString(36)}-${counter}-${Math.random().toString(36).slice(2)}`;
}

/** Normalise a comm buffer (DataView / ArrayBuffer / typed array) to bytes. */
export function toBytes(buf: ArrayBuffer | ArrayBufferView): Uint8Array {
  if (buf instanceof Uint8Array) return buf;
  if (ArrayBuffer.isView(buf)) return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
  return new Uint8Array(buf);
}

function toDataViews(buffers: unknown): DataView[] {
  if (!Array.isArray(buffers)) return [];
  return buffers.map((b: ArrayBuffer | ArrayBufferView) => {
    if (b instanceof DataView) return b;
    const u = toBytes(b);
    return new DataView(u.buffer, u.byteOffset, u.byteLength);
  });
}

/**
 * Send one request and wait for its response. Settles exactly once; the
 * msg:custom listener and timer are always removed. Messages for other ids
 * (stale or cancelled requests) are ignored by this listener and therefore
 * dropped.
 */
export function invoke<T = any>(
  model: WidgetModel,
  kind: string,
  params: Record<string, unknown> = {},
  { timeoutMs = 30_000, signal }: InvokeOptions = {},
): Promise<InvokeResult<T>> {
  if (signal?.aborted) return Promise.reject(abortError(signal.reason));
  const id = newId();
  const responseKind = `${kind}-response`;

  return new Promise<InvokeResult<T>>((resolve, reject) => {
    let settled = false;
    let timer: ReturnType<typeof setTimeout> | undefined;

    const cleanup = () => {
      settled = true;
      model.off("msg:custom", onMessage);
      if (timer !== undefined) clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
    };
    const fail = (err: Error) => {
      if (settled) return;
      cleanup();
      reject(err);
    };
    function onMessage(msg: any, buffers?: unknown) {
      if (settled || !msg || msg.id !== id || msg.kind !== responseKind) return;
      cleanup();
      if (msg.error != null) reject(new RemoteError(kind, String(msg.error)));
      else resolve({ response: msg.response as T, buffers: toDataViews(buffers) });
    }
    function onAbort() {
      fail(abortError(signal?.reason));
    }

    model.on("msg:custom", onMessage);
    signal?.addEventListener("abort", onAbort, { once: true });
    if (timeoutMs > 0) timer = setTimeout(() => fail(new TimeoutError(kind, timeoutMs)), timeoutMs);
    try {
      model.send({ ...params, kind, id });
    } catch (err) {
      fail(err instanceof Error ? err : new Error(String(err)));
    }
  });
}
