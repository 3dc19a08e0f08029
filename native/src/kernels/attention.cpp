#include "kernels/attention.h"

#include <algorithm>

#include "kernels/half.h"
#if defined(__x86_64__)
#include "kernels/x86_intrinsics.h"
#endif

namespace ls {
namespace {

float dot_scalar(const uint16_t* k, const float* q, int64_t n) {
  float sum = 0;
  for (int64_t i = 0; i < n; ++i) sum += fp16_to_f32(k[i]) * q[i];
  return sum;
}

void axpy_scalar(float a, const uint16_t* v, float* acc, int64_t n) {
  for (int64_t i = 0; i < n; ++i) acc[i] += a * fp16_to_f32(v[i]);
}

void scores_scalar(const uint16_t* k, int64_t stride, int64_t rows, const float* q, int64_t n, float scale, float* out) {
  for (int64_t j = 0; j < rows; ++j) out[j] = dot_scalar(k + j * stride, q, n) * scale;
}

void weighted_scalar(const uint16_t* v, int64_t stride, int64_t rows, const float* w, int64_t n, float* out) {
  for (int64_t j = 0; j < rows; ++j) axpy_scalar(w[j], v + j * stride, out, n);
}

#if defined(__x86_64__)
#define LS_TARGET_AVX2 __attribute__((target("avx2,fma,f16c")))
#define LS_TARGET_AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,fma,f16c")))

LS_TARGET_AVX2 float dot_avx2(const uint16_t* k, const float* q, int64_t n) {
  __m256 acc = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    acc = _mm256_fmadd_ps(_mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(k + i))),
                          _mm256_loadu_ps(q + i), acc);
  const __m128 s4 = _mm_add_ps(_mm256_castps256_ps128(acc), _mm256_extractf128_ps(acc, 1));
  const __m128 s2 = _mm_add_ps(s4, _mm_movehl_ps(s4, s4));
  float sum = _mm_cvtss_f32(_mm_add_ss(s2, _mm_movehdup_ps(s2)));
  for (; i < n; ++i) sum += _cvtsh_ss(k[i]) * q[i];
  return sum;
}

LS_TARGET_AVX2 void axpy_avx2(float a, const uint16_t* v, float* acc, int64_t n) {
  const __m256 av = _mm256_set1_ps(a);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 x = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(v + i)));
    _mm256_storeu_ps(acc + i, _mm256_fmadd_ps(av, x, _mm256_loadu_ps(acc + i)));
  }
  for (; i < n; ++i) acc[i] += a * _cvtsh_ss(v[i]);
}

LS_TARGET_AVX512 float dot_avx512(const uint16_t* k, const float* q, int64_t n) {
  __m512 acc = _mm512_setzero_ps();
  int64_t i = 0;
  for (; i + 16 <= n; i += 16)
    acc = _mm512_fmadd_ps(_mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(k + i))),
                          _mm512_loadu_ps(q + i), acc);
  if (i < n) {  // masked tail: head dims need not be multiples of 16
    const __mmask16 m = __mmask16((1u << (n - i)) - 1);
    acc = _mm512_fmadd_ps(_mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, k + i)), _mm512_maskz_loadu_ps(m, q + i), acc);
  }
  return _mm512_reduce_add_ps(acc);
}

LS_TARGET_AVX512 void axpy_avx512(float a, const uint16_t* v, float* acc, int64_t n) {
  const __m512 av = _mm512_set1_ps(a);
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m512 x = _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(v + i)));
    _mm512_storeu_ps(acc + i, _mm512_fmadd_ps(av, x, _mm512_loadu_ps(acc + i)));
  }
  if (i < n) {
    const __mmask16 m = __mmask16((1u << (n - i)) - 1);
    const __m512 x = _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, v + i));
    _mm512_mask_storeu_ps(acc + i, m, _mm512_fmadd_ps(av, x, _mm512_maskz_loadu_ps(m, acc + i)));
  }
}
LS_TARGET_AVX2 void scores_avx2(const uint16_t* k, int64_t stride, int64_t rows, const float* q, int64_t n, float scale,
                                float* out) {
  for (int64_t j = 0; j < rows; ++j) out[j] = dot_avx2(k + j * stride, q, n) * scale;
}

LS_TARGET_AVX2 void weighted_avx2(const uint16_t* v, int64_t stride, int64_t rows, const float* w, int64_t n, float* out) {
  for (int64_t j = 0; j < rows; ++j) axpy_avx2(w[j], v + j * stride, out, n);
}

// The four lane sums of a0..a3, in one reduction tree shared by every row.
LS_TARGET_AVX512 __m128 sum4_avx512(__m512 a0, __m512 a1, __m512 a2, __m512 a3) {
  const __m512 x01 = _mm512_add_ps(_mm512_unpacklo_ps(a0, a1), _mm512_unpackhi_ps(a0, a1));
  const __m512 x23 = _mm512_add_ps(_mm512_unpacklo_ps(a2, a3), _mm512_unpackhi_ps(a2, a3));
  const __m512 y = _mm512_add_ps(_mm512_shuffle_ps(x01, x23, _MM_SHUFFLE(1, 0, 1, 0)),
                                 _mm512_shuffle_ps(x01, x23, _MM_SHUFFLE(3, 2, 3, 2)));
  const __m256 h = _mm256_add_ps(_mm512_castps512_ps256(y), _mm512_extractf32x8_ps(y, 1));
  return _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
}

