// Progressive enhancement of the staff pages; every page works without it.
"use strict";

// Forms that change something lasting ask first: <form data-confirm="确定…？">.
document.addEventListener("submit", (event) => {
  const message = event.target.dataset && event.target.dataset.confirm;
  if (message && !window.confirm(message)) {
    event.preventDefault();
  }
});

// A running round's progress: poll its JSON and update the bar until the round ends.
function watchRound(panel) {
  const url = panel.dataset.progressUrl;
  const bar = panel.querySelector("progress");
  const label = panel.querySelector("[data-progress-label]");
  const tick = async () => {
    let state;
    try {
      const response = await fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" });
      if (!response.ok) throw new Error(String(response.status));
      state = await response.json();
    } catch (error) {
      label.textContent = "暂时无法获取进度，稍后重试…";
      window.setTimeout(tick, 4000);
      return;
    }
    bar.value = state.percent;
    bar.textContent = `${state.percent}%`;
    label.textContent = state.label;
    const waiting = panel.querySelector("[data-progress-waiting]");
    if (waiting) {
      waiting.textContent = state.waiting || "";
      waiting.hidden = !state.waiting;
    }
    if (state.finished) {
      panel.dataset.finished = "true";
      window.location.reload();
      return;
    }
    window.setTimeout(tick, 1000);
  };
  window.setTimeout(tick, 500);
}

document.querySelectorAll("[data-progress-url]").forEach(watchRound);

// A "select all" box checks every row box of its form: <input type="checkbox" data-check-all="ids">.
document.addEventListener("change", (event) => {
  const box = event.target;
  const name = box.dataset && box.dataset.checkAll;
  if (!name) return;
  const form = box.getAttribute("form");
  const selector = form ? `input[name="${name}"][form="${form}"]` : `input[name="${name}"]`;
  document.querySelectorAll(selector).forEach((row) => { row.checked = box.checked; });
});
