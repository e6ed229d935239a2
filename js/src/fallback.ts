// Comm first, HTTP when the kernel does not answer: a DataSource that asks the kernel,
// and when it is silent for `graceMs` (busy) or cannot be reached (comm closed, kernel shut
// down) asks the Jupyter server for the same rows; the first usable answer wins. After the
// kernel failed, requests go to HTTP straight away and the comm is tried again now and then.
// With `preferHttp` the order turns round while the server is known: the server first (a
// window comes back in ~8 ms over HTTP, ~25 ms through the kernel's messages), the kernel
// when the server refuses, answers stale, or is silent for `httpGraceMs`.
import type { Table } from "@uwdata/flechette";
import { isStaleError, type DataSource, type RendererName } from "./datasource";
import { abortError, isAbortError } from "./protocol";

export interface FallbackOptions {
  /** How long the kernel may take before HTTP is asked too (ms). */
  graceMs?: number;
  /** After the kernel failed, try the comm again at most this often (ms). */
  retryMs?: number;
  /** Told when the kernel is found failed (true) or answering again (false). */
  onKernelFailed?: (failed: boolean) => void;
  /** true: ask the server first (its answer comes sooner) and the kernel only when the server
   * fails or is silent for `httpGraceMs`; asked per request, used once the server is known. */
  preferHttp?: () => boolean;
  /** How long the server may take, when asked first, before the kernel is asked too (ms). */
  httpGraceMs?: number;
  /** Told of each window the server answered (the kernel did not see it asked for). */
  onHttpWindow?: (rowStart: number, rowEnd: number) => void;
}

/** A send on a closed comm throws at once: the kernel is gone, not just busy. */
function isCommDead(err: unknown): boolean {
  if (!(err instanceof Error)) return true;
  return !["TimeoutError", "RemoteError", "AbortError", "StaleResponseError"].includes(err.name);
}

type Ask<T> = (source: DataSource, signal: AbortSignal) => Promise<T>;

export class FallbackDataSource implements DataSource {
  private failed = false;
  private lastCommTry = 0;
  private lastCommAnswer = 0;
  /** The HTTP source once known: a source, null (none), undefined (not known yet). */
  private httpSource: DataSource | null | undefined = undefined;
  private httpPromise: Promise<DataSource | null> | null = null;

  /** `http()` resolves to the HTTP source, or null when HTTP cannot be used (asked once). */
  constructor(
    private comm: DataSource,
    private http: () => Promise<DataSource | null>,
    private opts: FallbackOptions = {},
  ) {}

  get kernelFailed(): boolean {
    return this.failed;
  }

  window(rowStart: number, rowEnd: number, version: number, signal?: AbortSignal): Promise<Table> {
    return this.ask((s, sig) => s.window(rowStart, rowEnd, version, sig), signal, () =>
      this.opts.onHttpWindow?.(rowStart, rowEnd),
    );
  }

  /** Find out now whether the server can be asked (else the first request goes to the
   * kernel while this is found out). */
  prepare(): void {
    this.httpOnce();
  }

  /** A request of the caller's own to the kernel (not a window): its answer, or its
   * failure, says whether the kernel is there, as a window's would. */
  tellKernel<T>(send: () => Promise<T>): Promise<T> {
    return this.watchComm(send);
  }

  renderer(name: RendererName, signal?: AbortSignal): Promise<Uint8Array | ArrayBuffer> {
    return this.ask((s, sig) => s.renderer(name, sig), signal);
  }

  private httpOnce(): Promise<DataSource | null> {
    if (!this.httpPromise) {
      this.httpPromise = this.http().catch(() => null);
      this.httpPromise.then((s) => (this.httpSource = s));
    }
    return this.httpPromise;
  }

  private setFailed(failed: boolean): void {
    if (failed === this.failed) return;
    this.failed = failed;
    this.opts.onKernelFailed?.(failed);
  }

  /** Ask the comm; its answers (even after HTTP won) tell whether the kernel is back. */
  private askComm<T>(ask: Ask<T>, signal: AbortSignal): Promise<T> {
    return this.watchComm(() => ask(this.comm, signal));
  }

