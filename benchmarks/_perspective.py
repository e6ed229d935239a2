"""The Perspective peer of bench_widget.py: kernel cells and in-page JavaScript.

Perspective (``perspective-python`` 5.x, ``perspective.widget.PerspectiveWidget``, an anywidget)
renders a ``<perspective-viewer>`` whose datagrid plugin keeps a ``<regular-table>`` in its
shadow root; the table's ``<tbody>`` rows are light-DOM children of that element, which is
also the scroll container. The first column is the table's ``id`` (= row number), so a row is
identified exactly by its first cell.

Everything in the page is timed like bench_widget.py's own probes: ``performance.now()`` in a
MutationObserver (plus a requestAnimationFrame fallback), Playwright only reads the results.
"""

from __future__ import annotations

import importlib.util
import sys

INSTALL_HINT = 'pip install "perspective-python[jupyter]>=5,<6"  (or: pip install -e ".[bench]")'


def perspective_version() -> str | None:
    """The installed perspective-python version if it is 5.x, else None."""
    if importlib.util.find_spec("perspective") is None:
        return None
    from importlib.metadata import PackageNotFoundError, version

    try:
        v = version("perspective-python")
    except PackageNotFoundError:
        return None
    return v if v.split(".")[0] == "5" else None


def require_perspective() -> str:
    v = perspective_version()
    if v is None:
        print(
            "bench_widget.py: perspective-python 5.x (the peer) is not installed: "
            f"{INSTALL_HINT}; or run with --no-perspective for ticketbooth only",
            file=sys.stderr,
        )
        raise SystemExit(2)
    return v


# Notebook P, cell 0 (not timed): both widget modules imported, the table mapped from the
# broker as a pyarrow table, the kernel's pid, and a thread that applies Perspective updates
# when the benchmark process asks (a UDP datagram), answering with the kernel's time.time()
# just before and after ``table.update`` (the counterpart of ticketbooth's watch thread).
PEER_SETUP = """import gc, json, os, socket, threading, time
import ticketbooth as tb
from ticketbooth import _widget as _tbw
import perspective
from perspective.widget import PerspectiveWidget
_t = time.perf_counter()
_arrow = tb.Session().fetch_table("big").to_arrow()
_fetch_s = time.perf_counter() - _t
_psp_pre = None
_upd = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
_upd.bind(("127.0.0.1", 0))

def _upd_loop():
    while True:
        data, addr = _upd.recvfrom(65536)
        msg = json.loads(data)
        t0 = time.time()
        try:
            _psp_pre.update({"id": [msg["row"]], "label": [msg["label"]]})
            err = None
        except Exception as exc:
            err = repr(exc)
        t1 = time.time()
        _upd.sendto(json.dumps({"t0": t0, "t1": t1, "error": err}).encode(), addr)

threading.Thread(target=_upd_loop, name="psp-update", daemon=True).start()
print(f"PID={os.getpid()} UDP={_upd.getsockname()[1]} rows={_arrow.num_rows} "
      f"fetch={_fetch_s:.3f}s perspective={perspective.__version__}")"""

# Cell 1 (not timed): the "pre-ingested" Perspective table, indexed by id so that
# ``update`` changes a row in place (without an index, Perspective appends).
PSP_PREINGEST = """_t = time.perf_counter()
_psp_pre = perspective.table(_arrow, index="id")
_pre_s = time.perf_counter() - _t
print(f"INGEST={_pre_s:.3f}s size={_psp_pre.size()} columns={_psp_pre.columns()}")"""

# The timed cells and their (untimed) clean-up cells, per system.
SHOW = {
    "tb": '_tbv = tb.view("big")\n_tbv',
    "pre": "_pwp = PerspectiveWidget(_psp_pre)\n_pwp",
    "default": "_pwd = PerspectiveWidget(_arrow)\n_pwd",
}
# Clean-up (untimed): PSP_RELEASE_JS first deletes the viewer's View through the still-open
# comm (a table with views cannot be deleted), then the cell closes the proxy sessions and
# the widget. A widget left open would be restored into the next fresh page, where a second
# Perspective widget cannot render (see _widget_peers.PeerRun.fresh_page).
_PSP_CLOSE = """for _s in list({w}._sessions.values()):
    _s.close()
{w}._sessions.clear()
_tab = {w}.table
{w}.close()
{drop}del {w}, _tab
print("closed", gc.collect())"""
CLOSE = {
    "tb": '_tbv.close()\ndel _tbv\nprint("closed", gc.collect())',
    "pre": _PSP_CLOSE.format(w="_pwp", drop=""),
    "default": _PSP_CLOSE.format(w="_pwd", drop="_tab.delete()\nprint('table deleted')\n"),
}

