// view.js: the element on the page (toolbar, view, status line) showing one Doc; its other jobs are added
// by delivery.js (the image and labels from Python), viewport.js, tools.js and keys.js.

const VIEWS = new WeakMap(); // parentElement -> View

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
        <span class="lc-group lc-sugg-group">
          <label title="Show the suggested labels for every pixel, learned from what you painted (S)"><input
            class="lc-sugg" type="checkbox"> Suggestion</label>
          <input class="lc-sugg-opacity" type="range" min="0" max="1" step="0.05" aria-label="Suggestion opacity"
            title="Opacity of the suggestion">
          <label title="Mark in magenta where the suggestion is least sure: paint there next (N)"><input
            class="lc-unsure" type="checkbox"> Least sure</label></span>
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
      save: q(".lc-save"), undo: q(".lc-undo"), redo: q(".lc-redo"), sugg: q(".lc-sugg"),
      suggOpacity: q(".lc-sugg-opacity"), unsure: q(".lc-unsure"), suggGroup: q(".lc-sugg-group"),
    };
    this.ctx = this.el.main.getContext("2d");
    this.octx = this.el.over.getContext("2d");
    this.prefs = { tool: "brush", cls: 0, size: 9, opacity: 0.45, show: true, s: 0, tx: 0, ty: 0, fitted: false,
                   suggShow: true, suggOpacity: 0.35, unsureShow: false };
    this.objects = false; // whether Python answers the object tools
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
    on(el.sugg, "change", () => { this.prefs.suggShow = el.sugg.checked; this.draw(); });
    on(el.suggOpacity, "input", () => { this.prefs.suggOpacity = +el.suggOpacity.value; this.draw(); });
    on(el.unsure, "change", () => { this.prefs.unsureShow = el.unsure.checked; this.draw(); });
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
    this.objects = !!d.objects;
    if (!this.objects && OBJECT_TOOLS.has(this.prefs.tool)) this.prefs.tool = "brush";
    this.sync(d);
    this.commands = d.commands || [];
    doc.commandDone(d.command_ack);
    doc.acknowledge(d.ack);
    this.applyRegion(d.region);
    this.pollSuggestion(!!d.suggestion_pending);
    this.controls();
    this.draw();
  }

  // while Python says a newer suggestion is on its way, ask again: soon at first, then more slowly
  pollSuggestion(pending) {
    const doc = this.doc;
    clearTimeout(doc.pollTimer);
    if (!pending) {
      doc.pollMs = 0;
      return;
    }
    doc.pollMs = Math.min(2000, doc.pollMs ? doc.pollMs * 1.5 : 150);
    doc.pollTimer = setTimeout(() => doc.flush(true), doc.pollMs);
  }

  toggleLayer(name) {
    this.prefs[name] = !this.prefs[name];
    this.controls();
    this.draw();
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
    this.root.querySelectorAll("button[data-tool]").forEach((b) => {
      b.classList.toggle("lc-on", b.dataset.tool === p.tool);
      b.hidden = OBJECT_TOOLS.has(b.dataset.tool) && !this.objects;
    });
    const doc = this.doc;
    el.suggGroup.hidden = !(doc && doc.sugg);
    el.sugg.checked = p.suggShow;
    el.suggOpacity.value = p.suggOpacity;
    el.unsure.checked = p.unsureShow;
    el.unsure.parentElement.hidden = !(doc && doc.unsure);
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
                                     sent: doc.seq, ready: doc.bitmap && doc.labels ? "1" : "0",
                                     suggestion: doc.suggId || "", gesture: doc.pendingGesture || "" });
    const n = doc.outbox.length;
    el.save.textContent = (doc.gestureNote ? doc.gestureNote + " · " : "")
      + (n ? `sending ${n} edit${n > 1 ? "s" : ""}…` : doc.history.length ? "all edits sent" : "");
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
}
