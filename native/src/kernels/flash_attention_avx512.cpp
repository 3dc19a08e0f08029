// Flash attention with AVX-512: 16 query rows per register, tiles of 2 row vectors × 8 keys.
#if defined(__x86_64__)
#include "kernels/x86_intrinsics.h"

#pragma GCC push_options
#pragma GCC target("avx512f,avx512bw,avx512vl,avx512dq,fma,f16c")

#include <cstdint>

namespace ls {
namespace {

struct Vec {
  using T = __m512;
  using L = __m512i;
  static constexpr int W = 16;
  static constexpr int kAcc = 16;  // accumulator registers per tile
  static constexpr int kMaxG = 2;  // row vectors per tile
  static T zero() { return _mm512_setzero_ps(); }
  static T set1(float x) { return _mm512_set1_ps(x); }
  static T load(const float* p) { return _mm512_loadu_ps(p); }
  static void store(float* p, T x) { _mm512_storeu_ps(p, x); }
  static T bcast(const float* p) { return _mm512_set1_ps(*p); }
  static T fma(T a, T b, T c) { return _mm512_fmadd_ps(a, b, c); }
  static T mul(T a, T b) { return _mm512_mul_ps(a, b); }
  static T add(T a, T b) { return _mm512_add_ps(a, b); }
  static T sub(T a, T b) { return _mm512_sub_ps(a, b); }
  static T max(T a, T b) { return _mm512_max_ps(a, b); }
  static L load_limit(const int32_t* p) { return _mm512_loadu_si512(p); }
  static T mask_after(T x, L limit, int32_t pos) {
    return _mm512_mask_mov_ps(x, _mm512_cmpgt_epi32_mask(_mm512_set1_epi32(pos), limit), set1(-__builtin_inff()));
  }
  static T finite_or_zero(T m) {
    return _mm512_mask_mov_ps(m, _mm512_cmp_ps_mask(m, set1(-__builtin_inff()), _CMP_EQ_OQ), zero());
  }
  // expf_ggml's polynomial (kernels/expf_ggml.h) with vscalefps; 0 below -87 (x <= 0 here).
  static T exp(T x) {
    const T shift = set1(0x1.8p23f);
    const T n = _mm512_sub_ps(_mm512_fmadd_ps(x, set1(0x1.715476p+0f), shift), shift);
    const T b = _mm512_fnmadd_ps(n, set1(0x1.7f7d1cp-20f), _mm512_fnmadd_ps(n, set1(0x1.62e4p-1f), x));
    const T u = _mm512_mul_ps(b, b);
    const T j = fma(fma(fma(set1(0x1.0e4020p-7f), b, set1(0x1.573e2ep-5f)), u, fma(set1(0x1.555e66p-3f), b, set1(0x1.fffdb6p-2f))),
                    u, fma(set1(0x1.ffffecp-1f), b, set1(1.0f)));
    return _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(x, set1(-87.f), _CMP_GE_OQ), _mm512_scalef_ps(j, n));
  }
  static void convert_f16(const uint16_t* src, int64_t n, float* dst) {
    int64_t i = 0;
    for (; i + 16 <= n; i += 16)
      _mm512_storeu_ps(dst + i, _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(src + i))));
    if (i < n) {
      const __mmask16 m = __mmask16((1u << (n - i)) - 1);
      _mm512_mask_storeu_ps(dst + i, m, _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, src + i)));
    }
  }
  static T load_f16(const uint16_t* p) { return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p))); }
};

}  // namespace
}  // namespace ls

#include "kernels/flash_attention_simd.h"

