// linksift review page: plain JavaScript, no build step, no external resources.
"use strict";
const $ = (sel) => document.querySelector(sel);
const state = { batch: null, page: 1, perPage: 50, total: 0, rows: [], selected: -1, detail: null };

function setStatus(text) { $("#status").textContent = text || ""; }

function csrfToken() {
  const found = document.cookie.split("; ").find((c) => c.startsWith("linksift_csrf="));
  return found ? found.slice("linksift_csrf=".length) : "";
}

// Writes carry the page's CSRF token (a cookie only this origin's script can read), so a
// form or script on another site cannot write labels or load files with the reviewer's key.
async function api(path, options = {}) {
  const method = (options.method || "GET").toUpperCase();
  const headers = { ...(options.headers || {}) };
  if (method !== "GET") headers["x-linksift-csrf"] = csrfToken();
  const response = await fetch(path, { credentials: "same-origin", ...options, headers });
  if (response.status === 401) {
    $("#login").hidden = false;
    $("#app").hidden = true;
    throw new Error("API key required");
  }
  const type = response.headers.get("content-type") || "";
  const body = type.includes("json") ? await response.json() : await response.text();
  if (!response.ok) throw new Error(body.error || `HTTP ${response.status}`);
  return body;
}

function text(tag, value, cls) {
  const el = document.createElement(tag);
  el.textContent = value == null ? "" : String(value);
  if (cls) el.className = cls;
  return el;
}

async function loadModel() {
  try {
    const m = await api("/model");
    $("#model").textContent = `model ${m.model_version}` + (m.synthetic_training_data ? " (trained on synthetic data)" : "");
  } catch (e) { /* shown by api() */ }
}

async function loadBatches(select) {
  const { batches } = await api("/review/api/batches");
  const sel = $("#batch");
  sel.replaceChildren(...batches.map((b) => {
    const o = text("option", `${b.name} (${b.rows.toLocaleString()} links)`);
    o.value = b.id;
    return o;
  }));
  if (!batches.length) { setStatus("No batch loaded yet: load a `linksift score` output or an export."); return; }
  state.batch = select || batches[0].id;
  sel.value = state.batch;
  state.page = 1;
  await loadLinks();
}

function filterParams() {
  const form = new FormData($("#filters"));
  const params = new URLSearchParams();
  params.set("batch", state.batch);
  params.set("page", state.page);
  params.set("per_page", state.perPage);
  params.set("verdict", form.getAll("verdict").join(","));
  for (const key of ["min", "max", "site", "anchor", "placement", "sort"]) {
    const v = form.get(key);
    if (v) params.set(key, v);
  }
  return params;
}

async function loadLinks() {
  if (!state.batch) return;
  const data = await api(`/review/api/links?${filterParams()}`);
  state.total = data.total;
  state.rows = data.rows;
  const body = $("#links tbody");
  body.replaceChildren(...data.rows.map((r, i) => {
    const tr = document.createElement("tr");
    tr.tabIndex = 0;
    tr.dataset.index = i;
    tr.dataset.link = r.link_id;
    tr.setAttribute("aria-selected", "false");
    tr.append(text("td", r.verdict, `v-${r.verdict}`), text("td", r.spam_probability.toFixed(2)),
      text("td", r.site), text("td", r.anchor_text), text("td", r.reason_1),
      text("td", r.label ? `${r.label}${r.labelled_by ? " · " + r.labelled_by : ""}` : "", r.label ? `v-${r.label}` : ""));
    tr.addEventListener("click", () => { select(i); openDetail(); });
    return tr;
  }));
  const pages = Math.max(1, Math.ceil(data.total / state.perPage));
  $("#pageinfo").textContent = `page ${state.page} of ${pages} · ${data.total.toLocaleString()} links`;
  $("#prev").disabled = state.page <= 1;
  $("#next").disabled = state.page >= pages;
  state.selected = -1;
  if (data.rows.length) select(0, false);
}

function select(i, focus = true) {
  const rows = [...document.querySelectorAll("#links tbody tr")];
  if (!rows.length) return;
  i = Math.max(0, Math.min(rows.length - 1, i));
  rows.forEach((tr, j) => tr.setAttribute("aria-selected", j === i ? "true" : "false"));
  state.selected = i;
  if (focus) rows[i].focus();
}

async function openDetail(linkId = null) {
  const row = state.rows[state.selected];
  linkId = linkId || (row && row.link_id);
  if (!linkId) return;
  const d = await api(`/review/api/links/${state.batch}/${linkId}`);
  state.detail = d;
  $("#detail").dataset.link = d.link_id;
  $("#detail").hidden = false;
  $("#d-title").textContent = d.source_url;
  $("#d-verdict").replaceChildren(text("span", d.verdict, `v-${d.verdict}`),
    text("span", d.reviewed ? ` · ${d.reason_1} (the model said ${d.model_verdict})` : ""),
    text("span", ` · spam probability ${d.spam_probability.toFixed(3)} · quality ${d.quality_score}/100 · row ${d.row ?? ""}`));
  $("#d-waterfall").src = `/review/api/links/${state.batch}/${linkId}/waterfall.png`;
  $("#d-reasons").replaceChildren(...d.explanation.contributions.slice(0, 8).map((c) =>
    text("li", `${c.text} (${c.contribution >= 0 ? "+" : ""}${c.contribution.toFixed(2)})`)));
  $("#d-history").replaceChildren(...d.labels.map((l) =>
    text("li", `${l.label} by ${l.reviewer || "someone"} at ${l.created_at}${l.note ? " — " + l.note : ""}`)));
  $("#d-fields").replaceChildren(...Object.entries(d.fields).filter(([, v]) => v !== null && v !== "").map(([k, v]) => {
    const tr = document.createElement("tr");
    tr.append(text("td", k), text("td", v));
    return tr;
  }));
}

