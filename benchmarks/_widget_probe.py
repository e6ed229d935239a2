"""What bench_widget.py installs in the page and in the kernel to take its timestamps.

In the page everything is measured with ``performance.now()`` by a MutationObserver that
runs as a microtask right after the DOM changes, so Playwright's round trips are not
counted. Playwright only polls the recorded values afterwards.

In the kernel (notebook B's first cell) IPython's pre/post_run_cell events and wrappers
around ``TicketView.__init__``, ``_load`` and ``_on_request`` record ``time.time()``. They are
wrapped in that kernel only; the package is not changed. Browser times are converted to the
same clock with ``performance.timeOrigin + t``; both clocks are the host's wall clock.
"""

from __future__ import annotations

# Armed on cell k before its Shift+Enter. t0 = the keydown's timeStamp (when the execution
# was requested); root = first .tb-root (the widget's view exists) or the first <table> of
# an HTML output; row = first non-placeholder grid row, or the HTML table with all its rows.
FIRST_PAINT_JS = """(cell, arg) => {
  const st = { t0: null, root: null, anyRow: null, row: null, frame: null, keys: 0,
               resizes: null };
  window.__tbPaint = st;
  const onKey = (e) => {
    if (e.key === 'Enter' && e.shiftKey && st.row === null) { st.t0 = e.timeStamp; st.keys++; }
  };
  document.addEventListener('keydown', onKey, true);
  const check = () => {
    const now = performance.now();
    if (arg.kind === 'view') {
      if (st.root === null && cell.querySelector('.tb-root')) st.root = now;
      const sc = st.resizes ? null : cell.querySelector('.tb-scroller');
      if (sc) {  // diagnostics: the grid repaints (and re-requests) on every resize
        st.resizes = [];
        new ResizeObserver(() => st.resizes.push(performance.now())).observe(sc);
      }
      if (st.anyRow === null && cell.querySelector('.tb-row')) st.anyRow = now;
      if (st.row === null && cell.querySelector('.tb-row:not(.tb-placeholder)')) st.row = now;
    } else {
      const t = cell.querySelector('.jp-OutputArea-output table');
      if (t && st.root === null) st.root = now;
      if (t && st.row === null && t.querySelectorAll('tbody > tr').length >= arg.rows) {
        st.row = now;
      }
    }
    if (st.row !== null) {
      obs.disconnect();
      document.removeEventListener('keydown', onKey, true);
      requestAnimationFrame(() => { st.frame = performance.now(); });
    }
  };
  const obs = new MutationObserver(check);
  obs.observe(cell, { subtree: true, childList: true, attributes: true,
                      attributeFilter: ['class'] });
}"""

# Jump: set scrollTop to `frac` of its range and compute the rows the grid must show from its
# scroll mapping (a body capped at 10,000,000 px maps scrollTop proportionally to a fractional
# top row): done when the row shown first has the expected number in its gutter and every row
# up to the last visible one is rendered and not a placeholder. The check reads classes, text
# and data-row only (no layout), so it adds no forced reflow; after `done` one layout read
# (untimed) confirms that the expected row sits where the mapping puts it (partly above
# the top edge by the fractional part of the top row).
JUMP_JS = """(scroller, arg) => {
  const grid = scroller.closest('.tb-grid');
  const header = scroller.querySelector('.tb-header');
  const body = scroller.querySelector('.tb-body');
  const rowH = parseFloat(getComputedStyle(grid).getPropertyValue('--tb-row-h')) || 28;
  const vh = scroller.clientHeight - header.offsetHeight;
  const maxScroll = body.offsetHeight - vh;
  const st = { t0: performance.now(), done: null, expected: null, top: null, shown: 0,
               firstSeen: null, atTop: null, offset: null, expectedOffset: null,
               checks: 0 };
  window.__tbJump = st;
  scroller.scrollTop = Math.round(arg.frac * maxScroll);
  const top = scroller.scrollTop;
  const maxTopRow = Math.max(0, arg.rows - vh / rowH);
  const topRow = (Math.min(Math.max(top, 0), maxScroll) / maxScroll) * maxTopRow;
  const first = Math.floor(topRow);
  const last = Math.min(arg.rows - 1, Math.max(first, Math.ceil(topRow + vh / rowH) - 1));
  st.top = top;
  st.expected = first;
  const want = first.toLocaleString('en-US');
  const check = () => {
    if (st.done !== null) return;
    st.checks++;
    const byRow = new Map();
    for (const row of body.children) {
      if (row.style.display !== 'none' && row.dataset.row) byRow.set(+row.dataset.row, row);
    }
    const head = byRow.get(first);
    st.firstSeen = head ? head.querySelector('.tb-gutter').textContent : null;
    if (st.firstSeen !== want) return;
    for (let r = first; r <= last; r++) {
      const row = byRow.get(r);
      if (!row || row.classList.contains('tb-placeholder')) return;
    }
    st.done = performance.now();
    st.shown = last - first + 1;
    obs.disconnect();
    const y = head.getBoundingClientRect(), box = scroller.getBoundingClientRect();
    st.offset = y.top - (box.top + header.offsetHeight);  // where the row is
    st.expectedOffset = -(topRow - first) * rowH;          // where the mapping puts it
    st.atTop = Math.abs(st.offset - st.expectedOffset) <= 1.5;
  };
  const obs = new MutationObserver(check);
  obs.observe(body, { subtree: true, childList: true, characterData: true, attributes: true,
                      attributeFilter: ['class', 'style', 'data-row'] });
  const tick = () => { if (st.done === null) { check(); requestAnimationFrame(tick); } };
  requestAnimationFrame(tick);
}"""

