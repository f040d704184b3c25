// label_canvas: the browser side of a Streamlit components-v2 element (no iframe) for painting class labels
// over an image at its native resolution. See segapp/label_canvas/__init__.py for the Python side and the
// protocol; it joins these files, in the order of its JS_FILES, into the one module the element runs
// (they share its top-level scope: no imports between them).
//
// The image and the label layer are held at full resolution (an ImageBitmap; a Uint8Array of labels and an
// RGBA canvas of their colours); one viewport-sized canvas shows them through a view transform (zoom, pan),
// a second one the cursor ring and the polygon being drawn. Every edit (brush, eraser, fill, polygon, undo,
// redo) becomes a patch of its bounding box only, sent to Python as a trigger value; Python acknowledges the
// patches it took in the next data (`ack`), and unacknowledged ones are sent again.
//
// common.js: what every part uses.

const UNLABELLED = 255;
const clamp = (v, lo, hi) => Math.max(lo, Math.min(hi, v));

// the methods of `from` (a class holding one job's methods) added to `cls`: View's jobs live in their own files
function addMethods(cls, from) {
  for (const name of Object.getOwnPropertyNames(from.prototype)) {
    if (name !== "constructor") Object.defineProperty(cls.prototype, name, Object.getOwnPropertyDescriptor(from.prototype, name));
  }
}
