#include "infllm.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <stdexcept>

#include "kernels/flash_attention.h"
#include "kernels/half.h"
#include "kernels/ops.h"
#include "kv_cache.h"

namespace ls {
namespace {

int64_t floor_div(int64_t a, int64_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }
int64_t ceil_div(int64_t a, int64_t b) { return -floor_div(-a, b); }

// Mean of the stored keys [first, first + count) of a layer, written as summary row r of `block`
// (kv_dim wide: head after head).
void store_mean(KvCache& kv, const KvSequence& seq, int layer, int64_t first, int64_t count, int64_t block, int r,
                std::vector<float>& acc) {
  const int64_t w = kv.kv_dim(), hd = kv.head_dim();
  acc.assign(size_t(w), 0.f);
  for (int64_t p = first; p < first + count; ++p)
    for (int h = 0; h < kv.n_heads(); ++h) {
      float* sum = acc.data() + h * hd;
      if (kv.type() == KvType::F16) {
        const uint16_t* half = kv.keys_f16(seq, p, layer, h) + p % KvCache::kBlockTokens;  // dims-major
        for (int64_t i = 0; i < hd; ++i) sum[i] += fp16_to_f32(half[i * KvCache::kBlockTokens]);
      } else {
        add_scaled(sum, static_cast<const float*>(kv.key(seq, p, layer, h)), 1.0f, hd);
      }
    }
  void* dst = kv.summary(seq, block, layer, r);
  for (int64_t i = 0; i < w; ++i) acc[size_t(i)] /= float(count);
  if (kv.type() == KvType::F16) {
    uint16_t* h = static_cast<uint16_t*>(dst);
    for (int64_t i = 0; i < w; ++i) h[i] = f32_to_fp16(acc[size_t(i)]);
  } else {
    std::copy(acc.begin(), acc.end(), static_cast<float*>(dst));
  }
}

}  // namespace

void SparseParams::validate() const {
  auto fail = [](const std::string& what) { throw std::invalid_argument("sparse attention: " + what); };
  if (block_size != 64) fail("block_size must be 64 (the KV cache's block size), got " + std::to_string(block_size));
  if (kernel_stride < 1 || (block_size % (4 * kernel_stride)) != 0)
    fail("kernel_stride must be 1, 2, 4, 8 or 16 (4 * kernel_stride must divide block_size), got " +
         std::to_string(kernel_stride));
  if (kernel_size < kernel_stride || kernel_size % kernel_stride != 0 || kernel_size > 65536)
    fail("kernel_size must be a multiple of kernel_stride up to 65536, got " + std::to_string(kernel_size));
  if (topk < 1 || topk > (1 << 20)) fail("topk must be in 1..1048576, got " + std::to_string(topk));
  if (init_blocks < 0 || init_blocks > topk) fail("init_blocks must be in 0..topk, got " + std::to_string(init_blocks));
  if (window_size < block_size || window_size % block_size != 0 || window_size > (int64_t(1) << 30))
    fail("window_size must be a positive multiple of block_size, got " + std::to_string(window_size));
  if (dense_len < 0 || dense_len > (int64_t(1) << 30)) fail("dense_len must be in 0..2^30, got " + std::to_string(dense_len));
}

std::string SparseParams::describe() const {
  return "topk " + std::to_string(topk) + ", kernel " + std::to_string(kernel_size) + "/" +
         std::to_string(kernel_stride) + ", init " + std::to_string(init_blocks) + ", window " +
         std::to_string(window_size) + ", dense below " + std::to_string(dense_len);
}

void update_compressed_keys(KvCache& kv, const KvSequence& seq, int layer, int64_t from, int64_t to,
                            const SparseParams& sp) {
  const int64_t bs = KvCache::kBlockTokens, s = sp.kernel_stride, k = sp.kernel_size;
  std::vector<float> acc;
  // Position p completes a fine key when p + 1 is a multiple of the stride, a coarse one of 4x it.
  for (int64_t p = ceil_div(from + 1, s) * s - 1; p < to; p += s) {
    const int64_t block = p / bs, in_block = p % bs + 1;
    if (p + 1 >= k) store_mean(kv, seq, layer, p + 1 - k, k, block, int(in_block / s - 1), acc);
    if ((p + 1) % (4 * s) == 0 && p + 1 >= 4 * k)
      store_mean(kv, seq, layer, p + 1 - 4 * k, 4 * k, block, int(sp.fine_per_block() + in_block / (4 * s) - 1), acc);
  }
}

int64_t BlockSelector::select(const KvCache& kv, const KvSequence& seq, int layer, int64_t kv_head, const float* q,
                              int64_t group, int64_t head_dim, int64_t pos, const SparseParams& sp, int32_t* out,
                              int64_t* window_first) {
  const int64_t bs = KvCache::kBlockTokens, s = sp.kernel_stride, k = sp.kernel_size;
  const int64_t own = pos / bs;
  const int64_t n_cand = std::max<int64_t>(0, own - sp.window_blocks() + 1);
  *window_first = n_cand;
  // Every block before the window is chosen: no scoring needed (this is also the case where
  // sparse attention equals dense).
  if (sp.topk >= n_cand) {
    for (int64_t b = 0; b < n_cand; ++b) out[b] = int32_t(b);
    return n_cand;
  }
  const int64_t init = std::min(sp.init_blocks, n_cand);
  const float scale = 1.0f / std::sqrt(float(head_dim));
  const float inf = std::numeric_limits<float>::infinity();
  block_scores_.assign(size_t(n_cand), -inf);
  for (int64_t b = 0; b < init; ++b) block_scores_[size_t(b)] = inf;

  // Scores of all the group's heads against compressed keys [0, n) of a kind, handed on 16 keys
  // at a time: take(j0, tile, lo, hi) gets tile[h * 16 + l] = q_h · key_(j0 + l) / √d for l in
  // [lo, hi) (the other lanes hold other keys or nothing). Key j is item item0 + j of its kind in
  // the sequence's copy (two groups of 16 a kernel call), or past the copy (the newest blocks)
  // its summary row at row_of(j) (64 keys a call).
  const FlashShape shape(group, head_dim);
  constexpr int64_t kGroupsPerCall = 2;
  qt_.resize(shape.qt_floats());
  scratch_.resize(shape.scratch_floats());
  tile_scores_.resize(size_t(kFlashRunKeys * shape.ld));
  tile16_.resize(size_t(kGroupsPerCall * 16 * group));
  flash_load_queries(shape, q, group, 0, scale, qt_.data());
  const size_t elem = kv.elem_bytes();
  const bool f16 = kv.type() == KvType::F16;
  const auto group_scores = [&](int64_t n, int64_t item0, int kind, auto&& row_of, auto&& take) {
    const int64_t copied_end = std::min(item0 + n, kv.summary_items(seq, layer, kind));
    // The copy is read once a token, cold: each call asks for the groups 4 calls ahead.
    const int64_t call_bytes = kGroupsPerCall * 16 * head_dim * int64_t(elem), ahead = 4;
    for (int64_t g = item0 / 16; g * 16 < copied_end; g += kGroupsPerCall) {
      const int64_t n_groups = std::min(kGroupsPerCall, (copied_end + 15) / 16 - g);
      const uint8_t* keys16 = static_cast<const uint8_t*>(kv.summary_group(seq, layer, int(kv_head), kind, g));
      if ((g + ahead * kGroupsPerCall) * 16 < copied_end) flash_prefetch(keys16 + ahead * call_bytes, 0, 1, call_bytes);
      flash_scores16(shape, qt_.data(), keys16, f16, n_groups, tile16_.data());
      for (int64_t x = 0; x < n_groups; ++x) {
        const int64_t first = (g + x) * 16;
        take(first - item0, tile16_.data() + x * group * 16, std::max(item0, first) - first,
             std::min(copied_end, first + 16) - first);
      }
    }
    const int64_t from = std::max<int64_t>(0, copied_end - item0);
    const void* rows[2][kFlashRunKeys];  // this call's rows and the next's, prefetched meanwhile
    const auto gather = [&](int64_t j0, const void** to) {
      for (int64_t j = 0, run = std::min(kFlashRunKeys, n - j0); j < run; ++j) {
        to[j] = row_of(j0 + j);
        flash_prefetch(to[j], 0, 1, head_dim * int64_t(elem));
      }
    };
    if (from < n) gather(from, rows[0]);
    for (int64_t j0 = from, cur = 0; j0 < n; j0 += kFlashRunKeys, cur ^= 1) {
      const int64_t run = std::min(kFlashRunKeys, n - j0);
      if (j0 + run < n) gather(j0 + run, rows[cur ^ 1]);
      flash_scores(shape, qt_.data(), rows[cur], f16, run, tile_scores_.data(), scratch_.data());
      for (int64_t j = 0; j < run; j += 16) {
        const int64_t lanes = std::min<int64_t>(16, run - j);
        for (int64_t l = 0; l < lanes; ++l)
          for (int64_t h = 0; h < group; ++h) tile16_[size_t(h * 16 + l)] = tile_scores_[size_t((j + l) * shape.ld + h)];
        take(j0 + j, tile16_.data(), 0, lanes);
      }
    }
  };

  // Visible fine kernels overlapping the scored blocks [init, n_cand).
  const int64_t j_lo = std::max<int64_t>(0, ceil_div(bs * init - k + 1, s));
  const int64_t j_hi = std::min(floor_div(bs * n_cand - 1, s), floor_div(pos + 1 - k, s));
  if (j_lo <= j_hi) {
    const int64_t n_j = j_hi - j_lo + 1;
    // Softmax normaliser of each head over the visible coarse kernels.
    lse_.assign(size_t(group), 0.f);
    const int64_t n_coarse = pos + 1 >= 4 * k ? floor_div(pos + 1 - 4 * k, 4 * s) + 1 : 0;
    if (n_coarse > 0) {
      coarse_.resize(size_t(group * n_coarse));
      group_scores(n_coarse, k / s - 1, 1, [&](int64_t j) {
        const int64_t last = j * 4 * s + 4 * k - 1;
        return kv.summary_row(seq, last / bs, layer, int(kv_head), int(sp.fine_per_block() + (last % bs + 1) / (4 * s) - 1));
      }, [&](int64_t j0, const float* tile, int64_t lo, int64_t hi) {
        for (int64_t h = 0; h < group; ++h)
          std::copy(tile + h * 16 + lo, tile + h * 16 + hi, coarse_.begin() + h * n_coarse + j0 + lo);
      });
      for (int64_t h = 0; h < group; ++h) lse_[size_t(h)] = log_sum_exp(coarse_.data() + h * n_coarse, n_coarse);
    }
    // Kernel scores Σ_h exp(q_h · K1[j] / √d − lse_h), [j - j_lo]; fine key j is stored in the
    // block holding its last token.
    kernel_scores_.resize(size_t(n_j));
    group_scores(n_j, j_lo + k / s - 1, 0, [&](int64_t i) {
      const int64_t last = (j_lo + i) * s + k - 1;
      return kv.summary_row(seq, last / bs, layer, int(kv_head), int((last % bs + 1) / s - 1));
    }, [&](int64_t j0, const float* tile, int64_t lo, int64_t hi) {
      float sums[16];
      exp_sum16(tile, lse_.data(), group, sums);
      std::copy(sums + lo, sums + hi, kernel_scores_.begin() + j0 + lo);
    });
    // Block score: max over the visible kernels overlapping it: kernels [b * per + first_off,
    // b * per + last_off] before clipping (a block spans per strides exactly).
    const int64_t per = bs / s, first_off = ceil_div(1 - k, s), last_off = (bs - 1) / s;
    for (int64_t b = init; b < n_cand; ++b) {
      const int64_t first = std::max(j_lo, b * per + first_off), last = std::min(j_hi, b * per + last_off);
      float m = -inf;
      for (int64_t j = first; j <= last; ++j) m = std::max(m, kernel_scores_[size_t(j - j_lo)]);
      block_scores_[size_t(b)] = std::isnan(m) ? -inf : m;
    }
  }

  // The topk highest (ties: lower block first), ascending: the topk-th highest score t, then in
  // block order every block above t and the first blocks at t until topk are taken.
  threshold_.assign(block_scores_.begin(), block_scores_.end());
  std::nth_element(threshold_.begin(), threshold_.begin() + (sp.topk - 1), threshold_.end(), std::greater<float>());
  const float t = threshold_[size_t(sp.topk - 1)];
  int64_t ties = sp.topk;
  for (int64_t b = 0; b < n_cand; ++b) ties -= block_scores_[size_t(b)] > t;
  int64_t n_out = 0;
  for (int64_t b = 0; b < std::min(n_cand, own); ++b) {
    const float score = block_scores_[size_t(b)];
    if (score > t || (score == t && ties-- > 0)) out[n_out++] = int32_t(b);
  }
  return n_out;
}

}  // namespace ls
