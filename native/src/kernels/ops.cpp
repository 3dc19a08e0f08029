#include "kernels/ops.h"

#include <cmath>

namespace ls {

// Compiled for AVX-512, AVX2 and baseline x86-64, picked at load time by the CPU's features
// (one build runs on any x86-64); other architectures get the plain loop.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define LS_CPU_DISPATCH __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define LS_CPU_DISPATCH
#endif

LS_CPU_DISPATCH
float dot_f32(const float* a, const float* b, int64_t n) {
  // Sixteen independent partial sums so the loop vectorises without reassociation flags.
  float acc[16] = {};
  int64_t i = 0;
  for (; i + 16 <= n; i += 16)
    for (int j = 0; j < 16; ++j) acc[j] += a[i + j] * b[i + j];
  for (int j = 0; j < 8; ++j) acc[j] += acc[j + 8];
  float sum = ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
  for (; i < n; ++i) sum += a[i] * b[i];
  return sum;
}

LS_CPU_DISPATCH
void dot4_f32(const float* w, int64_t stride, const float* x, int64_t n, float* out) {
  const float* w0 = w;
  const float* w1 = w + stride;
  const float* w2 = w + 2 * stride;
  const float* w3 = w + 3 * stride;
  float a0[16] = {}, a1[16] = {}, a2[16] = {}, a3[16] = {};
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    for (int j = 0; j < 16; ++j) {
      const float xv = x[i + j];
      a0[j] += w0[i + j] * xv;
      a1[j] += w1[i + j] * xv;
      a2[j] += w2[i + j] * xv;
      a3[j] += w3[i + j] * xv;
    }
  }
  float* acc[4] = {a0, a1, a2, a3};
  const float* rows[4] = {w0, w1, w2, w3};
  for (int r = 0; r < 4; ++r) {
    float* a = acc[r];
    for (int j = 0; j < 8; ++j) a[j] += a[j + 8];
    float sum = ((a[0] + a[1]) + (a[2] + a[3])) + ((a[4] + a[5]) + (a[6] + a[7]));
    for (int64_t k = i; k < n; ++k) sum += rows[r][k] * x[k];
    out[r] = sum;
  }
}

void rms_norm(const float* x, const float* weight, float* y, int64_t n, float eps) {
  // Squares in float, summed in double: ggml's order, so both engines get the same scale.
  double sum = 0;
  for (int64_t i = 0; i < n; ++i) sum += double(x[i] * x[i]);
  const float scale = 1.0f / std::sqrt(float(sum / double(n)) + eps);
  if (weight) {
    for (int64_t i = 0; i < n; ++i) y[i] = x[i] * scale * weight[i];
  } else {
    for (int64_t i = 0; i < n; ++i) y[i] = x[i] * scale;
  }
}

void softmax(float* x, int64_t n) {
  float max = -INFINITY;
  for (int64_t i = 0; i < n; ++i) max = x[i] > max ? x[i] : max;
  double sum = 0;
  for (int64_t i = 0; i < n; ++i) {
    x[i] = std::exp(x[i] - max);
    sum += x[i];
  }
  const float inv = float(1.0 / sum);
  for (int64_t i = 0; i < n; ++i) x[i] *= inv;
}

void swiglu(const float* gate, const float* up, float* out, int64_t n) {
  for (int64_t i = 0; i < n; ++i) out[i] = gate[i] / (1.0f + std::exp(-gate[i])) * up[i];
}

void add_scaled(float* acc, const float* x, float scale, int64_t n) {
  if (scale == 1.0f) {
    for (int64_t i = 0; i < n; ++i) acc[i] += x[i];
  } else {
    for (int64_t i = 0; i < n; ++i) acc[i] += x[i] * scale;
  }
}

void rope_angles(const RopeParams& p, int64_t pos, float* cos_out, float* sin_out) {
  // The angle is advanced by a running product, the way ggml computes it, so both engines
  // round the same way at long positions.
  const float step = std::pow(p.freq_base, -2.0f / float(p.n_rot));
  float theta = float(pos);
  for (int i = 0; i < p.n_rot / 2; ++i) {
    const float factor = p.factors ? p.factors[i] : 1.0f;
    const float angle = p.freq_scale * (theta / factor);
    cos_out[i] = std::cos(angle) * p.mscale;
    sin_out[i] = std::sin(angle) * p.mscale;
    theta *= step;
  }
}

void rope_apply(const RopeParams& p, const float* cos_v, const float* sin_v, float* head) {
  const int half = p.n_rot / 2;
  for (int i = 0; i < half; ++i) {
    // Adjacent pairs (2i, 2i+1) for llama-style weights; NeoX pairs (i, i + n_rot/2).
    float* a = p.style == RopeStyle::AdjacentPairs ? head + 2 * i : head + i;
    float* b = p.style == RopeStyle::AdjacentPairs ? head + 2 * i + 1 : head + i + half;
    const float x0 = *a, x1 = *b;
    *a = x0 * cos_v[i] - x1 * sin_v[i];
    *b = x0 * sin_v[i] + x1 * cos_v[i];
  }
}

}  // namespace ls
