// Q8_K activations and the scalar Q4_K / Q6_K x Q8_K kernel (the reference the SIMD ones match).
#include "kernels/qgemm_k.h"

#include <algorithm>
#include <cmath>

#include "kernels/qgemm.h"

namespace ls {

void quantize_q8_k(const float* x, int64_t n_tokens, int64_t cols, Q8KActivations& out) {
  const int64_t n = n_tokens * cols;
  out.qs.resize(size_t(n));
  out.d.resize(size_t(n / kQKBlock));
  out.bsum.resize(size_t(n / 16));
  for (int64_t b = 0; b < n / kQKBlock; ++b) {
    const float* xb = x + b * kQKBlock;
    int8_t* q = out.qs.data() + b * kQKBlock;
    float max = 0, amax = 0;
    for (int j = 0; j < kQKBlock; ++j) {
      const float ax = std::fabs(xb[j]);
      if (ax > amax) {
        amax = ax;
        max = xb[j];
      }
    }
    if (amax == 0.f) {
      out.d[size_t(b)] = 0.f;
      std::fill(q, q + kQKBlock, int8_t(0));
    } else {
      const float iscale = -127.f / max;
      out.d[size_t(b)] = 1 / iscale;
      // The clamp below -127 only keeps NaN/inf from reaching the cast.
      for (int j = 0; j < kQKBlock; ++j) q[j] = int8_t(std::min(127.f, std::max(-128.f, std::nearbyint(iscale * xb[j]))));
    }
    for (int k = 0; k < kQKBlock / 16; ++k) {
      int32_t s = 0;
      for (int j = 0; j < 16; ++j) s += q[16 * k + j];
      out.bsum[size_t(b * 16 + k)] = int16_t(s);
    }
  }
}

namespace {

// The integers of one super-block against one token (qgemm_k.h): the 8 lanes ggml's vec_dot
// keeps (lane i: bytes 4i..4i+3 of every 32-value run, times the run's scale), the same sums
// per pair of runs, and the mins per pair of runs (Q4_K).
struct KBlockSums {
  int32_t lanes[8];
  int32_t pair[4];
  int32_t min_pair[4];
};

// Unpacks one super-block into u (256 unsigned values in element order) and the scale of
// every 16 values; Q4_K also gives the min of each 32-value run.
void unpack_q4_k(const uint8_t* w, uint8_t* u, int32_t* scale16, int32_t* min32) {
  for (int j = 0; j < 8; ++j) {
    int sc, m;
    q4_k_scale_min(j, w + 4, sc, m);
    const uint8_t* chunk = w + 16 + (j / 2) * 32;
    const int shift = (j % 2) * 4;
    for (int l = 0; l < 32; ++l) u[32 * j + l] = uint8_t((chunk[l] >> shift) & 0xf);
    scale16[2 * j] = scale16[2 * j + 1] = sc;
    min32[j] = m;
  }
}

void unpack_q6_k(const uint8_t* w, uint8_t* u, int32_t* scale16) {
  for (int half = 0; half < 2; ++half) {
    const uint8_t* ql = w + 64 * half;
    const uint8_t* qh = w + 128 + 32 * half;
    uint8_t* o = u + 128 * half;
    for (int l = 0; l < 32; ++l) {
      o[l] = uint8_t((ql[l] & 0xf) | ((qh[l] & 3) << 4));
      o[l + 32] = uint8_t((ql[l + 32] & 0xf) | (((qh[l] >> 2) & 3) << 4));
      o[l + 64] = uint8_t((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4));
      o[l + 96] = uint8_t((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4));
    }
  }
  const int8_t* sc = reinterpret_cast<const int8_t*>(w + 192);
  for (int k = 0; k < 16; ++k) scale16[k] = sc[k];
}

template <bool kQ4>
KBlockSums block_sums(const uint8_t* w, const int8_t* x, const int16_t* bsum) {
  uint8_t u[kQKBlock];
  int32_t scale16[16], min32[8];
  if constexpr (kQ4) unpack_q4_k(w, u, scale16, min32); else unpack_q6_k(w, u, scale16);
  KBlockSums s = {};
  for (int j = 0; j < 8; ++j)
    for (int i = 0; i < 8; ++i) {
      int32_t dot = 0;
      for (int k = 0; k < 4; ++k) dot += u[32 * j + 4 * i + k] * x[32 * j + 4 * i + k];
      const int32_t v = dot * scale16[2 * j + i / 4];  // lanes 0..3: the run's first 16 values
      s.lanes[i] += v;
      s.pair[j / 2] += v;
    }
  if constexpr (kQ4) {
    for (int j = 0; j < 8; ++j) s.min_pair[j / 2] += min32[j] * (bsum[2 * j] + bsum[2 * j + 1]);
  } else {
    for (int m = 0; m < 8; ++m) s.lanes[m] -= 32 * (scale16[2 * m] * bsum[2 * m] + scale16[2 * m + 1] * bsum[2 * m + 1]);
  }
  return s;
}

float reduce_lanes(const float* acc) {
  float s4[4], s2[2];
  for (int i = 0; i < 4; ++i) s4[i] = acc[i] + acc[i + 4];
  s2[0] = s4[0] + s4[2];
  s2[1] = s4[1] + s4[3];
  return s2[0] + s2[1];
}

// One (row, token) in ggml's vec_dot order.
template <bool kQ4>
float vec_dot_order(const uint8_t* w, const int8_t* x, const float* xd, const int16_t* bsum, int64_t nb) {
  float acc[8] = {}, acc_min[4] = {};
  for (int64_t b = 0; b < nb; ++b, w += kQ4 ? 144 : 210, x += kQKBlock, bsum += 16) {
    const KBlockSums s = block_sums<kQ4>(w, x, bsum);
    const float d = xd[b] * qgemm_block_scale(kQ4 ? w : w + 208);
    for (int i = 0; i < 8; ++i) acc[i] = std::fma(float(s.lanes[i]), d, acc[i]);
    if constexpr (kQ4) {
      const float dmin = -(xd[b] * qgemm_block_scale(w + 2));
      for (int p = 0; p < 4; ++p) acc_min[p] = std::fma(float(s.min_pair[p]), dmin, acc_min[p]);
    }
  }
  if constexpr (kQ4) return reduce_lanes(acc) + ((acc_min[0] + acc_min[2]) + (acc_min[1] + acc_min[3]));
  return reduce_lanes(acc);
}

// One (row, token) of a Q4_K weight in ggml's interleaved order.
float interleaved_order(const uint8_t* w, const int8_t* x, const float* xd, const int16_t* bsum, int64_t nb,
                        bool gemm_group) {
  Q4KChains c;
  for (int64_t b = 0; b < nb; ++b, w += 144, x += kQKBlock, bsum += 16) {
    const KBlockSums s = block_sums<true>(w, x, bsum);
    const float d = qgemm_block_scale(w), dmin = qgemm_block_scale(w + 2);
    if (gemm_group) {
      float pair[4], min_pair[4];
      for (int p = 0; p < 4; ++p) pair[p] = float(s.pair[p]), min_pair[p] = float(s.min_pair[p]);
      c.add_pairs(pair, min_pair, d, dmin, xd[b]);
    } else {
      c.add_block(float(s.pair[0] + s.pair[1] + s.pair[2] + s.pair[3]),
                  float(s.min_pair[0] + s.min_pair[1] + s.min_pair[2] + s.min_pair[3]), d, dmin, xd[b]);
    }
  }
  return c.result();
}

}  // namespace

void qgemm_k_scalar(const QGemmTask& a) {
  const int64_t nb = a.cols / kQKBlock;
  const bool q4 = a.type == GgmlType::Q4_K;
  const bool interleaved = q4 && q4_k_interleaved(a.weight_rows);
  const int64_t gemm_tokens = a.n_tokens - a.n_tokens % 4;
  for (int64_t r = 0; r < a.n_rows; ++r) {
    const uint8_t* wr = a.w + size_t(r) * a.row_bytes;
    for (int64_t t = 0; t < a.n_tokens; ++t) {
      const int8_t* xq = a.xq + t * a.cols;
      const float* xd = a.xd + t * nb;
      const int16_t* bs = a.xbsum + t * (a.cols / 16);
      float& y = a.y[t * a.y_stride + r];
      if (interleaved) y = interleaved_order(wr, xq, xd, bs, nb, t < gemm_tokens);
      else y = q4 ? vec_dot_order<true>(wr, xq, xd, bs, nb) : vec_dot_order<false>(wr, xq, xd, bs, nb);
    }
  }
}

}  // namespace ls
