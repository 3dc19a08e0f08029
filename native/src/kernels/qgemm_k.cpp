// Q8_K activations and the scalar Q4_K / Q6_K x Q8_K kernel (the reference the SIMD ones match).
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
      out.bsum[size_t(b * 16 + k)] = s;
    }
  }
}

namespace {

// The scalar kernel mirrors the SIMD ones lane for lane (8 int32 lanes, lane i summing bytes
// 4i..4i+3 of each 32-value run; fused multiply-adds; the same final reduction), so every
// level returns bit-identical results.
constexpr int kLanes = 8;

float reduce_lanes(const float* acc) {
  float s4[4], s2[2];
  for (int i = 0; i < 4; ++i) s4[i] = acc[i] + acc[i + 4];
  s2[0] = s4[0] + s4[2];
  s2[1] = s4[1] + s4[3];
  return s2[0] + s2[1];
}

// Unpacks one super-block into u (256 unsigned values in element order), the per-lane scale
// of each 32-value run, and the coefficients of the 16-value sums (Q4_K mins, Q6_K offsets).
void unpack_q4_k(const uint8_t* w, uint8_t* u, int32_t (*lane_scale)[kLanes], int32_t* coef) {
  for (int j = 0; j < 8; ++j) {
    int sc, m;
    q4_k_scale_min(j, w + 4, sc, m);
    const uint8_t* chunk = w + 16 + (j / 2) * 32;
    const int shift = (j % 2) * 4;
    for (int l = 0; l < 32; ++l) u[32 * j + l] = uint8_t((chunk[l] >> shift) & 0xf);
    for (int i = 0; i < kLanes; ++i) lane_scale[j][i] = sc;
    coef[2 * j] = coef[2 * j + 1] = m;
  }
}

void unpack_q6_k(const uint8_t* w, uint8_t* u, int32_t (*lane_scale)[kLanes], int32_t* coef) {
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
  for (int j = 0; j < 8; ++j)
    for (int i = 0; i < kLanes; ++i) lane_scale[j][i] = sc[2 * j + i / 4];  // lanes 0..3: first 16 values
  for (int k = 0; k < 16; ++k) coef[k] = 32 * sc[k];
}

// Q4_K: Σ d_w d_x Σ_j sc_j Σ q x, minus dmin_w d_x Σ_j m_j Σx summed apart (as ggml's x86 code).
// Q6_K: d_w d_x Σ_k sc_k (Σ q x - 32 Σx), the offset kept in the integer sum.
template <bool kQ4>
float k_row_dot(const uint8_t* w, const int8_t* x, const float* xd, const int32_t* bsum, int64_t nb) {
  float acc[kLanes] = {};
  float offset_sum = 0;
  for (int64_t b = 0; b < nb; ++b, w += kQ4 ? 144 : 210, x += kQKBlock, bsum += 16) {
    uint8_t u[kQKBlock];
    int32_t lane_scale[8][kLanes], coef[16];
    if constexpr (kQ4) unpack_q4_k(w, u, lane_scale, coef); else unpack_q6_k(w, u, lane_scale, coef);
    int32_t lanes[kLanes] = {};
    for (int j = 0; j < 8; ++j)
      for (int i = 0; i < kLanes; ++i) {
        int32_t s = 0;
        for (int k = 0; k < 4; ++k) s += u[32 * j + 4 * i + k] * x[32 * j + 4 * i + k];
        lanes[i] += s * lane_scale[j][i];
      }
    int32_t coef_sum = 0;
    for (int k = 0; k < 16; ++k) coef_sum += coef[k] * bsum[k];
    const float d = qgemm_block_scale(kQ4 ? w : w + 208);
    if constexpr (!kQ4) lanes[0] -= coef_sum;
    for (int i = 0; i < kLanes; ++i) acc[i] = std::fma(float(lanes[i]), xd[b] * d, acc[i]);
    if constexpr (kQ4) offset_sum += (xd[b] * qgemm_block_scale(w + 2)) * float(coef_sum);
  }
  return reduce_lanes(acc) - offset_sum;
}

}  // namespace

void qgemm_k_scalar(const QGemmTask& a) {
  const int64_t nb = a.cols / kQKBlock;
  for (int64_t r = 0; r < a.n_rows; ++r) {
    const uint8_t* wr = a.w + size_t(r) * a.row_bytes;
    for (int64_t t = 0; t < a.n_tokens; ++t) {
      const int8_t* xq = a.xq + t * a.cols;
      const float* xd = a.xd + t * nb;
      const int32_t* bs = a.xbsum + t * (a.cols / 16);
      a.y[t * a.y_stride + r] = a.type == GgmlType::Q4_K ? k_row_dot<true>(wr, xq, xd, bs, nb) : k_row_dot<false>(wr, xq, xd, bs, nb);
    }
  }
}

}  // namespace ls
