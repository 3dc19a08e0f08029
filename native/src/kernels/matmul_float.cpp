// Matmul for float weights (F32, F16, BF16), summed in llama.cpp's orders (kernels/float_dot.h).
#include <algorithm>
#include <cstring>

#include "kernels/dequant.h"
#include "kernels/float_dot.h"
#include "kernels/fma_dispatch.h"
#include "kernels/half.h"
#include "kernels/matmul.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace ls {

namespace {

#if defined(__x86_64__) && defined(__GNUC__)
// F16 -> F32 with F16C, 8 at a time (exact, like the scalar conversion).
__attribute__((target("avx,f16c"))) void widen_f16_f16c(const uint16_t* src, float* dst, int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(dst + i, _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(src + i))));
  for (; i < n; ++i) dst[i] = fp16_to_f32(src[i]);
}
#endif

LS_FMA_DISPATCH
void widen_bf16(const uint16_t* src, float* dst, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    const uint32_t bits = uint32_t(src[i]) << 16;
    std::memcpy(dst + i, &bits, 4);
  }
}

// One weight row as floats: F16/BF16 by SIMD where the CPU has it, the rest via dequantize_row.
void decode_row(GgmlType type, const uint8_t* src, float* dst, int64_t n, KernelLevel level) {
  const auto* half = reinterpret_cast<const uint16_t*>(src);
#if defined(__x86_64__) && defined(__GNUC__)
  if (type == GgmlType::F16 && level >= KernelLevel::Avx2) return widen_f16_f16c(half, dst, n);
#endif
  if (type == GgmlType::BF16) return widen_bf16(half, dst, n);
  dequantize_row(type, src, dst, n);
}

}  // namespace

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
                  MatmulScratch& scratch, KernelLevel level) {
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
        for (int64_t r = 0; r < n_rows; ++r) decode_row(w.type, w.row(r0 + r), decoded + r * cols, cols, level);
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
