// Flash attention with AVX-512: 16 query rows per register, tiles of 2 row vectors × 8 keys.
#if defined(__x86_64__)
#include "kernels/x86_intrinsics.h"

#pragma GCC push_options
#pragma GCC target("avx512f,avx512bw,avx512vl,avx512dq,fma,f16c")

#include <cstdint>

namespace ls {
namespace {

struct Vec {
  using T = __m512;
  using L = __m512i;
  static constexpr int W = 16;
  static constexpr int kAcc = 16;  // accumulator registers per tile
  static constexpr int kMaxG = 2;  // row vectors per tile
  static T zero() { return _mm512_setzero_ps(); }
  static T set1(float x) { return _mm512_set1_ps(x); }
  static T load(const float* p) { return _mm512_loadu_ps(p); }
  static void store(float* p, T x) { _mm512_storeu_ps(p, x); }
  static T bcast(const float* p) { return _mm512_set1_ps(*p); }
  static T fma(T a, T b, T c) { return _mm512_fmadd_ps(a, b, c); }
  static T mul(T a, T b) { return _mm512_mul_ps(a, b); }
  static T add(T a, T b) { return _mm512_add_ps(a, b); }
  static T sub(T a, T b) { return _mm512_sub_ps(a, b); }
  static T max(T a, T b) { return _mm512_max_ps(a, b); }
  static L load_limit(const int32_t* p) { return _mm512_loadu_si512(p); }
  static T mask_after(T x, L limit, int32_t pos) {
    return _mm512_mask_mov_ps(x, _mm512_cmpgt_epi32_mask(_mm512_set1_epi32(pos), limit), set1(-__builtin_inff()));
  }
  static T finite_or_zero(T m) {
    return _mm512_mask_mov_ps(m, _mm512_cmp_ps_mask(m, set1(-__builtin_inff()), _CMP_EQ_OQ), zero());
  }
  // expf_ggml's polynomial (kernels/expf_ggml.h) with vscalefps; 0 below -87 (x <= 0 here).
  static T exp(T x) {
    const T shift = set1(0x1.8p23f);
    const T n = _mm512_sub_ps(_mm512_fmadd_ps(x, set1(0x1.715476p+0f), shift), shift);
    const T b = _mm512_fnmadd_ps(n, set1(0x1.7f7d1cp-20f), _mm512_fnmadd_ps(n, set1(0x1.62e4p-1f), x));
    const T u = _mm512_mul_ps(b, b);
    const T j = fma(fma(fma(set1(0x1.0e4020p-7f), b, set1(0x1.573e2ep-5f)), u, fma(set1(0x1.555e66p-3f), b, set1(0x1.fffdb6p-2f))),
                    u, fma(set1(0x1.ffffecp-1f), b, set1(1.0f)));
    return _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(x, set1(-87.f), _CMP_GE_OQ), _mm512_scalef_ps(j, n));
  }
  static void convert_f16(const uint16_t* src, int64_t n, float* dst) {
    int64_t i = 0;
    for (; i + 16 <= n; i += 16)
      _mm512_storeu_ps(dst + i, _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(src + i))));
    if (i < n) {
      const __mmask16 m = __mmask16((1u << (n - i)) - 1);
      _mm512_mask_storeu_ps(dst + i, m, _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, src + i)));
    }
  }
};

}  // namespace
}  // namespace ls

#include "kernels/flash_attention_simd.h"

namespace ls {
const FlashKernelSet& flash_kernels_avx512() { return kFlashKernels; }
}  // namespace ls

#pragma GCC pop_options
#endif
