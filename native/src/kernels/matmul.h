// y = W x for a batch of activation rows, W stored row-major in any supported weight type.
#pragma once
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <vector>

#include "gguf.h"
#include "kernels/cpu_features.h"
#include "kernels/qgemm.h"
#include "threadpool.h"

namespace ls {

// A 2-D weight inside the model file: `rows` rows of `cols` elements, each row_bytes long.
struct WeightMatrix {
  GgmlType type = GgmlType::F32;
  const uint8_t* data = nullptr;
  int64_t rows = 0;
  int64_t cols = 0;
  size_t row_bytes = 0;
  // Q8_0/Q4_0: the same rows packed for the AVX-512 kernel (qgemm_packed.h), or null. Other
  // kernel levels read `data`.
  const uint8_t* packed = nullptr;
  const uint8_t* row(int64_t r) const { return data + size_t(r) * row_bytes; }
};

// Buffers reused across calls so a forward pass allocates nothing once warm.
struct MatmulScratch {
  std::vector<float> activations;             // x rounded to the weight's dot precision
  Q8Activations q8;                            // x quantized for the Q8_0/Q4_0 integer kernels
  Q8KActivations q8k;                          // x quantized for the Q4_K/Q6_K integer kernels
  std::vector<std::vector<float>> row_buffers;  // one decoded weight row per thread
};

// The activations a weight type's dot product sees in ggml when it is not an integer one:
// rounded to F16/BF16 (others pass through). The engine rounds the same way so its logits
// track llama.cpp's. Quantized weights take the integer path (quantize_q8_0/q8_k + qgemm).
void round_activations(GgmlType weight_type, const float* x, float* out, int64_t n_tokens, int64_t cols);

// The F32/F16/BF16 path of matmul (kernels/matmul_float.cpp).
void matmul_float(const WeightMatrix& w, const float* x, int64_t n_tokens, float* y, ThreadPool& pool,
                  MatmulScratch& scratch, KernelLevel level);

// y[t * w.rows + r] = dot(W[r], x'[t * w.cols ...]) for t < n_tokens, x' = round_activations(x).
// Quantized weights: integer block dots against x quantized to Q8_0 (Q8_0/Q4_0 weights) or
// Q8_K (Q4_K/Q6_K), as ggml computes them.
void matmul(const WeightMatrix& w, const float* x, int64_t n_tokens, float* y, ThreadPool& pool,
            MatmulScratch& scratch);
// Several weights applied to the same activations (q/k/v, gate/up): on the integer path the
// activations are quantized once and one pass splits all the weights' rows across the threads.
// Results are those of one matmul per target.
struct MatmulTarget {
  const WeightMatrix* w;
  float* y;
};
constexpr int kMaxMatmulTargets = 4;
void matmul_shared_input(std::initializer_list<MatmulTarget> targets, const float* x, int64_t n_tokens,
                         ThreadPool& pool, MatmulScratch& scratch);
// y = swiglu(gate x, up x) = silu(gate x) * (up x), one row of gate.rows values per token, as
// matmul_shared_input followed by swiglu over each row in chunks of kSwigluChunk values; on
// the integer path each thread applies swiglu to its own rows as soon as it has computed
// them. up_buffer holds n_tokens * up.rows values of scratch.
constexpr int64_t kSwigluChunk = 64;
void matmul_swiglu(const WeightMatrix& gate, const WeightMatrix& up, const float* x, int64_t n_tokens, float* y,
                   float* up_buffer, ThreadPool& pool, MatmulScratch& scratch);
// The same with an explicit kernel level (tests compare levels; capped at cpu_kernel_level()).
void matmul(const WeightMatrix& w, const float* x, int64_t n_tokens, float* y, ThreadPool& pool,
            MatmulScratch& scratch, KernelLevel level);

}  // namespace ls
