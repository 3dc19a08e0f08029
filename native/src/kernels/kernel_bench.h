// Timings of single kernels for `npm run bench:kernels`: how fast a decode step's matmul streams
// its weights, and what one attention run of a decode tile costs, apart from the rest of the engine.
#pragma once
#include <cstddef>
#include <cstdint>

#include "gguf.h"

namespace ls {

struct StreamTiming {
  double seconds = 0;  // the best pass
  double bytes = 0;    // weight bytes one pass reads
};

// One token through matmul() over a Q8_0 or Q4_0 matrix of `cols` columns and about `bytes`
// bytes of pseudo-random weights, packed as a loaded model's are, on a pool of `threads`
// threads: the best of `reps` passes.
StreamTiming time_decode_matmul(GgmlType type, int64_t cols, size_t bytes, int threads, int reps);

// One 64-key run of flash attention for a decode tile (8 query rows, head dim 64) over F16 keys
// and values, each run's successor prefetched as the engine does: microseconds per run, the best
// of `reps` passes over `blocks` runs in a scattered order (a few blocks stay in cache; thousands
// come from memory).
double time_flash_run(int64_t blocks, int reps);

}  // namespace ls
