// Row kernels of attention over an F16 KV cache, SIMD by the active KernelLevel.
#pragma once
#include <cstdint>

#include "kernels/cpu_features.h"

namespace ls {

// Σ f16(k[i]) * q[i]
float dot_f16_f32(const uint16_t* k, const float* q, int64_t n);
// acc[i] += a * f16(v[i])
void axpy_f16(float a, const uint16_t* v, float* acc, int64_t n);

// A run of cache rows `stride` elements apart (one KV block's consecutive positions):
// scores[j] = scale * Σ_i f16(k[j * stride + i]) q[i], for j < n_rows.
void f16_key_scores(const uint16_t* k, int64_t stride, int64_t n_rows, const float* q, int64_t n, float scale,
                    float* scores);
// out[i] += Σ_j w[j] f16(v[j * stride + i]), for j < n_rows.
void f16_weighted_rows(const uint16_t* v, int64_t stride, int64_t n_rows, const float* w, int64_t n, float* out);

// Fixed-level variants (tests compare them with the scalar ones).
float dot_f16_f32_at(KernelLevel level, const uint16_t* k, const float* q, int64_t n);
void axpy_f16_at(KernelLevel level, float a, const uint16_t* v, float* acc, int64_t n);
void f16_key_scores_at(KernelLevel level, const uint16_t* k, int64_t stride, int64_t n_rows, const float* q, int64_t n,
                       float scale, float* scores);
void f16_weighted_rows_at(KernelLevel level, const uint16_t* v, int64_t stride, int64_t n_rows, const float* w, int64_t n,
                          float* out);

}  // namespace ls
