#include "kernels/ops.h"

#include <algorithm>
#include <cmath>

#include "kernels/expf_ggml.h"
#include "kernels/float_dot.h"
#include "kernels/fma_dispatch.h"

// Products and sums are rounded as written (no fused multiply-adds but the spelled-out ones):
// the rounding steps are chosen to match llama.cpp's.
#pragma GCC optimize("fp-contract=off")

namespace ls {

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

LS_FMA_DISPATCH
void softmax(float* x, int64_t n) {
  // ggml's order: it runs over the KV cache padded to a multiple of 16 (the padding masked to
  // exp(-inf) = 0), each block of 16 through its vector expf and summed as a tree into a double.
  float max = -INFINITY;
  for (int64_t i = 0; i < n; ++i) max = x[i] > max ? x[i] : max;
  double sum = 0;
  int64_t i0 = 0;
  for (; i0 + 16 <= n; i0 += 16) {
    float block[16];
    for (int l = 0; l < 16; ++l) block[l] = x[i0 + l] - max;
    expf_ggml16(block, x + i0);
    sum += sum16(x + i0);
  }
  if (i0 < n) {
    float block[16] = {};
    for (int64_t i = i0; i < n; ++i) block[i - i0] = x[i] = expf_ggml(x[i] - max);
    sum += sum16(block);
  }
  const float inv = float(1.0 / sum);
  for (int64_t i = 0; i < n; ++i) x[i] *= inv;
}

LS_FMA_DISPATCH
void swiglu(const float* gate, const float* up, float* out, int64_t n) {
  // ggml's order: full blocks of 16 through its vector expf, the rest through libm's.
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    float neg[16], e[16];
    for (int l = 0; l < 16; ++l) neg[l] = -gate[i + l];
    expf_ggml16(neg, e);
    for (int l = 0; l < 16; ++l) out[i + l] = gate[i + l] / (1.0f + e[l]) * up[i + l];
  }
  for (; i < n; ++i) out[i] = gate[i] / (1.0f + std::exp(-gate[i])) * up[i];
}

LS_FMA_DISPATCH
void exp_shifted(const float* x, float shift, float* out, int64_t n) {
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    float block[16];
    for (int l = 0; l < 16; ++l) block[l] = x[i + l] - shift;
    expf_ggml16(block, out + i);
  }
  for (; i < n; ++i) out[i] = expf_ggml(x[i] - shift);
}

LS_FMA_DISPATCH
void exp_sum16(const float* x, const float* shift, int64_t rows, float* out) {
  float sum[16] = {}, block[16], e[16];
  for (int64_t r = 0; r < rows; ++r) {
    for (int l = 0; l < 16; ++l) block[l] = x[r * 16 + l] - shift[r];
    expf_ggml16(block, e);
    for (int l = 0; l < 16; ++l) sum[l] += e[l];
  }
  std::copy(sum, sum + 16, out);
}

LS_FMA_DISPATCH
float log_sum_exp(float* x, int64_t n) {
  // The max and the sum in 16 lanes (vectorised, unlike one running value), then the lanes.
  float lanes[16];
  std::fill(lanes, lanes + 16, -INFINITY);
  int64_t i0 = 0;
  for (; i0 + 16 <= n; i0 += 16)
    for (int l = 0; l < 16; ++l) lanes[l] = x[i0 + l] > lanes[l] ? x[i0 + l] : lanes[l];
  float max = -INFINITY;
  for (int64_t i = i0; i < n; ++i) max = x[i] > max ? x[i] : max;
  for (int l = 0; l < 16; ++l) max = lanes[l] > max ? lanes[l] : max;
  exp_shifted(x, max, x, n);
  std::fill(lanes, lanes + 16, 0.f);
  for (i0 = 0; i0 + 16 <= n; i0 += 16)
    for (int l = 0; l < 16; ++l) lanes[l] += x[i0 + l];
  float sum = sum16(lanes);
  for (int64_t i = i0; i < n; ++i) sum += x[i];
  return max + std::log(sum);
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
    // llama.cpp's compiled loop fuses the first product of each line into the add (the second
    // product is rounded first); the same here keeps rotated q/k bit-identical to its.
    *a = std::fma(x0, cos_v[i], -(x1 * sin_v[i]));
    *b = std::fma(x0, sin_v[i], x1 * cos_v[i]);
  }
}

}  // namespace ls
