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

// Region cascade: <input data-region-cascade> gets 省 → 市 → 县 lists that fill it with the chosen
// region's code prefix (data-region-full: the 12-digit code). The box still takes a name or a code.
async function regionChildren(parent) {
  const response = await fetch(`/regions/children?parent=${encodeURIComponent(parent)}`, { credentials: "same-origin" });
  return response.ok ? response.json() : [];
}

function regionCascade(input) {
  const holder = document.createElement("span");
  holder.className = "cascade";
  const names = ["省", "市", "县"];
  const selects = names.map((name, depth) => {
    const select = document.createElement("select");
    select.setAttribute("aria-label", `${input.labels && input.labels[0] ? input.labels[0].textContent.trim().split(/\s/)[0] : "地区"}：${name}`);
    select.dataset.depth = String(depth);
    select.hidden = depth > 0;
    holder.appendChild(select);
    return select;
  });
  const fill = async (depth, parent, chosen) => {
    const select = selects[depth];
    const items = await regionChildren(parent);
    select.replaceChildren(new Option(`选择${names[depth]}…`, ""), ...items.map((item) => new Option(item.name, item.code)));
    select.hidden = items.length === 0;
    if (chosen && items.some((item) => item.code === chosen)) select.value = chosen;
  };
  selects.forEach((select, depth) => {
    select.addEventListener("change", async () => {
      selects.slice(depth + 1).forEach((next) => { next.hidden = true; next.replaceChildren(); });
      const code = select.value || (depth > 0 ? selects[depth - 1].value : "");
      input.value = code && input.dataset.regionFull !== undefined ? code.padEnd(12, "0") : code;
      if (select.value && depth < 2) await fill(depth + 1, select.value, "");
    });
  });
  input.insertAdjacentElement("beforebegin", holder);
  const current = /^\d+$/.test(input.value) ? input.value.replace(/(00)+$/, "") : "";
  (async () => {
    await fill(0, "", current.slice(0, 2));
    if (current.length >= 2) await fill(1, current.slice(0, 2), current.slice(0, 4));
    if (current.length >= 4) await fill(2, current.slice(0, 4), current.slice(0, 6));
  })();
}

document.querySelectorAll("input[data-region-cascade]").forEach(regionCascade);
