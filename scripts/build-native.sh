#!/bin/sh
# Builds native/ into native/build/Release/litsurvey_engine.node.
# Serialised with a lock so several builds started at once never share a half-written build dir.
# Re-configures only when the set of .cpp files changed (the source list is a glob at configure time).
set -e
cd "$(dirname "$0")/../native"
exec 9>"${TMPDIR:-/tmp}/litsurvey-native-build.lock"
flock 9
NODEDIR_ARG=""
if [ -z "$npm_config_nodedir" ] && [ -d "$(dirname "$(dirname "$(command -v node)")")/include/node" ]; then
  NODEDIR_ARG="--nodedir=$(dirname "$(dirname "$(command -v node)")")"
fi
GYP="node $(dirname "$(command -v npm)")/../lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js"
[ -f "$(echo $GYP | cut -d' ' -f2)" ] || GYP="npx --no-install node-gyp"
LIST="$(find src -name '*.cpp' | sort | tr '\n' ' ')"
if [ ! -f build/Makefile ] || [ "$(cat build/.sources 2>/dev/null)" != "$LIST" ]; then
  $GYP configure $NODEDIR_ARG
  echo "$LIST" > build/.sources
fi
$GYP build -j 2 $NODEDIR_ARG