async function label(value, site = false) {
  // the open detail's link (it may have left a filtered list), else the selected row
  const row = !$("#detail").hidden && state.detail ? state.detail : state.rows[state.selected];
  if (!row) return;
  const reviewer = $("#reviewer").value.trim();
  localStorage.setItem("linksift-reviewer", reviewer);
  const payload = { batch: state.batch, label: value, note: $("#d-note").value, reviewer };
  if (site) payload.site = row.site; else payload.link_id = row.link_id;
  const saved = await api("/review/api/labels", {
    method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(payload),
  });
  setStatus(value === "remove"
    ? `Removed ${saved.removed} label${saved.removed === 1 ? "" : "s"}${site ? " for " + row.site : ""}: the model's verdict counts again.`
    : `Saved ${saved.saved} label${saved.saved === 1 ? "" : "s"}: ${value}${site ? " for " + row.site : ""}.`);
  // the list follows the new verdict (the link may leave a filtered view); the detail
  // stays on the link just labelled
  const keep = state.selected;
  await loadLinks();
  select(keep);
  if (!$("#detail").hidden) await openDetail(row.link_id);
}

async function pollRetrain() {
  const s = await api("/review/api/retrain");
  if (s.state === "running") { setStatus("Retraining…"); setTimeout(pollRetrain, 2000); return; }
  if (s.state !== "idle") setStatus(s.message || s.state);
  loadModel();
}

document.addEventListener("keydown", (e) => {
  const typing = ["INPUT", "SELECT", "TEXTAREA"].includes(document.activeElement.tagName);
  if (e.key === "Escape") { $("#detail").hidden = true; if (typing) document.activeElement.blur(); return; }
  if (typing) return;
  if (e.key === "j") { select(state.selected + 1); e.preventDefault(); }
  else if (e.key === "k") { select(state.selected - 1); e.preventDefault(); }
  else if (e.key === "Enter") { openDetail(); e.preventDefault(); }
  else if (e.key === "g") { label("good"); e.preventDefault(); }
  else if (e.key === "s") { label("spam"); e.preventDefault(); }
  else if (e.key === "/") { $("#site-filter").focus(); e.preventDefault(); }
});

$("#filters").addEventListener("submit", (e) => { e.preventDefault(); state.page = 1; loadLinks().catch((x) => setStatus(x.message)); });
$("#batch").addEventListener("change", (e) => { state.batch = e.target.value; state.page = 1; loadLinks(); });
$("#prev").addEventListener("click", () => { state.page -= 1; loadLinks(); });
$("#next").addEventListener("click", () => { state.page += 1; loadLinks(); });
$("#close").addEventListener("click", () => { $("#detail").hidden = true; });
$("#d-good").addEventListener("click", () => label("good").catch((x) => setStatus(x.message)));
$("#d-spam").addEventListener("click", () => label("spam").catch((x) => setStatus(x.message)));
$("#d-site-spam").addEventListener("click", () => label("spam", true).catch((x) => setStatus(x.message)));
$("#d-site-good").addEventListener("click", () => label("good", true).catch((x) => setStatus(x.message)));
$("#d-remove").addEventListener("click", () => label("remove").catch((x) => setStatus(x.message)));
$("#d-site-remove").addEventListener("click", () => label("remove", true).catch((x) => setStatus(x.message)));
$("#upload").addEventListener("submit", async (e) => {
  e.preventDefault();
  const file = $("#file").files[0];
  if (!file) { setStatus("Choose a file first."); return; }
  const form = new FormData();
  form.append("file", file);
  setStatus(`Loading ${file.name}…`);
  try {
    const b = await api("/review/api/batches", { method: "POST", body: form });
    setStatus(`Loaded ${b.name}.`);
    await loadBatches(b.id);
  } catch (x) { setStatus(x.message); }
});
$("#server-path").addEventListener("submit", async (e) => {
  e.preventDefault();
  setStatus("Loading…");
  try {
    const b = await api("/review/api/batches", {
      method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ path: $("#path").value }),
    });
    setStatus(`Loaded ${b.name}.`);
    await loadBatches(b.id);
  } catch (x) { setStatus(x.message); }
});
$("#retrain").addEventListener("click", async () => {
  try { await api("/review/api/retrain", { method: "POST" }); pollRetrain(); } catch (x) { setStatus(x.message); }
});

$("#reviewer").value = localStorage.getItem("linksift-reviewer") || "";
loadModel();
loadBatches().catch((x) => setStatus(x.message));
