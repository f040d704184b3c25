// viewport.js: the view transform (zoom with the wheel, fit, 1:1; `prefs.s`, `tx`, `ty`) and drawing the image
// and the label layer through it.

const MAX_SCALE = 64; // screen pixels per image pixel

class ViewViewport {
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

  local(e) {
    const r = this.el.view.getBoundingClientRect();
    return [e.clientX - r.left, e.clientY - r.top];
  }

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
    if (p.suggShow && doc.sugg) {
      ctx.globalAlpha = p.suggOpacity;
      ctx.drawImage(doc.sugg, 0, 0);
      ctx.globalAlpha = 1;
    }
    if (p.unsureShow && doc.unsure) ctx.drawImage(doc.unsure, 0, 0);
    if (p.show && doc.layer && doc.labels) {
      ctx.globalAlpha = p.opacity;
      ctx.drawImage(doc.layer, 0, 0);
      ctx.globalAlpha = 1;
    }
  }
}
addMethods(View, ViewViewport);
