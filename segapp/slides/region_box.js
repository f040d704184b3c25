// region_box: the slide's overview as an image on which a box is dragged; on release the box (in the overview's
// own pixels) goes to Python as the trigger "box". The box stays drawn until the next image arrives.
export default function (args) {
  const { parentElement, data, setTriggerValue } = args;
  let root = parentElement.querySelector(".region-box");
  if (!root) {
    root = document.createElement("div");
    root.className = "region-box";
    root.style.cssText = "position:relative;display:inline-block;max-width:100%;cursor:crosshair;user-select:none";
    root.innerHTML = '<img draggable="false" style="display:block;max-width:100%;height:auto">' +
      '<div class="rb-box" style="position:absolute;border:2px dashed #ffc800;display:none;pointer-events:none"></div>';
    parentElement.appendChild(root);
  }
  const img = root.querySelector("img");
  const box = root.querySelector(".rb-box");
  if (img.getAttribute("src") !== data.url) {
    img.setAttribute("src", data.url);
    img.setAttribute("alt", data.alt || "overview");
    box.style.display = "none";
  }
  let start = null;
  const at = (e) => {
    const r = img.getBoundingClientRect();
    return [Math.min(Math.max(e.clientX - r.left, 0), r.width), Math.min(Math.max(e.clientY - r.top, 0), r.height)];
  };
  const show = (a, b) => {
    box.style.left = Math.min(a[0], b[0]) + "px";
    box.style.top = Math.min(a[1], b[1]) + "px";
    box.style.width = Math.abs(a[0] - b[0]) + "px";
    box.style.height = Math.abs(a[1] - b[1]) + "px";
    box.style.display = "block";
  };
  const down = (e) => { if (e.button === 0) { start = at(e); show(start, start); e.preventDefault(); } };
  const move = (e) => { if (start) show(start, at(e)); };
  const up = (e) => {
    if (!start) return;
    const end = at(e);
    const s = img.naturalWidth / img.getBoundingClientRect().width;
    const x0 = Math.min(start[0], end[0]) * s, y0 = Math.min(start[1], end[1]) * s;
    const w = Math.abs(end[0] - start[0]) * s, h = Math.abs(end[1] - start[1]) * s;
    start = null;
    if (w >= 2 && h >= 2) setTriggerValue("box", { x: x0, y: y0, w: w, h: h, n: Date.now() });
    else box.style.display = "none";
  };
  root.onmousedown = down;
  window.addEventListener("mousemove", move);
  window.addEventListener("mouseup", up);
  return () => {
    window.removeEventListener("mousemove", move);
    window.removeEventListener("mouseup", up);
  };
}
