#!/bin/sh
# Builds the GGUF reader with AddressSanitizer + UndefinedBehaviorSanitizer into a temp dir
# and runs the mutation fuzzer (native/fuzz/gguf_fuzz.cpp). Arguments go to the fuzzer:
#   --cases N (default 10000)  --seed S (default 1)  --seeds DIR (more seed .gguf files)
# The shared vocabulary GGUFs (../shared/vocab beside the repo) are used as seeds when present.
set -e
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
OUT="${TMPDIR:-/tmp}/litsurvey-fuzz-gguf"
mkdir -p "$OUT"
BIN="$OUT/gguf_fuzz"
SRC="$ROOT/native/fuzz/gguf_fuzz.cpp $ROOT/native/src/gguf.cpp $ROOT/native/src/ggml_types.cpp"
# Rebuild only when a source is newer than the binary.
if [ ! -x "$BIN" ] || [ -n "$(find $SRC "$ROOT/native/src/gguf.h" -newer "$BIN")" ]; then
  echo "building $BIN (ASan + UBSan)"
  g++ -std=c++17 -g -O1 -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all \
    -Wall -Wextra -I"$ROOT/native/src" $SRC -o "$BIN"
fi
SEEDS=""
[ -d "$ROOT/../shared/vocab" ] && SEEDS="--seeds $ROOT/../shared/vocab"
ASAN_OPTIONS="abort_on_error=1:detect_leaks=1:allocator_may_return_null=0" \
UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1" \
  exec "$BIN" $SEEDS "$@"
