#include "kernels/matmul.h"

#include <algorithm>


namespace ls {

namespace {

// Integer path: each thread owns a contiguous range of weight rows (decode: both cores stream
// their half of the matrix); prefill walks the tokens in blocks small enough to stay in L2
// while a thread's rows pass over them.
void matmul_integer(const WeightMatrix& w, const float* x, int64_t n_tokens, float* y, ThreadPool& pool,
                    MatmulScratch& scratch, KernelLevel level) {
  const int64_t cols = w.cols, rows = w.rows;
  const bool k_quant = w.type == GgmlType::Q4_K || w.type == GgmlType::Q6_K;
  if (k_quant)
    quantize_q8_k(x, n_tokens, cols, scratch.q8k);
  else
    quantize_q8_0(x, n_tokens, cols, scratch.q8, level);
  const int8_t* xq = k_quant ? scratch.q8k.qs.data() : scratch.q8.qs.data();
  const float* xd = k_quant ? scratch.q8k.d.data() : scratch.q8.d.data();
  const int64_t scales_per_token = cols / (k_quant ? kQKBlock : kQ8Block);
  const QGemmFn kernel = qgemm_kernel(level, w.type);
  const int64_t token_block = std::max<int64_t>(4, ((256 * 1024) / cols) & ~int64_t(3));
  constexpr int64_t kRowGroup = 16;
  const int64_t groups = (rows + kRowGroup - 1) / kRowGroup;
  pool.parallel_for(groups, [&](int64_t begin, int64_t end, int) {
    const int64_t r0 = begin * kRowGroup, r1 = std::min(rows, end * kRowGroup);
    for (int64_t t0 = 0; t0 < n_tokens; t0 += token_block) {
      QGemmTask task;
      task.type = w.type;
      task.w = w.row(r0);
      task.row_bytes = w.row_bytes;
      task.n_rows = r1 - r0;
      task.xq = xq + t0 * cols;
      task.xd = xd + t0 * scales_per_token;
      if (k_quant) task.xbsum = scratch.q8k.bsum.data() + t0 * (cols / 16);
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
  matmul_float(w, x, n_tokens, y, pool, scratch, level);
}

}  // namespace ls
