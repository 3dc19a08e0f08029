// Element-wise and row kernels of the forward pass, written as plain loops the compiler can
// vectorise; a later SIMD set can replace them behind the same signatures.
#pragma once
#include <cstdint>

namespace ls {

// y = x / sqrt(mean(x^2) + eps) * weight (weight may be null: plain normalisation).
void rms_norm(const float* x, const float* weight, float* y, int64_t n, float eps);
// In-place softmax over n values (ggml's vector expf and summation order).
void softmax(float* x, int64_t n);
// out[i] = silu(gate[i]) * up[i] over one token's row (ggml's expf for each full block of 16).
void swiglu(const float* gate, const float* up, float* out, int64_t n);
void add_scaled(float* acc, const float* x, float scale, int64_t n);  // acc += scale * x
// out[i] = exp(x[i] - shift) by ggml's vector expf (out may be x).
void exp_shifted(const float* x, float shift, float* out, int64_t n);
// out[l] = Σ_r exp(x[r * 16 + l] - shift[r]) for 16 lanes, the rows added in order (0 + the
// first + the second ...), each exp as exp_shifted's.
void exp_sum16(const float* x, const float* shift, int64_t rows, float* out);
// log Σ exp(x[i]) over n >= 1 values; x becomes exp(x[i] - max).
float log_sum_exp(float* x, int64_t n);

enum class RopeStyle { AdjacentPairs, NeoX };

// Rotation angles for one position: cos/sin of pos * base^(-2i/n_rot) / factor[i] * freq_scale,
// for i < n_rot/2, both multiplied by mscale. `factors` may be null.
struct RopeParams {
  int n_rot = 0;
  float freq_base = 10000.f;
  float freq_scale = 1.f;
  float mscale = 1.f;
  const float* factors = nullptr;
  RopeStyle style = RopeStyle::AdjacentPairs;
};
void rope_angles(const RopeParams& p, int64_t pos, float* cos_out, float* sin_out);
// Rotates the first n_rot dims of one head vector of head_dim values in place.
void rope_apply(const RopeParams& p, const float* cos_v, const float* sin_v, float* head);

}  // namespace ls
