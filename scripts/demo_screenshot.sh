#!/usr/bin/env bash
# Exercises the demo page of `nlpc serve` in headless Debian chromium, tab by tab (GET /v1/models
# decides which tabs there are), and saves screenshots:
#   classifier: an empty text must show the error box; then types TEXT, clicks "Classify" and checks
#     the label shown against POST /v1/predict (at most 6 bars: the top 5 labels and "other");
#   summarizer: submits SUMMARY_TEXT and checks the summary shown against POST /v1/summarize with the
#     options the page shows (beams, max new tokens, no-repeat n-gram);
#   transcriber: uploads a text file as audio through the file input, which must show the server's
#     422 in the error box; then uploads AUDIO and checks the transcript shown against a multipart
#     POST /v1/transcribe (curl -F) with the fields the page sent;
#   speech_classifier (--asr-model and a classifier): uploads AUDIO and checks the transcript and the
#     label shown against a multipart POST /v1/predict.
# It also checks that the page sent what the controls show, fails on any console error, page error,
# failed request or HTTP error answer (but the 422 it provokes), and on a page wider than the window.
# Screenshots (900x700 window): OUT shows the classifier tab's result; with SHOTS=3 (the default)
# also OUT-summarize.png and OUT-transcribe.png, for the tabs that exist.
#
# usage: scripts/demo_screenshot.sh [--model [NAME=]DIR]... [--asr-model [NAME=]DIR] [OUT=docs/demo.png]
#        scripts/demo_screenshot.sh MODEL_DIR [OUT]        (one classifier, as before)
#   e.g. scripts/demo_screenshot.sh --model sections=/tmp/demo_runs/default/<id>/artifacts/model \
#          --model sum=T5_DIR --asr-model asr=WHISPER_DIR docs/demo.png
#   needs: apt-get install -y chromium; npm (playwright-core is installed into a temp folder, it
#   drives /usr/bin/chromium, no browser download); curl
#   env: NLPC=build/nlpc  PORT=18081  TEXT="..." (classifier)  SUMMARY_TEXT="..."
#        AUDIO=tests/fixtures/audio/digits/clip0.wav  SHOTS=3 (or 1)  CHROMIUM=/usr/bin/chromium
#        PLAYWRIGHT_DIR=DIR (reuse DIR/node_modules/playwright-core instead of installing it)
#        PAGE_URL=http://127.0.0.1:$PORT/ (load the page from elsewhere, e.g. a proxy that serves an
#        edited page and forwards /v1/* to PORT; the reference requests still go to PORT)
set -euo pipefail
usage="usage: $0 [--model [NAME=]DIR]... [--asr-model [NAME=]DIR] [OUT=docs/demo.png]"
serve_args=()
out=
while [ $# -gt 0 ]; do
  case $1 in
    --model|--asr-model)
      [ $# -ge 2 ] || { echo "$usage" >&2; exit 2; }
      serve_args+=("$1" "$2"); shift 2 ;;
    -h|--help) echo "$usage"; exit 0 ;;
    -*) echo "unknown option $1; $usage" >&2; exit 2 ;;
    *)
      if [ -d "$1" ]; then serve_args+=(--model "$1")
      elif [ -z "$out" ]; then out=$1
      else echo "$usage" >&2; exit 2
      fi
      shift ;;
  esac
