// The demo page served at GET /: plain HTML, CSS and JavaScript (DOM + inline SVG), no external assets,
// so it works without network access. It lists the loaded models with GET /v1/models and shows one tab
// per model: text classifiers (POST /v1/predict, JSON), summarizers (POST /v1/summarize), transcribers
// (POST /v1/transcribe, multipart) and speech classifiers (POST /v1/predict, multipart). Audio comes
// from a file or from the microphone, re-encoded in the page as 16 kHz mono 16-bit WAV.
// /?model=ID selects a tab; /?text=... classifies that text at once in the first classifier tab.
#include "nlpc/serve/server.h"

namespace nlpc {

const char* demo_page_html() {
  return R"HTML(<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>nlpc demo</title>
<link rel="icon" href="data:,">
<style>
  [hidden] { display: none !important; }
  body { font-family: system-ui, sans-serif; max-width: 800px; margin: 2em auto; padding: 0 1em; color: #222; }
  h1 { font-size: 1.4em; margin-bottom: 0.2em; }
  #status { color: #666; font-size: 0.9em; margin-bottom: 1em; }
  #tabs { display: flex; flex-wrap: wrap; gap: 0.25em; border-bottom: 1px solid #ccc; }
  #tabs button { border: 1px solid #ccc; border-bottom: none; background: #f4f4f4; border-radius: 6px 6px 0 0;
                 padding: 0.4em 0.9em; margin: 0; font: inherit; cursor: pointer; }
  #tabs button[aria-selected="true"] { background: #fff; border-color: #3367d6; box-shadow: inset 0 3px #3367d6; }
  #tabs small { color: #666; margin-left: 0.5em; }
  .panel { padding: 1em 0; }
  .info { color: #666; font-size: 0.9em; margin-top: 0; }
  textarea { width: 100%; height: 8em; font: inherit; padding: 0.5em; box-sizing: border-box; }
  select, input[type="number"] { font: inherit; }
  button { padding: 0.5em 1.5em; font: inherit; cursor: pointer; }
  button:disabled { cursor: default; }
  .row { display: flex; flex-wrap: wrap; align-items: center; gap: 0.6em 1.2em; margin: 0.6em 0; }
  .row input[type="number"] { width: 5em; }
  .hint, .meta { color: #666; font-size: 0.9em; }
  .audio { border: 1px dashed #bbb; border-radius: 6px; padding: 0.3em 0.8em; }
  .audio audio { width: 100%; margin-bottom: 0.5em; }
  .error { color: #b00020; background: #fdecee; border: 1px solid #f3b6bf; border-radius: 6px;
           padding: 0.6em 0.8em; margin: 0.8em 0; white-space: pre-wrap; }
  .result { margin-top: 1.2em; }
  .label { font-size: 1.6em; font-weight: bold; margin-right: 0.5em; }
  .summary, .transcript { white-space: pre-wrap; line-height: 1.5; }
  p.summary:empty::before { content: "(the model returned an empty summary)"; color: #666; }
  p.transcript:empty::before { content: "(no speech recognized)"; color: #666; }
  blockquote { margin: 0 0 1em; padding: 0.5em 0.8em; border-left: 4px solid #8ab4f8; background: #f6f8fc; }
  blockquote::before { content: "Transcript"; display: block; font-size: 0.8em; color: #666; }
  table { border-collapse: collapse; width: 100%; margin-top: 0.8em; font-size: 0.95em; }
  td, th { text-align: left; padding: 0.25em 0.6em; border-bottom: 1px solid #eee; vertical-align: top; }
  td.t { width: 1%; font-variant-numeric: tabular-nums; white-space: nowrap; color: #555; }
  svg text { font-size: 13px; font-family: system-ui, sans-serif; }
</style>
</head>
<body>
<h1>nlpc demo</h1>
<div id="status">loading the model list&hellip;</div>
<nav id="tabs" role="tablist"></nav>
<main id="panels"></main>

<template id="tpl-classifier"><section class="panel">
  <p class="info" data-r="info"></p>
  <textarea data-r="text" placeholder="Type or paste a text to classify"></textarea>
  <div class="row"><button type="button" data-r="go">Classify</button><span class="hint">Ctrl+Enter</span></div>
  <div class="error" data-r="error" hidden></div>
  <div data-r="pred"></div>
</section></template>

<template id="tpl-summarizer"><section class="panel">
  <p class="info" data-r="info"></p>
  <textarea data-r="text" placeholder="Type or paste a text to summarize"></textarea>
  <div class="row">
    <label>Beams <input type="number" data-r="beams" min="1" max="64" step="1" value="4"></label>
    <label>Max new tokens <input type="number" data-r="max" min="1" max="4096" step="1" value="128"></label>
    <label>No-repeat n-gram <input type="number" data-r="norepeat" min="0" max="64" step="1" value="3"></label>
  </div>
  <div class="row"><button type="button" data-r="go">Summarize</button><span class="hint">Ctrl+Enter</span></div>
  <div class="error" data-r="error" hidden></div>
  <div class="result" data-r="result" hidden>
    <p class="summary" data-r="summary"></p>
    <div class="meta" data-r="meta"></div>
  </div>
</section></template>

<template id="tpl-transcriber"><section class="panel">
  <p class="info" data-r="info"></p>
  <div data-r="audio"></div>
  <div class="row">
    <span data-r="multi" class="row" style="margin:0">
      <label>Language <select data-r="lang"><option value="auto">auto</option></select></label>
      <label>Task <select data-r="task"><option>transcribe</option><option>translate</option></select></label>
    </span>
    <label>Beam size <input type="number" data-r="beam" min="0" max="64" step="1" value="0"></label>
    <span class="hint">0 = greedy</span>
    <label><input type="checkbox" data-r="ts" checked> Timestamps</label>
  </div>
  <div class="row"><button type="button" data-r="go">Transcribe</button></div>
  <div class="error" data-r="error" hidden></div>
  <div class="result" data-r="result" hidden>
    <p class="transcript" data-r="text"></p>
    <div class="meta" data-r="meta"></div>
    <table data-r="table"><thead><tr><th>Start</th><th>End</th><th>Text</th></tr></thead><tbody></tbody></table>
  </div>
</section></template>

<template id="tpl-speech"><section class="panel">
  <p class="info" data-r="info"></p>
  <div data-r="audio"></div>
  <div class="row"><button type="button" data-r="go">Transcribe and classify</button></div>
  <div class="error" data-r="error" hidden></div>
  <div data-r="pred"></div>
</section></template>

<template id="tpl-pred"><div class="result" data-r="result" hidden>
  <blockquote class="transcript" data-r="transcript" hidden></blockquote>
  <div><span class="label" data-r="label"></span><span class="meta" data-r="score"></span></div>
  <svg data-r="chart" width="100%" height="0" role="img" aria-label="label probabilities"></svg>
</div></template>

<template id="tpl-audio"><div class="audio">
  <div class="row">
    <label>Audio file <input type="file" accept="audio/*" data-r="file"></label>
    <span>or microphone</span>
    <button type="button" data-r="rec">&#9679; Record</button>
    <button type="button" data-r="stop" disabled>&#9632; Stop</button>
  </div>
  <div class="row hint" data-r="state">No audio chosen yet.</div>
  <audio controls data-r="player" hidden></audio>
</div></template>

<script>
"use strict";
const TOP = 5;  // bars shown: the TOP most probable labels, then "other" with the rest
const $ = (root, r) => root.querySelector('[data-r="' + r + '"]');
const clone = (id) => document.getElementById(id).content.cloneNode(true).firstElementChild;
function slot(panel, name, tplId) { const w = clone(tplId); $(panel, name).replaceWith(w); return w; }
const ms = (r) => (typeof r.elapsed_ms === "number" ? r.elapsed_ms.toFixed(1) + " ms" : "");

// POST a JSON object or a FormData (GET when body is undefined); resolves to the parsed JSON body,
// throws an Error whose message is "HTTP status code: message" for any non-2xx answer.
async function api(path, body) {
  const opts = body === undefined ? {} : body instanceof FormData ? {method: "POST", body: body}
      : {method: "POST", headers: {"Content-Type": "application/json"}, body: JSON.stringify(body)};
  let res;
  try { res = await fetch(path, opts); }
  catch (e) { throw new Error("Network error: " + e.message + " (is nlpc serve still running?)"); }
  let data = null;
  try { data = await res.json(); } catch (e) { /* not JSON: reported below */ }
  if (!res.ok) {
    const err = data && data.error;
    throw new Error("HTTP " + res.status + " " + (err ? err.code + ": " + err.message : res.statusText || "error"));
  }
  if (data === null) throw new Error("HTTP " + res.status + ": the answer is not JSON");
  return data;
}

function showError(panel, message) { Object.assign($(panel, "error"), {textContent: message, hidden: false}); }

// Runs handler on a click of the panel's button (or Ctrl+Enter in its text box): the button is disabled
// while the request is in flight, and a thrown Error is shown in the panel's error box.
function wire(panel, handler) {
  const go = $(panel, "go"), label = go.textContent;
  const submit = async () => {
    if (go.disabled) return;
    go.disabled = true;
    go.textContent = "Working\u2026";
    $(panel, "error").hidden = true;
    try { await handler(); }
    catch (e) { $(panel, "result").hidden = true; showError(panel, e.message || String(e)); }
    finally { go.disabled = false; go.textContent = label; }
  };
  go.addEventListener("click", submit);
  for (const t of panel.querySelectorAll("textarea")) {
    t.addEventListener("keydown", (e) => {
      if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) { e.preventDefault(); submit(); }
    });
  }
  return submit;
}

// The value of a number input, checked against its min/max/step.
function num(input) {
  if (input.value === "" || !input.checkValidity()) {
    throw new Error(input.closest("label").textContent.trim() + ": " + (input.validationMessage || "a number is required"));
  }
  return Number(input.value);
}

// Horizontal bar chart of top = [{label, score}] (most probable first). For a single-label model
// whose total label count is larger, the rest of the probability mass becomes one grey "other" bar.
const NS = "http://www.w3.org/2000/svg";
function svgEl(name, attrs, text) {
  const e = document.createElementNS(NS, name);
  for (const k in attrs) e.setAttribute(k, attrs[k]);
  if (text !== undefined) e.textContent = text;
  return e;
}
function drawBars(svg, top, total, multilabel) {
  while (svg.firstChild) svg.removeChild(svg.firstChild);
  const rows = top.map((t, i) => [t.label, t.score, i === 0 ? "#3367d6" : "#8ab4f8"]);
  const rest = 1 - top.reduce((s, t) => s + t.score, 0);
  if (!multilabel && total > top.length && rest > 1e-6) {
    rows.push(["other (" + (total - top.length) + " labels)", rest, "#c4c7cc"]);
  }
  const rowH = 24, labelW = 180, barW = 420, h = rows.length * rowH + 8;
  svg.setAttribute("height", h);
  svg.setAttribute("viewBox", "0 0 " + (labelW + barW + 60) + " " + h);
  rows.forEach(([label, p, color], i) => {
    const y = i * rowH + 4;
    const name = label.length > 24 ? label.slice(0, 23) + "\u2026" : label;
    const text = svgEl("text", {x: labelW - 8, y: y + 15, "text-anchor": "end"}, name);
    text.appendChild(svgEl("title", {}, label));
    svg.appendChild(text);
    svg.appendChild(svgEl("rect", {x: labelW, y: y + 2, width: barW, height: rowH - 6, fill: "#eee"}));
    svg.appendChild(svgEl("rect", {x: labelW, y: y + 2, width: Math.max(1, p * barW), height: rowH - 6, fill: color}));
    svg.appendChild(svgEl("text", {x: labelW + barW + 6, y: y + 15}, (p * 100).toFixed(1) + "%"));
  });
}

// One prediction {label, score, top_k, labels? (multi-label), transcript? (speech)} into the panel.
function showPrediction(panel, m, p, r) {
  const multi = Array.isArray(p.labels);
  const quote = $(panel, "transcript");
  quote.hidden = typeof p.transcript !== "string";
  quote.textContent = (p.transcript || "").trim();
  $(panel, "label").textContent = multi ? (p.labels.join(", ") || "(no label)") : p.label;
  $(panel, "score").textContent = [typeof p.score === "number" ? "score " + p.score.toFixed(3) : "", ms(r)]
      .filter(Boolean).join(" \u00b7 ");
  drawBars($(panel, "chart"), p.top_k || [], (m.labels || []).length, multi);
  $(panel, "result").hidden = false;
}

// Decodes a recording (webm/ogg/... as the browser records it), resamples it to 16 kHz mono and
// encodes it as a 16-bit PCM WAV, which the server can read.
async function toWav16k(blob) {
  const Ctx = window.AudioContext || window.webkitAudioContext;
  const ctx = new Ctx();
  let decoded;
  try { decoded = await ctx.decodeAudioData(await blob.arrayBuffer()); } finally { ctx.close(); }
  const rate = 16000, n = Math.max(1, Math.ceil(decoded.duration * rate));
  const offline = new OfflineAudioContext(1, n, rate);
  const src = offline.createBufferSource();
  src.buffer = decoded;
  src.connect(offline.destination);
  src.start();
  const pcm = (await offline.startRendering()).getChannelData(0);
  const v = new DataView(new ArrayBuffer(44 + 2 * pcm.length));
  const tag = (o, s) => { for (let i = 0; i < 4; i++) v.setUint8(o + i, s.charCodeAt(i)); };
  tag(0, "RIFF"); v.setUint32(4, 36 + 2 * pcm.length, true); tag(8, "WAVE");
  tag(12, "fmt "); v.setUint32(16, 16, true); v.setUint16(20, 1, true); v.setUint16(22, 1, true);
  v.setUint32(24, rate, true); v.setUint32(28, 2 * rate, true); v.setUint16(32, 2, true); v.setUint16(34, 16, true);
  tag(36, "data"); v.setUint32(40, 2 * pcm.length, true);
  for (let i = 0; i < pcm.length; i++) {
    const s = Math.max(-1, Math.min(1, pcm[i]));
    v.setInt16(44 + 2 * i, s < 0 ? s * 0x8000 : s * 0x7fff, true);
  }
  return {blob: new Blob([v.buffer], {type: "audio/wav"}), seconds: pcm.length / rate};
}

// The audio widget (file input or microphone) in the panel's "audio" slot; returns a function giving
// the chosen audio as {blob, name}, or null when there is none yet.
function audioInput(panel) {
  const w = slot(panel, "audio", "tpl-audio");
  const file = $(w, "file"), rec = $(w, "rec"), stop = $(w, "stop"), state = $(w, "state"), player = $(w, "player");
  let current = null, url = null, recorder = null;
  const use = (blob, name, note) => {
    current = {blob: blob, name: name};
    if (url) URL.revokeObjectURL(url);
    url = URL.createObjectURL(blob);
    Object.assign(player, {src: url, hidden: false});
    state.textContent = note;
  };
  const fail = (message) => { state.textContent = current ? "Using: " + current.name : "No audio chosen yet."; showError(panel, message); };
  file.addEventListener("change", () => {
    const f = file.files[0];
    if (f) use(f, f.name, "File: " + f.name + " (" + Math.ceil(f.size / 1024) + " KiB)");
  });
  rec.addEventListener("click", async () => {
    $(panel, "error").hidden = true;
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia || typeof MediaRecorder === "undefined") {
      fail(window.isSecureContext ? "This browser cannot record audio (no getUserMedia/MediaRecorder). Choose an audio file instead."
          : "The microphone is unavailable: browsers only allow it on https:// or http://localhost pages. " +
            "Open the demo through localhost (e.g. an SSH tunnel) or choose an audio file instead.");
      return;
    }
    let stream;
    try { stream = await navigator.mediaDevices.getUserMedia({audio: true}); }
    catch (e) {
      fail(e.name === "NotAllowedError" ? "Microphone permission was denied; allow it in the site settings or choose an audio file."
          : e.name === "NotFoundError" ? "No microphone was found." : "Cannot open the microphone: " + e.message);
      return;
    }
    const chunks = [], r = new MediaRecorder(stream);
    recorder = r;
    r.ondataavailable = (e) => { if (e.data.size) chunks.push(e.data); };
    r.onstop = async () => {
      stream.getTracks().forEach((t) => t.stop());
      rec.disabled = false; stop.disabled = true;
      state.textContent = "Converting the recording\u2026";
      try {
        const wav = await toWav16k(new Blob(chunks, {type: r.mimeType}));
        file.value = "";
        use(wav.blob, "recording.wav", "Recording: " + wav.seconds.toFixed(1) + " s, 16 kHz mono WAV");
      } catch (e) { fail("Cannot decode the recording: " + (e.message || e)); }
    };
    r.start();
    rec.disabled = true; stop.disabled = false;
    state.textContent = "Recording\u2026 press Stop when done.";
  });
  stop.addEventListener("click", () => { if (recorder && recorder.state !== "inactive") recorder.stop(); });
  return () => current;
}

function audioForm(m, audio) {
  const a = audio();
  if (!a) throw new Error("Choose an audio file or record from the microphone first.");
  const f = new FormData();
  f.append("file", a.blob, a.name);
  f.append("model", m.id);
  return f;
}

// mm:ss.s
function clock(t) {
  const tenths = Math.round(t * 10), min = Math.floor(tenths / 600);
  return String(min).padStart(2, "0") + ":" + ((tenths % 600) / 10).toFixed(1).padStart(4, "0");
}

const KINDS = {
  classifier: {tpl: "tpl-classifier", build(m, panel) {
    slot(panel, "pred", "tpl-pred");
    const text = $(panel, "text");
    const submit = wire(panel, async () => {
      if (!text.value.trim()) throw new Error("Type a text first.");
      const r = await api("/v1/predict", {model: m.id, texts: [text.value], top_k: TOP});
      showPrediction(panel, m, r.predictions[0], r);
    });
    return (value) => { text.value = value; submit(); };
  }},
  summarizer: {tpl: "tpl-summarizer", build(m, panel) {
    const g = m.generation || {}, text = $(panel, "text");
    const beams = $(panel, "beams"), max = $(panel, "max"), norepeat = $(panel, "norepeat");
    if (g.num_beams !== undefined) beams.value = g.num_beams;
    if (g.max_new_tokens !== undefined) max.value = g.max_new_tokens;
    if (g.no_repeat_ngram_size !== undefined) norepeat.value = g.no_repeat_ngram_size;
    wire(panel, async () => {
      if (!text.value.trim()) throw new Error("Type a text first.");
      const r = await api("/v1/summarize", {model: m.id, texts: [text.value], num_beams: num(beams),
                                            max_new_tokens: num(max), no_repeat_ngram_size: num(norepeat)});
      $(panel, "summary").textContent = r.summaries[0];
      $(panel, "meta").textContent = ms(r);
      $(panel, "result").hidden = false;
    });
  }},
  transcriber: {tpl: "tpl-transcriber", build(m, panel) {
    const audio = audioInput(panel);
    const lang = $(panel, "lang"), task = $(panel, "task"), beam = $(panel, "beam"), ts = $(panel, "ts");
    $(panel, "multi").hidden = !m.multilingual;
    for (const l of m.languages || []) lang.add(new Option(l, l));
    wire(panel, async () => {
      const f = audioForm(m, audio);
      if (m.multilingual && lang.value !== "auto") f.append("language", lang.value);
      f.append("task", m.multilingual ? task.value : "transcribe");
      f.append("beam_size", String(num(beam)));
      f.append("timestamps", ts.checked ? "true" : "false");
      const r = await api("/v1/transcribe", f);
      $(panel, "text").textContent = r.text.trim();
      $(panel, "meta").textContent = [r.language ? "language: " + r.language : "",
          typeof r.duration === "number" ? "audio: " + r.duration.toFixed(1) + " s" : "", ms(r)].filter(Boolean).join(" \u00b7 ");
      const segs = r.segments || [], body = $(panel, "table").tBodies[0];
      while (body.firstChild) body.removeChild(body.firstChild);
      for (const s of segs) {
        const tr = body.insertRow();
        [clock(s.start), clock(s.end), s.text].forEach((v, i) =>
            Object.assign(tr.insertCell(), {textContent: v, className: i < 2 ? "t" : ""}));
      }
      $(panel, "table").hidden = segs.length === 0;
      $(panel, "result").hidden = false;
    });
  }},
  speech_classifier: {tpl: "tpl-speech", build(m, panel) {
    slot(panel, "pred", "tpl-pred");
    const audio = audioInput(panel);
    wire(panel, async () => {
      const f = audioForm(m, audio);
      f.append("top_k", String(TOP));
      const r = await api("/v1/predict", f);
      showPrediction(panel, m, r.predictions[0], r);
    });
  }},
};

function describe(m) {
  const parts = [m.model_type];
  if (typeof m.parameters === "number") parts.push(m.parameters.toLocaleString() + " parameters");
  if (Array.isArray(m.labels)) parts.push(m.labels.length + " labels");
  if (m.multilabel) parts.push("multi-label");
  if (m.kind === "transcriber") parts.push(m.multilingual ? (m.languages || []).length + " languages" : "English-only");
  if (m.asr_model) parts.push("speech recognition: " + m.asr_model);
  return parts.filter(Boolean).join(" \u00b7 ");
}

async function init() {
  const status = document.getElementById("status");
  let models;
  try { models = (await api("/v1/models")).data || []; }
  catch (e) { status.textContent = "Cannot list the models: " + e.message; status.className = "error"; return; }
  if (!models.length) { status.textContent = "The server has no model loaded."; return; }
  status.textContent = models.length === 1 ? "1 model loaded" : models.length + " models loaded";
  const tabs = new Map();  // id -> {m, tab, panel, classify?}
  const select = (id, remember) => {
    for (const [k, t] of tabs) { t.tab.setAttribute("aria-selected", String(k === id)); t.panel.hidden = k !== id; }
    if (remember) { const u = new URL(location.href); u.searchParams.set("model", id); history.replaceState(null, "", u); }
  };
  models.forEach((m, i) => {
    const tab = document.createElement("button"), kind = document.createElement("small");
    Object.assign(tab, {type: "button", id: "tab-" + i, textContent: m.id});
    tab.setAttribute("role", "tab");
    kind.textContent = String(m.kind).replace(/_/g, " ");
    tab.append(kind);
    const k = KINDS[m.kind];
    let panel, classify;
    if (k) {
      panel = clone(k.tpl);
      $(panel, "info").textContent = describe(m);
      classify = k.build(m, panel);
    } else {
      panel = Object.assign(document.createElement("section"), {className: "panel",
          textContent: "This page cannot drive models of kind \u201c" + m.kind + "\u201d."});
    }
    panel.id = "panel-" + i;
    panel.setAttribute("role", "tabpanel");
    panel.setAttribute("aria-labelledby", tab.id);
    tab.setAttribute("aria-controls", panel.id);
    tab.addEventListener("click", () => select(m.id, true));
    document.getElementById("tabs").append(tab);
    document.getElementById("panels").append(panel);
    tabs.set(m.id, {m: m, tab: tab, panel: panel, classify: classify});
  });
  // /?model=ID selects a tab; /?text=... classifies at once (in that tab if it is a classifier, else
  // in the first classifier tab).
  const params = new URLSearchParams(location.search), want = params.get("model"), text = params.get("text");
  let current = tabs.has(want) ? want : models[0].id;
  if (want && !tabs.has(want)) status.textContent += " \u00b7 no model named \u201c" + want + "\u201d";
  if (text) {
    const target = tabs.get(current).m.kind === "classifier" ? current
        : (models.find((m) => m.kind === "classifier") || {}).id;
    if (target) { current = target; tabs.get(target).classify(text); }
    else status.textContent += " \u00b7 no text classifier for ?text=";
  }
  select(current, false);
}
init();
</script>
</body>
</html>
)HTML";
}

}  // namespace nlpc
