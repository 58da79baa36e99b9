// linksift review page: plain JavaScript, no build step, no external resources.
"use strict";
const $ = (sel) => document.querySelector(sel);
const state = {
  batch: null, page: 1, perPage: 50, total: 0, rows: [], selected: -1, detail: null,
  view: "links", dpage: 1, dsort: "risk", picked: new Set(), uploadLimit: 0, tooBig: "",
};

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
  const { batches, upload_limit: limit, too_big: tooBig } = await api("/review/api/batches");
  state.uploadLimit = limit;
  state.tooBig = tooBig;
  const sel = $("#batch");
  sel.replaceChildren(...batches.map((b) => {
    const o = text("option", `${b.name} (${b.rows.toLocaleString()} links)`);
    o.value = b.id;
    return o;
  }));
  if (!batches.length) { setStatus("No batch loaded yet: load a `linksift score` output or an export."); return; }
  await showBatch(select || batches[0].id);
}

async function showBatch(id) {
  state.batch = id;
  $("#batch").value = id;
  $("#disavow").href = `/review/api/disavow?batch=${id}`;
  state.page = 1;
  state.dpage = 1;
  state.picked.clear();
  await refresh();
}

function refresh() { return state.view === "domains" ? loadDomains() : loadLinks(); }

function filterParams() {
  const form = new FormData($("#filters"));
  const params = new URLSearchParams();
  params.set("batch", state.batch);
  params.set("page", state.page);
  params.set("per_page", state.perPage);
  params.set("verdict", form.getAll("verdict").join(","));
  for (const key of ["min", "max", "site", "anchor", "placement", "sort", "unlabelled"]) {
    const v = form.get(key);
    if (v) params.set(key, v);
  }
  return params;
}

// A source URL as a link that opens in a new tab without giving the page a handle on this
// one; anything that is not http(s) is shown as text.
function urlCell(url) {
  const td = document.createElement("td");
  td.className = "url";
  if (/^https?:\/\//i.test(url || "")) {
    const a = text("a", url);
    a.href = url;
    a.target = "_blank";
    a.rel = "noopener noreferrer";
    a.addEventListener("click", (e) => e.stopPropagation());
    td.append(a);
  } else td.textContent = url || "";
  return td;
}

// a list shows the answer to its newest request: an older answer that arrives later (the
// unfiltered list still loading when a filter is applied) is dropped, not drawn over it
const asked = {};
async function newest(list, path) {
  const n = (asked[list] = (asked[list] || 0) + 1);
  const data = await api(path);
  return n === asked[list] ? data : null;
}

// select: the row to select once loaded (a number, or "last" when moving back a page)
async function loadLinks(selectRow = 0) {
  if (!state.batch) return;
  const data = await newest("links", `/review/api/links?${filterParams()}`);
  if (!data) return;
  state.total = data.total;
  state.rows = data.rows;
  const body = $("#links tbody");
  body.replaceChildren(...data.rows.map((r, i) => {
    const tr = document.createElement("tr");
    tr.tabIndex = 0;
    tr.dataset.index = i;
    tr.dataset.link = r.link_id;
    tr.dataset.site = r.site;
    tr.setAttribute("aria-selected", "false");
    const box = document.createElement("input");
    box.type = "checkbox";
    box.checked = state.picked.has(r.link_id);
    box.setAttribute("aria-label", `select ${r.source_url}`);
    box.addEventListener("click", (e) => { e.stopPropagation(); pick(r.link_id, box.checked); });
    const pickCell = document.createElement("td");
    pickCell.append(box);
    tr.append(pickCell, text("td", r.verdict, `v-${r.verdict}`), text("td", r.spam_probability.toFixed(2)),
      urlCell(r.source_url), text("td", r.anchor_text), text("td", r.reason_1),
      text("td", r.label ? `${r.label}${r.labelled_by ? " · " + r.labelled_by : ""}` : "", r.label ? `v-${r.label}` : ""));
    tr.addEventListener("click", () => { select(i); openDetail(); });
    return tr;
  }));
  const pages = Math.max(1, Math.ceil(data.total / state.perPage));
  $("#pageinfo").textContent = `page ${state.page} of ${pages} · ${data.total.toLocaleString()} links`;
  $("#prev").disabled = state.page <= 1;
  $("#next").disabled = state.page >= pages;
  $("#pick-all").checked = data.rows.length > 0 && data.rows.every((r) => state.picked.has(r.link_id));
  state.selected = -1;
  if (data.rows.length) select(selectRow === "last" ? data.rows.length - 1 : Math.min(selectRow, data.rows.length - 1), false);
  showPicked();
}

function pick(linkId, on) {
  if (on) state.picked.add(linkId); else state.picked.delete(linkId);
  const box = document.querySelector(`#links tbody tr[data-link="${CSS.escape(linkId)}"] input`);
  if (box) box.checked = on;
  showPicked();
}

