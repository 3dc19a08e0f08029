// Flash-style attention over an F16 KV cache for one KV head: a tile of query rows (a GQA
// group's heads × a few tokens) against runs of up to 64 keys (one KV block's consecutive
// positions), with an online (running max / running sum) softmax and P·V accumulated in F32.
//
// Each block run is converted to F32 once per tile; scores come from a register-blocked GEMM
// whose vector lanes are query rows (a key element broadcast against the rows' query element),
// so every per-row quantity (max, sum, the output accumulator) is a lane and a row's arithmetic
// never depends on which other rows share the tile: the engine may tile tokens freely. A narrow
// tile (decode) may lay its arithmetic out otherwise (AVX-512: keys in lanes) but takes every
// value through the same operations in the same order, so its bits are the wide tile's:
// - a score is one fma chain over the head's dims in order, from 0;
// - a run's Σ p (the softmax sum) adds, for t = 0..15, p_t + p_{t+16} + p_{t+32} + p_{t+48}
//   (the keys present), then halves the 16 partial sums: t + 8, t + 4, t + 2, t + 1;
// - P·V is one fma chain over the run's keys in order, from the accumulator × alpha.
//
// Keys are folded in chunks: a chunk (kFlashChunkBlocks consecutive runs of a row's attended
// list) starts from an empty state, and chunk states are merged left to right. A row's result
// depends only on its own runs and chunk boundaries, never on tiling, threads or whether the
// chunks were computed in one task (prefill) or in parallel then merged (flash-decoding).
#pragma once
#include <cstddef>
#include <cstdint>

#include "kernels/cpu_features.h"

namespace ls {

constexpr int64_t kFlashRunKeys = 64;      // keys per run at most (KvCache::kBlockTokens)
constexpr int64_t kFlashChunkBlocks = 8;   // runs per chunk

constexpr int64_t kFlashNarrowRows = 8;   // tiles of at most this many rows are "narrow"

// A tile's geometry: `rows` query rows of head_dim `hd`. Per-row arrays have ld lanes (rows
// rounded up to 16), per-dim arrays hdp (hd rounded up to 16).
struct FlashShape {
  int64_t rows, hd, ld, hdp;
  FlashShape(int64_t rows_, int64_t hd_) : rows(rows_), hd(hd_), ld((rows_ + 15) / 16 * 16), hdp((hd_ + 15) / 16 * 16) {}
  // A narrow tile (one token's GQA group: decode) would fill few of a register's lanes with
  // rows, so its accumulator keeps a row's dims in lanes instead (see FlashState).
  bool narrow() const { return rows <= kFlashNarrowRows; }
  // Where acc holds dim c of row r.
  int64_t acc_at(int64_t c, int64_t r) const { return narrow() ? r * hdp + c : c * ld + r; }
  size_t state_floats() const { return size_t(ld * (2 + hdp)); }
  // The leading floats of a state that hold its values (m, l and the accumulator's rows): a
  // narrow tile's accumulator fills rows × hdp of its room.
  size_t live_state_floats() const { return size_t(2 * ld + (narrow() ? rows * hdp : hdp * ld)); }
  size_t qt_floats() const { return size_t(hd * ld); }
  size_t scratch_floats() const { return size_t(2 * kFlashRunKeys * hdp + kFlashRunKeys * ld + ld) + qt_floats(); }
};

// Online-softmax state of a tile's rows, in one block of shape.state_floats() floats:
// running max m [ld], running sum l [ld], acc = Σ exp(score - m) v, [hdp][ld] (dims × rows),
// or for a narrow tile [kFlashNarrowRows][hdp] (rows × dims).
struct FlashState {
  float* m;
  float* l;
  float* acc;
  FlashState(const FlashShape& s, float* mem) : m(mem), l(mem + s.ld), acc(mem + 2 * s.ld) {}
};

// Rows are tokens × heads: row r is head r % heads of token r / heads, at
// q + (r / heads) * token_stride + (r % heads) * hd (likewise for the output).
// Writes qt[i * ld + r] = scale * q_r[i], padding lanes zero.
void flash_load_queries(const FlashShape& s, const float* q, int64_t heads, int64_t token_stride, float scale,
                        float* qt);
// Asks for n rows of `bytes` bytes, `stride` bytes apart, to be brought into cache (the next
// run's keys or values while this one is computed).
void flash_prefetch(const void* rows, int64_t stride, int64_t n, int64_t bytes);
// An empty state (m = -inf, l = 0, acc = 0).
void flash_reset(const FlashShape& s, FlashState st);
// The memory of the run after this one (its keys from k, its values from v, `bytes` each),
// asked into cache while this run is computed (k null: none). A narrow tile spreads the
// requests over its score loop: a burst of them would stall on the few line-fill buffers.
struct FlashNext {
  const void* k = nullptr;
  const void* v = nullptr;
  int64_t bytes = 0;
};

// Adds the run of n (1..64) keys at positions pos..pos+n-1 to st: keys dims-major (key j's
// element i at k[i * kFlashRunKeys + j], as an F16 KV block keeps them; elements past key n
// are read but ignored), key j's value row at v + j * stride (F16). limit (ld lanes, or null
// for none): row r only sees positions <= limit[r]; the others add nothing, bit for bit as if
// they were not in the run.
void flash_block(const FlashShape& s, const float* qt, const uint16_t* k, const uint16_t* v, int64_t stride, int64_t n,
                 int64_t pos, const int32_t* limit, FlashState st, float* scratch, const FlashNext& next = {});
// into = into ⊕ part (the online-softmax merge; an empty part leaves into unchanged).
void flash_merge(const FlashShape& s, FlashState into, FlashState part);
// out_r[i] = acc[i][r] / l[r] for the rows (0 for a row that saw no key).
void flash_output(const FlashShape& s, FlashState st, float* out, int64_t heads, int64_t token_stride);
// Scores for block selection: out[j * ld + r] = qt-row r · key j for n (<= 64) key rows, row j
// at keys[j], head_dim values, F16 or F32 (keys_f16).
void flash_scores(const FlashShape& s, const float* qt, const void* const* keys, bool keys_f16, int64_t n, float* out,
                  float* scratch);

// Scores for block selection against n_groups consecutive groups of 16 keys stored dims-major
// (group g's key j has element i at keys16[(g * head_dim + i) * 16 + j], F16 or F32):
// out[(g * rows + r) * 16 + j] = qt-row r · key j of group g, the same fma chain per score as
// flash_scores (so the same bits).
void flash_scores16(const FlashShape& s, const float* qt, const void* keys16, bool keys_f16, int64_t n_groups,
                    float* out);

// Fixed-level variants (tests compare the levels with a scalar reference).
void flash_block_at(KernelLevel level, const FlashShape& s, const float* qt, const uint16_t* k, const uint16_t* v,
                    int64_t stride, int64_t n, int64_t pos, const int32_t* limit, FlashState st, float* scratch,
                    const FlashNext& next = {});
void flash_merge_at(KernelLevel level, const FlashShape& s, FlashState into, FlashState part);
void flash_scores16_at(KernelLevel level, const FlashShape& s, const float* qt, const void* keys16, bool keys_f16,
                       int64_t n_groups, float* out);
void flash_scores_at(KernelLevel level, const FlashShape& s, const float* qt, const void* const* keys, bool keys_f16,
                     int64_t n, float* out, float* scratch);

}  // namespace ls