PSP_RELEASE_JS = """async (cell) => {
  const v = cell.querySelector('perspective-viewer');
  if (v) await v.delete();
  return !!v;
}"""

# Installed before JupyterLab loads: every message on a kernel's websocket (both directions),
# [dir, page ms, bytes, channel, msg_type]; bytes are the frame's length (binary frames of
# Jupyter's v1 websocket protocol; a text frame counts its characters).
KERNEL_WS_JS = """(() => {
  const W = window.WebSocket;
  const dec = new TextDecoder();
  const log = (window.__kWs = []);
  const rec = (dir, d) => {
    const t = performance.now();
    let n = 0, chan = '', kind = '';
    try {
      if (typeof d === 'string') {
        n = d.length;
        if (n < 65536) {
          const m = JSON.parse(d);
          chan = m.channel || '';
          kind = m.header.msg_type;
        }
      } else if (d instanceof Blob) {
        n = d.size;
      } else {
        const buf = d instanceof ArrayBuffer ? d : d.buffer;
        n = d.byteLength;
        const dv = new DataView(buf, d.byteOffset || 0);
        const k = Number(dv.getBigUint64(0, true));
        const off = [];
        for (let i = 0; i < Math.min(k, 3); i++) off.push(Number(dv.getBigUint64(8 + 8 * i, true)));
        const base = d.byteOffset || 0;
        chan = dec.decode(new Uint8Array(buf, base + off[0], off[1] - off[0]));
        kind = JSON.parse(dec.decode(new Uint8Array(buf, base + off[1], off[2] - off[1]))).msg_type;
      }
    } catch (e) { kind = kind || '?'; }
    log.push([dir, t, n, chan, kind]);
  };
  const send = W.prototype.send;
  W.prototype.send = function (d) {
    if (this.__kernelWs) rec('out', d);
    return send.call(this, d);
  };
  window.WebSocket = class extends W {
    constructor(url, ...rest) {
      super(url, ...rest);
      this.__kernelWs = /\\/api\\/kernels\\/[^/]+\\/channels/.test(String(url));
      if (this.__kernelWs) this.addEventListener('message', (e) => rec('in', e.data));
    }
  };
})();"""

# The datagrid's <regular-table> inside a cell (or document), through the datagrid's shadow root.
_FIND_RT = """const findRt = (root) => {
    const dg = root.querySelector('perspective-viewer-datagrid');
    return dg && dg.shadowRoot ? dg.shadowRoot.querySelector('regular-table') : null;
  };
  const idOf = (tr) => {
    const td = tr && tr.querySelector('td');
    return td ? td.textContent.replace(/[^0-9-]/g, '') : null;
  };"""

# First paint, armed on cell k before its Shift+Enter (the same record as FIRST_PAINT_JS):
# t0 = the keydown's timeStamp, root = <perspective-viewer> in the cell, anyRow = the first
# <tbody> row, row = the first row whose first cell is arg.firstId (row 0's id).
PSP_PAINT_JS = (
    """(cell, arg) => {
  """
    + _FIND_RT
    + """
  const st = { t0: null, root: null, anyRow: null, row: null, frame: null, keys: 0 };
  window.__tbPaint = st;
  const onKey = (e) => {
    if (e.key === 'Enter' && e.shiftKey && st.row === null) { st.t0 = e.timeStamp; st.keys++; }
  };
  document.addEventListener('keydown', onKey, true);
  const opts = { subtree: true, childList: true, characterData: true };
  const seen = new Set();
  const check = () => {
    if (st.row !== null) return;
    const now = performance.now();
    if (st.root === null && cell.querySelector('perspective-viewer')) st.root = now;
    const dg = cell.querySelector('perspective-viewer-datagrid');
    if (dg && dg.shadowRoot && !seen.has(dg.shadowRoot)) {
      seen.add(dg.shadowRoot);
      obs.observe(dg.shadowRoot, opts);
    }
    const rt = findRt(cell);
    const tr = rt && rt.querySelector('tbody tr');
    if (tr && st.anyRow === null) st.anyRow = now;
    if (tr && idOf(tr) === String(arg.firstId)) {
      st.row = now;
      obs.disconnect();
      document.removeEventListener('keydown', onKey, true);
      requestAnimationFrame(() => { st.frame = performance.now(); });
    }
  };
  const obs = new MutationObserver(check);
  obs.observe(cell, opts);
  const tick = () => { if (st.row === null) { check(); requestAnimationFrame(tick); } };
  requestAnimationFrame(tick);
}"""
)

