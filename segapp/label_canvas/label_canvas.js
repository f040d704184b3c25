// label_canvas: the browser side of a Streamlit components-v2 element (no iframe) for painting class labels
// over an image at its native resolution. See label_canvas/__init__.py for the Python side and the protocol.
//
// The image and the label layer are held at full resolution (an ImageBitmap; a Uint8Array of labels and an
// RGBA canvas of their colours); one viewport-sized canvas shows them through a view transform (zoom, pan),
// a second one the cursor ring and the polygon being drawn. Every edit (brush, eraser, fill, polygon, undo,
// redo) becomes a patch of its bounding box only, sent to Python as a trigger value; Python acknowledges the
// patches it took in the next data (`ack`), and unacknowledged ones are sent again.

const UNLABELLED = 255;
const DOC_LIMIT = 2; // documents (image + labels + history) kept per browser tab, most recent first
const HISTORY_BYTES = 256 * 1024 * 1024; // undo history per document
const BATCH_CHARS = 8 * 1024 * 1024; // patch text sent in one trigger
const RETRY_MS = 10000; // resend unacknowledged patches after this long (doubling)
const MAX_SCALE = 64; // screen pixels per image pixel
const DOCS = new Map(); // python key -> Doc (survives a remount of the element, e.g. a page switch)
const VIEWS = new WeakMap(); // parentElement -> View

// -- bytes ------------------------------------------------------------------------------------------
function b64ToBytes(s) {
  const bin = atob(s);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}
