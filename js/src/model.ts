// The subset of the anywidget model API that ticketbooth uses.
// Kept structural so tests can pass a plain fake object.

export type Callback = (...args: any[]) => void;

export interface WidgetModel {
  get(key: string): any;
  set(key: string, value: unknown): void;
  on(event: string, callback: Callback): void;
  off(event?: string | null, callback?: Callback | null): void;
  send(content: any, callbacks?: any, buffers?: ArrayBuffer[] | ArrayBufferView[]): void;
  save_changes(): void;
}

/** Column description as sent by Python in the `columns` trait. */
export interface ColumnSpec {
  name: string;
  type: string;
}

export interface SortKey {
  column: string;
  descending: boolean;
}

export type Status = "loading" | "live" | "released" | "publisher-gone" | "error";
export type Kind = "table" | "figure" | "empty";

/** Subscribe to a model event; returns the unsubscribe function. */
export function listen(model: WidgetModel, event: string, cb: Callback): () => void {
  model.on(event, cb);
  return () => model.off(event, cb);
}
