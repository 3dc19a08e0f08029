#!/bin/sh
# Smoke test of the production build: runs build.sh into a temp dir, starts that build on a free
# port with a temp LITSURVEY_HOME and the sample corpus, checks /healthz, writes a survey through
# the API, downloads its Markdown and checks it has references. Cleans up; exits non-zero with a
# message naming the failed step.
#   usage: wrangler-free-deploy/smoke.sh            (SMOKE_TIMEOUT=seconds per wait, default 180)
set -eu
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(dirname "$here")"
timeout="${SMOKE_TIMEOUT:-180}"
work="$(mktemp -d "${TMPDIR:-/tmp}/litsurvey-smoke.XXXXXX")"
pid=""

cleanup() {
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

fail() {
  echo "smoke.sh: FAILED: $*" >&2
  if [ -s "$work/server.log" ]; then
    echo "--- last lines of the server log ---" >&2
    tail -n 30 "$work/server.log" >&2
  fi
  exit 1
}

echo "smoke.sh: building into $work/app"
if ! sh "$here/build.sh" "$work/app" >"$work/build.log" 2>&1; then
  tail -n 40 "$work/build.log" >&2
  fail "build.sh did not succeed (log above)"
fi

port="$(node -e "const s = require('node:net').createServer().listen(0, '127.0.0.1', () => { console.log(s.address().port); s.close(); })")"
token="smoke-$(node -e "console.log(require('node:crypto').randomBytes(12).toString('hex'))")"
echo "smoke.sh: starting the build on 127.0.0.1:$port"
env LITSURVEY_HOME="$work/home" LITSURVEY_CORPUS="$repo/corpus/sample.jsonl" LITSURVEY_CONFIG="$work/no-config.json" \
  LITSURVEY_TOKEN="$token" LITSURVEY_MODEL= NODE_ENV=production \
  node "$work/app/dist/cli/main.js" serve --host 127.0.0.1 --port "$port" >"$work/server.log" 2>&1 &
pid=$!

# The checks, in Node (no curl needed): each prints what it checks and exits 1 with a reason.
BASE="http://127.0.0.1:$port" TOKEN="$token" TIMEOUT="$timeout" SERVER_PID="$pid" node --input-type=module -e '
const { BASE, TOKEN, TIMEOUT, SERVER_PID } = process.env;
const deadline = () => Date.now() + Number(TIMEOUT) * 1000;
const auth = { authorization: `Bearer ${TOKEN}` };
const fail = (msg) => { console.error(`smoke.sh: FAILED: ${msg}`); process.exit(1); };
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const alive = () => { try { process.kill(Number(SERVER_PID), 0); return true; } catch { return false; } };
const get = (path, headers = {}) => fetch(BASE + path, { headers, signal: AbortSignal.timeout(30_000) });

let until = deadline();
for (;;) {
  if (!alive()) fail("the server exited during start-up");
  const r = await get("/healthz").catch(() => null);
  if (r?.ok && (await r.json()).status === "ok") break;
  if (Date.now() > until) fail(`/healthz did not answer ok within ${TIMEOUT} s`);
  await sleep(500);
}
console.log("smoke.sh: /healthz ok");

if ((await get("/api/surveys")).status !== 401) fail("/api answered without the token");
const home = await get("/", auth);
if (home.status !== 200 || !/<form method="post" action="\/surveys"/.test(await home.text())) fail(`the form page did not render (HTTP ${home.status})`);

const created = await fetch(BASE + "/api/surveys", { method: "POST", headers: { ...auth, "content-type": "application/json" }, body: JSON.stringify({ topic: "neural machine translation", sections: 3 }) });
if (created.status !== 202) fail(`POST /api/surveys answered ${created.status}: ${await created.text()}`);
const { id, links } = await created.json();
console.log(`smoke.sh: job ${id} queued`);

until = deadline();
let job;
for (;;) {
  job = await (await get(links.self, auth)).json();
  if (job.state === "done") break;
  if (job.state === "failed" || job.state === "cancelled") fail(`job ${id} ${job.state}: ${job.error}`);
  if (Date.now() > until) fail(`job ${id} not done within ${TIMEOUT} s (state ${job.state}, step ${job.step})`);
  await sleep(500);
}
console.log(`smoke.sh: job done in ${job.timings.runMs} ms`);

const md = await get(links.markdown, auth);
if (md.status !== 200) fail(`${links.markdown} answered ${md.status}`);
const text = await md.text();
if (!/^## References$/m.test(text)) fail("the survey has no References section");
const refs = text.split(/^## References$/m)[1].match(/^\d+\. .+/gm) ?? [];
if (refs.length < 3) fail(`the survey lists ${refs.length} references`);
if (!/\[\d+(, \d+)*\]/.test(text)) fail("the survey cites nothing");
console.log(`smoke.sh: survey.md has ${refs.length} references`);
const page = await get(`/surveys/${id}/survey`, auth);
if (page.status !== 200 || !/class="cite"/.test(await page.text())) fail("the survey page did not render its citations");
' || fail "the API checks above"

echo "smoke.sh: OK"