function bytesToB64(bytes) {
  let s = "";
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
  return btoa(s);
}
async function zlibStream(bytes, Stream) {
  const stream = new Blob([bytes]).stream().pipeThrough(new Stream("deflate"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}
const inflate = (bytes) => zlibStream(bytes, DecompressionStream);
const deflate = (bytes) => zlibStream(bytes, CompressionStream);
const newSid = () => Math.random().toString(36).slice(2, 10) + Date.now().toString(36);
const clamp = (v, lo, hi) => Math.max(lo, Math.min(hi, v));

// -- one image with its labels, history and unsent patches ---------------------------------------------
class Doc {
  constructor(key) {
    this.key = key;
    this.w = 0;
    this.h = 0;
    this.imageId = null;
    this.bitmap = null;
    this.loadingImage = null;
    this.maskId = null;
    this.loadingMask = null;
    this.labels = null; // Uint8Array(w*h): the labels as shown
    this.layer = null; // canvas w x h: their colours (recoloured from labels where they change)
    this.mark = null; // scratch: pixels touched by the edit in progress
    this.prev = null; // scratch: their labels before it
    this.lut = new Uint32Array(256);
    this.colourKey = "";
    this.history = [];
    this.future = [];
    this.historyBytes = 0;
    this.sid = newSid();
    this.seq = 0;
    this.outbox = []; // [{sid, seq, ready, patch}] in order
    this.inflight = null; // {until, retry}
    this.needN = 0;
    this.asked = {};
    this.prefs = null; // tool settings and view of the last View that showed this doc
    this.views = new Set();
  }

  setColours(classes) {
    const key = JSON.stringify(classes);
    if (key === this.colourKey) return false;
    this.colourKey = key;
    const lut = new Uint32Array(256);
    const bytes = new Uint8Array(lut.buffer);
    for (let v = 0; v < 256; v++) {
      const c = v < classes.length ? classes[v].color : v === UNLABELLED ? null : [128, 128, 128];
      if (c) bytes.set([c[0], c[1], c[2], 255], 4 * v);
    }
    this.lut = lut;
    if (this.labels) this.recolour(0, 0, this.w, this.h);
    return true;
  }

  setLabels(labels, maskId) {
    const w = this.w, h = this.h;
    if (!this.layer || this.layer.width !== w || this.layer.height !== h) {
      this.layer = document.createElement("canvas");
      this.layer.width = w;
      this.layer.height = h;
      this.layerCtx = this.layer.getContext("2d");
      this.mark = new Uint8Array(w * h);
      this.prev = new Uint8Array(w * h);
    }
    this.labels = labels;
    this.maskId = maskId;
    this.history = [];
    this.future = [];
    this.historyBytes = 0;
    this.sid = newSid(); // a new edit session; patches of the old one still in the outbox are still sent
    this.seq = 0;
    this.recolour(0, 0, w, h);
  }

  // redraw the layer's colours from the labels inside a box, a band of rows at a time (no full-size copy)
  recolour(x0, y0, x1, y1) {
    x0 = clamp(x0, 0, this.w);
    x1 = clamp(x1, 0, this.w);
    y0 = clamp(y0, 0, this.h);
    y1 = clamp(y1, 0, this.h);
    const bw = x1 - x0;
    if (bw <= 0 || y1 <= y0) return;
    const { w, labels, lut } = this;
    const rows = Math.max(1, Math.min(y1 - y0, Math.floor((1 << 22) / bw)));
    let img = null, px = null;
    for (let yb = y0; yb < y1; yb += rows) {
      const bh = Math.min(rows, y1 - yb);
      if (!img || img.height !== bh) {
        img = new ImageData(bw, bh);
        px = new Uint32Array(img.data.buffer);
      }
      for (let y = 0, j = 0; y < bh; y++) {
        let i = (yb + y) * w + x0;
        for (let x = 0; x < bw; x++, i++, j++) px[j] = lut[labels[i]];
      }
      this.layerCtx.putImageData(img, x0, yb);
    }
  }

  // set one pixel as part of the edit in progress (its old label kept in prev)
  set(i, v) {
    if (!this.mark[i]) {
      this.mark[i] = 1;
      this.prev[i] = this.labels[i];
    }
    this.labels[i] = v;
  }

  // the edit in progress (pixels marked inside the box) becomes a history entry and a patch
  commit(kind, box) {
    const [x0, y0, x1, y1] = box;
    const bw = x1 - x0, bh = y1 - y0;
    if (bw <= 0 || bh <= 0) return null;
    const n = bw * bh;
    const touched = new Uint8Array(n), before = new Uint8Array(n), after = new Uint8Array(n);
    const { w, mark, prev, labels } = this;
    let count = 0;
    for (let y = y0, j = 0; y < y1; y++) {
      let i = y * w + x0;
      for (let x = x0; x < x1; x++, i++, j++) {
        if (mark[i]) {
          mark[i] = 0;
          touched[j] = 1;
          before[j] = prev[i];
          after[j] = labels[i];
          count++;
        }
      }
    }
    if (!count) return null;
    const entry = { kind, x: x0, y: y0, w: bw, h: bh, touched, before, after, bytes: 3 * n };
    this.history.push(entry);
    this.historyBytes += entry.bytes;
    this.future = [];
    while (this.historyBytes > HISTORY_BYTES && this.history.length > 1) this.historyBytes -= this.history.shift().bytes;
    this.send(entry, kind, entry.after, entry.before);
    return entry;
  }

  undo() {
    const e = this.history.pop();
    if (!e) return false;
    this.historyBytes -= e.bytes;
    this.put(e, e.before);
    this.future.push(e);
    this.send(e, "undo", e.before, e.after);
    return true;
  }

  redo() {
    const e = this.future.pop();
    if (!e) return false;
    this.put(e, e.after);
    this.history.push(e);
    this.historyBytes += e.bytes;
    this.send(e, "redo", e.after, e.before);
    return true;
  }

  put(e, values) {
    const { w, labels } = this;
    for (let y = 0, j = 0; y < e.h; y++) {
      let i = (e.y + y) * w + e.x;
      for (let x = 0; x < e.w; x++, i++, j++) if (e.touched[j]) labels[i] = values[j];
    }
    this.recolour(e.x, e.y, e.x + e.w, e.y + e.h);
  }

  // queue a patch: touched, the values it sets, what was there before (zlib, base64)
  send(e, kind, values, before) {
    const n = e.w * e.h;
    const raw = new Uint8Array(3 * n);
    raw.set(e.touched, 0);
    raw.set(values, n);
    raw.set(before, 2 * n);
    for (let j = 0; j < n; j++) {
      if (!e.touched[j]) raw[n + j] = raw[2 * n + j] = 0; // untouched: zeros compress best
    }
    const item = { sid: this.sid, seq: ++this.seq, ready: false, patch: null, t: performance.now() };
    this.outbox.push(item);
    deflate(raw).then((z) => {
      item.patch = { sid: item.sid, seq: item.seq, kind, x: e.x, y: e.y, w: e.w, h: e.h, data: bytesToB64(z) };
      item.ready = true;
      this.flush();
    });
  }

  acknowledge(ack) {
    if (!ack) return;
    const before = this.outbox.length;
    this.outbox = this.outbox.filter((it) => !(it.sid in ack && it.seq <= ack[it.sid]));
    if (this.outbox.length !== before || !this.outbox.length) this.inflight = null;
    this.flush();
  }

  // send the ready patches in order, one trigger at a time; again after RETRY_MS without an ack
  flush() {
    const view = [...this.views][0];
    if (!view || !this.outbox.length) return this.changed();
    const now = performance.now();
    if (this.inflight && now < this.inflight.until) return this.changed();
    const batch = [];
    let chars = 0;
    for (const it of this.outbox) {
      if (!it.ready || (batch.length && chars + it.patch.data.length > BATCH_CHARS)) break;
      batch.push(it.patch);
      chars += it.patch.data.length;
    }
    if (!batch.length) return this.changed();
    const retry = this.inflight ? Math.min(this.inflight.retry * 2, 120000) : RETRY_MS;
    this.inflight = { until: now + retry, retry };
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.flush(), retry + 50);
    view.args.setTriggerValue("edits", { patches: batch, sent: Date.now() });
    this.changed();
  }

  changed() {
    for (const v of this.views) v.status();
  }
}

function getDoc(key) {
  let doc = DOCS.get(key);
  if (doc) DOCS.delete(key);
  else doc = new Doc(key);
  DOCS.set(key, doc); // most recent last
  while (DOCS.size > DOC_LIMIT) {
    const [oldKey, old] = DOCS.entries().next().value;
    if (old.outbox.length || old.views.size) break; // never drop unsent edits or a shown doc
    DOCS.delete(oldKey);
  }
  return doc;
}

// -- brush shapes ------------------------------------------------------------------------------------
const DISCS = new Map();
function disc(size) {
  // pixels of a brush `size` image pixels across: odd sizes centred on a pixel, even ones on a corner
  let d = DISCS.get(size);
  if (d) return d;
  const r2 = (size / 2) * (size / 2), k = Math.floor(size / 2), odd = size % 2 === 1, off = [];
  for (let dy = -k; dy <= (odd ? k : k - 1); dy++) {
    for (let dx = -k; dx <= (odd ? k : k - 1); dx++) {
      const cx = odd ? dx : dx + 0.5, cy = odd ? dy : dy + 0.5;
      if (cx * cx + cy * cy <= r2 + 1e-9) off.push(dx, dy);
    }
  }
  d = Int32Array.from(off);
  DISCS.set(size, d);
  return d;
}

const TOOLS = [
  ["brush", "Brush", "B", "Paint the selected class (B)"],
  ["eraser", "Eraser", "E", "Erase back to unlabelled (E)"],
  ["fill", "Fill", "G", "Fill the connected region of equal labels under the click (G)"],
  ["polygon", "Polygon", "P", "Click the corners; double-click, Enter or a click on the first corner fills it; Esc cancels (P)"],
];

// -- the element on the page ---------------------------------------------------------------------------
class View {
  constructor(parent) {
    this.parent = parent;
    this.root = document.createElement("div");
    this.root.className = "lc";
    this.root.innerHTML = `
      <div class="lc-bar">
        <span class="lc-group lc-tools">${TOOLS.map(([t, label, , tip]) =>
          `<button type="button" data-tool="${t}" title="${tip}">${label}</button>`).join("")}</span>
        <span class="lc-group lc-classes" role="radiogroup" aria-label="Class"></span>
        <label class="lc-group" title="Brush size in image pixels ([ and ])">Size
          <input class="lc-size" type="number" min="1" max="1000" step="1" aria-label="Brush size"> px</label>
        <label class="lc-group" title="Opacity of the label layer">Opacity
          <input class="lc-opacity" type="range" min="0" max="1" step="0.05" aria-label="Label opacity"></label>
        <label class="lc-group" title="Show the label layer (H)"><input class="lc-show" type="checkbox"> Labels</label>
        <span class="lc-group">
          <button type="button" class="lc-undo" title="Undo (Ctrl+Z)">Undo</button>
          <button type="button" class="lc-redo" title="Redo (Ctrl+Shift+Z)">Redo</button></span>
        <span class="lc-group">
          <button type="button" class="lc-fit" title="Fit the image (F)">Fit</button>
          <button type="button" class="lc-one" title="One screen pixel per image pixel">1:1</button>
          <span class="lc-zoom"></span></span>
      </div>
      <div class="lc-view" tabindex="0">
        <canvas class="lc-main"></canvas><canvas class="lc-over"></canvas>
        <div class="lc-msg"></div>
      </div>
      <div class="lc-status"><span class="lc-pos"></span><span class="lc-save"></span></div>`;
    parent.appendChild(this.root);
    const q = (s) => this.root.querySelector(s);
    this.el = {
      view: q(".lc-view"), main: q(".lc-main"), over: q(".lc-over"), msg: q(".lc-msg"), classes: q(".lc-classes"),
      size: q(".lc-size"), opacity: q(".lc-opacity"), show: q(".lc-show"), zoom: q(".lc-zoom"), pos: q(".lc-pos"),
      save: q(".lc-save"), undo: q(".lc-undo"), redo: q(".lc-redo"),
    };
    this.ctx = this.el.main.getContext("2d");
    this.octx = this.el.over.getContext("2d");
    this.prefs = { tool: "brush", cls: 0, size: 9, opacity: 0.45, show: true, s: 0, tx: 0, ty: 0, fitted: false };
    this.pointer = null; // last pointer position in view pixels
    this.hover = false;
    this.space = false;
    this.action = null; // {type: "pan"|"stroke", ...}
    this.poly = [];
    this.listen();
  }

  listen() {
    const { el } = this;
    const on = (t, ev, fn, opt) => {
      t.addEventListener(ev, fn, opt);
      (this.offs ||= []).push(() => t.removeEventListener(ev, fn, opt));
    };
    this.root.querySelectorAll("button[data-tool]").forEach((b) => on(b, "click", () => this.setTool(b.dataset.tool)));
    on(el.size, "change", () => this.setSize(+el.size.value));
    on(el.opacity, "input", () => { this.prefs.opacity = +el.opacity.value; this.draw(); });
    on(el.show, "change", () => { this.prefs.show = el.show.checked; this.draw(); });
    on(el.undo, "click", () => this.undo());
    on(el.redo, "click", () => this.redo());
    on(this.root.querySelector(".lc-fit"), "click", () => this.fit());
    on(this.root.querySelector(".lc-one"), "click", () => this.zoomTo(1));
    on(el.view, "pointerdown", (e) => this.down(e));
    on(el.view, "pointermove", (e) => this.move(e));
    on(el.view, "pointerup", (e) => this.up(e));
    on(el.view, "pointercancel", (e) => this.up(e));
    on(el.view, "pointerenter", () => { this.hover = true; });
    on(el.view, "pointerleave", () => { this.hover = false; this.pointer = null; this.overlay(); this.status(); });
    on(el.view, "dblclick", (e) => { if (this.prefs.tool === "polygon") { e.preventDefault(); this.closePolygon(); } });
    on(el.view, "wheel", (e) => this.wheel(e), { passive: false });
    on(el.view, "contextmenu", (e) => e.preventDefault());
    on(el.view, "auxclick", (e) => e.preventDefault());
    on(document, "keydown", (e) => this.key(e, true));
    on(document, "keyup", (e) => this.key(e, false));
    this.resizer = new ResizeObserver(() => this.resize());
    this.resizer.observe(el.view);
  }

  destroy() {
    (this.offs || []).forEach((f) => f());
    this.resizer.disconnect();
    if (this.doc) {
      this.doc.prefs = { ...this.prefs };
      this.doc.views.delete(this);
    }
    this.root.remove();
  }

  // each run of the Python script that changes the data calls this
  update(args) {
    this.args = args;
    const d = args.data || {};
    const doc = getDoc(d.key);
    if (this.doc !== doc) {
      if (this.doc) {
        this.doc.prefs = { ...this.prefs };
        this.doc.views.delete(this);
      }
      this.doc = doc;
      doc.views.add(this);
      if (doc.prefs) this.prefs = { ...doc.prefs };
    }
    this.el.view.style.height = `${d.height || 600}px`;
    const py = (doc.py ||= {}); // the last values Python gave: a change there overrides the browser's choice
    for (const [k, name] of [["opacity", "opacity"], ["cls", "cls"], ["brush", "size"]]) {
      if (d[k] != null && d[k] !== py[k]) this.prefs[name] = d[k];
      py[k] = d[k];
    }
    if (doc.w !== d.w || doc.h !== d.h) {
      doc.w = d.w;
      doc.h = d.h;
      doc.labels = null;
      doc.maskId = null;
      doc.bitmap = null;
      doc.imageId = null;
    }
    if (doc.imageId !== d.image_id && this.prefs.imageId !== d.image_id) this.prefs.fitted = false;
    this.prefs.imageId = d.image_id;
    this.classes = d.classes || [];
    this.prefs.cls = clamp(this.prefs.cls | 0, 0, Math.max(0, this.classes.length - 1));
    this.buildClasses();
    doc.setColours(this.classes);
    this.sync(d);
    doc.acknowledge(d.ack);
    this.controls();
    this.draw();
  }

  // take the image and the mask when Python sent them; ask for them when this tab lacks them
  sync(d) {
    const doc = this.doc;
    const need = {};
    if (doc.imageId !== d.image_id && doc.loadingImage !== d.image_id) {
      if (d.image) {
        doc.loadingImage = d.image_id;
        fetch(d.image).then((r) => r.blob()).then((b) => createImageBitmap(b)).then((bmp) => {
          if (doc.loadingImage !== d.image_id) return;
          doc.bitmap = bmp;
          doc.imageId = d.image_id;
          doc.loadingImage = null;
          this.afterLoad();
        }).catch((err) => { doc.loadingImage = null; this.message(`Could not show the image: ${err}`); });
      } else need.image = d.image_id;
    }
    if (doc.maskId !== d.mask_id && doc.loadingMask !== d.mask_id) {
      if (d.mask) {
        doc.loadingMask = d.mask_id;
        inflate(b64ToBytes(d.mask)).then((labels) => {
          if (doc.loadingMask !== d.mask_id) return;
          doc.loadingMask = null;
          if (labels.length !== d.w * d.h) throw new Error(`mask of ${labels.length} values for ${d.w}x${d.h}`);
          doc.setLabels(labels, d.mask_id);
          this.afterLoad();
        }).catch((err) => { doc.loadingMask = null; this.message(`Could not show the labels: ${err}`); });
      } else need.mask = d.mask_id;
    }
    if (need.image || need.mask) {
      const ask = JSON.stringify(need);
      const now = performance.now();
      if (doc.asked.what !== ask || now - doc.asked.at > 15000) { // once, then again if nothing came
        doc.asked = { what: ask, at: now };
        this.args.setStateValue("need", { ...need, n: ++doc.needN + Math.floor(Math.random() * 1e6) });
      }
    }
    this.message(doc.bitmap && doc.labels && doc.imageId === d.image_id ? "" : "Loading the image…");
  }

  afterLoad() {
    for (const v of this.doc.views) {
      v.message(v.doc.bitmap && v.doc.labels ? "" : "Loading the image…");
      if (v.doc.bitmap && !v.prefs.fitted) v.fit();
      v.draw();
    }
  }

  message(text) {
    this.el.msg.textContent = text;
    this.el.msg.style.display = text ? "" : "none";
  }

  buildClasses() {
    const key = JSON.stringify(this.classes);
    if (key === this.classKey) return;
    this.classKey = key;
    this.el.classes.innerHTML = "";
    this.classes.forEach((c, i) => {
      const b = document.createElement("button");
      b.type = "button";
      b.className = "lc-class";
      b.dataset.cls = i;
      b.setAttribute("role", "radio");
      const shortcut = i < 9 ? `${i + 1}` : i === 9 ? "0" : "";
      b.title = `${c.name}${shortcut ? ` (key ${shortcut})` : ""}`;
      const sw = document.createElement("span");
      sw.className = "lc-swatch";
      sw.style.background = `rgb(${c.color.join(",")})`;
      b.append(sw, `${shortcut ? shortcut + " " : ""}${c.name}`);
      b.addEventListener("click", () => this.setClass(i));
      this.el.classes.appendChild(b);
    });
  }

  controls() {
    const p = this.prefs, el = this.el;
    this.root.querySelectorAll("button[data-tool]").forEach((b) => b.classList.toggle("lc-on", b.dataset.tool === p.tool));
    this.el.classes.querySelectorAll(".lc-class").forEach((b) => {
      const on = +b.dataset.cls === p.cls;
      b.classList.toggle("lc-on", on);
      b.setAttribute("aria-checked", on ? "true" : "false");
    });
    if (document.activeElement !== el.size && this.parent.activeElement !== el.size) el.size.value = p.size;
    el.opacity.value = p.opacity;
    el.show.checked = p.show;
    el.undo.disabled = !this.doc || !this.doc.history.length;
    el.redo.disabled = !this.doc || !this.doc.future.length;
    el.view.dataset.activeTool = p.tool;
    this.status();
  }

  status() {
    const doc = this.doc, p = this.prefs, el = this.el;
    if (!doc) return;
    el.zoom.textContent = p.s ? `${Math.round(p.s * 100)}%` : "";
    Object.assign(el.view.dataset, { scale: p.s, tx: p.tx, ty: p.ty, pending: doc.outbox.length,
                                     sent: doc.seq, ready: doc.bitmap && doc.labels ? "1" : "0" });
    const n = doc.outbox.length;
    el.save.textContent = n ? `sending ${n} edit${n > 1 ? "s" : ""}…` : doc.history.length ? "all edits sent" : "";
    if (this.pointer && doc.labels) {
      const [ix, iy] = this.toImage(this.pointer[0], this.pointer[1]);
      const x = Math.floor(ix), y = Math.floor(iy);
      if (x >= 0 && y >= 0 && x < doc.w && y < doc.h) {
        const v = doc.labels[y * doc.w + x];
        el.pos.textContent = `x ${x}, y ${y}: ${v === UNLABELLED ? "unlabelled" : this.classes[v]?.name ?? `value ${v}`}`;
        return;
      }
    }
    el.pos.textContent = `${doc.w}x${doc.h}`;
  }

  // -- tools ---------------------------------------------------------------------------------------
  setTool(t) {
    this.prefs.tool = t;
    this.poly = [];
    this.controls();
    this.overlay();
  }
  setClass(i) {
    if (i < 0 || i >= this.classes.length) return;
    this.prefs.cls = i;
    if (this.prefs.tool === "eraser") this.prefs.tool = "brush";
    this.controls();
  }
  setSize(n) {
    this.prefs.size = clamp(Math.round(n) || 1, 1, 1000);
    this.controls();
    this.overlay();
  }
  value() {
    return this.prefs.tool === "eraser" ? UNLABELLED : this.prefs.cls;
  }
  ready() {
    const d = this.doc;
    return d && d.bitmap && d.labels && !d.loadingMask && !d.loadingImage;
  }
  undo() {
    if (this.action || !this.ready()) return;
    if (this.doc.undo()) this.redrawAll();
  }
  redo() {
    if (this.action || !this.ready()) return;
    if (this.doc.redo()) this.redrawAll();
  }
  redrawAll() {
    for (const v of this.doc.views) { v.controls(); v.draw(); }
  }

  // -- view transform ----------------------------------------------------------------------------
  toImage(vx, vy) {
    const p = this.prefs;
    return [(vx - p.tx) / p.s, (vy - p.ty) / p.s];
  }
  viewSize() {
    return [this.el.view.clientWidth || 1, this.el.view.clientHeight || 1];
  }
  fitScale() {
    const [vw, vh] = this.viewSize();
    return Math.min(vw / Math.max(1, this.doc.w), vh / Math.max(1, this.doc.h));
  }
  fit() {
    if (!this.doc || !this.doc.w) return;
    const [vw, vh] = this.viewSize();
    const s = this.fitScale();
    Object.assign(this.prefs, { s, tx: (vw - s * this.doc.w) / 2, ty: (vh - s * this.doc.h) / 2, fitted: true });
    this.draw();
    this.status();
  }
  zoomTo(s, cx, cy) {
    const [vw, vh] = this.viewSize();
    const p = this.prefs;
    if (!p.s) return;
    cx ??= vw / 2;
    cy ??= vh / 2;
    s = clamp(s, Math.min(1, this.fitScale()) / 4, MAX_SCALE);
    p.tx = cx - ((cx - p.tx) * s) / p.s;
    p.ty = cy - ((cy - p.ty) * s) / p.s;
    p.s = s;
    this.draw();
    this.status();
  }
  wheel(e) {
    e.preventDefault();
    if (!this.prefs.s) return;
    const r = this.el.view.getBoundingClientRect();
    const dy = e.deltaMode === 1 ? e.deltaY * 40 : e.deltaMode === 2 ? e.deltaY * 800 : e.deltaY;
    this.zoomTo(this.prefs.s * Math.exp(-dy * 0.002), e.clientX - r.left, e.clientY - r.top);
    this.overlay();
  }
  resize() {
    const [vw, vh] = this.viewSize();
    const dpr = window.devicePixelRatio || 1;
    for (const c of [this.el.main, this.el.over]) {
      c.width = Math.round(vw * dpr);
      c.height = Math.round(vh * dpr);
    }
    if (this.doc && this.doc.bitmap && !this.prefs.fitted) this.fit();
    this.draw();
    this.overlay();
  }

  // -- drawing -----------------------------------------------------------------------------------
  draw() {
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      this.paint();
    });
  }
  paint() {
    const { ctx, doc, prefs: p } = this;
    const dpr = window.devicePixelRatio || 1;
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.clearRect(0, 0, this.el.main.width, this.el.main.height);
    if (!doc || !doc.bitmap || !p.s) return;
    ctx.setTransform(p.s * dpr, 0, 0, p.s * dpr, p.tx * dpr, p.ty * dpr);
    ctx.imageSmoothingEnabled = p.s < 1;
    ctx.imageSmoothingQuality = "low";
    ctx.drawImage(doc.bitmap, 0, 0);
    if (p.show && doc.layer && doc.labels) {
      ctx.globalAlpha = p.opacity;
      ctx.drawImage(doc.layer, 0, 0);
      ctx.globalAlpha = 1;
    }
  }
  brushCentre(ix, iy) {
    // the snapped brush centre: a pixel for odd sizes, a pixel corner for even ones
    return this.prefs.size % 2 ? [Math.floor(ix), Math.floor(iy)] : [Math.round(ix), Math.round(iy)];
  }
  overlay() {
    const { octx, prefs: p } = this;
    const dpr = window.devicePixelRatio || 1;
    octx.setTransform(1, 0, 0, 1, 0, 0);
    octx.clearRect(0, 0, this.el.over.width, this.el.over.height);
    if (!p.s) return;
    octx.setTransform(dpr, 0, 0, dpr, 0, 0);
    const toView = (x, y) => [x * p.s + p.tx, y * p.s + p.ty];
    if (this.poly.length) {
      octx.beginPath();
      this.poly.forEach(([x, y], i) => {
        const [vx, vy] = toView(x, y);
        i ? octx.lineTo(vx, vy) : octx.moveTo(vx, vy);
      });
      if (this.pointer) octx.lineTo(this.pointer[0], this.pointer[1]);
      const c = this.classes[p.cls]?.color || [255, 255, 255];
      octx.fillStyle = `rgba(${c.join(",")},0.25)`;
      octx.fill();
      octx.strokeStyle = "#fff";
      octx.lineWidth = 1.5;
      octx.setLineDash([4, 3]);
      octx.stroke();
      octx.setLineDash([]);
      const [fx, fy] = toView(...this.poly[0]);
      octx.strokeRect(fx - 4, fy - 4, 8, 8);
    }
    if (this.pointer && (p.tool === "brush" || p.tool === "eraser") && !this.space) {
      const [ix, iy] = this.toImage(...this.pointer);
      const [cx, cy] = this.brushCentre(ix, iy);
      const off = p.size % 2 ? 0.5 : 0;
      const [vx, vy] = toView(cx + off, cy + off);
      const r = Math.max(1.5, (p.size / 2) * p.s);
      octx.beginPath();
      octx.arc(vx, vy, r, 0, 2 * Math.PI);
      octx.strokeStyle = "rgba(0,0,0,0.8)";
      octx.lineWidth = 3;
      octx.stroke();
      octx.strokeStyle = p.tool === "eraser" ? "#fff" : `rgb(${(this.classes[p.cls]?.color || [255, 255, 255]).join(",")})`;
      octx.lineWidth = 1.5;
      octx.stroke();
    }
  }

  // -- pointer -----------------------------------------------------------------------------------
  local(e) {
    const r = this.el.view.getBoundingClientRect();
    return [e.clientX - r.left, e.clientY - r.top];
  }
  down(e) {
    this.el.view.focus({ preventScroll: true });
    const [vx, vy] = this.local(e);
    this.pointer = [vx, vy];
    if (e.button === 1 || (e.button === 0 && this.space)) {
      e.preventDefault();
      this.action = { type: "pan", x: vx, y: vy };
      this.el.view.setPointerCapture(e.pointerId);
      return;
    }
    if (e.button !== 0 || !this.ready()) return;
    const [ix, iy] = this.toImage(vx, vy);
    const tool = this.prefs.tool;
    if (tool === "brush" || tool === "eraser") {
      this.el.view.setPointerCapture(e.pointerId);
      this.action = { type: "stroke", last: [ix, iy], box: [Infinity, Infinity, -Infinity, -Infinity], v: this.value() };
      this.stamp(ix, iy);
      this.flushStroke();
    } else if (tool === "fill") {
      this.fill(Math.floor(ix), Math.floor(iy));
    } else if (tool === "polygon") {
      if (this.poly.length >= 3) {
        const [fx, fy] = this.poly[0];
        if (Math.hypot((fx - ix) * this.prefs.s, (fy - iy) * this.prefs.s) < 8) return this.closePolygon();
      }
      this.poly.push([ix, iy]);
      this.overlay();
    }
  }
  move(e) {
    const [vx, vy] = this.local(e);
    this.pointer = [vx, vy];
    const a = this.action;
    if (a && a.type === "pan") {
      this.prefs.tx += vx - a.x;
      this.prefs.ty += vy - a.y;
      a.x = vx;
      a.y = vy;
      this.draw();
    } else if (a && a.type === "stroke") {
      const events = e.getCoalescedEvents ? e.getCoalescedEvents() : [];
      for (const ce of events.length ? events : [e]) {
        const [cx, cy] = this.local(ce);
        const [ix, iy] = this.toImage(cx, cy);
        this.line(a.last[0], a.last[1], ix, iy);
        a.last = [ix, iy];
      }
      this.flushStroke();
    }
    this.overlay();
    this.status();
  }
  up(e) {
    const a = this.action;
    if (!a) return;
    this.action = null;
    try { this.el.view.releasePointerCapture(e.pointerId); } catch (err) { /* already released */ }
    if (a.type === "stroke") {
      this.flushStroke();
      const [x0, y0, x1, y1] = a.box;
      if (x1 >= x0) this.doc.commit(a.v === UNLABELLED ? "eraser" : "brush", [x0, y0, x1 + 1, y1 + 1]);
      this.controls();
    }
  }

  // -- painting ------------------------------------------------------------------------------------
  stamp(ix, iy) {
    const a = this.action, doc = this.doc, { w, h } = doc;
    const [cx, cy] = this.brushCentre(ix, iy);
    const off = disc(this.prefs.size);
    const box = a.box;
    for (let k = 0; k < off.length; k += 2) {
      const x = cx + off[k], y = cy + off[k + 1];
      if (x < 0 || y < 0 || x >= w || y >= h) continue;
      doc.set(y * w + x, a.v);
      if (x < box[0]) box[0] = x;
      if (y < box[1]) box[1] = y;
      if (x > box[2]) box[2] = x;
      if (y > box[3]) box[3] = y;
    }
    const d = a.dirty || (a.dirty = [Infinity, Infinity, -Infinity, -Infinity]);
    const k = Math.ceil(this.prefs.size / 2) + 1;
    d[0] = Math.min(d[0], cx - k);
    d[1] = Math.min(d[1], cy - k);
    d[2] = Math.max(d[2], cx + k);
    d[3] = Math.max(d[3], cy + k);
  }
  line(ax, ay, bx, by) {
    const step = Math.max(0.5, this.prefs.size / 4);
    const n = Math.ceil(Math.hypot(bx - ax, by - ay) / step);
    for (let i = 1; i <= n; i++) this.stamp(ax + ((bx - ax) * i) / n, ay + ((by - ay) * i) / n);
  }
  flushStroke() {
    const a = this.action || {}, d = a.dirty, doc = this.doc;
    if (!d) return;
    a.dirty = null;
    const x0 = clamp(d[0], 0, doc.w), y0 = clamp(d[1], 0, doc.h), x1 = clamp(d[2] + 1, 0, doc.w), y1 = clamp(d[3] + 1, 0, doc.h);
    doc.recolour(x0, y0, x1, y1);
    for (const v of doc.views) v.draw();
  }
  flushBox(box) {
    const doc = this.doc;
    doc.recolour(box[0], box[1], box[2], box[3]);
  }

  fill(px, py) {
    const doc = this.doc, { w, h, labels } = doc;
    if (px < 0 || py < 0 || px >= w || py >= h) return;
    const t0 = performance.now();
    const v = this.value(), t = labels[py * w + px];
    if (t === v) return;
    let x0 = px, y0 = py, x1 = px, y1 = py;
    const stack = [px, py];
    while (stack.length) {
      const y = stack.pop(), x = stack.pop();
      const row = y * w;
      if (labels[row + x] !== t) continue;
      let l = x, r = x;
      while (l > 0 && labels[row + l - 1] === t) l--;
      while (r < w - 1 && labels[row + r + 1] === t) r++;
      for (let i = row + l; i <= row + r; i++) doc.set(i, v);
      if (l < x0) x0 = l;
      if (r > x1) x1 = r;
      if (y < y0) y0 = y;
      if (y > y1) y1 = y;
      for (const ny of [y - 1, y + 1]) {
        if (ny < 0 || ny >= h) continue;
        const nrow = ny * w;
        let run = false;
        for (let xx = l; xx <= r; xx++) {
          const m = labels[nrow + xx] === t;
          if (m && !run) stack.push(xx, ny);
          run = m;
        }
      }
    }
    const box = [x0, y0, x1 + 1, y1 + 1];
    this.flushBox(box);
    doc.commit("fill", box);
    this.el.view.dataset.fillMs = Math.round(performance.now() - t0); // for the benchmark
    this.redrawAll();
  }

  closePolygon() {
    const pts = this.poly;
    this.poly = [];
    this.overlay();
    if (pts.length < 3 || !this.ready()) return;
    const doc = this.doc, { w, h } = doc, v = this.value();
    const ys = pts.map((p) => p[1]);
    const yA = clamp(Math.floor(Math.min(...ys)), 0, h - 1), yB = clamp(Math.ceil(Math.max(...ys)), 0, h - 1);
    let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
    for (let y = yA; y <= yB; y++) {
      const yc = y + 0.5, xs = [];
      for (let i = 0; i < pts.length; i++) {
        const [ax, ay] = pts[i], [bx, by] = pts[(i + 1) % pts.length];
        if ((ay <= yc && yc < by) || (by <= yc && yc < ay)) xs.push(ax + ((yc - ay) * (bx - ax)) / (by - ay));
      }
      xs.sort((a, b) => a - b);
      for (let k = 0; k + 1 < xs.length; k += 2) {
        const xa = Math.max(0, Math.ceil(xs[k] - 0.5)), xb = Math.min(w, Math.ceil(xs[k + 1] - 0.5));
        for (let x = xa; x < xb; x++) doc.set(y * w + x, v);
        if (xb > xa) {
          x0 = Math.min(x0, xa);
          x1 = Math.max(x1, xb);
          y0 = Math.min(y0, y);
          y1 = Math.max(y1, y + 1);
        }
      }
    }
    if (x1 <= x0) return;
    const box = [x0, y0, x1, y1];
    this.flushBox(box);
    doc.commit("polygon", box);
    this.redrawAll();
  }

  // -- keys ----------------------------------------------------------------------------------------
  key(e, isDown) {
    const target = e.composedPath ? e.composedPath()[0] : e.target;
    const typing = target && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName || ""))
      && !(target.type === "checkbox" || target.type === "range");
    const focused = this.parent.activeElement && this.root.contains(this.parent.activeElement);
    if (!isDown) {
      if (e.key === " " && this.space) {
        this.space = false;
        this.overlay();
      }
      return;
    }
    if (typing || !(this.hover || focused)) return;
    const k = e.key, mod = e.ctrlKey || e.metaKey;
    let done = true;
    if (k === " ") {
      this.space = true;
      this.overlay();
    } else if (mod && (k === "z" || k === "Z")) {
      e.shiftKey ? this.redo() : this.undo();
    } else if (mod && (k === "y" || k === "Y")) {
      this.redo();
    } else if (mod || e.altKey) {
      done = false;
    } else if (/^[0-9]$/.test(k)) {
      this.setClass(k === "0" ? 9 : +k - 1);
    } else if (k === "b" || k === "B") this.setTool("brush");
    else if (k === "e" || k === "E") this.setTool("eraser");
    else if (k === "g" || k === "G") this.setTool("fill");
    else if (k === "p" || k === "P") this.setTool("polygon");
    else if (k === "h" || k === "H") {
      this.prefs.show = !this.prefs.show;
      this.controls();
      this.draw();
    } else if (k === "f" || k === "F") this.fit();
    else if (k === "[") this.setSize(this.prefs.size > 10 ? this.prefs.size / 1.25 : this.prefs.size - 1);
    else if (k === "]") this.setSize(this.prefs.size >= 10 ? this.prefs.size * 1.25 : this.prefs.size + 1);
    else if (k === "Enter" && this.poly.length) this.closePolygon();
    else if (k === "Escape" && this.poly.length) {
      this.poly = [];
      this.overlay();
    } else if (k === "Backspace" && this.poly.length) {
      this.poly.pop();
      this.overlay();
    } else done = false;
    if (done) {
      e.preventDefault();
      e.stopPropagation();
    }
  }
}

export default function (args) {
  const { parentElement } = args;
  let view = VIEWS.get(parentElement);
  if (!view) {
    view = new View(parentElement);
    VIEWS.set(parentElement, view);
  }
  view.update(args);
  return () => {
    view.destroy();
    VIEWS.delete(parentElement);
  };
}
