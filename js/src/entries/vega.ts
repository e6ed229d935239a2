// Heavy renderer bundle: vega + vega-lite via vega-embed. Built to
// static/vega.js. Exports render(el, spec); returns a cleanup function.
import embed from "vega-embed";

export async function render(el: HTMLElement, spec: any): Promise<() => void> {
  const result = await embed(el, spec, { actions: false, renderer: "svg" });
  return () => result.finalize();
}

export default { render };