done
[ ${#serve_args[@]} -gt 0 ] || { echo "$usage" >&2; exit 2; }
out=${out:-docs/demo.png}
nlpc=${NLPC:-build/nlpc}
port=${PORT:-18081}
text=${TEXT:-A command-line audio converter: it reads FLAC, MP3 and Ogg Vorbis files and writes WAV, with a GTK interface.}
summary_text=${SUMMARY_TEXT:-2ping is a bi-directional ping utility. It uses 3-way pings (akin to TCP SYN, SYN/ACK, ACK) and after-the-fact state comparison between a 2ping listener and a 2ping client to determine which direction packet loss occurs.}
audio=${AUDIO:-tests/fixtures/audio/digits/clip0.wav}
shots=${SHOTS:-3}
chrome=${CHROMIUM:-/usr/bin/chromium}
[ -x "$chrome" ] || { echo "chromium is not installed: apt-get install -y chromium" >&2; exit 2; }
[ -f "$audio" ] || { echo "no audio file $audio (AUDIO=...)" >&2; exit 2; }

server=
tmp=$(mktemp -d)
trap '[ -n "$server" ] && kill $server 2>/dev/null; rm -rf "$tmp"' EXIT

"$nlpc" serve "${serve_args[@]}" --host 127.0.0.1 --port "$port" > "$tmp/server.log" 2>&1 &
server=$!
for _ in $(seq 1 600); do
  curl -sf "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break
  kill -0 $server 2>/dev/null || break
  sleep 0.1
done
curl -sf "http://127.0.0.1:$port/healthz" >/dev/null || { cat "$tmp/server.log"; exit 1; }

pw=${PLAYWRIGHT_DIR:-$tmp}
[ -d "$pw/node_modules/playwright-core" ] ||
  (cd "$pw" && npm install --silent --no-audit --no-fund playwright-core@1 >/dev/null)
mkdir -p "$(dirname "$out")"
out_abs=$(realpath -m "$out")
printf 'This is a text file, not audio.\n' > "$tmp/not-audio.wav"
cat > "$tmp/drive.js" <<'JS'
const { chromium } = require("playwright-core");
const { execFileSync } = require("child_process");
const cfg = JSON.parse(process.argv[2]);
const checks = [], problems = [];
const fail = (msg) => { throw new Error(msg); };
const ok = (what) => { checks.push(what); console.error("ok: " + what); };

// Reference answers straight from the API with curl, not through the page.
function curl(args) {
  const body = execFileSync("curl", ["-sS", "--max-time", "300", ...args], { encoding: "utf8" });
  const j = JSON.parse(body);
  if (j.error) fail("reference request failed: " + body);
  return j;
}
const postJson = (path, body) =>
  curl(["-H", "Content-Type: application/json", "--data-binary", JSON.stringify(body), cfg.api + path]);
const postForm = (path, file, fields) =>
  curl(["-F", "file=@" + file, ...fields.flatMap(([k, v]) => ["--form-string", k + "=" + v]), cfg.api + path]);
const canon = (v) => Array.isArray(v) ? v.map(canon) : v && typeof v === "object"
    ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, canon(v[k])])) : v;
const same = (a, b) => JSON.stringify(canon(a)) === JSON.stringify(canon(b));

