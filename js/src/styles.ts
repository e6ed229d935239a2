// All widget CSS. JupyterLab theme variables with fallbacks so the widget
// looks right in light and dark themes and outside JupyterLab.
export const CSS = `
.tb-root {
  --tb-bg: var(--jp-layout-color0, #fff);
  --tb-bg1: var(--jp-layout-color1, #fff);
  --tb-bg2: var(--jp-layout-color2, #eee);
  --tb-fg: var(--jp-ui-font-color1, rgba(0,0,0,.87));
  --tb-fg2: var(--jp-ui-font-color2, rgba(0,0,0,.54));
  --tb-fg3: var(--jp-ui-font-color3, rgba(0,0,0,.38));
  --tb-border: var(--jp-border-color2, #e0e0e0);
  --tb-border1: var(--jp-border-color1, #bdbdbd);
  --tb-accent: var(--jp-brand-color1, #1976d2);
  --tb-stripe: color-mix(in srgb, var(--tb-fg) 3.5%, transparent);
  --tb-hover: color-mix(in srgb, var(--tb-accent) 9%, transparent);
  --tb-font: var(--jp-ui-font-family, system-ui, -apple-system, "Segoe UI", Roboto, sans-serif);
  --tb-mono: var(--jp-code-font-family, ui-monospace, SFMono-Regular, Menlo, Consolas, monospace);
  --tb-content-font: var(--jp-content-font-family, var(--tb-font));
  --tb-height: 360px;
  box-sizing: border-box;
  display: flex; flex-direction: column;
  font-family: var(--tb-content-font); font-size: var(--jp-ui-font-size1, 13px);
  color: var(--tb-fg); background: var(--tb-bg);
  border: 1px solid var(--tb-border); border-radius: 6px; overflow: hidden;
}
.tb-root *, .tb-root *::before, .tb-root *::after { box-sizing: border-box; }
.tb-bar { display: flex; align-items: center; gap: 10px; padding: 6px 10px; min-height: 34px;
  background: var(--tb-bg1); border-bottom: 1px solid var(--tb-border); font-family: var(--tb-font); }
.tb-label { font-weight: 600; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.tb-kind { flex: none; font: 600 9.5px/1 var(--tb-font); letter-spacing: .06em; text-transform: uppercase;
  padding: 3px 6px; border-radius: 4px; color: var(--tb-accent);
  background: color-mix(in srgb, var(--tb-accent) 12%, transparent); }
.tb-kind:empty { display: none; }
.tb-meta { color: var(--tb-fg2); white-space: nowrap; font-variant-numeric: tabular-nums; }
.tb-spacer { flex: 1; }
.tb-pill { display: inline-flex; align-items: center; gap: 5px; padding: 1px 8px; border-radius: 999px;
  font-size: 11px; color: var(--tb-fg2); border: 1px solid var(--tb-border); white-space: nowrap; }
.tb-pill::before { content: ""; width: 7px; height: 7px; border-radius: 50%; background: var(--tb-fg3); }
.tb-pill[data-status="live"]::before { background: var(--jp-success-color1, #43a047); }
.tb-pill[data-status="loading"]::before { background: var(--jp-warn-color1, #f9a825); animation: tb-pulse 1s infinite alternate; }
.tb-pill[data-status="released"]::before, .tb-pill[data-status="publisher-gone"]::before { background: var(--jp-warn-color0, #ef6c00); }
.tb-pill[data-status="error"]::before { background: var(--jp-error-color1, #e53935); }
@keyframes tb-pulse { from { opacity: .35; } to { opacity: 1; } }
.tb-banner { display: none; padding: 7px 12px; font-family: var(--tb-font); border-bottom: 1px solid var(--tb-border);
  background: color-mix(in srgb, var(--jp-warn-color1, #f9a825) 16%, var(--tb-bg)); }
.tb-banner.tb-error { background: color-mix(in srgb, var(--jp-error-color1, #e53935) 16%, var(--tb-bg)); }
.tb-banner.tb-show { display: block; }
.tb-content { position: relative; height: var(--tb-height); display: flex; flex-direction: column; min-height: 0;
  transition: opacity .2s; }
.tb-root.tb-stale .tb-content { opacity: .55; filter: grayscale(.6); }
.tb-foot { display: flex; gap: 12px; padding: 3px 10px; font-family: var(--tb-font); font-size: 11px;
  color: var(--tb-fg2); background: var(--tb-bg1); border-top: 1px solid var(--tb-border);
  font-variant-numeric: tabular-nums; min-height: 22px; align-items: center; }
.tb-foot .tb-msg { flex: 1; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; text-align: right; }
.tb-foot .tb-err { color: var(--jp-error-color1, #e53935); }
.tb-empty { margin: auto; color: var(--tb-fg3); font-family: var(--tb-font); }

.tb-grid { flex: 1; min-height: 0; display: flex; }
.tb-scroller { flex: 1; overflow: auto; position: relative; outline: none; overscroll-behavior: contain;
  contain: strict; }
.tb-header, .tb-row { display: grid; grid-template-columns: var(--tb-cols); width: var(--tb-width); min-width: 100%; }
.tb-hcell.tb-sorted .tb-hname-text { color: var(--tb-accent); }
.tb-header { overflow-x: clip; }
.tb-filler { border-right: 0 !important; cursor: default !important; padding: 0 !important; }
.tb-hcell.tb-filler:hover { background: var(--tb-bg1); }
.tb-placeholder .tb-cell.tb-filler::after { display: none; }
.tb-header { position: sticky; top: 0; z-index: 3; background: var(--tb-bg1);
  border-bottom: 1px solid var(--tb-border1); }
.tb-hcell { position: relative; padding: 5px 10px 4px; border-right: 1px solid var(--tb-border);
  cursor: pointer; user-select: none; min-width: 0; background: var(--tb-bg1); }
.tb-hcell:hover { background: color-mix(in srgb, var(--tb-fg) 5%, var(--tb-bg1)); }
.tb-hcell:focus-visible { outline: 2px solid var(--tb-accent); outline-offset: -2px; }
.tb-hname { display: flex; gap: 4px; align-items: baseline; font-weight: 600; font-family: var(--tb-font); }
.tb-hname-text { overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.tb-right .tb-hname { flex-direction: row-reverse; }
.tb-right .tb-htype { text-align: right; }
.tb-sort { color: var(--tb-accent); font-size: 10px; flex: none; }
.tb-htype { font-family: var(--tb-mono); font-size: 10.5px; color: var(--tb-fg3); overflow: hidden;
  text-overflow: ellipsis; white-space: nowrap; margin-top: 1px; }
.tb-resizer { position: absolute; top: 0; right: -4px; width: 8px; height: 100%; cursor: col-resize; z-index: 2; }
.tb-resizer:hover, .tb-resizing .tb-resizer { background: linear-gradient(var(--tb-accent), var(--tb-accent)) center / 2px 100% no-repeat; }
.tb-header .tb-gutter { cursor: default; display: flex; align-items: flex-end; justify-content: flex-end;
  color: var(--tb-fg3); font-family: var(--tb-mono); font-size: 11px; }
.tb-gutter { position: sticky; left: 0; z-index: 1; background: var(--tb-bg1); }
.tb-body { position: relative; overflow: clip; width: var(--tb-width); min-width: 100%; }
.tb-row { position: absolute; top: 0; left: 0; height: var(--tb-row-h); }
.tb-row.tb-odd { background: var(--tb-stripe); }
.tb-row:hover { background: var(--tb-hover); }
.tb-cell { padding: 0 10px; line-height: var(--tb-row-h); white-space: nowrap; overflow: hidden;
  text-overflow: ellipsis; border-right: 1px solid color-mix(in srgb, var(--tb-border) 60%, transparent);
  border-bottom: 1px solid color-mix(in srgb, var(--tb-border) 55%, transparent); min-width: 0; }
.tb-cell.tb-right { text-align: right; font-variant-numeric: tabular-nums; font-family: var(--tb-mono); font-size: 12px; }
.tb-cell.tb-center { text-align: center; }
.tb-cell.tb-tabular { font-variant-numeric: tabular-nums; }
.tb-row .tb-gutter { text-align: right; color: var(--tb-fg3); font-family: var(--tb-mono); font-size: 11px;
  border-right: 1px solid var(--tb-border1); }
.tb-row.tb-odd .tb-gutter { background: color-mix(in srgb, var(--tb-fg) 3.5%, var(--tb-bg1)); }
.tb-row.tb-refreshing .tb-cell:not(.tb-gutter) { opacity: .5; transition: opacity .15s; }
.tb-null { color: var(--tb-fg3); font-style: italic; font-family: var(--tb-font) !important; }
.tb-placeholder .tb-cell:not(.tb-gutter) { position: relative; }
.tb-placeholder .tb-cell:not(.tb-gutter)::after { content: ""; position: absolute; left: 10px; right: 30%; top: 50%;
  height: 8px; margin-top: -4px; border-radius: 4px;
  background: linear-gradient(90deg, var(--tb-bg2) 0%, color-mix(in srgb, var(--tb-bg2) 40%, transparent) 50%, var(--tb-bg2) 100%);
  background-size: 200% 100%; animation: tb-shimmer 1.2s linear infinite; opacity: .8; }
.tb-placeholder .tb-cell.tb-right::after { left: 35%; right: 10px; }
@keyframes tb-shimmer { from { background-position: 200% 0; } to { background-position: 0 0; } }

.tb-figure { flex: 1; min-height: 0; overflow: auto; display: flex; align-items: flex-start; justify-content: center; padding: 8px; }
.tb-figure > img { max-width: 100%; height: auto; }
.tb-figure > iframe { width: 100%; height: 100%; border: 0; background: #fff; }
.tb-figure > pre { align-self: stretch; margin: 0; white-space: pre-wrap; font-family: var(--tb-mono); font-size: 12px; }
.tb-figure > img.tb-fill { width: 100%; }
.tb-figure > .tb-heavy { width: 100%; height: 100%; }
`;
