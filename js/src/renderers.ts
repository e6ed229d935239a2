// Lazy loading of the heavy renderer bundles (plotly.js, vega.js). Python
// sends the module source; it is imported from a blob: URL once per page.
import type { DataSource, RendererName } from "./datasource";
import type { RendererLoader, RendererModule } from "./figure";

const modules = new Map<RendererName, Promise<RendererModule>>();

export async function importModuleSource(bytes: Uint8Array | ArrayBuffer | string): Promise<any> {
  const blob = new Blob([bytes as BlobPart], { type: "text/javascript" });
  const url = URL.createObjectURL(blob);
  try {
    return await import(/* @vite-ignore */ url);
  } finally {
    URL.revokeObjectURL(url);
  }
}

/** A loader that fetches each renderer at most once per page (per name). */
export function rendererLoader(
  source: DataSource,
  importer: (bytes: Uint8Array | ArrayBuffer) => Promise<any> = importModuleSource,
): RendererLoader {
  return (name) => {
    let p = modules.get(name);
    if (!p) {
      p = source
        .renderer(name)
        .then(importer)
        .then((mod) => {
          const m = (mod && typeof mod.render === "function" ? mod : mod?.default) as RendererModule;
          if (!m || typeof m.render !== "function") throw new Error(`renderer ${name}: module has no render()`);
          return m;
        });
      modules.set(name, p);
      // A failed load may be retried later (e.g. after a kernel restart).
      p.catch(() => modules.get(name) === p && modules.delete(name));
    }
    return p;
  };
}

/** For tests. */
export function _resetRendererCache(): void {
  modules.clear();
}
