// The AVX-512 VNNI kernel over packed 16-row groups (qgemm_packed.h): per block and group,
// each 64-byte load of weights feeds one vpdpbusd per token against 4 broadcast activation
// bytes, so a decode step streams the weights with a handful of instructions per cache line,
// and a prefill tile of 8 tokens reuses every load 8 times.
#if defined(__x86_64__)
#include "kernels/x86_intrinsics.h"

#include <algorithm>

#include "kernels/qgemm_packed.h"

#define LS_TARGET_AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512vnni,fma,f16c")))

namespace ls {
namespace {

constexpr int kTokenTile = 8;
// A task's groups lie one after another, so its weights are one stream of memory, read a block
// at a time (its 16 scales and its quants, which sit after all the group's scales). A cursor
// runs through that stream asking for each line once, as many lines per block as the block
// has bytes, this far plus a group's scales ahead of the block, so the quants are at least this
// far ahead too. (One core's hardware prefetchers alone leave a decode step well short of
// bandwidth; fixed per-block prefetches at an offset from the quants and the scales streamed
// 1024-wide Q4_0 matrices at 75% of a read sweep's rate, the cursor at ~100%: bench:kernels.)
constexpr int kPrefetchBytes = 4096;

// acc += dpbusd(w, the 4 bytes at x broadcast), the broadcast folded into the instruction as
// an embedded-broadcast memory operand (compilers do not fold it themselves): decode issues
// one instruction per 64 weight bytes and token instead of two.
LS_TARGET_AVX512 inline __m512i dpbusd_bcst(__m512i acc, __m512i w, const int8_t* x) {
  typedef int32_t unaligned_i32 __attribute__((may_alias, aligned(1)));
  __asm__("vpdpbusd %2%{1to16%}, %1, %0" : "+v"(acc) : "v"(w), "m"(*reinterpret_cast<const unaligned_i32*>(x)));
  return acc;
}

// One 16-row group against T tokens. Decode (T <= 2) splits each row sum over two integer
// accumulators so consecutive vpdpbusd do not wait on each other; for Q4_0 the second one
// takes the high nibbles masked in place (16 x their value, one instruction instead of a shift
// and a mask), divided back exactly by an arithmetic shift once per block.
// `ahead`: the task's prefetch cursor (see kPrefetchBytes).
template <bool kQ8, int T>
LS_TARGET_AVX512 void group_tile(const QGemmTask& a, const uint8_t* group, int64_t t0, __mmask16 store_mask,
                                 int64_t r0, const uint8_t*& ahead) {
  constexpr int kChains = T <= 2 ? 2 : 1;
  constexpr int kSteps = kQ8 ? 8 : 4;
  constexpr int kQuantBytes = kSteps * kPackRows * 4;
  constexpr int32_t kBias = kQ8 ? 128 : 8;
  const int64_t nb = a.cols / kQ8Block;
  const uint8_t* scales = group;
  const uint8_t* quants = group + nb * 2 * kPackRows;
  const int8_t* xq[T];
  const float* xd[T];
  const int32_t* xs[T];
  for (int t = 0; t < T; ++t) {
    xq[t] = a.xq + (t0 + t) * a.cols;
    xd[t] = a.xd + (t0 + t) * nb;
    xs[t] = a.xsum + (t0 + t) * nb;
  }
  const __m512i nibble = _mm512_set1_epi8(0x0f);
  const __m512i high_nibble = _mm512_set1_epi8(char(0xf0));
  __m512 acc[T];
  for (int t = 0; t < T; ++t) acc[t] = _mm512_setzero_ps();
  for (int64_t b = 0; b < nb; ++b) {
    const uint8_t* q = quants + b * kQuantBytes;
    __m512i isum[T][kChains];
    for (int t = 0; t < T; ++t) {
      isum[t][0] = _mm512_set1_epi32(-kBias * xs[t][b]);
      for (int c = 1; c < kChains; ++c) isum[t][c] = _mm512_setzero_si512();
    }
    const uint8_t* until = group + (b + 1) * (kQuantBytes + 2 * kPackRows) + nb * 2 * kPackRows + kPrefetchBytes;
    for (; ahead < until; ahead += 64) _mm_prefetch(reinterpret_cast<const char*>(ahead), _MM_HINT_T0);
    for (int k = 0; k < kSteps; ++k) {
      const __m512i raw = _mm512_loadu_si512(q + k * 64);
      if constexpr (kQ8) {
        for (int t = 0; t < T; ++t)
          isum[t][k % kChains] = dpbusd_bcst(isum[t][k % kChains], raw, xq[t] + b * kQ8Block + 4 * k);
      } else {
        const __m512i lo = _mm512_and_si512(raw, nibble);
        const __m512i hi = kChains == 2 ? _mm512_and_si512(raw, high_nibble)
                                        : _mm512_and_si512(_mm512_srli_epi16(raw, 4), nibble);
        for (int t = 0; t < T; ++t) {
          const int8_t* x = xq[t] + b * kQ8Block + 4 * k;
          isum[t][0] = dpbusd_bcst(isum[t][0], lo, x);
          isum[t][kChains - 1] = dpbusd_bcst(isum[t][kChains - 1], hi, x + 16);
        }
      }
    }
    const __m512 dw = _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(scales + b * 2 * kPackRows)));
    for (int t = 0; t < T; ++t) {
      __m512i s = isum[t][0];
      if constexpr (!kQ8 && kChains == 2) s = _mm512_add_epi32(s, _mm512_srai_epi32(isum[t][1], 4));
      else
        for (int c = 1; c < kChains; ++c) s = _mm512_add_epi32(s, isum[t][c]);
      acc[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(s), _mm512_mul_ps(dw, _mm512_set1_ps(xd[t][b])), acc[t]);
    }
  }
  for (int t = 0; t < T; ++t) _mm512_mask_storeu_ps(a.y + (t0 + t) * a.y_stride + r0, store_mask, acc[t]);
}

