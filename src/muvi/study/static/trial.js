// One trial: play the excerpt, log the cursor every 0.5 s with its media time,
// send the samples in small batches while the item plays (resending until the
// server acknowledges them), then show the familiarity and GEMS questions.
"use strict";

(function () {
  const stage = document.getElementById("trial");
  const media = document.getElementById("media");
  const plane = new RatingPlane(document.getElementById("plane"));
  const status = document.getElementById("status");
  const playButton = document.getElementById("play");
  const form = document.getElementById("answers");
  const start = parseFloat(stage.dataset.start);
  const length = parseFloat(stage.dataset.length);
  const base = `/api/p/${stage.dataset.token}/trials/${stage.dataset.trial}`;
  const headers = { "Content-Type": "application/json", "X-CSRF-Token": stage.dataset.csrf };
  const PERIOD_MS = 500;
  const SEND_EVERY = 2; // samples per batch: one request a second

  let seq = 0;
  let pending = []; // logged, not yet acknowledged
  let sending = false;
  let logger = null;
  let finished = false;
  window.muviTrial = { stats: { logged: 0, acked: 0, failures: 0 }, media: media, plane: plane, start: start };

  function mediaTime() {
    return Math.max(0, media.currentTime - start);
  }

  async function post(path, body) {
    if (stage.dataset.preview === "yes") { // the runner's preview: nothing leaves the page
      return { started: true, acked: (body.samples || []).map((s) => s.seq) };
    }
    const response = await fetch(base + path, { method: "POST", headers: headers, body: JSON.stringify(body), credentials: "same-origin" });
    if (!response.ok) {
      const detail = await response.text();
      const error = new Error(`${response.status} ${detail}`);
      error.status = response.status;
      throw error;
    }
    return response.json();
  }

  async function flush() {
    if (sending || pending.length === 0) return;
    sending = true;
    const batch = pending.slice(0, 60);
    try {
      const reply = await post("/samples", { samples: batch });
      const acked = new Set(reply.acked);
      pending = pending.filter((s) => !acked.has(s.seq));
      window.muviTrial.stats.acked += acked.size;
    } catch (err) {
      window.muviTrial.stats.failures += 1; // kept in `pending`, resent on the next tick
      if (err.status && err.status < 500 && err.status !== 429) {
        status.textContent = "The server refused the ratings: " + err.message;
      }
    } finally {
      sending = false;
    }
  }

  function log() {
    const t = Math.min(mediaTime(), length);
    pending.push({ seq: seq++, timestamp: Math.round(t * 1000) / 1000, valence: plane.valence, arousal: plane.arousal });
    window.muviTrial.stats.logged += 1;
    if (pending.length >= SEND_EVERY) flush();
    if (mediaTime() >= length || media.ended) end();
  }

  async function end() {
    if (finished) return;
    finished = true;
    clearInterval(logger);
    media.pause();
    status.textContent = "Saving your ratings\u2026";
    for (let attempt = 0; pending.length > 0 && attempt < 600; attempt++) {
      await flush();
      if (pending.length > 0) await new Promise((r) => setTimeout(r, 500));
    }
    status.textContent = pending.length ? "Some ratings could not be saved." : "Ratings saved. Now answer two questions.";
    stage.hidden = true;
    playButton.hidden = true;
    form.hidden = false;
    form.scrollIntoView();
  }

  function seekToStart() {
    return new Promise((resolve) => {
      const go = () => {
        if (Math.abs(media.currentTime - start) < 0.01) return resolve();
        media.addEventListener("seeked", () => resolve(), { once: true });
        media.currentTime = start;
      };
      if (media.readyState >= 1) go();
      else media.addEventListener("loadedmetadata", go, { once: true });
    });
  }

  playButton.addEventListener("click", async () => {
    playButton.disabled = true;
    try {
      await post("/start", {});
      await seekToStart();
      await media.play();
    } catch (err) {
      status.textContent = "Could not start: " + err.message;
      playButton.disabled = false;
      return;
    }
    status.textContent = "Rating\u2026 keep the cursor where the emotion is.";
    document.getElementById("plane").focus();
    log();
    logger = setInterval(log, PERIOD_MS);
    media.addEventListener("ended", end, { once: true });
  });

  form.addEventListener("submit", (e) => {
    if (!form.querySelector('input[name="labels"]:checked')) {
      e.preventDefault();
      document.getElementById("labels-needed").hidden = false;
    }
  });
})();
