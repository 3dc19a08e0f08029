// Q4_K / Q6_K x Q8_K with AVX2: vpmaddubsw (u8 weights <= 63 times s8 activations, pair sums
// far below saturation) then vpmaddwd by the 16-bit sub-block scales, so scaling is free.
#if defined(__x86_64__)
#include <immintrin.h>

#include <algorithm>

#include "kernels/qgemm.h"

#pragma GCC push_options
#pragma GCC target("avx2,fma,f16c")

namespace ls {
namespace {

using Scales = __m256i;  // int16 lanes: lo for bytes 0..15, hi for 16..31

inline Scales make_scales(int lo, int hi) {
  return _mm256_set_m128i(_mm_set1_epi16(int16_t(hi)), _mm_set1_epi16(int16_t(lo)));
}

inline __m256i scaled_dot32(__m256i u, __m256i x, Scales s) {
  return _mm256_madd_epi16(_mm256_maddubs_epi16(u, x), s);
}

}  // namespace
}  // namespace ls

#include "kernels/qgemm_k_simd.h"

namespace ls {
void qgemm_k_avx2(const QGemmTask& task) { k_dispatch(task); }
}  // namespace ls

#pragma GCC pop_options
#endif
