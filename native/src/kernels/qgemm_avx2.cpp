// AVX2 kernel: one weight block per 256-bit register, products by the sign trick
// (|w| as unsigned times x with w's sign, via vpmaddubsw; |w| <= 128 and |x| <= 127 keep the
// 16-bit pair sums below saturation), so the block sums are exact.
#if defined(__x86_64__)
#include <immintrin.h>

#include "kernels/qgemm_x86.h"

#define LS_TARGET_AVX2 __attribute__((target("avx2,fma,f16c")))

namespace ls {
namespace {

LS_TARGET_AVX2 inline float half_at(const uint8_t* p) {
  uint16_t h;
  __builtin_memcpy(&h, p, 2);
  return _cvtsh_ss(h);
}

template <bool kQ8>
struct Tile256 {
  static constexpr int kBlockBytes = kQ8 ? 34 : 18;

  // One weight block as signed bytes in element order.
  LS_TARGET_AVX2 static inline __m256i load_block(const uint8_t* blk) {
    if constexpr (kQ8) {
      return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk + 2));
    } else {
      const __m128i q = _mm_loadu_si128(reinterpret_cast<const __m128i*>(blk + 2));
      const __m128i mask = _mm_set1_epi8(0x0f);
      const __m256i v = _mm256_set_m128i(_mm_and_si128(_mm_srli_epi16(q, 4), mask), _mm_and_si128(q, mask));
      return _mm256_sub_epi8(v, _mm256_set1_epi8(8));
    }
  }

  template <int R, int T>
  LS_TARGET_AVX2 static void run(const QGemmTask& a, int64_t r0, int64_t t0) {
    const int64_t nb = a.cols / kQ8Block;
    const uint8_t* w[R];
    for (int r = 0; r < R; ++r) w[r] = a.w + size_t(r0 + r) * a.row_bytes;
    const int8_t* xq[T];
    const float* xd[T];
    for (int t = 0; t < T; ++t) {
      xq[t] = a.xq + (t0 + t) * a.cols;
      xd[t] = a.xd + (t0 + t) * nb;
    }
    const __m256i ones = _mm256_set1_epi16(1);
    __m256 acc[R][T];
    for (int r = 0; r < R; ++r)
      for (int t = 0; t < T; ++t) acc[r][t] = _mm256_setzero_ps();
    for (int64_t b = 0; b < nb; ++b) {
      __m256i wv[R], wabs[R];
      float wd[R];
      for (int r = 0; r < R; ++r) {
        const uint8_t* p = w[r] + b * kBlockBytes;
        wv[r] = load_block(p);
        wabs[r] = _mm256_abs_epi8(wv[r]);
        wd[r] = half_at(p);
      }
      for (int t = 0; t < T; ++t) {
        const __m256i x = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xq[t] + b * kQ8Block));
        const float xs = xd[t][b];
        for (int r = 0; r < R; ++r) {
          const __m256i pairs = _mm256_maddubs_epi16(wabs[r], _mm256_sign_epi8(x, wv[r]));
          const __m256i isum = _mm256_madd_epi16(pairs, ones);
          acc[r][t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum), _mm256_set1_ps(wd[r] * xs), acc[r][t]);
        }
      }
    }
    for (int r = 0; r < R; ++r) {
      for (int t = 0; t < T; ++t) {
        const __m128 s4 = _mm_add_ps(_mm256_castps256_ps128(acc[r][t]), _mm256_extractf128_ps(acc[r][t], 1));
        const __m128 s2 = _mm_add_ps(s4, _mm_movehl_ps(s4, s4));
        a.y[(t0 + t) * a.y_stride + r0 + r] = _mm_cvtss_f32(_mm_add_ss(s2, _mm_movehdup_ps(s2)));
      }
    }
  }
};

}  // namespace

void qgemm_avx2(const QGemmTask& task) {
  if (task.type == GgmlType::Q8_0)
    qgemm_detail::run_tiles<Tile256<true>, 2, 4>(task);
  else
    qgemm_detail::run_tiles<Tile256<false>, 2, 4>(task);
}

}  // namespace ls
#endif
