// Online collection in the browser: the screen size on the sign-up page (and
// the refusal of small screens), the sound check (plays the calibration tone
// and the test the server made; the count stays on the server), full screen when an item starts, and the
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

  // --- the sound check: the server made the audio and keeps the count; the
  // page only plays it and sends the answer back
  const check = document.getElementById("sound-check");
  if (check) {
    const status = document.getElementById("test-status");
    const answer = document.getElementById("answer-beeps");
    const calibration = document.getElementById("calibration-audio");
    const test = document.getElementById("test-audio");
    const state = { calibrations: 0, tests: 0, ended: 0 };
    window.muviSoundCheck = state;

    document.getElementById("calibrate").addEventListener("click", () => {
      calibration.currentTime = 0;
      calibration.play().catch(() => {
        status.textContent = "The tone could not be played: check that sound is allowed for this page.";
      });
      state.calibrations += 1;
    });

    document.getElementById("play-test").addEventListener("click", (event) => {
      const button = event.currentTarget;
      button.disabled = true;
      if (!test.src) test.src = test.dataset.src;
      test.currentTime = 0;
      status.textContent = "Playing\u2026";
      test.play().catch(() => {
        status.textContent = "The test could not be played: check that sound is allowed for this page.";
        button.disabled = false;
      });
      state.tests += 1;
    });

    test.addEventListener("ended", () => {
      state.ended += 1;
      status.textContent = "Done. How many beeps did you hear?";
      answer.disabled = false;
      document.getElementById("beeps").focus();
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
