#include "kernels/matmul.h"

#include <algorithm>

#include "kernels/ops.h"
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

// The activations of an integer-path call, quantized once for all its targets.
struct QuantizedInput {
  bool k_quant = false;
  const int8_t* xq = nullptr;
  const float* xd = nullptr;
  const int32_t* xsum = nullptr;   // Q8_0 block sums
  const int16_t* xbsum = nullptr;  // Q8_K 16-value sums
  int64_t cols = 0;
  int64_t scales_per_token = 0;
  int64_t token_block = 0;  // tokens a thread runs against its rows at a time (fits L2)
};

QuantizedInput quantize_input(const WeightMatrix& w, const float* x, int64_t n_tokens, ThreadPool& pool,
                              MatmulScratch& scratch, KernelLevel level) {
  QuantizedInput in;
  in.k_quant = k_quant_type(w.type);
  in.cols = w.cols;
  quantize_activations(in.k_quant, x, n_tokens, in.cols, pool, scratch, level);
  in.xq = in.k_quant ? scratch.q8k.qs.data() : scratch.q8.qs.data();
  in.xd = in.k_quant ? scratch.q8k.d.data() : scratch.q8.d.data();
  if (in.k_quant) in.xbsum = scratch.q8k.bsum.data();
  else in.xsum = scratch.q8.sum.data();
  in.scales_per_token = in.cols / (in.k_quant ? kQKBlock : kQ8Block);
  in.token_block = std::max<int64_t>(8, ((256 * 1024) / in.cols) & ~int64_t(7));
  return in;
}

// Weights are cut into groups of 16 rows, the unit threads split (packed weights are stored
// by these groups).
constexpr int64_t kGroupRows = 16;
static_assert(kGroupRows == kPackRows, "packed groups and thread work units coincide");
static_assert(kSwigluChunk % kGroupRows == 0, "swiglu chunks are whole groups");

int64_t group_count(const WeightMatrix& w) { return (w.rows + kGroupRows - 1) / kGroupRows; }

// y = W x for W's groups [g0, g1) and tokens [t0, t0 + nt) of the call.
void run_groups(const QuantizedInput& in, const WeightMatrix& w, float* y, int64_t g0, int64_t g1, int64_t t0,
                int64_t nt, KernelLevel level) {
  const bool packed = w.packed && level == KernelLevel::Avx512 && !in.k_quant;
  QGemmFn kernel = qgemm_kernel(level, w.type);
#if defined(__x86_64__)
  if (packed) kernel = qgemm_packed_avx512;
#endif
  const size_t group_stride = packed ? packed_group_bytes(w.type, in.cols) : size_t(kGroupRows) * w.row_bytes;
  const int64_t r0 = g0 * kGroupRows;
  QGemmTask task;
  task.type = w.type;
  task.w = (packed ? w.packed : w.data) + size_t(g0) * group_stride;
  task.row_bytes = packed ? group_stride : w.row_bytes;
  task.n_rows = std::min(w.rows, g1 * kGroupRows) - r0;
  task.xq = in.xq + t0 * in.cols;
  task.xd = in.xd + t0 * in.scales_per_token;
  if (in.k_quant) task.xbsum = in.xbsum + t0 * (in.cols / 16);
  else task.xsum = in.xsum + t0 * in.scales_per_token;
  task.cols = in.cols;
  task.n_tokens = nt;
  task.y = y + t0 * w.rows + r0;
  task.y_stride = w.rows;
  task.weight_rows = w.rows;
  kernel(task);
}

