// Integer matmul of quantized weights against 8-bit activations, the way ggml computes it:
// Q8_0 / Q4_0 weights against Q8_0 activation blocks (per 32 values, d_w * d_x * exact integer
// Σ q_w q_x), Q4_K / Q6_K weights against Q8_K blocks (per 256 values, the sub-block scales and
// mins applied to exact integer sums). One implementation per KernelLevel; all give identical
// integer sums.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

#include "gguf.h"
#include "kernels/cpu_features.h"
#include "kernels/dequant.h"
#include "kernels/half.h"

namespace ls {

constexpr int kQ8Block = 32;
constexpr int kQKBlock = 256;

// n_tokens rows of `cols` values (cols a multiple of 32), 32-value blocks: int8 values and
// one scale per block (an f16-rounded float, as ggml stores it), plus each block's Σ q (what
// the packed kernel's biased weights multiply).
struct Q8Activations {
  std::vector<int8_t> qs;     // n_tokens * cols
  std::vector<float> d;       // n_tokens * cols / 32
  std::vector<int32_t> sum;   // n_tokens * cols / 32
};

// Q8_0 as ggml's x86 quantizer writes it: d = fp16(amax / 127), q = round-to-even(x * 127 / amax).
// Every level writes identical blocks.
void quantize_q8_0(const float* x, int64_t n_tokens, int64_t cols, Q8Activations& out, KernelLevel level);
// The body of quantize_q8_0 on n_blocks consecutive blocks, into preallocated arrays.
void quantize_q8_0_blocks(const float* x, int64_t n_blocks, int8_t* qs, float* d, int32_t* sum, KernelLevel level);

// Q8_K: 256-value blocks (cols a multiple of 256) with a float scale, plus the sum of every 16
// values (what the K-quant mins and offsets multiply; int16 as in ggml's block_q8_K).
struct Q8KActivations {
  std::vector<int8_t> qs;     // n_tokens * cols
  std::vector<float> d;       // n_tokens * cols / 256
  std::vector<int16_t> bsum;  // n_tokens * cols / 16
};
// As ggml (quantize_row_q8_K_ref, which its x86 build also runs; its 4-row interleaved variant
// writes the same values): s = -127 / (the value of largest magnitude), q = min(127,
// round-to-even(x * s)), d = 1 / s.
void quantize_q8_k(const float* x, int64_t n_tokens, int64_t cols, Q8KActivations& out);

// y[t * y_stride + r] = Σ_blocks d_w d_x Σ q_w q_x for r < n_rows, t < n_tokens.
// For the packed kernel, w is the first 16-row group and row_bytes the group stride.
struct QGemmTask {
  GgmlType type = GgmlType::Q8_0;  // Q8_0 or Q4_0 (Q8_0 activations); Q4_K or Q6_K (Q8_K)
  const uint8_t* w = nullptr;      // first weight row
  size_t row_bytes = 0;
  int64_t n_rows = 0;
  const int8_t* xq = nullptr;  // first token's values, token stride = cols
  const float* xd = nullptr;   // first token's scales, token stride = cols / 32 (Q8_K: / 256)
  const int16_t* xbsum = nullptr;  // Q8_K only: first token's 16-value sums, stride cols / 16
  const int32_t* xsum = nullptr;   // packed Q8_0/Q4_0 only: first token's block sums, stride cols / 32
  int64_t cols = 0;
  int64_t n_tokens = 0;
  float* y = nullptr;
  int64_t y_stride = 0;
  // Q4_K only: the whole weight's row count, which decides llama.cpp's summation order
  // (qgemm_k.h). Q4_K tasks must also start at a token index of the call that is a multiple of
  // 4 (ggml sums groups of 4 tokens in another order than the last n_tokens % 4).
  int64_t weight_rows = 0;
};

using QGemmFn = void (*)(const QGemmTask&);
// The kernel of a level for a weight type (levels this build lacks fall back to scalar).
QGemmFn qgemm_kernel(KernelLevel level, GgmlType type);

void qgemm_scalar(const QGemmTask& task);
void qgemm_k_scalar(const QGemmTask& task);
#if defined(__x86_64__)
void qgemm_avx2(const QGemmTask& task);
void qgemm_avx512(const QGemmTask& task);
void qgemm_k_avx2(const QGemmTask& task);
void qgemm_k_avx512(const QGemmTask& task);
// Packed Q8_0/Q4_0 groups (qgemm_packed.h) against Q8_0 activations.
void qgemm_packed_avx512(const QGemmTask& task);
// n_blocks blocks of 32 values of x into qs, d and sum (the AVX-512 body of quantize_q8_0).
void quantize_q8_0_avx512(const float* x, int64_t n_blocks, int8_t* qs, float* d, int32_t* sum);
#endif

// Byte sizes of one weight block and the exact integer sums of one block, shared by every
// level (the SIMD kernels use them for an odd last block).
inline int qgemm_block_bytes(GgmlType type) { return type == GgmlType::Q8_0 ? 34 : 18; }

inline float qgemm_block_scale(const uint8_t* block) { return fp16_to_f32(uint16_t(block[0] | (block[1] << 8))); }

inline int32_t q8_0_block_isum(const uint8_t* block, const int8_t* x) {
  const int8_t* q = reinterpret_cast<const int8_t*>(block + 2);
  int32_t sum = 0;
  for (int j = 0; j < 32; ++j) sum += int32_t(q[j]) * x[j];
  return sum;
}

// Q4_0: low nibbles are elements 0..15, high nibbles 16..31, both offset by 8.
inline int32_t q4_0_block_isum(const uint8_t* block, const int8_t* x) {
  const uint8_t* q = block + 2;
  int32_t sum = 0;
  for (int j = 0; j < 16; ++j) sum += (int32_t(q[j] & 0xf) - 8) * x[j] + (int32_t(q[j] >> 4) - 8) * x[j + 16];
  return sum;
}

}  // namespace ls
