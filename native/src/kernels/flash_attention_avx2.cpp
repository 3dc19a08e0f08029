// Flash attention with AVX2 + FMA + F16C: 8 query rows per register, 8 accumulators a tile.
#if defined(__x86_64__)
#include "kernels/x86_intrinsics.h"

#pragma GCC push_options
#pragma GCC target("avx2,fma,f16c")

#include <cstdint>

namespace ls {
namespace {

struct Vec {
  using T = __m256;
  using L = __m256i;
  static constexpr int W = 8;
  static constexpr int kAcc = 8;
  static constexpr int kMaxG = 4;
  static T zero() { return _mm256_setzero_ps(); }
  static T set1(float x) { return _mm256_set1_ps(x); }
  static T load(const float* p) { return _mm256_loadu_ps(p); }
  static void store(float* p, T x) { _mm256_storeu_ps(p, x); }
  static T bcast(const float* p) { return _mm256_broadcast_ss(p); }
  static T fma(T a, T b, T c) { return _mm256_fmadd_ps(a, b, c); }
  static T mul(T a, T b) { return _mm256_mul_ps(a, b); }
  static T add(T a, T b) { return _mm256_add_ps(a, b); }
  static T sub(T a, T b) { return _mm256_sub_ps(a, b); }
  static T max(T a, T b) { return _mm256_max_ps(a, b); }
  static L load_limit(const int32_t* p) { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)); }
  static T mask_after(T x, L limit, int32_t pos) {
    const __m256i after = _mm256_cmpgt_epi32(_mm256_set1_epi32(pos), limit);
    return _mm256_blendv_ps(x, set1(-__builtin_inff()), _mm256_castsi256_ps(after));
  }
  static T finite_or_zero(T m) {
    return _mm256_blendv_ps(m, zero(), _mm256_cmp_ps(m, set1(-__builtin_inff()), _CMP_EQ_OQ));
  }
  // expf_ggml's polynomial (kernels/expf_ggml.h), 2^n through the exponent bits; 0 below -87.
  static T exp(T x) {
    const T shift = set1(0x1.8p23f);
    const T n = _mm256_sub_ps(_mm256_fmadd_ps(x, set1(0x1.715476p+0f), shift), shift);
    const T b = _mm256_fnmadd_ps(n, set1(0x1.7f7d1cp-20f), _mm256_fnmadd_ps(n, set1(0x1.62e4p-1f), x));
    const T u = _mm256_mul_ps(b, b);
    const T j = fma(fma(fma(set1(0x1.0e4020p-7f), b, set1(0x1.573e2ep-5f)), u, fma(set1(0x1.555e66p-3f), b, set1(0x1.fffdb6p-2f))),
                    u, fma(set1(0x1.ffffecp-1f), b, set1(1.0f)));
    const __m256i bits = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
    return _mm256_and_ps(_mm256_cmp_ps(x, set1(-87.f), _CMP_GE_OQ), _mm256_mul_ps(j, _mm256_castsi256_ps(bits)));
  }
  static void convert_f16(const uint16_t* src, int64_t n, float* dst) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
      _mm256_storeu_ps(dst + i, _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(src + i))));
    for (; i < n; ++i) dst[i] = _cvtsh_ss(src[i]);
  }
  static T load_f16(const uint16_t* p) { return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))); }
};

}  // namespace
}  // namespace ls

#include "kernels/flash_attention_simd.h"

namespace ls {
const FlashKernelSet& flash_kernels_avx2() { return kFlashKernels; }
}  // namespace ls

#pragma GCC pop_options
#endif