namespace ls {
namespace {

// Block selection scores narrow tiles (one token's GQA group) against keys given as rows, which
// with rows in lanes would fill half of each register. Instead a register holds the 8 rows × 2
// keys, interleaved: lane 2r + e. Every score still takes the same fma chain as in block_impl,
// so the bits are the same. (Attention's narrow runs read dims-major keys: narrow_block_rows.)

// Permutation indices, as plain data (loaded inside the AVX-512 functions).
alignas(64) constexpr int32_t kDupIdx[16] = {0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7};
alignas(64) constexpr int32_t kEvenIdx[16] = {0, 2, 4, 6, 8, 10, 12, 14, 0, 0, 0, 0, 0, 0, 0, 0};
alignas(64) constexpr int32_t kOddIdx[16] = {1, 3, 5, 7, 9, 11, 13, 15, 0, 0, 0, 0, 0, 0, 0, 0};
alignas(64) constexpr int32_t kZipLoIdx[16] = {0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23};
alignas(64) constexpr int32_t kZipHiIdx[16] = {8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31};
__m512i idx(const int32_t* p) { return _mm512_load_si512(p); }

__m512 bcast2(const float* p) { return _mm512_broadcast_f32x2(_mm_castpd_ps(_mm_load_sd(reinterpret_cast<const double*>(p)))); }

// Writes lanes 0..7 of x's even (odd) lanes as a 16-lane row with the rest zero.
void store_split(float* even_row, float* odd_row, __m512 x) {
  _mm512_storeu_ps(even_row, _mm512_maskz_permutexvar_ps(0xff, idx(kEvenIdx), x));
  _mm512_storeu_ps(odd_row, _mm512_maskz_permutexvar_ps(0xff, idx(kOddIdx), x));
}

__m512 load_row(const void* row, bool f16, __mmask16 m) {
  if (f16) return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, static_cast<const uint16_t*>(row)));
  return _mm512_maskz_loadu_ps(m, static_cast<const float*>(row));
}

// Keys 2p and 2p+1 interleaved: kp[(p * hd + i) * 2 + e] = key(2p + e)[i], keys n..n_pad-1 zero.
template <class Row>
void convert_pairs(Row row, bool f16, int64_t n, int64_t n_pad, int64_t hd, float* kp) {
  for (int64_t p = 0; p < n_pad / 2; ++p) {
    const int64_t j = 2 * p;
    for (int64_t i = 0; i < hd; i += 16) {
      const __mmask16 m = hd - i >= 16 ? __mmask16(0xffff) : __mmask16((1u << (hd - i)) - 1);
      const __m512 a = j < n ? load_row(static_cast<const char*>(static_cast<const void*>(row(j))) + i * (f16 ? 2 : 4), f16, m) : _mm512_setzero_ps();
      const __m512 b = j + 1 < n ? load_row(static_cast<const char*>(static_cast<const void*>(row(j + 1))) + i * (f16 ? 2 : 4), f16, m) : _mm512_setzero_ps();
      const int64_t left = 2 * (hd - i);
      float* d = kp + (p * hd + i) * 2;
      _mm512_mask_storeu_ps(d, left >= 16 ? __mmask16(0xffff) : __mmask16((1u << left) - 1), _mm512_permutex2var_ps(a, idx(kZipLoIdx), b));
      if (left > 16)
        _mm512_mask_storeu_ps(d + 16, left >= 32 ? __mmask16(0xffff) : __mmask16((1u << (left - 16)) - 1),
                              _mm512_permutex2var_ps(a, idx(kZipHiIdx), b));
    }
  }
}

// qd[i] = qt[i] with each row's lane doubled (lanes 2r and 2r + 1), for narrow_scores.
void duplicate_rows(const FlashShape& s, const float* qt, float* qd) {
  for (int64_t i = 0; i < s.hd; ++i) _mm512_storeu_ps(qd + i * 16, _mm512_permutexvar_ps(idx(kDupIdx), _mm512_loadu_ps(qt + i * s.ld)));
}

// Asks for the next run's lines one a call: first its keys, then its values.
struct SpreadPrefetch {
  const char *k, *k_end, *v, *v_end;
  explicit SpreadPrefetch(const FlashNext& n)
      : k(static_cast<const char*>(n.k)), k_end(k ? k + n.bytes : nullptr), v(static_cast<const char*>(n.v)),
        v_end(v ? v + n.bytes : nullptr) {}
  void step() {
    if (k < k_end) {
      _mm_prefetch(k, _MM_HINT_T0);
      k += 64;
    } else if (v < v_end) {
      _mm_prefetch(v, _MM_HINT_T0);
      v += 64;
    }
  }
};

// st[j][r] = Σ_i key_j[i] q_r[i] for j < n_pad (a multiple of 16) from key pairs kp and the
// doubled queries qd.
void narrow_scores(const FlashShape& s, const float* kp, int64_t n_pad, const float* qd, float* st) {
  for (int64_t p0 = 0; p0 < n_pad / 2; p0 += 8) {
    __m512 acc[8];
    for (int pp = 0; pp < 8; ++pp) acc[pp] = _mm512_setzero_ps();
    const float* kb = kp + p0 * s.hd * 2;
    for (int64_t i = 0; i < s.hd; ++i) {
      const __m512 q = _mm512_loadu_ps(qd + i * 16);
      for (int pp = 0; pp < 8; ++pp) acc[pp] = _mm512_fmadd_ps(bcast2(kb + (pp * s.hd + i) * 2), q, acc[pp]);
    }
    for (int pp = 0; pp < 8; ++pp) {
      const int64_t j = 2 * (p0 + pp);
      store_split(st + j * s.ld, st + (j + 1) * s.ld, acc[pp]);
    }
  }
}

