// Online collection in the browser: the screen size on the sign-up page (and
// the refusal of small screens), the sound check (WebAudio: a calibration tone
// and a count of quieter beeps), full screen when an item starts, and the
// return to the recruitment site at the end.
"use strict";

(function () {
  // --- sign-up: measure the screen; refuse one that is too small
  const signup = document.getElementById("signup");
  if (signup) {
    const width = Math.round(window.screen.width);
    const height = Math.round(window.screen.height);
    signup.elements.screen_width.value = width;
    signup.elements.screen_height.value = height;
    const least = parseInt(signup.dataset.minScreen || "0", 10);
    if (least > 0 && Math.min(width, height) < least) {
      signup.hidden = true;
      document.getElementById("small-screen").hidden = false;
    }
  }

  // --- the sound check
  const check = document.getElementById("sound-check");
  if (check) {
    const BEEP_S = 0.18;
    const CALIBRATION_GAIN = 0.25;
    const TEST_GAIN = CALIBRATION_GAIN * Math.pow(10, -12 / 20); // 12 dB under the calibration tone
    const count = parseInt(check.dataset.beeps, 10);
    const status = document.getElementById("test-status");
    const answer = document.getElementById("answer-beeps");
    const state = { scheduled: [], calibrations: 0, tests: 0 };
    window.muviSoundCheck = state;
    let context = null;
    if (!(window.AudioContext || window.webkitAudioContext)) {
      status.textContent = "This browser cannot play the sound check: please use a recent Chrome, Edge, Firefox or Safari.";
      document.getElementById("calibrate").disabled = true;
      document.getElementById("play-test").disabled = true;
    }

    function audio() {
      if (context === null) context = new (window.AudioContext || window.webkitAudioContext)();
      if (context.state === "suspended") context.resume();
      return context;
    }

    function tone(ctx, at, seconds, hz, gain) {
      const osc = ctx.createOscillator();
      const amp = ctx.createGain();
      osc.frequency.value = hz;
      amp.gain.setValueAtTime(0, at);
      amp.gain.linearRampToValueAtTime(gain, at + 0.01); // no clicks
      amp.gain.setValueAtTime(gain, at + seconds - 0.01);
      amp.gain.linearRampToValueAtTime(0, at + seconds);
      osc.connect(amp).connect(ctx.destination);
      osc.start(at);
      osc.stop(at + seconds + 0.02);
    }

    document.getElementById("calibrate").addEventListener("click", () => {
      const ctx = audio();
      tone(ctx, ctx.currentTime + 0.05, 2.0, 1000, CALIBRATION_GAIN);
      state.calibrations += 1;
    });

    document.getElementById("play-test").addEventListener("click", (event) => {
      const ctx = audio();
      const button = event.currentTarget;
      button.disabled = true;
      let at = ctx.currentTime + 0.3;
      state.scheduled = [];
      for (let i = 0; i < count; i++) {
        tone(ctx, at, BEEP_S, 1000, TEST_GAIN);
        state.scheduled.push(at);
        at += BEEP_S + 0.25 + Math.random() * 0.45; // uneven gaps: count by ear, not by rhythm
      }
      state.tests += 1;
      status.textContent = "Playing\u2026";
      setTimeout(() => {
        status.textContent = "Done. How many beeps did you hear?";
        answer.disabled = false;
        document.getElementById("beeps").focus();
      }, (at - ctx.currentTime) * 1000);
    });
  }

  // --- full screen when an item starts (a click is needed to ask for it)
  const stage = document.getElementById("trial");
  const play = document.getElementById("play");
  if (stage && play && stage.dataset.fullscreen === "yes") {
    play.addEventListener("click", () => {
      const root = document.documentElement;
      if (!document.fullscreenElement && root.requestFullscreen) {
        root.requestFullscreen().catch(() => {}); // refused: the trial goes on
      }
    });
  }

  // --- back to the recruitment site
  const back = document.getElementById("return");
  if (back && back.dataset.redirectAfter) {
    setTimeout(() => { window.location.href = back.href; }, parseFloat(back.dataset.redirectAfter) * 1000);
  }
})();
