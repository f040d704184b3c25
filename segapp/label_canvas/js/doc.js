// doc.js: one image with its labels and their undo history (a Doc per Python key, kept across remounts);
// each edit, undo and redo is handed to delivery.js as a patch.

const DOC_LIMIT = 2; // documents (image + labels + history) kept per browser tab, most recent first
const HISTORY_BYTES = 256 * 1024 * 1024; // undo history per document
const DOCS = new Map(); // python key -> Doc (survives a remount of the element, e.g. a page switch)
const newSid = () => Math.random().toString(36).slice(2, 10) + Date.now().toString(36);

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
    if (this.suggValues) this.suggId = null; // coloured again when the suggestion comes next
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

  // the suggested class of every pixel (values), and the pixels it is least sure of (unsure, 0/1, or null),
  // as two canvases of their own
  setSuggestion(values, unsure, id) {
    const { w, h, lut } = this;
    const paint = (fn) => {
      const c = document.createElement("canvas");
      c.width = w;
      c.height = h;
      const img = new ImageData(w, h);
      const px = new Uint32Array(img.data.buffer);
      for (let i = 0; i < w * h; i++) px[i] = fn(i);
      c.getContext("2d").putImageData(img, 0, 0);
      return c;
    };
    this.sugg = paint((i) => lut[values[i]]);
    this.suggValues = values;
    const magenta = new Uint32Array(new Uint8Array([255, 0, 255, 200]).buffer)[0];
    this.unsure = unsure ? paint((i) => (unsure[i] ? magenta : 0)) : null;
    this.suggId = id;
  }

  clearSuggestion() {
    this.sugg = this.unsure = this.suggValues = null;
    this.suggId = null;
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
