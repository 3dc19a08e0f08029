// The flash-attention kernel body shared by the scalar, AVX2 and AVX-512 translation units.
// Each defines, in an anonymous namespace, `struct Vec` (W lanes of float; see the scalar one
// in flash_attention.cpp for the members) before including this, the SIMD ones inside their
// own `#pragma GCC target` region, and gets `kFlashKernels`, its FlashKernelSet.
//
// Lanes are query rows. Every lane goes through the same operations in the same order whatever
// the register blocking (G vectors of rows × J keys or C dims), so a row's bits do not depend
// on the tile it is in.
#pragma once

#include <algorithm>
#include <cstring>
#include <type_traits>

#include "kernels/flash_attention_impl.h"

namespace ls {
namespace {

using VT = typename Vec::T;

// Calls fn(std::integral_constant<int, G>, first vector) over nv vectors of rows, G vectors at a
// time, G halving down to 1 for the rest.
template <int G, class Fn>
[[gnu::always_inline]] inline void for_slabs(int64_t v0, int64_t nv, Fn&& fn) {
  for (; v0 + G <= nv; v0 += G) fn(std::integral_constant<int, G>{}, v0);
  if constexpr (G > 1) for_slabs<G / 2>(v0, nv, fn);
}

int64_t vectors_for(int64_t rows) { return (rows + Vec::W - 1) / Vec::W; }

// Row j of K or V (at row(j), F16 or F32) as an F32 row hdp wide, zero padded, for j < n;
// rows n..n_pad-1 zero.
template <class Row>
void convert_rows(Row row, bool f16, int64_t n, int64_t n_pad, int64_t hd, int64_t hdp, float* dst) {
  for (int64_t j = 0; j < n; ++j) {
    float* d = dst + j * hdp;
    if (f16)
      Vec::convert_f16(static_cast<const uint16_t*>(row(j)), hd, d);
    else
      std::memcpy(d, row(j), size_t(hd) * sizeof(float));
    for (int64_t i = hd; i < hdp; ++i) d[i] = 0.f;
  }
  std::memset(dst + n * hdp, 0, size_t((n_pad - n) * hdp) * sizeof(float));
}

// F32 keys for scores_slab: key j's element i at kf[j * key_step + i * dim_step] (rows as
// convert_rows writes them, or dims-major as a KV block keeps them).
struct KeyLayout {
  int64_t key_step, dim_step;
};

// The dims-major F16 keys of a run (k[i * kFlashRunKeys + j]), n_pad of them, as F32 in the same layout.
void convert_dims_major(const uint16_t* k, int64_t n_pad, int64_t hd, float* kf) {
  for (int64_t i = 0; i < hd; ++i) Vec::convert_f16(k + i * kFlashRunKeys, n_pad, kf + i * kFlashRunKeys);
}

// st[j][lanes] = Σ_i key_j[i] qt[i][lanes] for j < n_pad (a multiple of 16), G row vectors from v0.
template <int G>
void scores_slab(const float* kf, KeyLayout kl, int64_t hd, int64_t n_pad, const float* qt, int64_t ld, int64_t v0,
                 float* st) {
  constexpr int J = Vec::kAcc / G > 0 ? Vec::kAcc / G : 1;
  const int64_t lane0 = v0 * Vec::W;
  for (int64_t j0 = 0; j0 < n_pad; j0 += J) {
    VT acc[J][G];
    for (int jj = 0; jj < J; ++jj)
      for (int g = 0; g < G; ++g) acc[jj][g] = Vec::zero();
    const float* krow = kf + j0 * kl.key_step;
    for (int64_t i = 0; i < hd; ++i) {
      VT q[G];
      for (int g = 0; g < G; ++g) q[g] = Vec::load(qt + i * ld + lane0 + g * Vec::W);
      for (int jj = 0; jj < J; ++jj) {
        const VT b = Vec::bcast(krow + jj * kl.key_step + i * kl.dim_step);
        for (int g = 0; g < G; ++g) acc[jj][g] = Vec::fma(b, q[g], acc[jj][g]);
      }
    }
    for (int jj = 0; jj < J; ++jj)
      for (int g = 0; g < G; ++g) Vec::store(st + (j0 + jj) * ld + lane0 + g * Vec::W, acc[jj][g]);
  }
}

void scores_all(const FlashShape& s, const float* kf, KeyLayout kl, int64_t n_pad, const float* qt, float* st) {
  for_slabs<Vec::kMaxG>(0, vectors_for(s.rows), [&](auto g, int64_t v0) {
    scores_slab<decltype(g)::value>(kf, kl, s.hd, n_pad, qt, s.ld, v0, st);
  });
}

// The online-softmax step over a run's scores (in place: st becomes exp(score - new max)):
// masks, the new max, alpha = exp(old max - new max), l = l * alpha + Σ p.
void softmax_step(const FlashShape& s, int64_t n, int64_t pos, const int32_t* limit, float* st, FlashState state,
                  float* alpha) {
  const VT neg_inf = Vec::set1(-__builtin_inff());
  for (int64_t v = 0, nv = vectors_for(s.rows); v < nv; ++v) {
    const int64_t lane = v * Vec::W;
    const VT m_old = Vec::load(state.m + lane);
    VT top = neg_inf;
    if (limit) {
      const typename Vec::L lim = Vec::load_limit(limit + lane);
      for (int64_t j = 0; j < n; ++j) {
        const VT x = Vec::mask_after(Vec::load(st + j * s.ld + lane), lim, int32_t(pos + j));
        Vec::store(st + j * s.ld + lane, x);
        top = Vec::max(top, x);
      }
    } else {
      for (int64_t j = 0; j < n; ++j) top = Vec::max(top, Vec::load(st + j * s.ld + lane));
    }
    const VT m_new = Vec::max(m_old, top);
    const VT shift = Vec::finite_or_zero(m_new);
    const VT a = Vec::exp(Vec::sub(m_old, shift));
    // Σ p in the order of flash_attention.h: partial sums of keys t, t + 16, ... then a tree.
    VT part[16];
    for (int64_t j = 0; j < 16; ++j) part[j] = Vec::zero();
    for (int64_t j = 0; j < n; ++j) {
      const VT p = Vec::exp(Vec::sub(Vec::load(st + j * s.ld + lane), shift));
      Vec::store(st + j * s.ld + lane, p);
      part[j % 16] = j < 16 ? p : Vec::add(part[j % 16], p);
    }
    for (int w = 8; w >= 1; w /= 2)
      for (int t = 0; t < w; ++t) part[t] = Vec::add(part[t], part[t + w]);
    Vec::store(state.l + lane, Vec::fma(Vec::load(state.l + lane), a, part[0]));
    Vec::store(state.m + lane, m_new);
    Vec::store(alpha + lane, a);
  }
}

// acc[c][lanes] = acc[c][lanes] * alpha + Σ_j vf[j][c] p[j][lanes], G row vectors from v0.
template <int G>
void values_slab(const float* vf, int64_t hdp, int64_t n, const float* p, int64_t ld, int64_t v0, const float* alpha,
                 float* acc) {
  constexpr int C = Vec::kAcc / G >= 8 ? 8 : Vec::kAcc / G > 0 ? Vec::kAcc / G : 1;
  const int64_t lane0 = v0 * Vec::W;
  VT a[G];
  for (int g = 0; g < G; ++g) a[g] = Vec::load(alpha + lane0 + g * Vec::W);
  for (int64_t c0 = 0; c0 < hdp; c0 += C) {
    VT o[C][G];
    for (int cc = 0; cc < C; ++cc)
      for (int g = 0; g < G; ++g) o[cc][g] = Vec::mul(Vec::load(acc + (c0 + cc) * ld + lane0 + g * Vec::W), a[g]);
    for (int64_t j = 0; j < n; ++j) {
      VT pj[G];
      for (int g = 0; g < G; ++g) pj[g] = Vec::load(p + j * ld + lane0 + g * Vec::W);
      const float* vrow = vf + j * hdp + c0;
      for (int cc = 0; cc < C; ++cc) {
        const VT b = Vec::bcast(vrow + cc);
        for (int g = 0; g < G; ++g) o[cc][g] = Vec::fma(b, pj[g], o[cc][g]);
      }
    }
    for (int cc = 0; cc < C; ++cc)
      for (int g = 0; g < G; ++g) Vec::store(acc + (c0 + cc) * ld + lane0 + g * Vec::W, o[cc][g]);
  }
}

// The same for a narrow tile (acc rows × dims): a row's dims are lanes, p[j][r] a broadcast
// from memory, so no shuffles. Each element takes the same chain as in values_slab: acc * alpha, then fma(v, p) over j.
void values_narrow(const FlashShape& s, const float* vf, int64_t n, const float* p, const float* alpha, float* acc) {
  constexpr int R = int(kFlashNarrowRows), D = Vec::kAcc / R > 0 ? Vec::kAcc / R : 1;
  const int rows = int(s.rows);
  for (int64_t c0 = 0; c0 < s.hdp; c0 += D * Vec::W) {
    const int d_n = int(std::min<int64_t>(D, (s.hdp - c0) / Vec::W));
    VT o[R][D];
    for (int r = 0; r < rows; ++r) {
      const VT a = Vec::set1(alpha[r]);
      for (int d = 0; d < D; ++d)
        if (d < d_n) o[r][d] = Vec::mul(Vec::load(acc + r * s.hdp + c0 + d * Vec::W), a);
    }
    for (int64_t j = 0; j < n; ++j) {
      VT v[D];
      for (int d = 0; d < D; ++d)
        if (d < d_n) v[d] = Vec::load(vf + j * s.hdp + c0 + d * Vec::W);
      for (int r = 0; r < R; ++r) {
        if (r >= rows) break;
        const VT pr = Vec::bcast(p + j * s.ld + r);
        for (int d = 0; d < D; ++d)
          if (d < d_n) o[r][d] = Vec::fma(v[d], pr, o[r][d]);
      }
    }
    for (int r = 0; r < rows; ++r)
      for (int d = 0; d < D; ++d)
        if (d < d_n) Vec::store(acc + r * s.hdp + c0 + d * Vec::W, o[r][d]);
  }
}

void block_impl(const FlashShape& s, const float* qt, const uint16_t* k, const uint16_t* v, int64_t stride, int64_t n,
                int64_t pos, const int32_t* limit, FlashState state, float* scratch, const FlashNext& next) {
  if (next.k) {
    flash_prefetch(next.k, 0, 1, next.bytes);
    flash_prefetch(next.v, 0, 1, next.bytes);
  }
  float* kf = scratch;
  float* vf = kf + kFlashRunKeys * s.hdp;
  float* st = vf + kFlashRunKeys * s.hdp;
  float* alpha = st + kFlashRunKeys * s.ld;
  const int64_t n_pad = (n + 15) / 16 * 16;
  convert_dims_major(k, n_pad, s.hd, kf);
  convert_rows([&](int64_t j) { return v + j * stride; }, true, n, n, s.hd, s.hdp, vf);
  scores_all(s, kf, KeyLayout{1, kFlashRunKeys}, n_pad, qt, st);
  softmax_step(s, n, pos, limit, st, state, alpha);
  if (s.narrow()) return values_narrow(s, vf, n, st, alpha, state.acc);
  for_slabs<Vec::kMaxG>(0, vectors_for(s.rows), [&](auto g, int64_t v0) {
    values_slab<decltype(g)::value>(vf, s.hdp, n, st, s.ld, v0, alpha, state.acc);
  });
}

void merge_impl(const FlashShape& s, FlashState into, FlashState part) {
  float fa[kFlashNarrowRows], fb[kFlashNarrowRows];  // a narrow tile's factors, a row at a time
  for (int64_t v = 0, nv = vectors_for(s.rows); v < nv; ++v) {
    const int64_t lane = v * Vec::W;
    const VT mi = Vec::load(into.m + lane), mp = Vec::load(part.m + lane);
    const VT m = Vec::max(mi, mp), shift = Vec::finite_or_zero(m);
    const VT a = Vec::exp(Vec::sub(mi, shift)), b = Vec::exp(Vec::sub(mp, shift));
    Vec::store(into.l + lane, Vec::fma(Vec::load(into.l + lane), a, Vec::mul(Vec::load(part.l + lane), b)));
    Vec::store(into.m + lane, m);
    if (s.narrow()) {
      float av[Vec::W], bv[Vec::W];
      Vec::store(av, a);
      Vec::store(bv, b);
      for (int64_t i = 0; i < Vec::W && lane + i < s.rows; ++i) fa[lane + i] = av[i], fb[lane + i] = bv[i];
      continue;
    }
    for (int64_t c = 0; c < s.hdp; ++c) {
      float* x = into.acc + c * s.ld + lane;
      Vec::store(x, Vec::fma(Vec::load(x), a, Vec::mul(Vec::load(part.acc + c * s.ld + lane), b)));
    }
  }
  if (!s.narrow()) return;
  for (int64_t r = 0; r < s.rows; ++r) {
    const VT a = Vec::set1(fa[r]), b = Vec::set1(fb[r]);
    for (int64_t c = 0; c < s.hdp; c += Vec::W) {
      float* x = into.acc + r * s.hdp + c;
      Vec::store(x, Vec::fma(Vec::load(x), a, Vec::mul(Vec::load(part.acc + r * s.hdp + c), b)));
    }
  }
}

void scores_impl(const FlashShape& s, const float* qt, const void* const* keys, bool keys_f16, int64_t n, float* out,
                 float* scratch) {
  const int64_t n_pad = (n + 15) / 16 * 16;
  convert_rows([&](int64_t j) { return keys[j]; }, keys_f16, n, n_pad, s.hd, s.hdp, scratch);
  float* st = scratch + kFlashRunKeys * s.hdp;
  scores_all(s, scratch, KeyLayout{s.hdp, 1}, n_pad, qt, st);
  std::memcpy(out, st, size_t(n * s.ld) * sizeof(float));
}

constexpr int kScores16Vectors = 16 / Vec::W > 0 ? 16 / Vec::W : 1;  // vectors per 16 keys

// Element i of GN groups' 16 keys, F16 or F32, as KV vectors each.
template <int GN, bool F16>
[[gnu::always_inline]] inline void load_keys16(const void* keys16, int64_t group_elems, int64_t i, VT* k) {
  constexpr int KV = kScores16Vectors;
  for (int g = 0; g < GN; ++g)
    for (int v = 0; v < KV; ++v) {
      const int64_t at = g * group_elems + i * 16 + v * Vec::W;
      if constexpr (F16)
        k[g * KV + v] = Vec::load_f16(static_cast<const uint16_t*>(keys16) + at);
      else
        k[g * KV + v] = Vec::load(static_cast<const float*>(keys16) + at);
    }
}

// Rows r0 .. r0 + N - 1 of scores16_impl against GN consecutive groups; N and GN are known at
// compile time, so the loops unroll with no per-row test and the accumulators stay in registers.
template <int N, int GN, bool F16>
void scores16_rows(const FlashShape& s, const float* qt, const void* keys16, int64_t r0, float* out) {
  constexpr int KV = kScores16Vectors * GN;
  const int64_t group_elems = 16 * s.hd;
  VT acc[N][KV];
  for (int r = 0; r < N; ++r)
    for (int v = 0; v < KV; ++v) acc[r][v] = Vec::zero();
  for (int64_t i = 0; i < s.hd; ++i) {
    VT k[KV];
    load_keys16<GN, F16>(keys16, group_elems, i, k);
    for (int r = 0; r < N; ++r) {
      const VT q = Vec::bcast(qt + i * s.ld + r0 + r);
      for (int v = 0; v < KV; ++v) acc[r][v] = Vec::fma(k[v], q, acc[r][v]);
    }
  }
  for (int g = 0; g < GN; ++g)
    for (int r = 0; r < N; ++r)
      for (int v = 0; v < kScores16Vectors; ++v)
        Vec::store(out + (g * s.rows + r0 + r) * 16 + v * Vec::W, acc[r][g * kScores16Vectors + v]);
}

// Rows per pass over GN groups: as many as keep the accumulators in registers.
template <int GN>
constexpr int kScores16Rows = Vec::kAcc / (kScores16Vectors * GN) > 0 ? Vec::kAcc / (kScores16Vectors * GN) : 1;

// scores16_rows<rows> for 1 <= rows <= N.
template <int N, int GN, bool F16>
void scores16_pass(int rows, const FlashShape& s, const float* qt, const void* keys16, int64_t r0, float* out) {
  if constexpr (N > 1)
    if (rows < N) return scores16_pass<N - 1, GN, F16>(rows, s, qt, keys16, r0, out);
  scores16_rows<N, GN, F16>(s, qt, keys16, r0, out);
}

// Keys in lanes: per dim, one load of 16 keys' elements (converted from F16 as they are
// loaded) against each row's query element broadcast from memory, so no shuffles; two groups a
// pass and rows R at a time, so enough independent accumulators hide the fma latency.
template <int GN, bool F16>
void scores16_groups(const FlashShape& s, const float* qt, const void* keys16, float* out) {
  constexpr int R = kScores16Rows<GN>;
  for (int64_t r0 = 0; r0 < s.rows; r0 += R)
    scores16_pass<R, GN, F16>(int(std::min<int64_t>(R, s.rows - r0)), s, qt, keys16, r0, out);
}

void scores16_impl(const FlashShape& s, const float* qt, const void* keys16, bool keys_f16, int64_t n_groups,
                   float* out) {
  const size_t group_bytes = size_t(16 * s.hd) * (keys_f16 ? 2 : 4);
  for (int64_t g = 0; g < n_groups;) {
    const void* keys = static_cast<const char*>(keys16) + size_t(g) * group_bytes;
    float* tile = out + g * s.rows * 16;
    if (g + 2 <= n_groups) {
      (keys_f16 ? scores16_groups<2, true> : scores16_groups<2, false>)(s, qt, keys, tile);
      g += 2;
    } else {
      (keys_f16 ? scores16_groups<1, true> : scores16_groups<1, false>)(s, qt, keys, tile);
      g += 1;
    }
  }
}

const FlashKernelSet kFlashKernels{block_impl, merge_impl, scores_impl, scores16_impl};

}  // namespace
}  // namespace ls
