// A kernel-less stand-in for the anywidget model that ../js/src's views read: a key-value
// store that emits `change:<key>` on each set that changes a value.
import type { Callback, WidgetModel } from "../../js/src/model";

export class LocalModel implements WidgetModel {
  private values = new Map<string, unknown>();
  private listeners = new Map<string, Set<Callback>>();

  /** Called by save_changes(), after the view set keys (e.g. a new sort). */
  onSave: (() => void) | null = null;

  constructor(initial: Record<string, unknown> = {}) {
    for (const [k, v] of Object.entries(initial)) this.values.set(k, v);
  }

  get(key: string): any {
    return this.values.get(key);
  }

  set(key: string, value: unknown): void {
    const old = this.values.get(key);
    if (old === value || (typeof value === "object" && JSON.stringify(old) === JSON.stringify(value))) return;
    this.values.set(key, value);
    this.emit(`change:${key}`, value);
  }

  /** Set several keys; listeners run after all are set. */
  update(values: Record<string, unknown>): void {
    const changed: [string, unknown][] = [];
    for (const [k, v] of Object.entries(values)) {
      const old = this.values.get(k);
      if (old === v || (typeof v === "object" && JSON.stringify(old) === JSON.stringify(v))) continue;
      this.values.set(k, v);
      changed.push([k, v]);
    }
    for (const [k, v] of changed) this.emit(`change:${k}`, v);
  }

  on(event: string, callback: Callback): void {
    let set = this.listeners.get(event);
    if (!set) this.listeners.set(event, (set = new Set()));
    set.add(callback);
  }

  off(event?: string | null, callback?: Callback | null): void {
    if (!event) {
      this.listeners.clear();
      return;
    }
    if (!callback) this.listeners.delete(event);
    else this.listeners.get(event)?.delete(callback);
  }

  /** Nothing listens: there is no kernel. */
  send(): void {}

  save_changes(): void {
    this.onSave?.();
  }

  private emit(event: string, value: unknown): void {
    for (const cb of [...(this.listeners.get(event) ?? [])]) cb(this, value);
  }
}
