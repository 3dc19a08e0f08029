#!/bin/sh
# The production build, used by every deployment path here (Docker, compose, systemd, smoke.sh):
# installs and compiles the project (TypeScript + native addon), then assembles a self-contained
# directory with production dependencies only.
#   usage: wrangler-free-deploy/build.sh [OUT_DIR]      (default: wrangler-free-deploy/out/litsurvey)
set -eu
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(dirname "$here")"
out="${1:-$here/out/litsurvey}"
cd "$repo"

# A fresh install unless node_modules already matches the lockfile (npm records what it installed).
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci
else
  npm run build:native
  npm run build
fi
test -f native/build/Release/litsurvey_engine.node || { echo "build.sh: the native addon did not build" >&2; exit 1; }

rm -rf "$out"
mkdir -p "$out/native/build/Release"
cp -R dist templates corpus package.json package-lock.json README.md "$out/"
cp native/build/Release/litsurvey_engine.node "$out/native/build/Release/"
mkdir -p "$out/test/stubs" && cp -R test/stubs/empty-package "$out/test/stubs/"
# Reuse the compiled modules (better-sqlite3 takes minutes to build) and drop the dev ones.
cp -R node_modules "$out/"
(cd "$out" && npm prune --omit=dev --ignore-scripts --no-audit --no-fund >/dev/null)
# Benchmarks are not shipped.
rm -rf "$out/dist/bench"
echo "built $out ($(du -sh "$out" | cut -f1)); run: node $out/dist/cli/main.js serve"
