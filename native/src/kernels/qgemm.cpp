#include "kernels/qgemm.h"

#include <algorithm>
#include <cmath>

namespace ls {

void quantize_q8_0(const float* x, int64_t n_tokens, int64_t cols, Q8Activations& out, KernelLevel level) {
  const int64_t n = n_tokens * cols;
  out.qs.resize(size_t(n));
  out.d.resize(size_t(n / kQ8Block));
  out.sum.resize(out.d.size());
  quantize_q8_0_blocks(x, n / kQ8Block, out.qs.data(), out.d.data(), out.sum.data(), level);
}

void quantize_q8_0_blocks(const float* x, int64_t n_blocks, int8_t* qs, float* d, int32_t* sum, KernelLevel level) {
#if defined(__x86_64__)
  if (level == KernelLevel::Avx512 && cpu_kernel_level() == KernelLevel::Avx512) {
    quantize_q8_0_avx512(x, n_blocks, qs, d, sum);
    return;
  }
#endif
  for (int64_t b = 0; b < n_blocks; ++b) {
    const float* xb = x + b * kQ8Block;
    float amax = 0;
    for (int j = 0; j < kQ8Block; ++j) amax = std::max(amax, std::fabs(xb[j]));
    d[b] = round_to_fp16(amax / 127.f);
    const float id = amax != 0.f ? 127.f / amax : 0.f;
    int8_t* q = qs + b * kQ8Block;
    // |x * id| <= 127 for finite input; the clamp only keeps NaN/inf from reaching the cast.
    int32_t s = 0;
    for (int j = 0; j < kQ8Block; ++j) {
      q[j] = int8_t(std::min(127.f, std::max(-127.f, std::nearbyint(xb[j] * id))));
      s += q[j];
    }
    sum[b] = s;
  }
}

void qgemm_scalar(const QGemmTask& a) {
  const int64_t nb = a.cols / kQ8Block;
  const int bb = qgemm_block_bytes(a.type);
  for (int64_t r = 0; r < a.n_rows; ++r) {
    const uint8_t* wr = a.w + size_t(r) * a.row_bytes;
    for (int64_t t = 0; t < a.n_tokens; ++t) {
      const int8_t* xq = a.xq + t * a.cols;
      const float* xd = a.xd + t * nb;
      float sum = 0;
      for (int64_t b = 0; b < nb; ++b) {
        const uint8_t* blk = wr + b * bb;
        const int32_t isum = a.type == GgmlType::Q8_0 ? q8_0_block_isum(blk, xq + b * kQ8Block)
                                                      : q4_0_block_isum(blk, xq + b * kQ8Block);
        sum += float(isum) * (qgemm_block_scale(blk) * xd[b]);
      }
      a.y[t * a.y_stride + r] = sum;
    }
  }
}

QGemmFn qgemm_kernel(KernelLevel level, GgmlType type) {
  const bool k_quant = type == GgmlType::Q4_K || type == GgmlType::Q6_K;
#if defined(__x86_64__)
  if (level == KernelLevel::Avx512) return k_quant ? qgemm_k_avx512 : qgemm_avx512;
  if (level == KernelLevel::Avx2) return k_quant ? qgemm_k_avx2 : qgemm_avx2;
#endif
  return k_quant ? qgemm_k_scalar : qgemm_scalar;
}

}  // namespace ls
