// How llama.cpp's x86 CPU backend (the AVX2 / AVX-512 builds node-llama-cpp ships) turns the
// exact integer sums of a Q4_K / Q6_K super-block into floats, so our logits are its logits.
// Every kernel level computes the same integers and then runs these float steps, in this order.
//
// Two summation orders, chosen per weight:
//  - "vec_dot" (ggml_vec_dot_q6_K_q8_K, ggml_vec_dot_q4_K_q8_K): Q6_K always, and Q4_K weights
//    whose row count is not a multiple of 8. Per (row, token), 8 float lanes; lane i holds the
//    integer Σ over the super-block of sc * (bytes 4i..4i+3 of each 32-value run) and gets one
//    fused multiply-add by d_x * d_w per super-block; the lanes are summed (i, i+4), then
//    (0+2, 1+3), then the two. Q6_K's -32 offset is subtracted from lane m as 32 Σ sc * Σx over
//    the two 16-value groups of run m. Q4_K's mins: 4 lanes, lane p the integer
//    Σ min * Σx over runs 2p and 2p+1, scaled by -(d_x * dmin_w) with a fused multiply-add,
//    summed (0+2) + (1+3), and added to the lanes' sum.
//  - "interleaved" (repack.cpp, q4_K_8x8): llama.cpp stores Q4_K weights with a multiple of 8
//    rows 8 rows interleaved and keeps one float chain for the scales and one for the mins per
//    (row, token). Tokens in full groups of 4 (its GEMM) take one fused multiply-add per pair of
//    32-value runs, d_w * d_x times Σ sc * Σ q x over the pair (and dmin_w * d_x times
//    Σ min * Σx); the last n_tokens % 4 tokens of a call (its GEMV) take one per super-block.
//    The result is the scale chain minus the min chain.
#pragma once
#include <cmath>
#include <cstdint>

namespace ls {
// Each translation unit keeps its own copy, compiled for its own target (the SIMD ones inline
// the fused multiply-adds).
namespace {

// Whether ggml sums this Q4_K weight in the interleaved order (it repacks only when the row
// count is a multiple of 8).
inline bool q4_k_interleaved(int64_t weight_rows) { return weight_rows % 8 == 0; }

// The two float chains of one (row, token) in the interleaved order.
struct Q4KChains {
  float scaled = 0, mins = 0;

  // One super-block of a token in a group of 4: pair[p] = Σ sc * Σ q x and min_pair[p] =
  // Σ min * Σx over runs 2p and 2p+1, as floats.
  void add_pairs(const float* pair, const float* min_pair, float d_w, float dmin_w, float d_x) {
    const float dd = d_w * d_x, dm = dmin_w * d_x;
    for (int p = 0; p < 4; ++p) {
      scaled = std::fma(pair[p], dd, scaled);
      mins = std::fma(min_pair[p], dm, mins);
    }
  }
  // One super-block of a token past the groups of 4: the same sums over the whole block.
  void add_block(float sum, float min_sum, float d_w, float dmin_w, float d_x) {
    scaled = std::fma(sum, d_w * d_x, scaled);
    mins = std::fma(min_sum, dmin_w * d_x, mins);
  }
  float result() const { return scaled - mins; }
};

}  // namespace
}  // namespace ls