# Installed before JupyterLab loads (an init script): timestamps of the websocket messages that
# carry the widget's window requests and responses, to split comm time from front-end time.
WS_PROBE_JS = """(() => {
  const W = window.WebSocket;
  const log = (window.__tbWs = { sent: [], recv: [], display: [] });
  const dec = new TextDecoder();
  const peek = (d) => {
    if (typeof d === 'string') return d.slice(0, 8192);
    if (d instanceof ArrayBuffer) {
      return dec.decode(new Uint8Array(d, 0, Math.min(d.byteLength, 8192)));
    }
    if (ArrayBuffer.isView(d)) {
      return dec.decode(new Uint8Array(d.buffer, d.byteOffset, Math.min(d.byteLength, 8192)));
    }
    return '';
  };
  // main-thread tasks over 50 ms (start, duration), to see what delays timers and frames
  window.__tbLong = [];
  try {
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) window.__tbLong.push([e.startTime, e.duration]);
    }).observe({ type: 'longtask', buffered: true });
  } catch (e) { /* not supported */ }
  const send = W.prototype.send;
  W.prototype.send = function (d) {
    const t = performance.now();
    if (/"kind":\\s*"window"/.test(peek(d))) log.sent.push(t);
    return send.call(this, d);
  };
  window.WebSocket = class extends W {
    constructor(...args) {
      super(...args);
      this.addEventListener('message', (e) => {
        const t = performance.now();
        const text = peek(e.data);
        if (text.includes('window-response')) log.recv.push(t);
        else if (text.includes('widget-view+json')) log.display.push(t);
      });
    }
  };
})();"""

# Optional (--trace-messages): every Jupyter message on the websocket, with its header's
# msg_type and date (set by the sender: the kernel for iopub/shell replies), so the delay from
# the kernel building a message to its arrival in the page can be read per message.
MSG_LOG_JS = """(() => {
  const W = window.WebSocket;
  const dec = new TextDecoder();
  const log = (window.__tbMsgs = []);
  const parse = (d, dir) => {
    const t = performance.now();
    try {
      let header, chan = '';
      if (typeof d === 'string') {
        const m = JSON.parse(d);
        header = m.header;
        chan = m.channel || '';
      } else {
        const buf = d instanceof ArrayBuffer ? d : d.buffer;
        const dv = new DataView(buf);
        const n = Number(dv.getBigUint64(0, true));
        const off = [];
        for (let i = 0; i < n; i++) off.push(Number(dv.getBigUint64(8 + 8 * i, true)));
        chan = dec.decode(new Uint8Array(buf, off[0], off[1] - off[0]));
        header = JSON.parse(dec.decode(new Uint8Array(buf, off[1], off[2] - off[1])));
      }
      log.push([dir, t, chan, header.msg_type, header.date, d.byteLength || d.length]);
    } catch (e) { log.push([dir, t, '', 'unparsed', null, 0]); }
  };
  const send = W.prototype.send;
  W.prototype.send = function (d) { parse(d, 'out'); return send.call(this, d); };
  window.WebSocket = class extends W {
    constructor(...args) {
      super(...args);
      this.addEventListener('message', (e) => parse(e.data, 'in'));
    }
  };
})();"""

KERNEL_SETUP = """import json, time
import ticketbooth as tb
_t = time.perf_counter()
from ticketbooth import _widget as _tbw
_widget_import_s = time.perf_counter() - _t
_marks = []
_ip = get_ipython()
_ip.events.register("pre_run_cell", lambda *a: _marks.append(["pre", time.time()]))
_ip.events.register("post_run_cell", lambda *a: _marks.append(["post", time.time()]))

def _timed(name):
    orig = getattr(_tbw.TicketView, name)
    def wrapper(self, *a, **kw):
        t0 = time.time()
        try:
            return orig(self, *a, **kw)
        finally:
            extra = a[1].get("row_start") if name == "_on_request" else None
            _marks.append([name, t0, time.time(), extra])
    setattr(_tbw.TicketView, name, wrapper)

for _name in ("__init__", "_load", "_on_request"):
    _timed(_name)
print("probe ready; widget module import", round(_widget_import_s * 1e3), "ms")"""

KERNEL_PEER_SETUP = """import pandas as pd
pd.set_option("display.max_rows", 20_000)  # show all rows of head(1000) / head(10_000)
_t = time.perf_counter()
df = tb.Session().fetch_table("big").to_pandas()
print(f"df: {len(df):,} rows, to_pandas {time.perf_counter() - _t:.1f} s")"""


# Peer: the floor of any widget <-> kernel round trip in this JupyterLab, without ticketbooth.
# A minimal anywidget answers each "ping" custom message with a "pong" carrying an 8 KB
# buffer (about one 200-row window); the page times ping -> pong, the kernel notes when the
# ping arrived.
ECHO_CELL = '''import anywidget

class _Echo(anywidget.AnyWidget):
    _esm = """
export default { render({ model, el }) {
  el.classList.add('tb-echo');
  el.textContent = 'echo';
  const log = (window.__echo = window.__echo || { sent: [], recv: [] });
  model.on('msg:custom', (msg) => { if (msg.kind === 'pong') log.recv.push(performance.now()); });
  window.__echoSend = () => { log.sent.push(performance.now()); model.send({ kind: 'ping' }); };
} }"""

    def __init__(self):
        super().__init__()
        self.on_msg(self._ping)

    def _ping(self, _w, content, buffers):
        _marks.append(["echo", time.time()])
        self.send({"kind": "pong"}, [bytes(8000)])

_Echo()'''


def kernel_dump(path: str) -> str:
    return (
        f"json.dump({{'marks': _marks, 'widget_import_s': _widget_import_s}}, open({path!r}, 'w'))"
        "\nprint('dumped', len(_marks))"
    )
