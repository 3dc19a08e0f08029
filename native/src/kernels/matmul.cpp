#include "kernels/matmul.h"

#include <algorithm>

#include "kernels/qgemm_packed.h"

namespace ls {

namespace {

bool k_quant_type(GgmlType t) { return t == GgmlType::Q4_K || t == GgmlType::Q6_K; }

bool integer_path(const WeightMatrix& w) {
  if (w.type == GgmlType::Q8_0 || w.type == GgmlType::Q4_0) return w.cols % kQ8Block == 0;
  return k_quant_type(w.type) && w.cols % kQKBlock == 0;
}

// Activations quantized once for all targets; above a few tokens the pool splits the tokens.
void quantize_activations(bool k_quant, const float* x, int64_t n_tokens, int64_t cols, ThreadPool& pool,
                          MatmulScratch& scratch, KernelLevel level) {
  if (k_quant) {
    quantize_q8_k(x, n_tokens, cols, scratch.q8k);
    return;
  }
  if (n_tokens < 8) {
    quantize_q8_0(x, n_tokens, cols, scratch.q8, level);
    return;
  }
  Q8Activations& q = scratch.q8;
  const int64_t nb = cols / kQ8Block;
  q.qs.resize(size_t(n_tokens * cols));
  q.d.resize(size_t(n_tokens * nb));
  q.sum.resize(q.d.size());
  pool.parallel_for(n_tokens, [&](int64_t begin, int64_t end, int) {
    quantize_q8_0_blocks(x + begin * cols, (end - begin) * nb, q.qs.data() + begin * cols, q.d.data() + begin * nb,
                         q.sum.data() + begin * nb, level);
  });
}

// Integer path: the rows of all targets (same activations) are cut into groups of 16, and each
// thread owns a contiguous range of groups (decode: both cores stream their part of the
// weights); prefill walks the tokens in blocks small enough to stay in L2 while a thread's
// rows pass over them. Packed weights are walked by their 16-row groups.
void matmul_integer(const MatmulTarget* targets, int n_targets, const float* x, int64_t n_tokens, ThreadPool& pool,
                    MatmulScratch& scratch, KernelLevel level) {
  const int64_t cols = targets[0].w->cols;
  const bool k_quant = k_quant_type(targets[0].w->type);
  quantize_activations(k_quant, x, n_tokens, cols, pool, scratch, level);
  const int8_t* xq = k_quant ? scratch.q8k.qs.data() : scratch.q8.qs.data();
  const float* xd = k_quant ? scratch.q8k.d.data() : scratch.q8.d.data();
  const int64_t scales_per_token = cols / (k_quant ? kQKBlock : kQ8Block);
  const int64_t token_block = std::max<int64_t>(8, ((256 * 1024) / cols) & ~int64_t(7));
  constexpr int64_t kGroupRows = 16;
  static_assert(kGroupRows == kPackRows, "packed groups and thread work units coincide");
  int64_t first_group[kMaxMatmulTargets + 1] = {0};
  for (int i = 0; i < n_targets; ++i) first_group[i + 1] = first_group[i] + (targets[i].w->rows + kGroupRows - 1) / kGroupRows;
  pool.parallel_for(first_group[n_targets], [&](int64_t begin, int64_t end, int) {
    for (int64_t t0 = 0; t0 < n_tokens; t0 += token_block) {
      for (int i = 0; i < n_targets; ++i) {
        const int64_t g0 = std::max(begin, first_group[i]) - first_group[i];
        const int64_t g1 = std::min(end, first_group[i + 1]) - first_group[i];
        if (g0 >= g1) continue;
        const WeightMatrix& w = *targets[i].w;
        const bool packed = w.packed && level == KernelLevel::Avx512 && !k_quant;
        QGemmFn kernel = qgemm_kernel(level, w.type);
#if defined(__x86_64__)
        if (packed) kernel = qgemm_packed_avx512;
#endif
        const size_t group_stride = packed ? packed_group_bytes(w.type, cols) : size_t(kGroupRows) * w.row_bytes;
        const int64_t r0 = g0 * kGroupRows;
        QGemmTask task;
        task.type = w.type;
        task.w = (packed ? w.packed : w.data) + size_t(g0) * group_stride;
        task.row_bytes = packed ? group_stride : w.row_bytes;
        task.n_rows = std::min(w.rows, g1 * kGroupRows) - r0;
        task.xq = xq + t0 * cols;
        task.xd = xd + t0 * scales_per_token;
        if (k_quant) task.xbsum = scratch.q8k.bsum.data() + t0 * (cols / 16);
        else task.xsum = scratch.q8.sum.data() + t0 * scales_per_token;
        task.cols = cols;
        task.n_tokens = std::min(token_block, n_tokens - t0);
        task.y = targets[i].y + t0 * w.rows + r0;
        task.y_stride = w.rows;
        task.weight_rows = w.rows;
        kernel(task);
      }
    }
  });
}

}  // namespace

void matmul(const WeightMatrix& w, const float* x, int64_t n_tokens, float* y, ThreadPool& pool,
            MatmulScratch& scratch) {
  matmul(w, x, n_tokens, y, pool, scratch, active_kernel_level());
}

void matmul_shared_input(std::initializer_list<MatmulTarget> targets, const float* x, int64_t n_tokens,
                         ThreadPool& pool, MatmulScratch& scratch) {
  const MatmulTarget* t = targets.begin();
  const int n = int(targets.size());
  bool shared = n <= kMaxMatmulTargets;
  for (int i = 0; i < n && shared; ++i)
    shared = integer_path(*t[i].w) && t[i].w->cols == t[0].w->cols &&
             k_quant_type(t[i].w->type) == k_quant_type(t[0].w->type);
  if (!shared) {
    for (const MatmulTarget& target : targets) matmul(*target.w, x, n_tokens, target.y, pool, scratch);
    return;
  }
  matmul_integer(t, n, x, n_tokens, pool, scratch, active_kernel_level());
}

void matmul(const WeightMatrix& w, const float* x, int64_t n_tokens, float* y, ThreadPool& pool,
            MatmulScratch& scratch, KernelLevel level) {
  if (int(level) > int(cpu_kernel_level())) level = cpu_kernel_level();
  if (integer_path(w)) {
    const MatmulTarget target{&w, y};
    matmul_integer(&target, 1, x, n_tokens, pool, scratch, level);
    return;
  }
  matmul_float(w, x, n_tokens, y, pool, scratch, level);
}

}  // namespace ls
