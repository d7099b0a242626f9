// The valence/arousal rating plane: pointer (mouse, pen, touch) and arrow keys.
// valence is x in [-1, 1] (left to right), arousal is y in [-1, 1] (bottom to top).
"use strict";

class RatingPlane {
  constructor(element) {
    this.el = element;
    this.cursor = element.querySelector(".cursor");
    const coords = element.nextElementSibling;
    this.outV = coords ? coords.querySelector(".v") : null;
    this.outA = coords ? coords.querySelector(".a") : null;
    this.valence = 0;
    this.arousal = 0;
    this.step = 0.05;
    element.addEventListener("pointerdown", (e) => {
      element.focus();
      if (e.pointerType !== "mouse") element.setPointerCapture(e.pointerId);
      this.fromPointer(e);
    });
    element.addEventListener("pointermove", (e) => this.fromPointer(e));
    element.addEventListener("keydown", (e) => this.fromKey(e));
    this.draw();
  }

  static clamp(x) {
    return Math.max(-1, Math.min(1, x));
  }

  fromPointer(e) {
    const box = this.el.getBoundingClientRect();
    this.set(((e.clientX - box.left) / box.width) * 2 - 1, 1 - ((e.clientY - box.top) / box.height) * 2);
    e.preventDefault();
  }

  fromKey(e) {
    const step = e.shiftKey ? 4 * this.step : this.step;
    const moves = { ArrowLeft: [-step, 0], ArrowRight: [step, 0], ArrowUp: [0, step], ArrowDown: [0, -step] };
    const move = moves[e.key];
    if (!move) return;
    this.set(this.valence + move[0], this.arousal + move[1]);
    e.preventDefault();
  }

  set(valence, arousal) {
    // three decimals are far finer than a participant can aim
    this.valence = Math.round(RatingPlane.clamp(valence) * 1000) / 1000;
    this.arousal = Math.round(RatingPlane.clamp(arousal) * 1000) / 1000;
    this.draw();
  }

  draw() {
    this.cursor.style.left = ((this.valence + 1) / 2) * 100 + "%";
    this.cursor.style.top = ((1 - this.arousal) / 2) * 100 + "%";
    const fmt = (x) => (x >= 0 ? "+" : "\u2212") + Math.abs(x).toFixed(2);
    if (this.outV) this.outV.textContent = fmt(this.valence);
    if (this.outA) this.outA.textContent = fmt(this.arousal);
    this.el.setAttribute("aria-valuetext", `valence ${fmt(this.valence)}, arousal ${fmt(this.arousal)}`);
  }
}

window.RatingPlane = RatingPlane;
