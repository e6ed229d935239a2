// Requests to the server extension (docs/server.md) through ServerConnection, which adds
// the base URL, Jupyter's auth and the XSRF header of POSTs.
import { URLExt } from "@jupyterlab/coreutils";
import { ServerConnection } from "@jupyterlab/services";
import type { Obj, Status } from "./objects";

const API = "ticketbooth/api";

/** A failed request, with the server's `error` text when it sent one. */
export class ApiError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
    this.name = "ApiError";
  }
}

export function apiPath(path: string, params: Record<string, string> = {}): string {
  const query = new URLSearchParams(params).toString();
  return `${API}/${path}${query ? `?${query}` : ""}`;
}

export class Api {
  constructor(readonly settings: ServerConnection.ISettings = ServerConnection.makeSettings()) {}

  url(path: string, params: Record<string, string> = {}): string {
    return URLExt.join(this.settings.baseUrl, apiPath(path, params));
  }

  /** fetch() with Jupyter's auth, for code that takes a fetch function (HttpDataSource). */
  readonly fetch = (input: string, init?: RequestInit): Promise<Response> =>
    ServerConnection.makeRequest(input, init ?? {}, this.settings);

  private async send(path: string, params: Record<string, string>, init: RequestInit = {}): Promise<Response> {
    let res: Response;
    try {
      res = await this.fetch(this.url(path, params), init);
    } catch (err) {
      throw new ApiError(0, `cannot reach the Jupyter server: ${err instanceof Error ? err.message : String(err)}`);
    }
    if (res.ok) return res;
    let why = res.statusText || "request failed";
    try {
      const body = await res.json();
      if (typeof body?.error === "string") why = body.error;
    } catch {
      // not JSON
    }
    if (res.status === 404 && path !== "object") {
      why = "the ticketbooth server extension does not answer (is it enabled? `jupyter server extension list`)";
    }
    throw new ApiError(res.status, `${path}: ${why} (HTTP ${res.status})`);
  }

  async status(): Promise<Status> {
    return (await (await this.send("status", {})).json()) as Status;
  }

  async objects(): Promise<Obj[]> {
    const body = await (await this.send("objects", {})).json();
    return Array.isArray(body?.objects) ? (body.objects as Obj[]) : [];
  }

  async release(ticket: string): Promise<void> {
    await this.send("release", { ticket }, { method: "POST" });
  }
}