function showPicked() {
  const n = state.picked.size;
  $("#picked").textContent = `${n.toLocaleString()} selected`;
  for (const id of ["#bulk-good", "#bulk-spam", "#bulk-clear"]) $(id).disabled = n === 0;
}

// Moves the selection; past the last row of a page it goes on to the next page's first row,
// before the first row to the previous page's last.
async function select(i, focus = true) {
  const rows = [...document.querySelectorAll("#links tbody tr")];
  const pages = Math.max(1, Math.ceil(state.total / state.perPage));
  if (i >= rows.length && state.page < pages) { state.page += 1; await loadLinks(0); return focusSelected(focus); }
  if (i < 0 && state.page > 1) { state.page -= 1; await loadLinks("last"); return focusSelected(focus); }
  if (!rows.length) return;
  i = Math.max(0, Math.min(rows.length - 1, i));
  rows.forEach((tr, j) => tr.setAttribute("aria-selected", j === i ? "true" : "false"));
  state.selected = i;
  if (focus) rows[i].focus();
}

function focusSelected(focus) {
  const row = document.querySelectorAll("#links tbody tr")[state.selected];
  if (focus && row) row.focus();
}

async function loadDomains() {
  if (!state.batch) return;
  const form = new FormData($("#filters"));
  const params = new URLSearchParams({ batch: state.batch, page: state.dpage, per_page: state.perPage, sort: state.dsort });
  if (form.get("site")) params.set("site", form.get("site"));
  if (form.get("unlabelled")) params.set("unlabelled", "1");
  const data = await newest("domains", `/review/api/domains?${params}`);
  if (!data) return;
  $("#domains tbody").replaceChildren(...data.rows.map((d) => {
    const tr = document.createElement("tr");
    tr.dataset.site = d.site;
    const name = text("a", d.site || "(no domain)");
    name.href = "#";
    name.title = "Show this domain's links";
    name.addEventListener("click", (e) => { e.preventDefault(); showDomainLinks(d.site); });
    const nameCell = document.createElement("td");
    nameCell.append(name);
    const actions = document.createElement("td");
    for (const [value, label, cls] of [["spam", "spam", "spam"], ["good", "good", "good"], ["remove", "clear", ""]]) {
      const b = text("button", label, cls);
      b.type = "button";
      b.dataset.label = value;
      b.setAttribute("aria-label", `label every link from ${d.site} ${value}`);
      b.addEventListener("click", () => labelDomain(d.site, value).catch((x) => setStatus(x.message)));
      actions.append(b, " ");
    }
    tr.append(nameCell, text("td", d.links.toLocaleString(), "n"), text("td", d.proposed.toLocaleString(), "n"),
      text("td", d.spam.toLocaleString(), "n v-spam"), text("td", d.review.toLocaleString(), "n"),
      text("td", d.good.toLocaleString(), "n"), text("td", d.max_p.toFixed(2), "n"),
      text("td", d.label || "", d.label ? `v-${d.label}` : ""), actions);
    return tr;
  }));
  const pages = Math.max(1, Math.ceil(data.total / state.perPage));
  $("#dpageinfo").textContent = `page ${state.dpage} of ${pages} · ${data.total.toLocaleString()} referring domains`;
  $("#dprev").disabled = state.dpage <= 1;
  $("#dnext").disabled = state.dpage >= pages;
}

function setView(view) {
  state.view = view;
  $("#links-view").hidden = view !== "links";
  $("#domains-view").hidden = view !== "domains";
  $("#view-links").setAttribute("aria-pressed", String(view === "links"));
  $("#view-domains").setAttribute("aria-pressed", String(view === "domains"));
  if (view === "domains") $("#detail").hidden = true;
  return refresh();
}

async function showDomainLinks(site) {
  $("#site-filter").value = site;
  state.page = 1;
  await setView("links");
}

async function labelDomain(site, value) {
  const saved = await post({ batch: state.batch, site, label: value, note: "", reviewer: reviewer() });
  setStatus(value === "remove"
    ? `Removed ${saved.removed} label${saved.removed === 1 ? "" : "s"} for ${site}: the model's verdicts count again.`
    : `Saved ${saved.saved} label${saved.saved === 1 ? "" : "s"}: ${value} for ${site}.`);
  await loadDomains();
}

function reviewer() {
  const name = $("#reviewer").value.trim();
  localStorage.setItem("linksift-reviewer", name);
  return name;
}

