// The demo page served at GET /: plain HTML, CSS and JavaScript (DOM + SVG), no external assets,
// so it works without network access. It calls GET /v1/model and POST /v1/predict on the same origin.
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
  body { font-family: system-ui, sans-serif; max-width: 760px; margin: 2em auto; padding: 0 1em; color: #222; }
  h1 { font-size: 1.4em; margin-bottom: 0.2em; }
  #model { color: #666; font-size: 0.9em; margin-bottom: 1em; }
  textarea { width: 100%; height: 8em; font: inherit; padding: 0.5em; box-sizing: border-box; }
  button { margin-top: 0.5em; padding: 0.5em 1.5em; font: inherit; cursor: pointer; }
  #result { margin-top: 1.5em; }
  #label { font-size: 1.6em; font-weight: bold; }
  #score { color: #666; margin-left: 0.5em; }
  #error { color: #b00020; white-space: pre-wrap; }
  svg text { font-size: 13px; font-family: system-ui, sans-serif; }
</style>
</head>
<body>
<h1>nlpc text classifier</h1>
<div id="model">loading model information&hellip;</div>
<textarea id="text" placeholder="Type or paste a text to classify"></textarea>
<br><button id="classify" type="button">Classify</button>
<div id="result" hidden>
  <div><span id="label"></span><span id="score"></span></div>
  <svg id="chart" width="100%" height="0" role="img" aria-label="probabilities"></svg>
</div>
<div id="error"></div>
<script>
"use strict";
const NS = "http://www.w3.org/2000/svg";
function el(name, attrs, text) {
  const e = document.createElementNS(NS, name);
  for (const k in attrs) e.setAttribute(k, attrs[k]);
  if (text !== undefined) e.textContent = text;
  return e;
}
const TOP = 5;  // bars shown: the TOP most probable labels, then "other" with the rest
let modelInfo = null;
// top: [{label, score}] most probable first; the rest of the probability mass (single-label
// models, whose probabilities sum to 1) becomes one "other" bar.
function drawChart(top, multilabel) {
  const svg = document.getElementById("chart");
  while (svg.firstChild) svg.removeChild(svg.firstChild);
  const entries = top.map((t) => [t.label, t.score]);
  const total = modelInfo ? modelInfo.labels.length : entries.length;
  if (!multilabel && total > entries.length) {
    const rest = Math.max(0, 1 - entries.reduce((s, e) => s + e[1], 0));
    entries.push(["other (" + (total - entries.length) + " labels)", rest]);
  }
  const rowH = 24, labelW = 160, barW = 440;
  svg.setAttribute("height", entries.length * rowH + 8);
  svg.setAttribute("viewBox", "0 0 " + (labelW + barW + 60) + " " + (entries.length * rowH + 8));
  entries.forEach(([label, p], i) => {
    const y = i * rowH + 4;
    svg.appendChild(el("text", {x: labelW - 8, y: y + 15, "text-anchor": "end"}, label));
    svg.appendChild(el("rect", {x: labelW, y: y + 2, width: barW, height: rowH - 6, fill: "#eee"}));
    svg.appendChild(el("rect", {x: labelW, y: y + 2, width: Math.max(1, p * barW), height: rowH - 6,
                                fill: i === 0 ? "#3367d6" : label.startsWith("other (") && i === entries.length - 1
                                    ? "#c4c7cc" : "#8ab4f8", "class": "bar"}));
    svg.appendChild(el("text", {x: labelW + barW + 6, y: y + 15}, (p * 100).toFixed(1) + "%"));
  });
}
async function classify() {
  const text = document.getElementById("text").value;
  const err = document.getElementById("error");
  err.textContent = "";
  if (!text.trim()) { err.textContent = "Type a text first."; return; }
  try {
    const res = await fetch("/v1/predict", {method: "POST", headers: {"Content-Type": "application/json"},
                                            body: JSON.stringify({texts: [text], top_k: TOP})});
    const body = await res.json();
    if (!res.ok) { err.textContent = body.error ? body.error.code + ": " + body.error.message : res.statusText; return; }
    await modelReady;
    const pred = body.predictions[0];
    document.getElementById("label").textContent = pred.labels ? (pred.labels.join(", ") || "(none)") : pred.label;
    document.getElementById("score").textContent = "score " + pred.score.toFixed(3) + " · " +
                                                   body.elapsed_ms.toFixed(1) + " ms";
    document.getElementById("result").hidden = false;
    drawChart(pred.top_k, pred.labels !== undefined);
  } catch (e) {
    err.textContent = "Request failed: " + e;
  }
}
document.getElementById("classify").addEventListener("click", classify);
document.getElementById("text").addEventListener("keydown", (e) => {
  if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) classify();
});
const modelReady = fetch("/v1/model").then((r) => r.json()).then((m) => {
  modelInfo = m;
  document.getElementById("model").textContent = m.model + " · " + m.architecture + " · " + m.labels.length +
      " labels · " + m.parameters.toLocaleString() + " parameters" + (m.multilabel ? " · multi-label" : "");
}).catch((e) => { document.getElementById("model").textContent = "model information unavailable: " + e; });
// A link can carry the text: /?text=... fills the box and classifies it at once.
const preset = new URLSearchParams(location.search).get("text");
if (preset) {
  document.getElementById("text").value = preset;
  classify();
}
</script>
</body>
</html>
)HTML";
}

}  // namespace nlpc
