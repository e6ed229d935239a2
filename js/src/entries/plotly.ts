// Heavy renderer bundle: plotly.js. Built to static/plotly.js, sent by Python
// on demand and imported from a blob: URL. Exports render(el, spec).
// @ts-ignore -- the dist bundle ships no types
import Plotly from "plotly.js-dist-min";

export function render(el: HTMLElement, spec: { data?: unknown[]; layout?: Record<string, unknown>; config?: Record<string, unknown>; frames?: unknown[] }): () => void {
  const layout = { autosize: true, ...(spec.layout ?? {}) };
  el.style.width = "100%";
  el.style.height = "100%";
  void Plotly.newPlot(el, { data: spec.data ?? [], layout, frames: spec.frames, config: { responsive: true, displaylogo: false, ...(spec.config ?? {}) } });
  return () => Plotly.purge(el);
}

export default { render };
