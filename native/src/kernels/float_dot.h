// Float dot products summed in the orders llama.cpp's CPU backend uses (its AVX-512 build, the
// one the oracle loads on AVX-512 machines), so that our sums come out bit for bit the same.
// That matters because the F16/BF16 paths round activations before each matmul: a sum one
// float ulp away from ggml's can round to the neighbouring F16/BF16 value, and that step then
// shows in every later logit (see docs/engine.md, "Parity with llama.cpp").
#pragma once
#include <cstdint>

namespace ls {

// The sum of 16 floats as _mm512_reduce_add_ps pairs them: l + l+8, then + l+4, + l+2, + l+1.
// Inlined so that each SIMD clone of its callers gets its own copy.
[[gnu::always_inline]] inline float sum16(const float* a) {
  float h[8], q[4];
  for (int i = 0; i < 8; ++i) h[i] = a[i] + a[i + 8];
  for (int i = 0; i < 4; ++i) q[i] = h[i] + h[i + 4];
  return (q[0] + q[2]) + (q[1] + q[3]);
}

// The prefill order (llamafile's tinyBLAS): one 16-lane accumulator, lane l taking the
// products at i = l (mod 16) with fused multiply-adds, then the 16 lanes summed as a tree
// (l + l+8, then + l+4, + l+2, + l+1). n % 16 == 0. Four weight rows at a time against one x.
void dot4_lanes16(const float* w, int64_t stride, const float* x, int64_t n, float* out);
// The same for BF16 with vdpbf16ps: lane l takes the pairs (32k + 2l, 32k + 2l + 1), the odd
// element first. n % 32 == 0; w and x hold BF16 values widened to float.
void dot4_lanes16_pairs(const float* w, int64_t stride, const float* x, int64_t n, float* out);

// The single-row orders (ggml_vec_dot_*, used for one token or shapes tinyBLAS declines):
// F32: four 16-lane FMA accumulators over 64-element steps, folded (0+2, 1+3, 0+1) then tree-
// summed; the tail < 64 in blocks of 16 and 8 whose products are added one by one, the last
// < 8 elements by fused multiply-add.
float dot_vec_f32(const float* a, const float* b, int64_t n);
// F16 (values widened to float): the same 64-element steps; the tail is summed in double.
float dot_vec_f16(const float* a, const float* b, int64_t n);
// BF16 (values widened to float): two vdpbf16ps accumulators over 64-element steps, each
// tree-summed into a double; the tail is summed in double.
float dot_vec_bf16(const float* a, const float* b, int64_t n);

// The attention's weighted sum of value rows, out[i] = sum_j p_j v_j[i], in ggml's KQV order:
// key j goes to lane j % lanes of output i's accumulator, acc[i * lanes + j % lanes], with
// fused multiply-adds. lanes = 16 for a batch (tinyBLAS), 64 for one token (vec_dot_f32's
// four 16-lane accumulators; ggml's KV length is a multiple of 64, the padding weighs 0).
void lanes_fma(float* acc, int lanes, const float* v, float p, int64_t j, int64_t width);
// out[i] = the accumulator's lanes summed as the matching ggml kernel sums them.
void lanes_sum(const float* acc, int lanes, int64_t width, float* out);

}  // namespace ls
