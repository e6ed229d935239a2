// Small LRU map plus the window cache used by the grid.

export class LRU<K, V> {
  private map = new Map<K, V>();

  constructor(public readonly capacity: number) {
    if (capacity < 1) throw new Error("LRU capacity must be >= 1");
  }

  get size(): number {
    return this.map.size;
  }

  has(key: K): boolean {
    return this.map.has(key);
  }

  /** Get and mark as most recently used. */
  get(key: K): V | undefined {
    if (!this.map.has(key)) return undefined;
    const value = this.map.get(key) as V;
    this.map.delete(key);
    this.map.set(key, value);
    return value;
  }

  /** Read without touching recency. */
  peek(key: K): V | undefined {
    return this.map.get(key);
  }

  /** Insert; returns the evicted keys (least recently used first). */
  set(key: K, value: V): K[] {
    if (this.map.has(key)) this.map.delete(key);
    this.map.set(key, value);
    const evicted: K[] = [];
    while (this.map.size > this.capacity) {
      const oldest = this.map.keys().next().value as K;
      this.map.delete(oldest);
      evicted.push(oldest);
    }
    return evicted;
  }

  delete(key: K): boolean {
    return this.map.delete(key);
  }

  clear(): void {
    this.map.clear();
  }

  /** Keys from least to most recently used. */
  keys(): K[] {
    return [...this.map.keys()];
  }
}

export function windowKey(version: number, index: number): string {
  return `${version}:${index}`;
}

/** LRU of decoded windows keyed by (table version, window index). */
export class WindowCache<T> {
  private lru: LRU<string, T>;

  constructor(capacity = 32) {
    this.lru = new LRU(capacity);
  }

  get(version: number, index: number): T | undefined {
    return this.lru.get(windowKey(version, index));
  }

  has(version: number, index: number): boolean {
    return this.lru.has(windowKey(version, index));
  }

  set(version: number, index: number, value: T): string[] {
    return this.lru.set(windowKey(version, index), value);
  }

  clear(): void {
    this.lru.clear();
  }

  get size(): number {
    return this.lru.size;
  }

  get capacity(): number {
    return this.lru.capacity;
  }

  keys(): string[] {
    return this.lru.keys();
  }
}
