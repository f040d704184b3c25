// tools.js: the tools (brush, eraser, fill, polygon), the class and size they use, the pointer (painting, or
// panning with space or the middle button) and the overlay (the cursor ring, the polygon being drawn).

const TOOLS = [
  ["brush", "Brush", "B", "Paint the selected class (B)"],
  ["eraser", "Eraser", "E", "Erase back to unlabelled (E)"],
  ["fill", "Fill", "G", "Fill the connected region of equal labels under the click (G)"],
  ["polygon", "Polygon", "P", "Click the corners; double-click, Enter or a click on the first corner fills it; Esc cancels (P)"],
  ["object", "Object", "O", "Click inside an object: the object, found from its edges, is labelled in the chosen class (O)"],
  ["box", "Box", "R", "Drag a box round an object: the object inside it is labelled in the chosen class (R)"],
];
const OBJECT_TOOLS = new Set(["object", "box"]); // shown only where Python answers them (`objects` in the data)
const newGestureId = () => Math.random().toString(36).slice(2, 12);

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

class ViewTools {
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
    const a = this.action;
    if (a && a.type === "box") {
      const [ax, ay] = toView(...a.start), [bx, by] = toView(...a.end);
      octx.strokeStyle = "rgba(0,0,0,0.8)";
      octx.lineWidth = 3;
      octx.strokeRect(ax, ay, bx - ax, by - ay);
      octx.strokeStyle = `rgb(${(this.classes[p.cls]?.color || [255, 255, 255]).join(",")})`;
      octx.lineWidth = 1.5;
      octx.setLineDash([5, 3]);
      octx.strokeRect(ax, ay, bx - ax, by - ay);
      octx.setLineDash([]);
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
    } else if (tool === "object") {
      this.gesture({ kind: "object", x: Math.floor(ix), y: Math.floor(iy) });
    } else if (tool === "box") {
      this.el.view.setPointerCapture(e.pointerId);
      this.action = { type: "box", start: [ix, iy], end: [ix, iy] };
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
    } else if (a && a.type === "box") {
      a.end = this.toImage(vx, vy);
    }
    this.overlay();
    this.status();
  }

  up(e) {
    const a = this.action;
    if (!a) return;
    this.action = null;
    try { this.el.view.releasePointerCapture(e.pointerId); } catch (err) { /* already released */ }
    if (a.type === "box") {
      const [ax, ay] = a.start, [bx, by] = a.end;
      this.overlay();
      this.gesture({ kind: "box", x0: Math.round(Math.min(ax, bx)), y0: Math.round(Math.min(ay, by)),
                     x1: Math.round(Math.max(ax, bx)), y1: Math.round(Math.max(ay, by)) });
    } else if (a.type === "stroke") {
      this.flushStroke();
      const [x0, y0, x1, y1] = a.box;
      if (x1 >= x0) this.doc.commit(a.v === UNLABELLED ? "eraser" : "brush", [x0, y0, x1 + 1, y1 + 1]);
      this.controls();
    }
  }

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

  // a click or a box for Python to find the object of; only the newest is answered (`region` in the data)
  gesture(g) {
    if (!this.objects || !this.ready()) return;
    const n = newGestureId();
    this.doc.pendingGesture = n;
    this.doc.pendingKind = g.kind;
    this.doc.gestureNote = "finding the object…";
    this.doc.gestureOut = { ...g, n, cls: this.prefs.cls }; // sent with every message until answered
    this.doc.flush(true);
    this.status();
  }

  // Python's answer to the pending gesture: its pixels painted in the gesture's class as one edit
  applyRegion(r) {
    const doc = this.doc;
    if (!r || r.n !== doc.pendingGesture || !doc.labels) return;
    const kind = doc.pendingKind === "box" ? "box" : "object";
    doc.pendingGesture = null;
    doc.gestureOut = null;
    if (r.failed || r.empty) {
      doc.gestureNote = r.failed || "no object found there";
      this.status();
      return;
    }
    doc.gestureNote = "";
    inflate(b64ToBytes(r.data)).then((bits) => {
      if (doc.maskId === null || bits.length !== r.w * r.h) return;
      const { w } = doc;
      for (let y = 0, j = 0; y < r.h; y++) {
        let i = (r.y + y) * w + r.x;
        for (let x = 0; x < r.w; x++, i++, j++) if (bits[j]) doc.set(i, r.cls);
      }
      const box = [r.x, r.y, r.x + r.w, r.y + r.h];
      this.flushBox(box);
      doc.commit(kind, box);
      this.redrawAll();
    }).catch((err) => this.message(`Could not take the object: ${err}`));
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
}
addMethods(View, ViewTools);
