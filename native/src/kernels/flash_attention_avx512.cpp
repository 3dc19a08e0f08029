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
};

}  // namespace
}  // namespace ls

#include "kernels/flash_attention_simd.h"

namespace ls {
namespace {

// Scores of tiles of at most 8 rows (one token's GQA group: decode, sparse tokens, block
// selection) would fill half of each register. Instead a register holds the 8 rows × 2 keys,
// interleaved: lane 2r + e. Every score still takes the same fma chain as in block_impl, so
// the bits are the same. (P·V of a narrow tile is values_narrow: dims in lanes.)

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
// doubled queries qd; meanwhile the next run is prefetched a line an iteration.
void narrow_scores(const FlashShape& s, const float* kp, int64_t n_pad, const float* qd, float* st,
                   SpreadPrefetch& prefetch) {
  for (int64_t p0 = 0; p0 < n_pad / 2; p0 += 8) {
    __m512 acc[8];
    for (int pp = 0; pp < 8; ++pp) acc[pp] = _mm512_setzero_ps();
    const float* kb = kp + p0 * s.hd * 2;
    for (int64_t i = 0; i < s.hd; ++i) {
      prefetch.step();
      const __m512 q = _mm512_loadu_ps(qd + i * 16);
      for (int pp = 0; pp < 8; ++pp) acc[pp] = _mm512_fmadd_ps(bcast2(kb + (pp * s.hd + i) * 2), q, acc[pp]);
    }
    for (int pp = 0; pp < 8; ++pp) {
      const int64_t j = 2 * (p0 + pp);
      store_split(st + j * s.ld, st + (j + 1) * s.ld, acc[pp]);
    }
  }
}

void narrow_block(const FlashShape& s, const float* qt, const uint16_t* k, const uint16_t* v, int64_t stride, int64_t n,
                  int64_t pos, const int32_t* limit, FlashState state, float* scratch, const FlashNext& next) {
  float* kp = scratch;
  float* vf = kp + kFlashRunKeys * s.hdp;
  float* st = vf + kFlashRunKeys * s.hdp;
  float* alpha = st + kFlashRunKeys * s.ld;
  float* qd = alpha + s.ld;
  const int64_t n_pad = (n + 15) / 16 * 16;
  duplicate_rows(s, qt, qd);
  convert_pairs([&](int64_t j) { return k + j * stride; }, true, n, n_pad, s.hd, kp);
  convert_rows([&](int64_t j) { return v + j * stride; }, true, n, n, s.hd, s.hdp, vf);
  SpreadPrefetch prefetch(next);
  narrow_scores(s, kp, n_pad, qd, st, prefetch);
  softmax_step(s, n, pos, limit, st, state, alpha);
  values_narrow(s, vf, n, st, alpha, state.acc);
}

void block_512(const FlashShape& s, const float* qt, const uint16_t* k, const uint16_t* v, int64_t stride, int64_t n,
               int64_t pos, const int32_t* limit, FlashState st, float* scratch, const FlashNext& next) {
  (s.narrow() ? narrow_block : block_impl)(s, qt, k, v, stride, n, pos, limit, st, scratch, next);
}

void scores_512(const FlashShape& s, const float* qt, const void* const* keys, bool keys_f16, int64_t n, float* out,
                float* scratch) {
  if (!s.narrow()) return scores_impl(s, qt, keys, keys_f16, n, out, scratch);
  const int64_t n_pad = (n + 15) / 16 * 16;
  float* st = scratch + kFlashRunKeys * s.hdp;
  float* qd = st + kFlashRunKeys * s.ld + s.ld;
  duplicate_rows(s, qt, qd);
  convert_pairs([&](int64_t j) { return keys[j]; }, keys_f16, n, n_pad, s.hd, scratch);
  SpreadPrefetch none{FlashNext{}};
  narrow_scores(s, scratch, n_pad, qd, st, none);
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
