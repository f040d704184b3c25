// live_panel: a progress bar with its text and clock, and SVG line charts, redrawn in place when Streamlit sends
// new data (no Vega, no iframe, no transitions); the clock ticks here between two updates.
const NS = "http://www.w3.org/2000/svg";
const PANELS = new WeakMap();
const PAD = { left: 46, right: 12, top: 18, bottom: 30 };

function svg(tag, attrs, parent) {
  const el = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  if (parent) parent.appendChild(el);
  return el;
}

// about ``count`` round tick values covering lo..hi
function ticks(lo, hi, count) {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / count;
  const mag = Math.pow(10, Math.floor(Math.log10(raw)));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) || raw;
  const out = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(+v.toPrecision(12));
  return out;
}

class Chart {
  constructor(parent) {
    this.root = document.createElement("div");
    this.root.className = "lcx";
    this.svg = svg("svg", {});
    this.tip = document.createElement("div");
    this.tip.className = "tip";
    this.root.append(this.svg, this.tip);
    parent.appendChild(this.root);
    this.data = { points: [] };
    this.svg.addEventListener("mousemove", (e) => this.hover(e));
    this.svg.addEventListener("mouseleave", () => (this.tip.style.display = "none"));
    this.resize = new ResizeObserver(() => this.draw());
    this.resize.observe(this.root);
  }

  update(data) {
    this.data = data || { points: [] };
    this.draw();
  }

  scales() {
    const d = this.data;
    const pts = d.points || [];
    const w = Math.max(120, this.root.clientWidth || 400);
    const h = d.height || 200;
    const xs = pts.map((p) => p[0]);
    const ys = pts.map((p) => p[1]).filter((y) => Number.isFinite(y));
    let [x0, x1] = [Math.min(...xs), Math.max(...xs)];
    if (!(x1 > x0)) [x0, x1] = [x0 - 1, x0 + 1];
    let [y0, y1] = d.y_range || [Math.min(...ys), Math.max(...ys)];
    if (!d.y_range) {
      if (!(y1 > y0)) [y0, y1] = [y0 - 0.5, y1 + 0.5];
      else if (y0 > 0 && y0 < (y1 - y0)) y0 = 0; // start at 0 when it is close
    }
    const X = (x) => PAD.left + ((x - x0) / (x1 - x0)) * (w - PAD.left - PAD.right);
    const Y = (y) => PAD.top + (1 - (y - y0) / (y1 - y0)) * (h - PAD.top - PAD.bottom);
    return { pts, w, h, x0, x1, y0, y1, X, Y };
  }

  draw() {
    const d = this.data;
    const s = (this.s = this.scales());
    const { pts, w, h, X, Y } = s;
    this.svg.setAttribute("viewBox", `0 0 ${w} ${h}`);
    this.svg.setAttribute("height", h);
    this.svg.replaceChildren();
    const digits = d.digits ?? 3;
    for (const v of ticks(s.y0, s.y1, 4)) {
      svg("line", { class: "grid", x1: PAD.left, x2: w - PAD.right, y1: Y(v), y2: Y(v) }, this.svg);
      svg("text", { x: PAD.left - 4, y: Y(v) + 3, "text-anchor": "end" }, this.svg).textContent =
        +v.toFixed(digits) + "";
    }
    for (const v of ticks(s.x0, s.x1, Math.max(2, Math.floor(w / 90)))) {
      if (Math.abs(v - Math.round(v)) > 1e-9) continue; // steps are whole numbers
      svg("text", { x: X(v), y: h - PAD.bottom + 13, "text-anchor": "middle" }, this.svg).textContent = v + "";
    }
    svg("line", { class: "axis", x1: PAD.left, x2: w - PAD.right, y1: h - PAD.bottom, y2: h - PAD.bottom }, this.svg);
    svg("line", { class: "axis", x1: PAD.left, x2: PAD.left, y1: PAD.top, y2: h - PAD.bottom }, this.svg);
    svg("text", { x: (PAD.left + w - PAD.right) / 2, y: h - 3, "text-anchor": "middle" }, this.svg).textContent =
      d.x_label || "";
    svg("text", { x: PAD.left - 4, y: PAD.top - 8, "text-anchor": "end" }, this.svg).textContent = d.y_label || "";
    const good = pts.filter((p) => Number.isFinite(p[1]));
    if (good.length) {
      const path = good.map((p, i) => `${i ? "L" : "M"}${X(p[0]).toFixed(1)},${Y(p[1]).toFixed(1)}`).join("");
      svg("path", { class: "line", d: path }, this.svg);
      const last = good[good.length - 1];
      svg("circle", { class: "dot", cx: X(last[0]), cy: Y(last[1]), r: good.length === 1 ? 4 : 3 }, this.svg);
    }
    this.root.dataset.points = String(pts.length); // for tests and benchmarks: what is drawn
  }