# Untimed, before a jump: the numbers regular-table's row mapping uses (perspective 5.6's
# regular-table: the virtual panel is min(1e7 px, (rows + header rows) x row height) and
# start_row = floor(max(0, rows - (clip height / row height - header rows)) *
# ceil(scrollTop) / (panel - clientHeight)), at most floor(rows - visible rows)).
PSP_GEOM_JS = (
    """(cell) => {
  """
    + _FIND_RT
    + """
  const rt = findRt(cell);
  if (!rt) return null;
  const tr = rt.querySelector('tbody tr');
  const clip = rt.shadowRoot ? rt.shadowRoot.children[1] : null;
  return { rowH: tr ? tr.offsetHeight : 0, headRows: rt.querySelectorAll('thead tr').length,
           clipH: clip ? clip.clientHeight : rt.clientHeight, clientH: rt.clientHeight,
           scrollH: rt.scrollHeight, top: idOf(tr) };
}"""
)

# A jump: set scrollTop, compute the row regular-table must show first from its mapping, done
# when the first <tbody> row carries that id and the last visible row has content. arg: rows,
# geometry (PSP_GEOM_JS), and either frac (of the scroll range) or target (a row).
PSP_JUMP_JS = (
    """(cell, arg) => {
  """
    + _FIND_RT
    + """
  const rt = findRt(cell);
  const g = arg.geom;
  const panel = Math.round(Math.min(1e7, (arg.rows + g.headRows) * g.rowH));
  const range = Math.max(1, panel - g.clientH);
  const vis = g.clipH / g.rowH - g.headRows;
  const span = Math.max(0, arg.rows - vis);
  const st = { t0: performance.now(), done: null, expected: null, top: null, shown: 0,
               firstSeen: null, atTop: null, checks: 0 };
  window.__tbJump = st;
  const want = arg.target === undefined ? Math.round(arg.frac * range)
                                        : Math.round((arg.target + 0.5) * range / span);
  rt.scrollTop = Math.min(Math.max(want, 0), range);
  const top = rt.scrollTop;
  // at the very bottom the browser may report scrollTop one past the range: the grid still
  // shows floor(span) first (measured), so clamp to it
  const first = Math.min(Math.floor(span), Math.floor(span * Math.max(Math.ceil(top), 0) / range));
  st.top = top;
  st.expected = first;
  const check = () => {
    if (st.done !== null) return;
    st.checks++;
    const rows = rt.querySelectorAll('tbody tr');
    st.firstSeen = idOf(rows[0]);
    if (st.firstSeen !== String(first)) return;
    const last = rows[rows.length - 1].querySelector('td');
    if (!last || last.textContent === '') return;
    st.done = performance.now();
    st.shown = rows.length;
    obs.disconnect();
    st.atTop = true;
  };
  const obs = new MutationObserver(check);
  obs.observe(rt, { subtree: true, childList: true, characterData: true });
  const tick = () => { if (st.done === null) { check(); requestAnimationFrame(tick); } };
  requestAnimationFrame(tick);
}"""
)

# Untimed: ticketbooth's grid geometry, as JUMP_JS computes it (to aim at a given row).
TB_GEOM_JS = """(cell) => {
  const scroller = cell.querySelector('.tb-scroller');
  if (!scroller) return null;
  const grid = scroller.closest('.tb-grid');
  const header = scroller.querySelector('.tb-header');
  const body = scroller.querySelector('.tb-body');
  const rowH = parseFloat(getComputedStyle(grid).getPropertyValue('--tb-row-h')) || 28;
  const vh = scroller.clientHeight - header.offsetHeight;
  return { rowH, vh, maxScroll: body.offsetHeight - vh };
}"""

# Republish -> repaint: done when a cell matching arg.sel under `root` shows arg.text.
REPAINT_JS = """(root, arg) => {
  const st = { t0: performance.now(), done: null, checks: 0 };
  window.__tbRepaint = st;
  const check = () => {
    if (st.done !== null) return;
    st.checks++;
    for (const c of root.querySelectorAll(arg.sel)) {
      if (c.textContent === arg.text) { st.done = performance.now(); obs.disconnect(); return; }
    }
  };
  const obs = new MutationObserver(check);
  obs.observe(root, { subtree: true, childList: true, characterData: true, attributes: true,
                      attributeFilter: ['class'] });
  const tick = () => { if (st.done === null) { check(); requestAnimationFrame(tick); } };
  requestAnimationFrame(tick);
}"""

# Untimed: back to the top of the table (before the republish repeats); returns the top id.
PSP_TOP_JS = (
    """(cell) => {
  """
    + _FIND_RT
    + """
  const rt = findRt(cell);
  rt.scrollTop = 0;
  return idOf(rt.querySelector('tbody tr'));
}"""
)