// Integer path: the groups of all targets (same activations) are numbered one after another,
// and each thread owns a contiguous range of them (decode: both cores stream their part of
// the weights); prefill walks the tokens in blocks small enough to stay in L2 while a
// thread's rows pass over them.
void matmul_integer(const MatmulTarget* targets, int n_targets, const float* x, int64_t n_tokens, ThreadPool& pool,
                    MatmulScratch& scratch, KernelLevel level) {
  const QuantizedInput in = quantize_input(*targets[0].w, x, n_tokens, pool, scratch, level);
  int64_t first_group[kMaxMatmulTargets + 1] = {0};
  for (int i = 0; i < n_targets; ++i) first_group[i + 1] = first_group[i] + group_count(*targets[i].w);
  pool.parallel_for(first_group[n_targets], [&](int64_t begin, int64_t end, int) {
    for (int64_t t0 = 0; t0 < n_tokens; t0 += in.token_block) {
      for (int i = 0; i < n_targets; ++i) {
        const int64_t g0 = std::max(begin, first_group[i]) - first_group[i];
        const int64_t g1 = std::min(end, first_group[i + 1]) - first_group[i];
        if (g0 < g1) run_groups(in, *targets[i].w, targets[i].y, g0, g1, t0, std::min(in.token_block, n_tokens - t0), level);
      }
    }
  });
}

bool shareable(const MatmulTarget* t, int n) {
  bool shared = n <= kMaxMatmulTargets;
  for (int i = 0; i < n && shared; ++i)
    shared = integer_path(*t[i].w) && t[i].w->cols == t[0].w->cols &&
             k_quant_type(t[i].w->type) == k_quant_type(t[0].w->type);
  return shared;
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
  if (!shareable(t, n)) {
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

void matmul_swiglu(const WeightMatrix& gate, const WeightMatrix& up, const float* x, int64_t n_tokens, float* y,
                   float* up_buffer, ThreadPool& pool, MatmulScratch& scratch) {
  const int64_t n_ff = gate.rows;
  const KernelLevel level = active_kernel_level();
  const MatmulTarget targets[2] = {{&gate, y}, {&up, up_buffer}};
  // Units of kSwigluChunk rows counted from each row's start: swiglu computes a chunk's last
  // partial SIMD block differently (as ggml does), so every split gives the same result.
  const int64_t unit_groups = kSwigluChunk / kGroupRows;
  if (!shareable(targets, 2) || up.rows != n_ff) {
    matmul_shared_input({targets[0], targets[1]}, x, n_tokens, pool, scratch);
    const int64_t per_row = (n_ff + kSwigluChunk - 1) / kSwigluChunk;
    pool.parallel_for(n_tokens * per_row, [&](int64_t begin, int64_t end, int) {
      for (int64_t c = begin; c < end; ++c) {
        const int64_t at = c / per_row * n_ff + c % per_row * kSwigluChunk;
        const int64_t len = std::min(kSwigluChunk, n_ff - c % per_row * kSwigluChunk);
        swiglu(y + at, up_buffer + at, y + at, len);
      }
    });
    return;
  }
  // Integer path: a thread computes the gate and up rows of its units for a block of tokens,
  // then their swiglu while those rows are still in L1/L2; no join between the two steps.
  const QuantizedInput in = quantize_input(gate, x, n_tokens, pool, scratch, level);
  const int64_t groups = group_count(gate);
  pool.parallel_for((groups + unit_groups - 1) / unit_groups, [&](int64_t begin, int64_t end, int) {
    const int64_t g0 = begin * unit_groups, g1 = std::min(groups, end * unit_groups);
    const int64_t r0 = begin * kSwigluChunk, r1 = std::min(n_ff, end * kSwigluChunk);
    for (int64_t t0 = 0; t0 < n_tokens; t0 += in.token_block) {
      const int64_t nt = std::min(in.token_block, n_tokens - t0);
      run_groups(in, gate, y, g0, g1, t0, nt, level);
      run_groups(in, up, up_buffer, g0, g1, t0, nt, level);
      for (int64_t t = t0; t < t0 + nt; ++t)
        for (int64_t r = r0; r < r1; r += kSwigluChunk) {
          const int64_t at = t * n_ff + r;
          swiglu(y + at, up_buffer + at, y + at, std::min(kSwigluChunk, r1 - r));
        }
    }
  });
}

}  // namespace ls
