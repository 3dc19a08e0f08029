// The Q4_K / Q6_K x Q8_K kernel body shared by the AVX2 and AVX-512 translation units. Each
// includes it inside its own `#pragma GCC target` region after defining, in an anonymous
// namespace:
//   Scales make_scales(int lo, int hi)  — a sub-block scale for bytes 0..15 and 16..31
//   __m256i scaled_dot32(__m256i u, __m256i x, Scales s)  — int32x8: Σ of 4 u8*s8 products, scaled
// Weights are unpacked to unsigned bytes in element order once per super-block and row, then
// used for up to 4 tokens; offsets (Q6_K's 32) and mins (Q4_K) come from the Q8_K block sums.
#pragma once

namespace ls {
namespace {

constexpr int kKTokenTile = 4;

inline float hsum256(__m256 v) {
  const __m128 s4 = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  const __m128 s2 = _mm_add_ps(s4, _mm_movehl_ps(s4, s4));
  return _mm_cvtss_f32(_mm_add_ss(s2, _mm_movehdup_ps(s2)));
}

inline float half_value(const uint8_t* p) {
  uint16_t h;
  __builtin_memcpy(&h, p, 2);
  return _cvtsh_ss(h);
}

// One weight super-block unpacked: 8 x 32 unsigned values, the scale of each 32-value run,
// and the integer Σ_k coef_k * bsum_k term (Q4_K mins, Q6_K offset) as 16 coefficients.
struct UnpackedK {
  __m256i u[8];
  Scales scales[8];
  int32_t bsum_coef[16];
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
  for (int j = 0; j < 8; ++j) {
    int sc, m;
    q4_k_scale_min(j, w + 4, sc, m);
    k.scales[j] = make_scales(sc, sc);
    k.bsum_coef[2 * j] = k.bsum_coef[2 * j + 1] = m;
  }
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
  for (int j = 0; j < 16; ++j) k.bsum_coef[j] = 32 * sc[j];
}

template <bool kQ4>
void k_rows(const QGemmTask& a) {
  const int64_t nb = a.cols / kQKBlock;
  const int bb = kQ4 ? 144 : 210;
  for (int64_t r = 0; r < a.n_rows; ++r) {
    const uint8_t* wr = a.w + size_t(r) * a.row_bytes;
    for (int64_t t0 = 0; t0 < a.n_tokens; t0 += kKTokenTile) {
      const int n_t = int(std::min<int64_t>(kKTokenTile, a.n_tokens - t0));
      __m256 acc[kKTokenTile];
      float offset_sum[kKTokenTile] = {};
      for (int t = 0; t < kKTokenTile; ++t) acc[t] = _mm256_setzero_ps();
      for (int64_t b = 0; b < nb; ++b) {
        UnpackedK k;
        if constexpr (kQ4) unpack_q4_k(wr + b * bb, k); else unpack_q6_k(wr + b * bb, k);
        for (int t = 0; t < n_t; ++t) {
          const int64_t tok = t0 + t;
          const int8_t* x = a.xq + tok * a.cols + b * kQKBlock;
          const int32_t* bs = a.xbsum + tok * (a.cols / 16) + b * 16;
          const float xd = a.xd[tok * nb + b];
          __m256i isum = _mm256_setzero_si256();
          for (int j = 0; j < 8; ++j)
            isum = _mm256_add_epi32(isum, scaled_dot32(k.u[j], _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x + 32 * j)), k.scales[j]));
          int32_t coef_sum = 0;
          for (int j = 0; j < 16; ++j) coef_sum += k.bsum_coef[j] * bs[j];
          // Q6_K's offset (32 Σ sc_k Σx) shares the scale d, so it stays in the integer sum as
          // in ggml; Q4_K's mins (Σ m_j Σx) are scaled by dmin and summed apart.
          if constexpr (!kQ4) isum = _mm256_sub_epi32(isum, _mm256_setr_epi32(coef_sum, 0, 0, 0, 0, 0, 0, 0));
          acc[t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum), _mm256_set1_ps(xd * k.d), acc[t]);
          if constexpr (kQ4) offset_sum[t] += (xd * k.dmin) * float(coef_sum);
        }
      }
      for (int t = 0; t < n_t; ++t) a.y[(t0 + t) * a.y_stride + r] = hsum256(acc[t]) - offset_sum[t];
    }
  }
}

void k_dispatch(const QGemmTask& a) {
  if (a.type == GgmlType::Q4_K) k_rows<true>(a); else k_rows<false>(a);
}

}  // namespace
}  // namespace ls
