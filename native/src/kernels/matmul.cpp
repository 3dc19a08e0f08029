#include "kernels/matmul.h"

#include <algorithm>

#include "kernels/dequant.h"
#include "kernels/half.h"
#include "kernels/ops.h"
#include "kernels/qgemm_packed.h"

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

namespace {

// Integer path: each thread owns a contiguous range of weight rows (decode: both cores stream
// their part of the matrix); prefill walks the tokens in blocks small enough to stay in L2
// while a thread's rows pass over them. Packed weights go by 16-row groups.
void matmul_integer(const WeightMatrix& w, const float* x, int64_t n_tokens, float* y, ThreadPool& pool,
                    MatmulScratch& scratch, KernelLevel level) {
  const int64_t cols = w.cols, rows = w.rows;
  const bool k_quant = w.type == GgmlType::Q4_K || w.type == GgmlType::Q6_K;
  const bool packed = w.packed && level == KernelLevel::Avx512 && !k_quant;
  if (k_quant)
    quantize_q8_k(x, n_tokens, cols, scratch.q8k);
  else
    quantize_q8_0(x, n_tokens, cols, scratch.q8, level);
  const int8_t* xq = k_quant ? scratch.q8k.qs.data() : scratch.q8.qs.data();
  const float* xd = k_quant ? scratch.q8k.d.data() : scratch.q8.d.data();
  const int64_t scales_per_token = cols / (k_quant ? kQKBlock : kQ8Block);
  QGemmFn kernel = qgemm_kernel(level, w.type);
#if defined(__x86_64__)
  if (packed) kernel = qgemm_packed_avx512;
#endif
  const int64_t token_block = std::max<int64_t>(4, ((256 * 1024) / cols) & ~int64_t(3));
  const int64_t row_group = packed ? kPackRows : 16;
  const size_t group_stride = packed ? packed_group_bytes(w.type, cols) : size_t(row_group) * w.row_bytes;
  const uint8_t* base = packed ? w.packed : w.data;
  const int64_t groups = (rows + row_group - 1) / row_group;
  pool.parallel_for(groups, [&](int64_t begin, int64_t end, int) {
    const int64_t r0 = begin * row_group, r1 = std::min(rows, end * row_group);
    for (int64_t t0 = 0; t0 < n_tokens; t0 += token_block) {
      QGemmTask task;
      task.type = w.type;
      task.w = base + size_t(begin) * group_stride;
      task.row_bytes = packed ? group_stride : w.row_bytes;
      task.n_rows = r1 - r0;
      task.xq = xq + t0 * cols;
      task.xd = xd + t0 * scales_per_token;
      if (k_quant) task.xbsum = scratch.q8k.bsum.data() + t0 * (cols / 16);
      else task.xsum = scratch.q8.sum.data() + t0 * scales_per_token;
      task.cols = cols;
      task.n_tokens = std::min(token_block, n_tokens - t0);
      task.y = y + t0 * rows + r0;
      task.y_stride = rows;
      kernel(task);
    }
  });
}

}  // namespace

void matmul(const WeightMatrix& w, const float* x, int64_t n_tokens, float* y, ThreadPool& pool,
            MatmulScratch& scratch) {
  matmul(w, x, n_tokens, y, pool, scratch, active_kernel_level());
}

void matmul(const WeightMatrix& w, const float* x, int64_t n_tokens, float* y, ThreadPool& pool,
            MatmulScratch& scratch, KernelLevel level) {
  if (int(level) > int(cpu_kernel_level())) level = cpu_kernel_level();
  const bool q8_0_blocks = (w.type == GgmlType::Q8_0 || w.type == GgmlType::Q4_0) && w.cols % kQ8Block == 0;
  const bool q8_k_blocks = (w.type == GgmlType::Q4_K || w.type == GgmlType::Q6_K) && w.cols % kQKBlock == 0;
  if (q8_0_blocks || q8_k_blocks) {
    matmul_integer(w, x, n_tokens, y, pool, scratch, level);
    return;
  }
  const int64_t cols = w.cols;
  const float* act = x;
  if (w.type != GgmlType::F32) {
    scratch.activations.resize(size_t(n_tokens * cols));
    round_activations(w.type, x, scratch.activations.data(), n_tokens, cols);
    act = scratch.activations.data();
  }
  // Each thread decodes a tile of kTile rows, then runs every token against the tile while
  // it is in L1, so the activations are read once per tile instead of once per row.
  constexpr int64_t kTile = 4;
  if (scratch.row_buffers.size() < size_t(pool.size())) scratch.row_buffers.resize(size_t(pool.size()));
  for (auto& buf : scratch.row_buffers) {
    if (buf.size() < size_t(kTile * cols)) buf.resize(size_t(kTile * cols));
  }
  const int64_t rows = w.rows;
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
        if (n_rows == kTile) {
          dot4_f32(wr, stride, act + t * cols, cols, yt);
        } else {
          for (int64_t r = 0; r < n_rows; ++r) yt[r] = dot_f32(wr + r * stride, act + t * cols, cols);
        }
      }
    }
  });
}

}  // namespace ls