  private watchComm<T>(send: () => Promise<T>): Promise<T> {
    const sent = (this.lastCommTry = Date.now());
    const alive = () => {
      this.lastCommAnswer = Date.now();
      this.setFailed(false);
    };
    const p = send();
    p.then(alive, (err) => {
      if (isAbortError(err)) return;
      if (isCommDead(err)) this.setFailed(true);
      // a request older than the kernel's last answer says nothing about the kernel now
      else if (err?.name === "TimeoutError") {
        if (sent >= this.lastCommAnswer) this.setFailed(true);
      } else alive(); // it answered (an error, a stale version): it is there
    });
    return p;
  }

  /** `httpAnswered`: told when the server's answer is the one used. */
  private async ask<T>(ask: Ask<T>, signal?: AbortSignal, httpAnswered?: () => void): Promise<T> {
    if (signal?.aborted) throw abortError(signal.reason);
    this.httpOnce();
    // The comm request follows the caller's abort only while nothing answered: after HTTP
    // won, its late answer still tells whether the kernel is back.
    const commCtl = new AbortController();
    const httpCtl = new AbortController();
    let decided = false;
    const onAbort = () => {
      if (!decided) commCtl.abort(signal?.reason);
      httpCtl.abort(signal?.reason);
    };
    signal?.addEventListener("abort", onAbort, { once: true });
    const failed = this.failed && !!this.httpSource;
    const useComm = !failed || Date.now() - this.lastCommTry >= (this.opts.retryMs ?? 3000);
    const httpFirst = !this.failed && !!this.httpSource && (this.opts.preferHttp?.() ?? false);

    try {
      return await new Promise<T>((resolve, reject) => {
        let commErr: unknown;
        let httpErr: unknown;
        let commPending = false;
        let httpPending = false;
        let httpStarted = false;
        let commStarted = false;
        let timer: ReturnType<typeof setTimeout> | undefined;
        const settle = (fn: () => void) => {
          decided = true;
          if (timer !== undefined) clearTimeout(timer);
          fn();
        };
        const lose = () => {
          if (decided || commPending || httpPending) return;
          // the kernel's own answer (a sort error, a stale version) says more than a failed
          // HTTP request, unless the kernel could not be reached at all
          const kernelSpoke = commErr !== undefined && !isCommDead(commErr) && (commErr as Error).name !== "TimeoutError";
          const err = kernelSpoke || httpErr === undefined ? commErr ?? httpErr : httpErr;
          settle(() => reject(err ?? new Error("no data source answered")));
        };
        const startHttp = () => {
          if (httpStarted || decided) return;
          httpStarted = true;
          httpPending = true;
          this.httpOnce()
            .then((source) => (source && !decided ? ask(source, httpCtl.signal) : Promise.reject(null)))
            .then(
              (value) => {
                if (decided) return;
                // asked after the grace, the kernel is too slow (or gone)
                if (commPending && !httpFirst) this.setFailed(true);
                httpAnswered?.();
                settle(() => resolve(value));
              },
              (err) => {
                httpPending = false;
                if (err !== null) httpErr = err;
                if (httpFirst && !isAbortError(err)) startComm(); // stale, refused: the kernel knows
                lose();
              },
            );
        };
        const startComm = () => {
          if (commStarted || decided) return;
          commStarted = true;
          commPending = true;
          this.askComm(ask, commCtl.signal).then(
            (value) => {
              commPending = false;
              if (!decided) settle(() => resolve(value));
            },
            (err) => {
              commPending = false;
              commErr = err;
              if (!isAbortError(err) && !isStaleError(err)) startHttp();
              lose();
            },
          );
        };
        if (httpFirst) {
          startHttp();
          timer = setTimeout(startComm, this.opts.httpGraceMs ?? 250);
        } else {
          if (useComm) startComm();
          if (!useComm || failed) startHttp();
          else timer = setTimeout(startHttp, this.opts.graceMs ?? 700);
        }
      });
    } finally {
      decided = true;
      signal?.removeEventListener("abort", onAbort);
      httpCtl.abort();
    }
  }
}
