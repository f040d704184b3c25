// keys.js: the keyboard shortcuts, taken while the pointer is over the element or it has the focus (and not
// while typing in a field).

class ViewKeys {
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
    else if ((k === "o" || k === "O") && this.objects) this.setTool("object");
    else if ((k === "r" || k === "R") && this.objects) this.setTool("box");
    else if ((k === "s" || k === "S") && this.doc?.sugg) this.toggleLayer("suggShow");
    else if ((k === "n" || k === "N") && this.doc?.unsure) this.toggleLayer("unsureShow");
    else if (k === "h" || k === "H") {
      this.prefs.show = !this.prefs.show;
      this.controls();
      this.draw();
    } else if (k === "f" || k === "F") this.fit();
    else if (k === "PageDown" && this.commands?.includes("next")) this.doc.command("next");
    else if (k === "PageUp" && this.commands?.includes("previous")) this.doc.command("previous");
    else if ((k === "a" || k === "A") && this.commands?.includes("accept")) this.doc.command("accept");
    else if ((k === "." || k === ">") && this.commands?.includes("plane_next")) this.doc.command("plane_next");
    else if ((k === "," || k === "<") && this.commands?.includes("plane_previous")) this.doc.command("plane_previous");
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
addMethods(View, ViewKeys);
