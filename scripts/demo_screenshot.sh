#!/usr/bin/env bash
# Exercises the demo page of `nlpc serve` in headless Debian chromium: types a text, clicks
# "Classify", reads the label shown, checks it against POST /v1/predict, saves a screenshot and
# fails on any console error or failed request.
#
# usage: scripts/demo_screenshot.sh MODEL_DIR [OUT=docs/demo.png]
#   needs: apt-get install -y chromium; npm (playwright-core is installed into a temp folder,
#   it drives /usr/bin/chromium, no browser download)
#   env: NLPC=build/nlpc  PORT=18081  TEXT="..."
set -euo pipefail
model=${1:?usage: $0 MODEL_DIR [OUT]}
out=${2:-docs/demo.png}
nlpc=${NLPC:-build/nlpc}
port=${PORT:-18081}
text=${TEXT:-The striker scored twice in the second half and the team won the cup final.}
chrome=${CHROMIUM:-/usr/bin/chromium}
[ -x "$chrome" ] || { echo "chromium is not installed: apt-get install -y chromium" >&2; exit 2; }

server=
tmp=$(mktemp -d)
trap '[ -n "$server" ] && kill $server 2>/dev/null; rm -rf "$tmp"' EXIT

"$nlpc" serve --model "$model" --host 127.0.0.1 --port "$port" > "$tmp/server.log" 2>&1 &
server=$!
for _ in $(seq 1 300); do
  curl -sf "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break
  sleep 0.1
done
curl -sf "http://127.0.0.1:$port/healthz" >/dev/null || { cat "$tmp/server.log"; exit 1; }
expected=$(curl -s -X POST -H 'Content-Type: application/json' \
  --data "$(node -e 'console.log(JSON.stringify({texts: [process.argv[1]]}))' "$text")" \
  "http://127.0.0.1:$port/v1/predict" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).predictions[0].label))')

(cd "$tmp" && npm install --silent --no-audit --no-fund playwright-core@1 >/dev/null)
mkdir -p "$(dirname "$out")"
out_abs=$(realpath -m "$out")
cat > "$tmp/drive.js" <<'JS'
const { chromium } = require("playwright-core");
const [url, text, outPng, chrome, profile] = process.argv.slice(2);
(async () => {
  const ctx = await chromium.launchPersistentContext(profile, {
    executablePath: chrome, headless: true, viewport: { width: 900, height: 640 },
    args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run",
           "--disable-component-update", "--disable-sync"],
  });
  const page = ctx.pages()[0] || await ctx.newPage();
  const problems = [];
  page.on("console", (m) => { if (m.type() === "error") problems.push("console error: " + m.text()); });
  page.on("pageerror", (e) => problems.push("page error: " + e.message));
  page.on("requestfailed", (r) => problems.push("request failed: " + r.url()));
  await page.goto(url, { waitUntil: "networkidle" });
  await page.waitForFunction(() => !document.getElementById("model").textContent.startsWith("loading"));
  await page.fill("#text", text);
  await page.click("#classify");
  await page.waitForSelector("#result:not([hidden])", { timeout: 10000 });
  const label = await page.textContent("#label");
  const bars = await page.$$eval("#chart rect.bar", (rs) => rs.length);
  await page.screenshot({ path: outPng, fullPage: true });
  await ctx.close();
  console.log(JSON.stringify({ label, bars, problems }));
  process.exit(problems.length ? 1 : 0);
})().catch((e) => { console.error(e); process.exit(1); });
JS
result=$(cd "$tmp" && node drive.js "http://127.0.0.1:$port/" "$text" "$out_abs" "$chrome" "$(mktemp -d)") || {
  echo "FAIL: $result" >&2; exit 1; }
echo "page: $result"
shown=$(node -e 'console.log(JSON.parse(process.argv[1]).label)' "$result")
[ "$shown" = "$expected" ] || { echo "FAIL: the page shows '$shown', /v1/predict says '$expected'" >&2; exit 1; }
bars=$(node -e 'console.log(JSON.parse(process.argv[1]).bars)' "$result")
[ "$bars" -le 6 ] || { echo "FAIL: $bars bars; the page shows the top 5 labels and \"other\"" >&2; exit 1; }
echo "OK: label '$shown' shown, no console errors; screenshot in $out"
