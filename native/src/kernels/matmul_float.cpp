// Matmul for float weights (F32, F16, BF16), summed in llama.cpp's orders (kernels/float_dot.h).
#include <algorithm>

#include "kernels/dequant.h"
#include "kernels/float_dot.h"
#include "kernels/half.h"
#include "kernels/matmul.h"

namespace ls {

void round_activations(GgmlType weight_type, const float* x, float* out, int64_t n_tokens, int64_t cols) {
  const int64_t n = n_tokens * cols;
  switch (weight_type) {
    case GgmlType::F16:
      for (int64_t i = 0; i < n; ++i) out[i] = round_to_fp16(x[i]);
      break;
    case GgmlType::BF16:
      for (int64_t i = 0; i < n; ++i) out[i] = round_to_bf16(x[i]);
      break;
    default:
      std::copy(x, x + n, out);
  }
}

void matmul_float(const WeightMatrix& w, const float* x, int64_t n_tokens, float* y, ThreadPool& pool,
                  MatmulScratch& scratch) {
  const int64_t cols = w.cols, rows = w.rows;
  const float* act = x;
  if (w.type != GgmlType::F32) {
    scratch.activations.resize(size_t(n_tokens * cols));
    round_activations(w.type, x, scratch.activations.data(), n_tokens, cols);
    act = scratch.activations.data();
  }
  // llama.cpp hands a batch to llamafile's tinyBLAS when the shapes suit it (two or more
  // tokens, rows % 4 == 0, cols a whole number of its vector steps) and otherwise runs its
  // per-row vec_dot; the two sum in different orders, so we pick the same one.
  const bool bf16 = w.type == GgmlType::BF16;
  const bool tiny_blas = n_tokens >= 2 && rows % 4 == 0 && cols % (bf16 ? 32 : 16) == 0;
  float (*const vec_dot)(const float*, const float*, int64_t) =
      w.type == GgmlType::F16 ? dot_vec_f16 : bf16 ? dot_vec_bf16 : dot_vec_f32;
  // Each thread decodes a tile of kTile rows, then runs every token against the tile while
  // it is in L1, so the activations are read once per tile instead of once per row.
  constexpr int64_t kTile = 4;
  if (scratch.row_buffers.size() < size_t(pool.size())) scratch.row_buffers.resize(size_t(pool.size()));
  for (auto& buf : scratch.row_buffers) {
    if (buf.size() < size_t(kTile * cols)) buf.resize(size_t(kTile * cols));
  }
  const int64_t tiles = (rows + kTile - 1) / kTile;
  pool.parallel_for(tiles, [&](int64_t begin, int64_t end, int thread) {
    float* decoded = scratch.row_buffers[size_t(thread)].data();
    for (int64_t tile = begin; tile < end; ++tile) {
      const int64_t r0 = tile * kTile;
      const int64_t n_rows = std::min(kTile, rows - r0);
      const float* wr;
      if (w.type == GgmlType::F32) {
        wr = reinterpret_cast<const float*>(w.row(r0));
      } else {
        for (int64_t r = 0; r < n_rows; ++r) dequantize_row(w.type, w.row(r0 + r), decoded + r * cols, cols);
        wr = decoded;
      }
      const int64_t stride = w.type == GgmlType::F32 ? int64_t(w.row_bytes / 4) : cols;
      for (int64_t t = 0; t < n_tokens; ++t) {
        float* yt = y + t * rows + r0;
        const float* xt = act + t * cols;
        if (tiny_blas) {
          (bf16 ? dot4_lanes16_pairs : dot4_lanes16)(wr, stride, xt, cols, yt);
        } else {
          for (int64_t r = 0; r < n_rows; ++r) yt[r] = vec_dot(wr + r * stride, xt, cols);
        }
      }
    }
  });
}

}  // namespace ls