// A narrow tile's run with keys in lanes: the dims-major keys load 16 keys' element i at
// once against a row's query element broadcast from memory (no shuffles), the softmax works on
// whole vectors of a row's keys, and P·V keeps a row's dims in lanes, converting the values
// from F16 as it goes. The order of operations is flash_attention.h's, so the bits are
// block_impl's. R (<= 8) rows, known at compile time so the accumulators stay in registers.
template <int R>
void narrow_block_rows(const FlashShape& s, const float* qt, const uint16_t* k, const uint16_t* v, int64_t stride,
                       int64_t n, int64_t pos, const int32_t* limit, FlashState state, float* scratch,
                       const FlashNext& next) {
  constexpr int64_t K = kFlashRunKeys;
  float* p = scratch;  // [R][64]: scores, then exp(score - shift)
  SpreadPrefetch prefetch(next);
  for (int64_t half = 0; half < K; half += 32) {
    __m512 acc[R][2];
    for (int r = 0; r < R; ++r) acc[r][0] = acc[r][1] = _mm512_setzero_ps();
    for (int64_t i = 0; i < s.hd; ++i) {
      prefetch.step();
      const uint16_t* ki = k + i * K + half;
      const __m512 k0 = _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(ki)));
      const __m512 k1 = _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(ki + 16)));
      for (int r = 0; r < R; ++r) {
        const __m512 q = _mm512_set1_ps(qt[i * s.ld + r]);
        acc[r][0] = _mm512_fmadd_ps(k0, q, acc[r][0]);
        acc[r][1] = _mm512_fmadd_ps(k1, q, acc[r][1]);
      }
    }
    for (int r = 0; r < R; ++r) {
      _mm512_storeu_ps(p + r * K + half, acc[r][0]);
      _mm512_storeu_ps(p + r * K + half + 16, acc[r][1]);
    }
  }
  // Keys past n, or past a row's limit, to -inf; each row's max.
  const __m512i lane = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
  const __m512 neg_inf = _mm512_set1_ps(-__builtin_inff());
  alignas(64) float top[16], shift[16], alpha[16], sums[16];
  for (int r = 0; r < 16; ++r) top[r] = -__builtin_inff(), sums[r] = 0.f;
  for (int r = 0; r < R; ++r) {
    const int64_t last = limit ? std::min<int64_t>(n - 1, limit[r] - pos) : n - 1;  // the row's last key
    const __m512i last_v = _mm512_set1_epi32(int32_t(std::max<int64_t>(last, -1)));
    __m512 m = neg_inf;
    for (int64_t c = 0; c < K; c += 16) {
      const __mmask16 seen = _mm512_cmple_epi32_mask(_mm512_add_epi32(lane, _mm512_set1_epi32(int32_t(c))), last_v);
      const __m512 x = _mm512_mask_mov_ps(neg_inf, seen, _mm512_loadu_ps(p + r * K + c));
      _mm512_storeu_ps(p + r * K + c, x);
      m = _mm512_max_ps(m, x);
    }
    top[r] = _mm512_reduce_max_ps(m);
  }
  const __m512 m_old = _mm512_loadu_ps(state.m);
  const __m512 m_new = _mm512_max_ps(m_old, _mm512_load_ps(top));
  const __m512 shift_v = Vec::finite_or_zero(m_new);
  const __m512 a = Vec::exp(_mm512_sub_ps(m_old, shift_v));
  _mm512_store_ps(shift, shift_v);
  _mm512_store_ps(alpha, a);
  // p = exp(score - shift); Σ p: the four groups of 16 added lane by lane, then halved.
  for (int r = 0; r < R; ++r) {
    const __m512 sh = _mm512_set1_ps(shift[r]);
    __m512 sum = _mm512_setzero_ps();
    for (int64_t c = 0; c < K; c += 16) {
      const __m512 e = Vec::exp(_mm512_sub_ps(_mm512_loadu_ps(p + r * K + c), sh));
      _mm512_storeu_ps(p + r * K + c, e);
      sum = c == 0 ? e : _mm512_add_ps(sum, e);
    }
    const __m256 h8 = _mm256_add_ps(_mm512_castps512_ps256(sum), _mm512_extractf32x8_ps(sum, 1));
    const __m128 h4 = _mm_add_ps(_mm256_castps256_ps128(h8), _mm256_extractf128_ps(h8, 1));
    const __m128 h2 = _mm_add_ps(h4, _mm_movehl_ps(h4, h4));
    sums[r] = _mm_cvtss_f32(_mm_add_ss(h2, _mm_movehdup_ps(h2)));
  }
  _mm512_storeu_ps(state.l, _mm512_fmadd_ps(_mm512_loadu_ps(state.l), a, _mm512_load_ps(sums)));
  _mm512_storeu_ps(state.m, m_new);
  // P·V: 32 dims a pass, a row's dims in lanes.
  for (int64_t c0 = 0; c0 < s.hdp; c0 += 32) {
    const bool two = c0 + 16 < s.hdp;
    const __mmask16 m0 = s.hd - c0 >= 16 ? __mmask16(0xffff) : __mmask16((1u << (s.hd - c0)) - 1);
    const __mmask16 m1 = !two ? 0 : s.hd - c0 - 16 >= 16 ? __mmask16(0xffff) : __mmask16((1u << (s.hd - c0 - 16)) - 1);
    __m512 o[R][2];
    for (int r = 0; r < R; ++r) {
      const __m512 ar = _mm512_set1_ps(alpha[r]);
      o[r][0] = _mm512_mul_ps(_mm512_loadu_ps(state.acc + r * s.hdp + c0), ar);
      if (two) o[r][1] = _mm512_mul_ps(_mm512_loadu_ps(state.acc + r * s.hdp + c0 + 16), ar);
    }
    for (int64_t j = 0; j < n; ++j) {
      prefetch.step();
      const uint16_t* vj = v + j * stride + c0;
      const __m512 v0 = _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m0, vj));
      const __m512 v1 = two ? _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m1, vj + 16)) : v0;
      for (int r = 0; r < R; ++r) {
        const __m512 pr = _mm512_set1_ps(p[r * K + j]);
        o[r][0] = _mm512_fmadd_ps(v0, pr, o[r][0]);
        if (two) o[r][1] = _mm512_fmadd_ps(v1, pr, o[r][1]);
      }
    }
    for (int r = 0; r < R; ++r) {
      _mm512_storeu_ps(state.acc + r * s.hdp + c0, o[r][0]);
      if (two) _mm512_storeu_ps(state.acc + r * s.hdp + c0 + 16, o[r][1]);
    }
  }
}

