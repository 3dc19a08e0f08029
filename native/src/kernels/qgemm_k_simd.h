// The Q4_K / Q6_K x Q8_K kernel body shared by the AVX2 and AVX-512 translation units. Each
// includes it inside its own `#pragma GCC target` region after defining, in an anonymous
// namespace:
//   Scales make_scales(int lo, int hi)  — a sub-block scale for bytes 0..15 and 16..31
//   __m256i scaled_dot32(__m256i u, __m256i x, Scales s)  — int32x8: Σ of 4 u8*s8 products, scaled
// Weights are unpacked to unsigned bytes in element order once per super-block and row, then
// used for up to 4 tokens; offsets (Q6_K's 32) and mins (Q4_K) come from the Q8_K 16-value
// sums. The float steps are llama.cpp's (qgemm_k.h), as in the scalar kernel.
#pragma once

#include "kernels/qgemm_k.h"

namespace ls {
namespace {

constexpr int kKTokenTile = 4;

inline float hsum256(__m256 v) {
  const __m128 s4 = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  const __m128 s2 = _mm_add_ps(s4, _mm_movehl_ps(s4, s4));
  return _mm_cvtss_f32(_mm_add_ss(s2, _mm_movehdup_ps(s2)));
}

// (0+2) + (1+3) of a 4-lane sum.
inline float hsum128(__m128 v) {
  const __m128 s2 = _mm_add_ps(v, _mm_movehl_ps(v, v));
  return _mm_cvtss_f32(_mm_add_ss(s2, _mm_movehdup_ps(s2)));
}

inline float half_value(const uint8_t* p) {
  uint16_t h;
  __builtin_memcpy(&h, p, 2);
  return _cvtsh_ss(h);
}

// One weight super-block unpacked: 8 x 32 unsigned values, the scale of each 32-value run,
// and the int16 coefficients of the 16-value sums: Q6_K's scales (the offset is 32 times
// their products) or Q4_K's mins (each run's min twice).
struct UnpackedK {
  __m256i u[8];
  Scales scales[8];
  __m256i bsum_coef;
  float d, dmin;
};

inline void unpack_q4_k(const uint8_t* w, UnpackedK& k) {
  k.d = half_value(w);
  k.dmin = half_value(w + 2);
  const __m256i m4 = _mm256_set1_epi8(0x0f);
  for (int c = 0; c < 4; ++c) {
    const __m256i q = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w + 16 + 32 * c));
    k.u[2 * c] = _mm256_and_si256(q, m4);
    k.u[2 * c + 1] = _mm256_and_si256(_mm256_srli_epi16(q, 4), m4);
  }
  // The 12 bytes of 6-bit scales and mins (q4_k_scale_min) as 4 words: scales 0..3, 4..7,
  // mins 0..3, 4..7; each min then goes to two int16 lanes.
  uint32_t s[3];
  __builtin_memcpy(s, w + 4, 12);
  const uint32_t low6 = 0x3f3f3f3f, low4 = 0x0f0f0f0f, top2 = 0x03030303;
  const uint32_t sc_lo = s[0] & low6, sc_hi = (s[2] & low4) | (((s[0] >> 6) & top2) << 4);
  const uint32_t m_lo = s[1] & low6, m_hi = ((s[2] >> 4) & low4) | (((s[1] >> 6) & top2) << 4);
  for (int j = 0; j < 4; ++j) {
    k.scales[j] = make_scales(int((sc_lo >> (8 * j)) & 0xff), int((sc_lo >> (8 * j)) & 0xff));
    k.scales[j + 4] = make_scales(int((sc_hi >> (8 * j)) & 0xff), int((sc_hi >> (8 * j)) & 0xff));
  }
  const __m128i mins = _mm_setr_epi32(int(m_lo), int(m_hi), 0, 0);
  k.bsum_coef = _mm256_cvtepu8_epi16(_mm_shuffle_epi8(mins, _mm_setr_epi8(0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7)));
}

inline void unpack_q6_k(const uint8_t* w, UnpackedK& k) {
  k.d = half_value(w + 208);
  k.dmin = 0;
  const __m256i m4 = _mm256_set1_epi8(0x0f), m2 = _mm256_set1_epi8(3);
  for (int half = 0; half < 2; ++half) {
    const __m256i ql0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w + 64 * half));
    const __m256i ql1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w + 64 * half + 32));
    const __m256i qh = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w + 128 + 32 * half));
    const auto high = [&](int shift) { return _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, shift), m2), 4); };
    k.u[4 * half + 0] = _mm256_or_si256(_mm256_and_si256(ql0, m4), high(0));
    k.u[4 * half + 1] = _mm256_or_si256(_mm256_and_si256(ql1, m4), high(2));
    k.u[4 * half + 2] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql0, 4), m4), high(4));
    k.u[4 * half + 3] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql1, 4), m4), high(6));
  }
  const int8_t* sc = reinterpret_cast<const int8_t*>(w + 192);
  for (int j = 0; j < 8; ++j) k.scales[j] = make_scales(sc[2 * j], sc[2 * j + 1]);
  k.bsum_coef = _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(sc)));
}

enum class KOrder { Q6VecDot, Q4VecDot, Q4Interleaved };

