// Imports a renderer module (plotly.js / vega.js from `GET renderer/<name>`) from its source.
// webpackIgnore: without it webpack turns import(url) into a module lookup that fails.

export async function importModuleSource(bytes: Uint8Array | ArrayBuffer): Promise<unknown> {
  const url = URL.createObjectURL(new Blob([bytes as BlobPart], { type: "text/javascript" }));
  try {
    return await import(/* webpackIgnore: true */ url);
  } finally {
    URL.revokeObjectURL(url);
  }
}