// narrow_block_rows<rows> for 1 <= rows <= N.
template <int N>
void narrow_block(const FlashShape& s, const float* qt, const uint16_t* k, const uint16_t* v, int64_t stride, int64_t n,
                  int64_t pos, const int32_t* limit, FlashState state, float* scratch, const FlashNext& next) {
  if constexpr (N > 1)
    if (s.rows < N) return narrow_block<N - 1>(s, qt, k, v, stride, n, pos, limit, state, scratch, next);
  narrow_block_rows<N>(s, qt, k, v, stride, n, pos, limit, state, scratch, next);
}

void block_512(const FlashShape& s, const float* qt, const uint16_t* k, const uint16_t* v, int64_t stride, int64_t n,
               int64_t pos, const int32_t* limit, FlashState st, float* scratch, const FlashNext& next) {
  (s.narrow() ? narrow_block<int(kFlashNarrowRows)> : block_impl)(s, qt, k, v, stride, n, pos, limit, st, scratch, next);
}

void scores_512(const FlashShape& s, const float* qt, const void* const* keys, bool keys_f16, int64_t n, float* out,
                float* scratch) {
  if (!s.narrow()) return scores_impl(s, qt, keys, keys_f16, n, out, scratch);
  const int64_t n_pad = (n + 15) / 16 * 16;
  float* st = scratch + kFlashRunKeys * s.hdp;
  float* qd = st + kFlashRunKeys * s.ld + s.ld;
  duplicate_rows(s, qt, qd);
  convert_pairs([&](int64_t j) { return keys[j]; }, keys_f16, n, n_pad, s.hd, scratch);
  narrow_scores(s, scratch, n_pad, qd, st);
  std::memcpy(out, st, size_t(n * s.ld) * sizeof(float));
}

}  // namespace

const FlashKernelSet& flash_kernels_avx512() {
  static const FlashKernelSet set{block_512, merge_impl, scores_512, scores16_impl};
  return set;
}
}  // namespace ls

#pragma GCC pop_options
#endif
