#include "kernels/float_dot.h"
#include "kernels/fma_dispatch.h"

#include <cmath>

// Every add and multiply here is meant as written: `a * b + c` stays two roundings (fused
// multiply-adds are spelled std::fma), as in the llama.cpp loops these mirror.
#pragma GCC optimize("fp-contract=off")

namespace ls {

namespace {

constexpr int kLanes = 16;

// ggml_vec_dot_f32/f16's main loop: four 16-lane accumulators over 64-element steps, folded
// (0+2, 1+3, then 0+1) and tree-summed. Returns the sum; *done = elements consumed.
[[gnu::always_inline]] inline float steps64(const float* a, const float* b, int64_t n, int64_t* done) {
  float acc[4][kLanes] = {};
  const int64_t np = n & ~int64_t(63);
  for (int64_t i = 0; i < np; i += 64)
    for (int k = 0; k < 4; ++k)
      for (int l = 0; l < kLanes; ++l) acc[k][l] = std::fma(a[i + 16 * k + l], b[i + 16 * k + l], acc[k][l]);
  for (int l = 0; l < kLanes; ++l) {
    acc[0][l] += acc[2][l];
    acc[1][l] += acc[3][l];
  }
  for (int l = 0; l < kLanes; ++l) acc[0][l] += acc[1][l];
  *done = np;
  return sum16(acc[0]);
}

}  // namespace

LS_FMA_DISPATCH
void dot4_lanes16(const float* w, int64_t stride, const float* x, int64_t n, float* out) {
  float acc[4][kLanes] = {};
  for (int64_t i = 0; i < n; i += kLanes)
    for (int r = 0; r < 4; ++r)
      for (int l = 0; l < kLanes; ++l) acc[r][l] = std::fma(w[r * stride + i + l], x[i + l], acc[r][l]);
  for (int r = 0; r < 4; ++r) out[r] = sum16(acc[r]);
}

LS_FMA_DISPATCH
void dot4_lanes16_pairs(const float* w, int64_t stride, const float* x, int64_t n, float* out) {
  // BF16 x BF16 products are exact in float, so each step is one rounding, as in vdpbf16ps
  // (which also flushes denormals; activations and weights here are far from that range).
  float acc[4][kLanes] = {};
  for (int64_t i = 0; i < n; i += 2 * kLanes)
    for (int r = 0; r < 4; ++r) {
      const float* wr = w + r * stride + i;
      for (int l = 0; l < kLanes; ++l) {
        acc[r][l] = std::fma(wr[2 * l + 1], x[i + 2 * l + 1], acc[r][l]);
        acc[r][l] = std::fma(wr[2 * l], x[i + 2 * l], acc[r][l]);
      }
    }
  for (int r = 0; r < 4; ++r) out[r] = sum16(acc[r]);
}

LS_FMA_DISPATCH
float dot_vec_f32(const float* a, const float* b, int64_t n) {
  int64_t i;
  float sum = steps64(a, b, n, &i);
  // The tail as llama.cpp's compiled loop runs it: blocks of 16, then of 8, with the products
  // rounded before each add; the last few with fused multiply-adds.
  for (; n - i >= 16; i += 16)
    for (int l = 0; l < 16; ++l) sum += a[i + l] * b[i + l];
  if (n - i >= 8) {
    for (int l = 0; l < 8; ++l) sum += a[i + l] * b[i + l];
    i += 8;
  }
  for (; i < n; ++i) sum = std::fma(a[i], b[i], sum);
  return sum;
}

LS_FMA_DISPATCH
float dot_vec_f16(const float* a, const float* b, int64_t n) {
  int64_t i;
  double sum = steps64(a, b, n, &i);
  for (; i < n; ++i) sum += double(a[i] * b[i]);
  return float(sum);
}

LS_FMA_DISPATCH
float dot_vec_bf16(const float* a, const float* b, int64_t n) {
  double sum = 0;
  float c[2][kLanes] = {};
  int64_t i = 0;
  for (; i + 64 <= n; i += 64)
    for (int k = 0; k < 2; ++k)
      for (int l = 0; l < kLanes; ++l) {
        const int64_t j = i + 32 * k + 2 * l;
        c[k][l] = std::fma(a[j + 1], b[j + 1], c[k][l]);
        c[k][l] = std::fma(a[j], b[j], c[k][l]);
      }
  sum += sum16(c[0]);
  sum += sum16(c[1]);
  for (; i < n; ++i) sum += double(a[i] * b[i]);
  return float(sum);
}

LS_FMA_DISPATCH
void lanes_fma(float* acc, int lanes, const float* v, float p, int64_t j, int64_t width) {
  float* a = acc + j % lanes;
  for (int64_t i = 0; i < width; ++i) a[i * lanes] = std::fma(v[i], p, a[i * lanes]);
}

void lanes_sum(const float* acc, int lanes, int64_t width, float* out) {
  for (int64_t i = 0; i < width; ++i) {
    const float* a = acc + i * lanes;
    if (lanes == kLanes) {
      out[i] = sum16(a);
      continue;
    }
    float f[kLanes];
    for (int l = 0; l < kLanes; ++l) f[l] = (a[l] + a[l + 32]) + (a[l + 16] + a[l + 48]);
    out[i] = sum16(f);
  }
}

}  // namespace ls