  hover(e) {
    const s = this.s;
    if (!s || !s.pts.length) return;
    const box = this.svg.getBoundingClientRect();
    const x = ((e.clientX - box.left) / box.width) * s.w;
    let best = s.pts[0];
    for (const p of s.pts) if (Math.abs(s.X(p[0]) - x) < Math.abs(s.X(best[0]) - x)) best = p;
    const d = this.data;
    this.tip.textContent = `${d.x_label} ${best[0]} · ${d.y_label} ${(+best[1]).toFixed(d.digits ?? 3)}`;
    this.tip.style.display = "block";
    this.tip.style.left = `${Math.min(s.X(best[0]) + 8, s.w - 140)}px`;
    this.tip.style.top = `${Math.max(0, s.Y(best[1]) - 24)}px`;
  }

  destroy() {
    this.resize.disconnect();
    this.root.remove();
  }
}

function seconds(v) {
  return `${Math.round(v)}`;
}

class Panel {
  constructor(parent) {
    this.root = document.createElement("div");
    this.root.className = "lcx-panel";
    this.bar = document.createElement("div");
    this.bar.className = "lcx-bar";
    this.fill = document.createElement("div");
    this.fill.className = "lcx-fill";
    this.bar.appendChild(this.fill);
    this.text = document.createElement("div");
    this.text.className = "lcx-text";
    this.row = document.createElement("div");
    this.row.className = "lcx-row";
    this.root.append(this.bar, this.text, this.row);
    parent.appendChild(this.root);
    this.cells = [];
    this.timer = setInterval(() => this.tick(), 1000);
  }

  update(data) {
    this.data = data || {};
    this.received = performance.now();
    const curves = this.data.curves || [];
    while (this.cells.length > curves.length) this.cells.pop().root.remove();
    while (this.cells.length < curves.length) {
      const cell = { root: document.createElement("div"), title: document.createElement("div"),
                     note: document.createElement("div") };
      cell.root.className = "lcx-cell";
      cell.title.className = "lcx-title";
      cell.note.className = "lcx-note";
      cell.root.appendChild(cell.title);
      cell.chart = new Chart(cell.root);
      cell.root.appendChild(cell.note);
      this.row.appendChild(cell.root);
      this.cells.push(cell);
    }
    curves.forEach((c, i) => {
      const cell = this.cells[i];
      cell.title.textContent = c.title || "";
      cell.note.textContent = c.note || "";
      cell.chart.update({ ...c, height: this.data.height || 200 });
    });
    this.tick();
  }

  // the bar and the clock now: as sent, advanced by the time since while the run goes on
  tick() {
    const d = this.data || {};
    const c = d.clock;
    const dt = d.running && c ? (performance.now() - this.received) / 1000 : 0;
    let frac = d.fraction || 0;
    let text = d.text || "";
    if (c) {
      if (c.budget) {
        frac = Math.max(frac, Math.min(1, (c.elapsed + dt) / c.budget));
        text += ` · ${seconds(Math.min(c.elapsed + dt, c.budget))} of ${seconds(c.budget)} s`;
      }
      if (c.eta != null) text += ` · about ${seconds(Math.max(0, c.eta - dt))} s left`;
    }
    this.fill.style.width = `${(100 * Math.min(1, Math.max(0, frac))).toFixed(1)}%`;
    if (this.text.textContent !== text) this.text.textContent = text;
    this.root.dataset.fraction = frac.toFixed(3); // for tests and benchmarks: what is shown
  }

  destroy() {
    clearInterval(this.timer);
    this.cells.forEach((cell) => cell.chart.destroy());
    this.root.remove();
  }
}

export default function (args) {
  const { parentElement } = args;
  let panel = PANELS.get(parentElement);
  if (!panel) {
    panel = new Panel(parentElement);
    PANELS.set(parentElement, panel);
  }
  panel.update(args.data);
  return () => {
    panel.destroy();
    PANELS.delete(parentElement);
  };
}