template <KOrder kOrder>
void k_rows(const QGemmTask& a) {
  constexpr bool kQ4 = kOrder != KOrder::Q6VecDot;
  const int64_t nb = a.cols / kQKBlock;
  const int bb = kQ4 ? 144 : 210;
  const int64_t gemm_tokens = a.n_tokens - a.n_tokens % 4;
  for (int64_t r = 0; r < a.n_rows; ++r) {
    const uint8_t* wr = a.w + size_t(r) * a.row_bytes;
    for (int64_t t0 = 0; t0 < a.n_tokens; t0 += kKTokenTile) {
      const int n_t = int(std::min<int64_t>(kKTokenTile, a.n_tokens - t0));
      __m256 acc[kKTokenTile];
      __m128 acc_min[kKTokenTile];
      Q4KChains chains[kKTokenTile];
      for (int t = 0; t < kKTokenTile; ++t) acc[t] = _mm256_setzero_ps(), acc_min[t] = _mm_setzero_ps();
      for (int64_t b = 0; b < nb; ++b) {
        UnpackedK k;
        if constexpr (kQ4) unpack_q4_k(wr + b * bb, k); else unpack_q6_k(wr + b * bb, k);
        for (int t = 0; t < n_t; ++t) {
          const int64_t tok = t0 + t;
          const int8_t* x = a.xq + tok * a.cols + b * kQKBlock;
          const __m256i bs = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a.xbsum + tok * (a.cols / 16) + b * 16));
          const float xd = a.xd[tok * nb + b];
          __m256i pair[4];  // int32 lanes of runs 2p and 2p+1
          for (int p = 0; p < 4; ++p) {
            const __m256i x0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x + 64 * p));
            const __m256i x1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x + 64 * p + 32));
            pair[p] = _mm256_add_epi32(scaled_dot32(k.u[2 * p], x0, k.scales[2 * p]), scaled_dot32(k.u[2 * p + 1], x1, k.scales[2 * p + 1]));
          }
          // Lane j of coef_bsum: coefficient times the 16-value sums 2j and 2j+1 (run j).
          const __m256i coef_bsum = _mm256_madd_epi16(bs, k.bsum_coef);
          if constexpr (kOrder == KOrder::Q4Interleaved) {
            if (tok < gemm_tokens) {
              // Per pair of runs: the scaled sums (lanes 0..3) and the mins (lanes 4..7).
              const __m256i h = _mm256_hadd_epi32(_mm256_hadd_epi32(pair[0], pair[1]), _mm256_hadd_epi32(pair[2], pair[3]));
              const __m128i pair_sum = _mm_add_epi32(_mm256_castsi256_si128(h), _mm256_extracti128_si256(h, 1));
              const __m128i min_pair = _mm_hadd_epi32(_mm256_castsi256_si128(coef_bsum), _mm256_extracti128_si256(coef_bsum, 1));
              alignas(32) float f[8];
              _mm256_store_ps(f, _mm256_cvtepi32_ps(_mm256_set_m128i(min_pair, pair_sum)));
              chains[t].add_pairs(f, f + 4, k.d, k.dmin, xd);
            } else {
              // The whole block: the scaled sum and the min sum, reduced together.
              const __m256i lanes = _mm256_add_epi32(_mm256_add_epi32(pair[0], pair[1]), _mm256_add_epi32(pair[2], pair[3]));
              const __m256i h = _mm256_hadd_epi32(lanes, coef_bsum);
              const __m128i s = _mm_add_epi32(_mm256_castsi256_si128(h), _mm256_extracti128_si256(h, 1));
              const __m128 total = _mm_cvtepi32_ps(_mm_hadd_epi32(s, s));  // sum, min sum, ...
              chains[t].add_block(_mm_cvtss_f32(total), _mm_cvtss_f32(_mm_movehdup_ps(total)), k.d, k.dmin, xd);
            }
          } else {
            __m256i lanes = _mm256_add_epi32(_mm256_add_epi32(pair[0], pair[1]), _mm256_add_epi32(pair[2], pair[3]));
            if constexpr (!kQ4) lanes = _mm256_sub_epi32(lanes, _mm256_slli_epi32(coef_bsum, 5));
            acc[t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(lanes), _mm256_set1_ps(xd * k.d), acc[t]);
            if constexpr (kQ4) {
              const __m128i min_pair = _mm_hadd_epi32(_mm256_castsi256_si128(coef_bsum), _mm256_extracti128_si256(coef_bsum, 1));
              acc_min[t] = _mm_fmadd_ps(_mm_cvtepi32_ps(min_pair), _mm_set1_ps(-(xd * k.dmin)), acc_min[t]);
            }
          }
        }
      }
      for (int t = 0; t < n_t; ++t) {
        float& y = a.y[(t0 + t) * a.y_stride + r];
        if constexpr (kOrder == KOrder::Q4Interleaved) y = chains[t].result();
        else if constexpr (kQ4) y = hsum256(acc[t]) + hsum128(acc_min[t]);
        else y = hsum256(acc[t]);
      }
    }
  }
}

void k_dispatch(const QGemmTask& a) {
  if (a.type != GgmlType::Q4_K) k_rows<KOrder::Q6VecDot>(a);
  else if (q4_k_interleaved(a.weight_rows)) k_rows<KOrder::Q4Interleaved>(a);
  else k_rows<KOrder::Q4VecDot>(a);
}

}  // namespace
}  // namespace ls