function post(payload) {
  return api("/review/api/labels", {
    method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(payload),
  });
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

// Labels the selected links when some are selected, else the open detail's link (it may have
// left a filtered list), else the highlighted row. moveOn: the keyboard's flow, which goes on
// to the next link (and its detail, when one is open).
async function label(value, site = false, moveOn = false) {
  const detailOpen = !$("#detail").hidden && state.detail;
  const picked = [...state.picked];
  const row = detailOpen ? state.detail : state.rows[state.selected];
  if (!row && !picked.length) return;
  const payload = { batch: state.batch, label: value, note: $("#d-note").value, reviewer: reviewer() };
  if (site) payload.site = row.site;
  else if (picked.length && !detailOpen) payload.link_ids = picked;
  else payload.link_id = row.link_id;
  const saved = await post(payload);
  const what = payload.link_ids ? ` on ${picked.length} selected links` : site ? " for " + row.site : "";
  if (payload.link_ids) state.picked.clear();
  // the list follows the new verdicts (a link may leave a filtered view)
  const keep = state.selected;
  const labelled = row && row.link_id;
  await loadLinks(keep);
  if (moveOn && !payload.link_ids) {
    const stayed = state.rows[keep] && state.rows[keep].link_id === labelled;
    await select(stayed ? keep + 1 : keep);
    if (detailOpen) await openDetail();
  } else if (detailOpen) await openDetail(labelled);
  setStatus(value === "remove"
    ? `Removed ${saved.removed} label${saved.removed === 1 ? "" : "s"}${what}: the model's verdict counts again.`
    : `Saved ${saved.saved} label${saved.saved === 1 ? "" : "s"}: ${value}${what}.`);
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
  if (state.view !== "links") return;
  const failed = (x) => setStatus(x.message);
  if (e.key === "j") { select(state.selected + 1).catch(failed); e.preventDefault(); }
  else if (e.key === "k") { select(state.selected - 1).catch(failed); e.preventDefault(); }
  else if (e.key === "x") {
    const row = state.rows[state.selected];
    if (row) pick(row.link_id, !state.picked.has(row.link_id));
    e.preventDefault();
  }
  else if (e.key === "Enter") { openDetail(); e.preventDefault(); }
  else if (e.key === "g") { label("good", false, true).catch(failed); e.preventDefault(); }
  else if (e.key === "s") { label("spam", false, true).catch(failed); e.preventDefault(); }
  else if (e.key === "/") { $("#site-filter").focus(); e.preventDefault(); }
});

$("#filters").addEventListener("submit", (e) => { e.preventDefault(); state.page = 1; state.dpage = 1; refresh().catch((x) => setStatus(x.message)); });
$("#batch").addEventListener("change", (e) => showBatch(e.target.value).catch((x) => setStatus(x.message)));
$("#prev").addEventListener("click", () => { state.page -= 1; loadLinks(); });
$("#next").addEventListener("click", () => { state.page += 1; loadLinks(); });
$("#dprev").addEventListener("click", () => { state.dpage -= 1; loadDomains(); });
$("#dnext").addEventListener("click", () => { state.dpage += 1; loadDomains(); });
$("#view-links").addEventListener("click", () => setView("links").catch((x) => setStatus(x.message)));
$("#view-domains").addEventListener("click", () => setView("domains").catch((x) => setStatus(x.message)));
document.querySelectorAll("#domains th button").forEach((b) => b.addEventListener("click", () => {
  state.dsort = b.dataset.sort; state.dpage = 1; loadDomains().catch((x) => setStatus(x.message));
}));
$("#pick-all").addEventListener("change", (e) => { for (const r of state.rows) pick(r.link_id, e.target.checked); });
$("#bulk-good").addEventListener("click", () => label("good").catch((x) => setStatus(x.message)));
$("#bulk-spam").addEventListener("click", () => label("spam").catch((x) => setStatus(x.message)));
$("#bulk-clear").addEventListener("click", () => { state.picked.clear(); loadLinks(state.selected); });
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
  if (state.uploadLimit && file.size > state.uploadLimit) {
    setStatus(`${file.name} is ${(file.size / 1e6).toFixed(0)} MB; the page takes files up to ${(state.uploadLimit / 1e6).toFixed(0)} MB: ${state.tooBig}.`);
    return;
  }
  const form = new FormData();
  form.append("file", file);
  const started = Date.now();
  const tick = () => setStatus(`Loading ${file.name} (${(file.size / 1e6).toFixed(1)} MB): ${Math.round((Date.now() - started) / 1000)} s…`);
  tick();
  const timer = setInterval(tick, 1000);
  try {
    const b = await api("/review/api/batches", { method: "POST", body: form });
    clearInterval(timer);
    setStatus(`Loaded ${b.name} in ${((Date.now() - started) / 1000).toFixed(1)} s.`);
    await loadBatches(b.id);
  } catch (x) { clearInterval(timer); setStatus(x.message); }
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
  if (!window.confirm("Train a challenger model on the base data plus every reviewed label? It takes a minute or two and replaces nothing until promoted.")) return;
  try { await api("/review/api/retrain", { method: "POST" }); pollRetrain(); } catch (x) { setStatus(x.message); }
});

$("#reviewer").value = localStorage.getItem("linksift-reviewer") || "";
loadModel();
loadBatches().catch((x) => setStatus(x.message));
