// AVX-512 VNNI kernel: two weight blocks per 512-bit register. vpdpbusd multiplies unsigned
// by signed bytes, so weights are shifted to unsigned (Q8_0: +128, Q4_0 nibbles are already
// q + 8) and offset * Σx, from one more vpdpbusd per token, is subtracted: exact integer sums.
#if defined(__x86_64__)
#include "kernels/x86_intrinsics.h"

#include "kernels/qgemm_x86.h"

#define LS_TARGET_AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512vnni,fma,f16c")))

namespace ls {
namespace {

LS_TARGET_AVX512 inline float half_at(const uint8_t* p) {
  uint16_t h;
  __builtin_memcpy(&h, p, 2);
  return _cvtsh_ss(h);
}

// [a x 8 | b x 8]: the per-lane scale of a register holding blocks (a, b).
LS_TARGET_AVX512 inline __m512 pair_scale(float a, float b) {
  return _mm512_insertf32x8(_mm512_set1_ps(a), _mm256_set1_ps(b), 1);
}

template <bool kQ8>
struct Tile512 {
  static constexpr int kBlockBytes = kQ8 ? 34 : 18;

  // Blocks b0, b1 of one weight row as unsigned bytes in element order.
  LS_TARGET_AVX512 static inline __m512i load_pair(const uint8_t* b0, const uint8_t* b1) {
    if constexpr (kQ8) {
      const __m256i lo = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b0 + 2));
      const __m256i hi = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b1 + 2));
      return _mm512_xor_si512(_mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1), _mm512_set1_epi8(char(0x80)));
    } else {
      const __m128i q0 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(b0 + 2));
      const __m128i q1 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(b1 + 2));
      __m512i v = _mm512_inserti32x4(_mm512_castsi128_si512(q0), q0, 1);
      v = _mm512_inserti32x4(_mm512_inserti32x4(v, q1, 2), q1, 3);
      // 128-bit lanes 1 and 3 take the high nibbles (elements 16..31 of each block).
      const long long s = 0x0004000400040004LL;
      v = _mm512_srlv_epi16(v, _mm512_set_epi64(s, s, 0, 0, s, s, 0, 0));
      return _mm512_and_si512(v, _mm512_set1_epi8(0x0f));
    }
  }

  template <int R, int T>
  LS_TARGET_AVX512 static void run(const QGemmTask& a, int64_t r0, int64_t t0) {
    const int64_t nb = a.cols / kQ8Block;
    const uint8_t* w[R];
    for (int r = 0; r < R; ++r) w[r] = a.w + size_t(r0 + r) * a.row_bytes;
    const int8_t* xq[T];
    const float* xd[T];
    for (int t = 0; t < T; ++t) {
      xq[t] = a.xq + (t0 + t) * a.cols;
      xd[t] = a.xd + (t0 + t) * nb;
    }
    const __m512i offset = _mm512_set1_epi8(kQ8 ? char(0x80) : 8);
    const __m512i zero = _mm512_setzero_si512();
    __m512 acc[R][T];
    for (int r = 0; r < R; ++r)
      for (int t = 0; t < T; ++t) acc[r][t] = _mm512_setzero_ps();
    int64_t b = 0;
    for (; b + 2 <= nb; b += 2) {
      __m512i wv[R];
      __m512 wd[R];
      for (int r = 0; r < R; ++r) {
        const uint8_t* p = w[r] + b * kBlockBytes;
        wv[r] = load_pair(p, p + kBlockBytes);
        wd[r] = pair_scale(half_at(p), half_at(p + kBlockBytes));
      }
      for (int t = 0; t < T; ++t) {
        const __m512i x = _mm512_loadu_si512(xq[t] + b * kQ8Block);
        const __m512i correction = _mm512_dpbusd_epi32(zero, offset, x);
        const __m512 xs = pair_scale(xd[t][b], xd[t][b + 1]);
        for (int r = 0; r < R; ++r) {
          const __m512i isum = _mm512_sub_epi32(_mm512_dpbusd_epi32(zero, wv[r], x), correction);
          acc[r][t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(isum), _mm512_mul_ps(wd[r], xs), acc[r][t]);
        }
      }
    }
    for (int r = 0; r < R; ++r) {
      for (int t = 0; t < T; ++t) {
        float sum = _mm512_reduce_add_ps(acc[r][t]);
        if (b < nb) {  // odd block count: the last block alone
          const uint8_t* blk = w[r] + b * kBlockBytes;
          const int8_t* x = xq[t] + b * kQ8Block;
          const int32_t isum = kQ8 ? q8_0_block_isum(blk, x) : q4_0_block_isum(blk, x);
          sum += float(isum) * (half_at(blk) * xd[t][b]);
        }
        a.y[(t0 + t) * a.y_stride + r0 + r] = sum;
      }
    }
  }
};

}  // namespace

LS_TARGET_AVX512 static inline __m512i quantize16(__m512 v, __m512 id) {
  const __m512i q = _mm512_cvtps_epi32(_mm512_mul_ps(v, id));
  return _mm512_min_epi32(_mm512_set1_epi32(127), _mm512_max_epi32(_mm512_set1_epi32(-127), q));
}

LS_TARGET_AVX512 void quantize_q8_0_avx512(const float* x, int64_t n_blocks, int8_t* qs, float* d, int32_t* sum) {
  // The same float operations as the scalar quantizer (vcvtps2dq rounds to nearest even, as
  // nearbyint does), so the blocks are bit-identical.
  const __m512 sign = _mm512_set1_ps(-0.f);
  for (int64_t b = 0; b < n_blocks; ++b, x += kQ8Block, qs += kQ8Block) {
    const __m512 lo = _mm512_loadu_ps(x), hi = _mm512_loadu_ps(x + 16);
    const float amax = _mm512_reduce_max_ps(_mm512_max_ps(_mm512_andnot_ps(sign, lo), _mm512_andnot_ps(sign, hi)));
    d[b] = round_to_fp16(amax / 127.f);
    const __m512 id = _mm512_set1_ps(amax != 0.f ? 127.f / amax : 0.f);
    const __m512i qlo = quantize16(lo, id), qhi = quantize16(hi, id);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(qs), _mm512_cvtepi32_epi8(qlo));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(qs + 16), _mm512_cvtepi32_epi8(qhi));
    sum[b] = _mm512_reduce_add_epi32(_mm512_add_epi32(qlo, qhi));
  }
}

void qgemm_avx512(const QGemmTask& task) {
  if (task.type == GgmlType::Q8_0)
    qgemm_detail::run_tiles<Tile512<true>, 4, 4>(task);
  else
    qgemm_detail::run_tiles<Tile512<false>, 4, 4>(task);
}

}  // namespace ls
#endif
