// Q4_K / Q6_K x Q8_K with AVX-512 VNNI on 256-bit registers: vpdpbusd sums four u8*s8 products
// per int32 lane, then the lanes are multiplied by their sub-block scale.
#if defined(__x86_64__)
#include "kernels/x86_intrinsics.h"

#include <algorithm>

#include "kernels/qgemm.h"

#pragma GCC push_options
#pragma GCC target("avx512f,avx512bw,avx512vl,avx512dq,avx512vnni,fma,f16c")

namespace ls {
namespace {

using Scales = __m256i;  // int32 lanes: lo for lanes 0..3 (bytes 0..15), hi for 4..7

inline Scales make_scales(int lo, int hi) { return _mm256_set_m128i(_mm_set1_epi32(hi), _mm_set1_epi32(lo)); }

inline __m256i scaled_dot32(__m256i u, __m256i x, Scales s) {
  return _mm256_mullo_epi32(_mm256_dpbusd_epi32(_mm256_setzero_si256(), u, x), s);
}

}  // namespace
}  // namespace ls

#include "kernels/qgemm_k_simd.h"

namespace ls {
void qgemm_k_avx512(const QGemmTask& task) { k_dispatch(task); }
}  // namespace ls

#pragma GCC pop_options
#endif