// Four rows at a time share the query loads and one reduction; a last partial group runs the
// same code with its missing rows repeated, so every row's sum is taken in the same order.
LS_TARGET_AVX512 void scores_avx512(const uint16_t* k, int64_t stride, int64_t rows, const float* q, int64_t n,
                                    float scale, float* out) {
  for (int64_t j = 0; j < rows; j += 4) {
    const uint16_t* r[4];
    for (int64_t i = 0; i < 4; ++i) r[i] = k + std::min(j + i, rows - 1) * stride;
    __m512 a0 = _mm512_setzero_ps(), a1 = _mm512_setzero_ps(), a2 = _mm512_setzero_ps(), a3 = _mm512_setzero_ps();
    for (int64_t i = 0; i < n; i += 16) {
      const __mmask16 m = n - i >= 16 ? __mmask16(0xffff) : __mmask16((1u << (n - i)) - 1);
      const __m512 qv = _mm512_maskz_loadu_ps(m, q + i);
      a0 = _mm512_fmadd_ps(_mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, r[0] + i)), qv, a0);
      a1 = _mm512_fmadd_ps(_mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, r[1] + i)), qv, a1);
      a2 = _mm512_fmadd_ps(_mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, r[2] + i)), qv, a2);
      a3 = _mm512_fmadd_ps(_mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, r[3] + i)), qv, a3);
    }
    alignas(16) float sums[4];
    _mm_store_ps(sums, _mm_mul_ps(sum4_avx512(a0, a1, a2, a3), _mm_set1_ps(scale)));
    for (int64_t i = 0; i < 4 && j + i < rows; ++i) out[j + i] = sums[i];
  }
}

// Each 16-value slice of out stays in a register while every row's slice is added to it.
LS_TARGET_AVX512 void weighted_avx512(const uint16_t* v, int64_t stride, int64_t rows, const float* w, int64_t n,
                                      float* out) {
  for (int64_t i = 0; i < n; i += 16) {
    const __mmask16 m = n - i >= 16 ? __mmask16(0xffff) : __mmask16((1u << (n - i)) - 1);
    __m512 acc = _mm512_maskz_loadu_ps(m, out + i);
    for (int64_t j = 0; j < rows; ++j)
      acc = _mm512_fmadd_ps(_mm512_set1_ps(w[j]), _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, v + j * stride + i)), acc);
    _mm512_mask_storeu_ps(out + i, m, acc);
  }
}
#endif

using DotFn = float (*)(const uint16_t*, const float*, int64_t);
using AxpyFn = void (*)(float, const uint16_t*, float*, int64_t);

DotFn dot_for(KernelLevel level) {
#if defined(__x86_64__)
  if (int(level) > int(cpu_kernel_level())) level = cpu_kernel_level();
  if (level == KernelLevel::Avx512) return dot_avx512;
  if (level == KernelLevel::Avx2) return dot_avx2;
#endif
  return dot_scalar;
}

AxpyFn axpy_for(KernelLevel level) {
#if defined(__x86_64__)
  if (int(level) > int(cpu_kernel_level())) level = cpu_kernel_level();
  if (level == KernelLevel::Avx512) return axpy_avx512;
  if (level == KernelLevel::Avx2) return axpy_avx2;
#endif
  return axpy_scalar;
}

using ScoresFn = void (*)(const uint16_t*, int64_t, int64_t, const float*, int64_t, float, float*);
using WeightedFn = void (*)(const uint16_t*, int64_t, int64_t, const float*, int64_t, float*);

ScoresFn scores_for(KernelLevel level) {
#if defined(__x86_64__)
  if (int(level) > int(cpu_kernel_level())) level = cpu_kernel_level();
  if (level == KernelLevel::Avx512) return scores_avx512;
  if (level == KernelLevel::Avx2) return scores_avx2;
#endif
  return scores_scalar;
}

WeightedFn weighted_for(KernelLevel level) {
#if defined(__x86_64__)
  if (int(level) > int(cpu_kernel_level())) level = cpu_kernel_level();
  if (level == KernelLevel::Avx512) return weighted_avx512;
  if (level == KernelLevel::Avx2) return weighted_avx2;
#endif
  return weighted_scalar;
}

// Resolved once at load: attention calls these per key and head, millions of times a token.
const DotFn active_dot = dot_for(active_kernel_level());
const AxpyFn active_axpy = axpy_for(active_kernel_level());
const ScoresFn active_scores = scores_for(active_kernel_level());
const WeightedFn active_weighted = weighted_for(active_kernel_level());

}  // namespace

float dot_f16_f32_at(KernelLevel level, const uint16_t* k, const float* q, int64_t n) { return dot_for(level)(k, q, n); }
void axpy_f16_at(KernelLevel level, float a, const uint16_t* v, float* acc, int64_t n) { axpy_for(level)(a, v, acc, n); }

void f16_key_scores_at(KernelLevel level, const uint16_t* k, int64_t stride, int64_t n_rows, const float* q, int64_t n,
                       float scale, float* scores) {
  scores_for(level)(k, stride, n_rows, q, n, scale, scores);
}

void f16_weighted_rows_at(KernelLevel level, const uint16_t* v, int64_t stride, int64_t n_rows, const float* w, int64_t n,
                          float* out) {
  weighted_for(level)(v, stride, n_rows, w, n, out);
}

float dot_f16_f32(const uint16_t* k, const float* q, int64_t n) { return active_dot(k, q, n); }
void axpy_f16(float a, const uint16_t* v, float* acc, int64_t n) { active_axpy(a, v, acc, n); }

void f16_key_scores(const uint16_t* k, int64_t stride, int64_t n_rows, const float* q, int64_t n, float scale,
                    float* scores) {
  active_scores(k, stride, n_rows, q, n, scale, scores);
}

void f16_weighted_rows(const uint16_t* v, int64_t stride, int64_t n_rows, const float* w, int64_t n, float* out) {
  active_weighted(v, stride, n_rows, w, n, out);
}

}  // namespace ls
