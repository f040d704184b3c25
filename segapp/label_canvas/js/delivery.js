// delivery.js: between the browser and Python. Patches go out in order as trigger values and are sent again
// until Python acknowledges them (`ack`); the image and the labels come in only when Python sends them, and
// are asked for (state `need`) when this tab lacks them.

const BATCH_CHARS = 8 * 1024 * 1024; // patch text sent in one trigger
const RETRY_MS = 10000; // resend unacknowledged patches after this long (doubling)

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

class DocDelivery {
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

  // a key's command for the page (`commands` in the data: "next", "previous", "accept"), sent with the edits
  // before it until Python answers it (`command_ack`)
  command(what) {
    this.commandOut = { what, n: newGestureId() };
    this.flush(true);
  }

  commandDone(n) {
    if (this.commandOut && n === this.commandOut.n) this.commandOut = null;
  }

  acknowledge(ack) {
    if (!ack) return;
    const before = this.outbox.length;
    this.outbox = this.outbox.filter((it) => !(it.sid in ack && it.seq <= ack[it.sid]));
    if (this.outbox.length !== before || !this.outbox.length) this.inflight = null;
    this.flush(!!this.commandOut && this.outbox.length !== before); // a command waiting for these edits goes now
  }

  // send the ready patches in order, one trigger at a time; again after RETRY_MS without an ack. Everything
  // goes in this one trigger (`edits`), with the pending click or box (`gesture`) and every unacknowledged
  // patch: Streamlit keeps only the newest trigger value of an element when two arrive during one run, so a
  // later message must carry what an earlier one did. `force`: send now even without new patches (a gesture,
  // or asking again for a suggestion on its way).
  flush(force = false) {
    const view = [...this.views][0];
    if (!view || (!this.outbox.length && !force)) return this.changed();
    const now = performance.now();
    if (this.inflight && now < this.inflight.until && !force) return this.changed();
    const batch = [];
    let chars = 0;
    for (const it of this.outbox) {
      if (!it.ready || (batch.length && chars + it.patch.data.length > BATCH_CHARS)) break;
      batch.push(it.patch);
      chars += it.patch.data.length;
    }
    if (!batch.length && !force) return this.changed();
    if (batch.length) {
      const retry = this.inflight ? Math.min(this.inflight.retry * 2, 120000) : RETRY_MS;
      this.inflight = { until: now + retry, retry };
      clearTimeout(this.timer);
      this.timer = setTimeout(() => this.flush(), retry + 50);
    }
    // a command (next image, accept) goes only with every edit before it, so the page saves them first
    const command = this.commandOut && batch.length === this.outbox.length ? this.commandOut : null;
    view.args.setTriggerValue("edits", { patches: batch, gesture: this.gestureOut || null, command, sent: Date.now() });
    this.changed();
  }

  changed() {
    for (const v of this.views) v.status();
  }
}
addMethods(Doc, DocDelivery);

class ViewDelivery {
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
    if (!d.suggestion_id) {
      if (doc.suggId) doc.clearSuggestion();
    } else if (doc.suggId !== d.suggestion_id && doc.loadingSugg !== d.suggestion_id) {
      if (d.suggestion) {
        doc.loadingSugg = d.suggestion_id;
        Promise.all([inflate(b64ToBytes(d.suggestion)), d.unsure ? inflate(b64ToBytes(d.unsure)) : null])
          .then(([values, unsure]) => {
            if (doc.loadingSugg !== d.suggestion_id) return;
            doc.loadingSugg = null;
            if (values.length !== d.w * d.h) throw new Error(`suggestion of ${values.length} values for ${d.w}x${d.h}`);
            doc.setSuggestion(values, unsure, d.suggestion_id);
            for (const v of doc.views) { v.controls(); v.draw(); }
          }).catch((err) => { doc.loadingSugg = null; this.message(`Could not show the suggestion: ${err}`); });
      } else need.suggestion = d.suggestion_id;
    }
    if (need.image || need.mask || need.suggestion) {
      const ask = JSON.stringify(need);
      const now = performance.now();
      if (doc.asked.what !== ask || now - doc.asked.at > 15000) { // once, then again if nothing came
        doc.asked = { what: ask, at: now };
        this.args.setStateValue("need", { ...need, n: ++doc.needN + Math.floor(Math.random() * 1e6) });
      }
    }
    this.message(doc.bitmap && doc.labels && doc.imageId === d.image_id ? "" : "Loading the image…");
  }
}
addMethods(View, ViewDelivery);
