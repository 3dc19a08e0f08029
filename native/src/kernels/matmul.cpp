#include "kernels/matmul.h"

#include <algorithm>
#include <cmath>

#include "kernels/dequant.h"
#include "kernels/half.h"
#include "kernels/ops.h"

namespace ls {

namespace {

// Q8_0 as ggml's x86 quantizer writes it: per 32 values, an f16 scale amax/127 and
// values rounded (ties to even) after multiplying by 127/amax.
void round_through_q8_0(const float* x, float* out, int64_t n) {
  for (int64_t b = 0; b < n; b += 32) {
    float amax = 0;
    for (int j = 0; j < 32; ++j) amax = std::max(amax, std::fabs(x[b + j]));
    const float d = round_to_fp16(amax / 127.f);
    const float id = amax != 0.f ? 127.f / amax : 0.f;
    for (int j = 0; j < 32; ++j) out[b + j] = d * std::nearbyint(x[b + j] * id);
  }
}

// Q8_K: per 256 values, scale from the signed value of largest magnitude, float scale.
void round_through_q8_k(const float* x, float* out, int64_t n) {
  for (int64_t b = 0; b < n; b += 256) {
    float max = 0, amax = 0;
    for (int j = 0; j < 256; ++j) {
      const float ax = std::fabs(x[b + j]);
      if (ax > amax) {
        amax = ax;
        max = x[b + j];
      }
    }
    if (amax == 0.f) {
      for (int j = 0; j < 256; ++j) out[b + j] = 0.f;
      continue;
    }
    const float iscale = -127.f / max;
    const float d = 1 / iscale;
    for (int j = 0; j < 256; ++j) out[b + j] = d * std::min(127.f, std::nearbyint(iscale * x[b + j]));
  }
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
    case GgmlType::Q8_0:
    case GgmlType::Q4_0:
      for (int64_t t = 0; t < n_tokens; ++t) round_through_q8_0(x + t * cols, out + t * cols, cols);
      break;
    case GgmlType::Q4_K:
    case GgmlType::Q6_K:
      for (int64_t t = 0; t < n_tokens; ++t) round_through_q8_k(x + t * cols, out + t * cols, cols);
      break;
    default:
      std::copy(x, x + n, out);
  }
}

void matmul(const WeightMatrix& w, const float* x, int64_t n_tokens, float* y, ThreadPool& pool,
            MatmulScratch& scratch) {
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