(async () => {
  const models = curl([cfg.api + "/v1/models"]).data;
  const ctx = await chromium.launchPersistentContext(cfg.profile, {
    executablePath: cfg.chrome, headless: true, viewport: { width: 900, height: 700 },
    args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run",
           "--disable-component-update", "--disable-sync"],
  });
  const page = ctx.pages()[0] || await ctx.newPage();
  let expected = null;  // {status, console}: the HTTP error the current step provokes on purpose
  page.on("console", (m) => {
    if (m.type() === "error" && !(expected && expected.console.test(m.text()))) problems.push("console error: " + m.text());
  });
  page.on("pageerror", (e) => problems.push("page error: " + e.message));
  page.on("requestfailed", (r) => problems.push("request failed: " + r.url() + " " + (r.failure() || {}).errorText));
  page.on("response", (r) => {
    if (r.status() >= 400 && !(expected && expected.status === r.status())) problems.push("HTTP " + r.status() + ": " + r.url());
  });
  // What the page sends: every fetch's JSON body or form fields (files as {file, size}).
  await page.addInitScript(() => {
    const orig = window.fetch;
    window.__sent = [];
    window.fetch = function (url, opts) {
      const o = opts || {}, rec = { url: String(url), method: o.method || "GET" };
      if (typeof FormData !== "undefined" && o.body instanceof FormData) {
        rec.form = [...o.body.entries()].map(([k, v]) => [k, typeof v === "string" ? v : { file: v.name, size: v.size }]);
      } else if (typeof o.body === "string") {
        try { rec.json = JSON.parse(o.body); } catch (e) { rec.body = o.body; }
      }
      window.__sent.push(rec);
      return orig.apply(this, arguments);
    };
  });
  const lastSent = async (path) => {
    const sent = await page.evaluate(() => window.__sent);
    const r = sent.filter((s) => s.url.endsWith(path)).pop();
    return r || fail("the page sent no request to " + path);
  };

  await page.goto(cfg.url, { waitUntil: "networkidle" });
  await page.waitForFunction((n) => document.querySelectorAll("#tabs [role=tab]").length === n, models.length,
                             { timeout: 10000 }).catch(async () =>
      fail("tabs: " + (await page.$$eval("#tabs [role=tab]", (t) => t.length)) + " for " + models.length + " models; status: " +
           (await page.textContent("#status"))));
  ok(models.length + " tabs for " + models.map((m) => m.id + " (" + m.kind + ")").join(", ") + "; status \"" +
     (await page.textContent("#status")) + "\"");

  const select = async (i) => {
    await page.click("#tab-" + i);
    const shown = await page.$$eval("[role=tabpanel]", (ps) => ps.filter((p) => !p.hidden).map((p) => p.id));
    if (!same(shown, ["panel-" + i])) fail("tab " + i + " shows panels " + JSON.stringify(shown));
    const wide = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    if (wide > 0) fail("the page is " + wide + " px wider than the window in tab " + i);
    return "#panel-" + i;
  };
  const q = (panel, r) => panel + ' [data-r="' + r + '"]';
  // Clicks the panel's button, waits until the request is answered; {error, result} as shown.
  const submit = async (panel) => {
    await page.click(q(panel, "go"));
    await page.waitForFunction((sel) => !document.querySelector(sel).disabled, q(panel, "go"), { timeout: 300000 });
    return page.$eval(panel, (p) => {
      const e = p.querySelector('[data-r="error"]'), r = p.querySelector('[data-r="result"]');
      return { error: e.hidden ? null : e.textContent, result: !!r && !r.hidden };
    });
  };
  const succeed = async (panel, what) => {
    const s = await submit(panel);
    if (s.error !== null) fail(what + ": the page shows the error \"" + s.error + "\"");
    if (!s.result) fail(what + ": no result shown");
  };
  const failWith = async (panel, what, pattern) => {
    const s = await submit(panel);
    if (s.error === null) fail(what + ": no error shown");
    if (!pattern.test(s.error)) fail(what + ": the error shown, \"" + s.error + "\", does not match " + pattern);
    if (s.result) fail(what + ": a result is shown next to the error");
    const red = await page.$eval(q(panel, "error"), (e) => getComputedStyle(e).color);
    if (red !== "rgb(176, 0, 32)") fail(what + ": the error box is not red (" + red + ")");
    ok(what + ": the error box says \"" + s.error + "\"");
  };
  const shownPrediction = (panel) => page.$eval(panel, (p) => {
    const g = (r) => p.querySelector('[data-r="' + r + '"]');
    return { label: g("label").textContent, transcript: g("transcript").hidden ? null : g("transcript").textContent,
             bars: g("chart").querySelectorAll("rect").length / 2 };
  });
  const checkPrediction = (what, shown, ref) => {
    const want = Array.isArray(ref.labels) ? (ref.labels.join(", ") || "(no label)") : ref.label;
    if (shown.label !== want) fail(what + ": the page shows '" + shown.label + "', /v1/predict says '" + want + "'");
    if (shown.bars < 1 || shown.bars > 6) fail(what + ": " + shown.bars + " bars; the page shows the top 5 labels and \"other\"");
  };
  const shot = async (file) => { await page.screenshot({ path: file }); ok("screenshot " + file); };

  const idx = (kind) => models.findIndex((m) => m.kind === kind);
  const clf = idx("classifier"), sum = idx("summarizer"), asr = idx("transcriber"), speech = idx("speech_classifier");
  if (clf < 0) fail("no classifier is served; the screenshot shows the classifier tab");

  { // classifier
    const m = models[clf], panel = await select(clf);
    await page.fill(q(panel, "text"), "   ");
    await failWith(panel, "classifier, blank text", /Type a text first/);
    await page.fill(q(panel, "text"), cfg.text);
    await succeed(panel, "classifier");
    const sent = await lastSent("/v1/predict");
    if (!same(sent.json, { model: m.id, texts: [cfg.text], top_k: 5 })) fail("classifier: the page sent " + JSON.stringify(sent.json));
    const ref = postJson("/v1/predict", { model: m.id, texts: [cfg.text] }).predictions[0];
    const shown = await shownPrediction(panel);
    checkPrediction("classifier", shown, ref);
    ok("classifier " + m.id + ": label '" + shown.label + "' = POST /v1/predict's, " + shown.bars + " bars");
    await shot(cfg.out);
  }
  if (sum >= 0) {
    const m = models[sum], panel = await select(sum);
    await page.fill(q(panel, "text"), cfg.summaryText);
    const opts = await page.$eval(panel, (p) => Object.fromEntries(
        [["num_beams", "beams"], ["max_new_tokens", "max"], ["no_repeat_ngram_size", "norepeat"]]
            .map(([k, r]) => [k, Number(p.querySelector('[data-r="' + r + '"]').value)])));
    await succeed(panel, "summarizer");
    const body = { model: m.id, texts: [cfg.summaryText], ...opts };
    const sent = await lastSent("/v1/summarize");
    if (!same(sent.json, body)) fail("summarizer: the page sent " + JSON.stringify(sent.json) + ", its controls say " + JSON.stringify(body));
    const want = postJson("/v1/summarize", body).summaries[0];
    if (!want.trim()) fail("summarizer: /v1/summarize returns an empty summary for SUMMARY_TEXT; train the model longer (or with a larger train.lr)");
    const shown = await page.textContent(q(panel, "summary"));
    if (shown !== want) fail("summarizer: the page shows " + JSON.stringify(shown) + ", /v1/summarize says " + JSON.stringify(want));
    ok("summarizer " + m.id + " " + JSON.stringify(opts) + ": summary " + JSON.stringify(shown) + " = POST /v1/summarize's");
    if (cfg.shots > 1) await shot(cfg.out.replace(/(\.png)?$/, "-summarize.png"));
  }
  if (asr >= 0) {
    const m = models[asr], panel = await select(asr);
    await page.setInputFiles(q(panel, "file"), cfg.notAudio);
    expected = { status: 422, console: /status of 422/ };
    await failWith(panel, "transcriber, a text file as audio", /^HTTP 422 invalid_audio: [\s\S]*not-audio\.wav/);
    await page.waitForTimeout(200);
    expected = null;
    await page.setInputFiles(q(panel, "file"), cfg.audio);
    await succeed(panel, "transcriber");
    const sent = await lastSent("/v1/transcribe");
    const file = sent.form.find(([k]) => k === "file");
    if (!file || file[1].file !== require("path").basename(cfg.audio) || file[1].size !== require("fs").statSync(cfg.audio).size)
      fail("transcriber: the page sent the file " + JSON.stringify(file));
    const fields = sent.form.filter(([k]) => k !== "file");
    const model = fields.find(([k]) => k === "model");
    if (!model || model[1] !== m.id) fail("transcriber: the page sent the fields " + JSON.stringify(fields));
    const ref = postForm("/v1/transcribe", cfg.audio, fields);
    const shown = (await page.textContent(q(panel, "text"))).trim();  // Whisper's text starts with a space
    if (shown !== ref.text.trim()) fail("transcriber: the page shows " + JSON.stringify(shown) + ", /v1/transcribe says " + JSON.stringify(ref.text));
    const rows = await page.$$eval(q(panel, "table") + " tbody tr", (trs) => trs.length);
    if (rows !== ref.segments.length) fail("transcriber: " + rows + " segment rows shown, /v1/transcribe has " + ref.segments.length);
    ok("transcriber " + m.id + " (fields " + fields.map(([k, v]) => k + "=" + v).join(" ") + "): transcript " +
       JSON.stringify(shown.slice(0, 60)) + (shown.length > 60 ? "..." : "") + " = POST /v1/transcribe's, " + rows + " segments");
    if (cfg.shots > 1) await shot(cfg.out.replace(/(\.png)?$/, "-transcribe.png"));
  }
  if (speech >= 0) {
    const m = models[speech], panel = await select(speech);
    await page.setInputFiles(q(panel, "file"), cfg.audio);
    await succeed(panel, "speech classifier");
    const sent = await lastSent("/v1/predict");
    const fields = sent.form.filter(([k]) => k !== "file");
    if (!same(fields, [["model", m.id], ["top_k", "5"]])) fail("speech classifier: the page sent the fields " + JSON.stringify(fields));
    const ref = postForm("/v1/predict", cfg.audio, fields).predictions[0];
    const shown = await shownPrediction(panel);
    checkPrediction("speech classifier", shown, ref);
    if ((shown.transcript || "").trim() !== ref.transcript.trim()) fail("speech classifier: the page shows the transcript " + JSON.stringify(shown.transcript) +
                                                  ", /v1/predict says " + JSON.stringify(ref.transcript));
    ok("speech classifier " + m.id + ": transcript and label '" + shown.label + "' = multipart POST /v1/predict's");
  }
  await ctx.close();
  console.log(JSON.stringify({ checks: checks.length, problems }));
  process.exit(problems.length ? 1 : 0);
})().catch((e) => { console.error("FAIL: " + (e.message || e)); console.log(JSON.stringify({ checks: checks.length, problems })); process.exit(1); });
JS
config=$(node -e 'const [url, api, text, summaryText, audio, notAudio, out, shots, chrome, profile] = process.argv.slice(1);
  console.log(JSON.stringify({url, api, text, summaryText, audio, notAudio, out, shots: Number(shots), chrome, profile}))' \
  "${PAGE_URL:-http://127.0.0.1:$port/}" "http://127.0.0.1:$port" "$text" "$summary_text" "$(realpath "$audio")" \
  "$tmp/not-audio.wav" "$out_abs" "$shots" "$chrome" "$tmp/profile")
result=$(cd "$tmp" && NODE_PATH="$pw/node_modules" node drive.js "$config") || {
  echo "FAIL: $result" >&2; sed 's/^/server: /' "$tmp/server.log" | tail -n 20 >&2; exit 1; }
echo "page: $result"
echo "OK: every tab answers as the API does, no console errors; screenshots in $(dirname "$out")"
