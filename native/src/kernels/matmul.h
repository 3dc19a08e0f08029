// y = W x for a batch of activation rows, W stored row-major in any supported weight type.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

#include "gguf.h"
#include "threadpool.h"

namespace ls {

// A 2-D weight inside the model file: `rows` rows of `cols` elements, each row_bytes long.
struct WeightMatrix {
  GgmlType type = GgmlType::F32;
  const uint8_t* data = nullptr;
  int64_t rows = 0;
  int64_t cols = 0;
  size_t row_bytes = 0;
  const uint8_t* row(int64_t r) const { return data + size_t(r) * row_bytes; }
};

// Buffers reused across calls so a forward pass allocates nothing once warm.
struct MatmulScratch {
  std::vector<float> activations;             // x rounded to the weight's dot precision
  std::vector<std::vector<float>> row_buffers;  // one decoded weight row per thread
};

// The activations a weight type's dot product sees in ggml: rounded to F16/BF16, or through
// 8-bit Q8_0 (for Q8_0/Q4_0) / Q8_K (for Q4_K/Q6_K) blocks. The engine rounds the same way
// so its logits track llama.cpp's; a later integer kernel consumes these blocks directly.
void round_activations(GgmlType weight_type, const float* x, float* out, int64_t n_tokens, int64_t cols);

// y[t * w.rows + r] = dot(W[r], x'[t * w.cols ...]) for t < n_tokens, x' = round_activations(x).
void matmul(const WeightMatrix& w, const float* x, int64_t n_tokens, float* y, ThreadPool& pool,
            MatmulScratch& scratch);

}  // namespace ls