template <bool kQ8>
LS_TARGET_AVX512 void packed_task(const QGemmTask& a) {
  const int64_t groups = (a.n_rows + kPackRows - 1) / kPackRows;
  const auto row_mask = [&](int64_t r0) { return __mmask16((1u << std::min<int64_t>(kPackRows, a.n_rows - r0)) - 1); };
  const uint8_t* ahead = a.w + kPrefetchBytes;
  // The lines before the cursor's start, asked for at once: a task that follows another of the
  // same matrix finds them already asked for by that one's cursor, but the first task of a
  // matrix (and each gate/up switch of matmul_swiglu) would otherwise wait on each in turn.
  for (const uint8_t* p = a.w; p < ahead; p += 64) _mm_prefetch(reinterpret_cast<const char*>(p), _MM_HINT_T0);
  if (a.n_tokens == 1) {
    // Decode: a loop with no calls in it, so the kernel's constants stay in registers.
    for (int64_t g = 0; g < groups; ++g) group_tile<kQ8, 1>(a, a.w + size_t(g) * a.row_bytes, 0, row_mask(g * kPackRows), g * kPackRows, ahead);
    return;
  }
  for (int64_t g = 0; g < groups; ++g) {
    const uint8_t* group = a.w + size_t(g) * a.row_bytes;
    const int64_t r0 = g * kPackRows;
    const __mmask16 mask = row_mask(r0);
    int64_t t0 = 0;
    for (; t0 + kTokenTile <= a.n_tokens; t0 += kTokenTile) group_tile<kQ8, kTokenTile>(a, group, t0, mask, r0, ahead);
    switch (a.n_tokens - t0) {
      case 7: group_tile<kQ8, 7>(a, group, t0, mask, r0, ahead); break;
      case 6: group_tile<kQ8, 6>(a, group, t0, mask, r0, ahead); break;
      case 5: group_tile<kQ8, 5>(a, group, t0, mask, r0, ahead); break;
      case 4: group_tile<kQ8, 4>(a, group, t0, mask, r0, ahead); break;
      case 3: group_tile<kQ8, 3>(a, group, t0, mask, r0, ahead); break;
      case 2: group_tile<kQ8, 2>(a, group, t0, mask, r0, ahead); break;
      case 1: group_tile<kQ8, 1>(a, group, t0, mask, r0, ahead); break;
      default: break;
    }
  }
}

}  // namespace

void qgemm_packed_avx512(const QGemmTask& task) {
  if (task.type == GgmlType::Q8_0)
    packed_task<true>(task);
  else
    packed_task<false>(task);
}

}  // namespace ls
#endif
