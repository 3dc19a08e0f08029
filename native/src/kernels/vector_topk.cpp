#include "kernels/vector_topk.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <utility>
#include <vector>

#include "kernels/fma_dispatch.h"
#include "kernels/x86_intrinsics.h"

namespace ls {

namespace {

// Covers the roundings the bound leaves out, with room to spare: the int8 score's float roundings
// (< 2.4e-7 on a cosine), the bound's own float sum (< 1e-7), the exact cosine's double
// roundings (< 1e-14); steps and residual norms are rounded up. A larger slack only re-scores a
// few more rows.
constexpr float kSlack = 4e-6f;
// Candidates re-scored exactly before the bound check, per result row.
constexpr int64_t kCandidatesPerResult = 2;

// The smallest float >= x.
float round_up(double x) {
  float f = float(x);
  if (double(f) < x) f = std::nextafter(f, INFINITY);
  return f;
}

int8_t quantize(double u, double step) {
  return int8_t(std::clamp(std::nearbyint(u / step), -127.0, 127.0));
}

void int8_row_dots_scalar(const uint8_t* codes, int64_t rows, int64_t dim, const int8_t* q, int32_t* out) {
  for (int64_t r = 0; r < rows; ++r) {
    const uint8_t* p = codes + r * dim;
    int32_t sum = 0;
    for (int64_t j = 0; j < dim; ++j) sum += int32_t(p[j]) * q[j];
    out[r] = sum;
  }
}

#if defined(__x86_64__)
// 16 codes at a time, widened to 16 bits: (c + 128) * q pairs summed by vpmaddwd stay below 2^16.
__attribute__((target("avx2"))) void int8_row_dots_avx2(const uint8_t* codes, int64_t rows, int64_t dim,
                                                         const int8_t* q, int32_t* out) {
  const int64_t full = dim / 16 * 16;
  std::vector<int16_t> q16(static_cast<size_t>(full));
  for (int64_t j = 0; j < full; ++j) q16[size_t(j)] = q[j];
  for (int64_t r = 0; r < rows; ++r) {
    const uint8_t* p = codes + r * dim;
    __m256i acc = _mm256_setzero_si256();
    for (int64_t j = 0; j < full; j += 16) {
      const __m256i c = _mm256_cvtepu8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p + j)));
      acc = _mm256_add_epi32(acc, _mm256_madd_epi16(c, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(&q16[size_t(j)]))));
    }
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(acc), _mm256_extracti128_si256(acc, 1));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4e));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xb1));
    int32_t sum = _mm_cvtsi128_si32(s);
    for (int64_t j = full; j < dim; ++j) sum += int32_t(p[j]) * q[j];
    out[r] = sum;
  }
}

__attribute__((target("avx512f,avx512bw"))) inline __m512i load_block_avx512(const uint8_t* p, int64_t b, int64_t full,
                                                                             __mmask64 tail) {
  return b < full ? _mm512_loadu_si512(p + 64 * b) : _mm512_maskz_loadu_epi8(tail, p + 64 * b);
}

// The 16 lane sums of a[0..15], lane i of the result the sum of a[i]: a tree of shuffles and
// adds (45 instructions) instead of 16 horizontal reductions (~10 each). The tree leaves the
// sums in the lane order kTreeOrder, which one permutation undoes.
alignas(64) constexpr int32_t kTreeOrder[16] = {0, 2, 1, 3, 8, 10, 9, 11, 4, 6, 5, 7, 12, 14, 13, 15};
__attribute__((target("avx512f,avx512bw,avx512vnni"))) __m512i sum_lanes16(const __m512i* a) {
  __m512i b[8], c[4], d[2];
  for (int i = 0; i < 8; ++i)
    b[i] = _mm512_add_epi32(_mm512_shuffle_i32x4(a[i], a[i + 8], 0x44), _mm512_shuffle_i32x4(a[i], a[i + 8], 0xEE));
  for (int i = 0; i < 4; ++i)
    c[i] = _mm512_add_epi32(_mm512_shuffle_i32x4(b[i], b[i + 4], 0x88), _mm512_shuffle_i32x4(b[i], b[i + 4], 0xDD));
  for (int i = 0; i < 2; ++i)
    d[i] = _mm512_add_epi32(_mm512_unpacklo_epi64(c[i], c[i + 2]), _mm512_unpackhi_epi64(c[i], c[i + 2]));
  const __m512 d0 = _mm512_castsi512_ps(d[0]), d1 = _mm512_castsi512_ps(d[1]);
  const __m512i e = _mm512_add_epi32(_mm512_castps_si512(_mm512_shuffle_ps(d0, d1, 0x88)),
                                     _mm512_castps_si512(_mm512_shuffle_ps(d0, d1, 0xDD)));
  return _mm512_permutexvar_epi32(_mm512_load_si512(kTreeOrder), e);
}

// 64 codes per vpdpbusd (unsigned codes times signed query bytes, four products per 32-bit lane),
// sixteen rows at a time, their sums reduced together; the last partial block is a masked load,
// so no row is read past its end.
__attribute__((target("avx512f,avx512bw,avx512vnni"))) void int8_row_dots_avx512(const uint8_t* codes, int64_t rows,
                                                                                   int64_t dim, const int8_t* q,
                                                                                   int32_t* out) {
  const int64_t blocks = (dim + 63) / 64;
  std::vector<int8_t> qpad(size_t(blocks * 64), 0);
  std::copy(q, q + dim, qpad.begin());
  const int64_t full = dim / 64;
  const __mmask64 tail = dim % 64 ? (__mmask64(1) << (dim % 64)) - 1 : 0;
  int64_t r = 0;
  for (; r + 16 <= rows; r += 16) {
    const uint8_t* p = codes + r * dim;
    __m512i acc[16];
    for (int i = 0; i < 16; ++i) acc[i] = _mm512_setzero_si512();
    for (int64_t b = 0; b < blocks; ++b) {
      const __m512i qb = _mm512_loadu_si512(&qpad[size_t(64 * b)]);
      for (int i = 0; i < 16; ++i) acc[i] = _mm512_dpbusd_epi32(acc[i], load_block_avx512(p + i * dim, b, full, tail), qb);
    }
    _mm512_storeu_si512(out + r, sum_lanes16(acc));
  }
  for (; r + 4 <= rows; r += 4) {
    const uint8_t* p = codes + r * dim;
    __m512i acc0 = _mm512_setzero_si512(), acc1 = acc0, acc2 = acc0, acc3 = acc0;
    for (int64_t b = 0; b < blocks; ++b) {
      const __m512i qb = _mm512_loadu_si512(&qpad[size_t(64 * b)]);
      acc0 = _mm512_dpbusd_epi32(acc0, load_block_avx512(p, b, full, tail), qb);
      acc1 = _mm512_dpbusd_epi32(acc1, load_block_avx512(p + dim, b, full, tail), qb);
      acc2 = _mm512_dpbusd_epi32(acc2, load_block_avx512(p + 2 * dim, b, full, tail), qb);
      acc3 = _mm512_dpbusd_epi32(acc3, load_block_avx512(p + 3 * dim, b, full, tail), qb);
    }
    out[r] = _mm512_reduce_add_epi32(acc0);
    out[r + 1] = _mm512_reduce_add_epi32(acc1);
    out[r + 2] = _mm512_reduce_add_epi32(acc2);
    out[r + 3] = _mm512_reduce_add_epi32(acc3);
  }
  for (; r < rows; ++r) {
    __m512i acc = _mm512_setzero_si512();
    for (int64_t b = 0; b < blocks; ++b) acc = _mm512_dpbusd_epi32(acc, load_block_avx512(codes + r * dim, b, full, tail), _mm512_loadu_si512(&qpad[size_t(64 * b)]));
    out[r] = _mm512_reduce_add_epi32(acc);
  }
}
#endif

// approx[r] = step_r t (raw[r] - offset), the int8 estimate of row r's cosine, and upper[r] =
// approx[r] + bound_r (residual_r + codeNorm_r qres + kSlack), at or above its exact cosine; both
// -inf for a masked row. Returns the number of kept rows. The integers are exact and below 2^24;
// the float roundings move a value of magnitude <= ~1 by < 4e-7, inside kSlack.
LS_FMA_DISPATCH
int64_t int8_scores(const QuantizedRows& v, const int32_t* raw, float t, int32_t offset, float qres, const uint8_t* mask,
                    float* approx, float* upper) {
  int64_t kept = 0;
  for (int64_t r = 0; r < v.rows; ++r) {
    const bool keep = !mask || mask[r];
    const float a = (v.steps[r] * t) * float(raw[r] - offset);
    approx[r] = keep ? a : -INFINITY;
    upper[r] = keep ? a + (v.residuals[r] + v.code_norms[r] * qres + kSlack) : -INFINITY;
    kept += keep;
  }
  return kept;
}

// Bit j of the result: x[j] > threshold (or >= with or_equal), for n <= 64 values. A loop
// the compiler vectorises: the scans over every row test 64 at a time and visit only the hits.
LS_FMA_DISPATCH
uint64_t above_bits(const float* x, int64_t n, float threshold, bool or_equal) {
  uint64_t bits = 0;
  if (or_equal)
    for (int64_t j = 0; j < n; ++j) bits |= uint64_t(x[j] >= threshold) << j;
  else
    for (int64_t j = 0; j < n; ++j) bits |= uint64_t(x[j] > threshold) << j;
  return bits;
}

struct Scored {
  double score;
  uint32_t row;
};
// Best first: higher cosine, then lower row.
bool better(const Scored& a, const Scored& b) { return a.score != b.score ? a.score > b.score : a.row < b.row; }

}  // namespace

LS_FMA_DISPATCH
double exact_dot(const float* a, const float* b, int64_t n) {
  double s[4] = {0, 0, 0, 0};
  for (int64_t j = 0; j < n; ++j) s[j % 4] += double(a[j]) * double(b[j]);
  return (s[0] + s[1]) + (s[2] + s[3]);
}

void quantize_rows(const float* data, int64_t rows, int64_t dim, uint8_t* codes, float* steps, float* residuals,
                   float* code_norms, double* norms) {
  for (int64_t r = 0; r < rows; ++r) {
    const float* x = data + r * dim;
    uint8_t* c = codes + r * dim;
    const double norm = std::sqrt(exact_dot(x, x, dim));
    norms[r] = norm;
    double peak = 0;
    for (int64_t j = 0; j < dim; ++j) peak = std::max(peak, std::fabs(double(x[j])) / norm);
    if (norm == 0 || !(peak > 0)) {
      std::fill(c, c + dim, uint8_t(128));
      steps[r] = residuals[r] = code_norms[r] = 0;
      continue;
    }
    const float step = round_up(peak / 127);
    double res2 = 0, code2 = 0;
    for (int64_t j = 0; j < dim; ++j) {
      const double u = double(x[j]) / norm;
      const int8_t k = quantize(u, step);
      c[j] = uint8_t(k + 128);
      const double v = double(step) * k;
      res2 += (u - v) * (u - v);
      code2 += v * v;
    }
    steps[r] = step;
    residuals[r] = round_up(std::sqrt(res2));
    code_norms[r] = round_up(std::sqrt(code2));
  }
}

void int8_row_dots(const uint8_t* codes, int64_t rows, int64_t dim, const int8_t* q, KernelLevel level, int32_t* out) {
#if defined(__x86_64__)
  if (level == KernelLevel::Avx512 && cpu_kernel_level() == KernelLevel::Avx512)
    return int8_row_dots_avx512(codes, rows, dim, q, out);
  if (level >= KernelLevel::Avx2 && cpu_kernel_level() >= KernelLevel::Avx2)
    return int8_row_dots_avx2(codes, rows, dim, q, out);
#endif
  int8_row_dots_scalar(codes, rows, dim, q, out);
}

int64_t vector_topk(const QuantizedRows& v, const float* query, int64_t n, const uint8_t* mask, KernelLevel level,
                    uint32_t* rows_out, double* scores_out, TopKStats* stats) {
  const int64_t dim = v.dim;
  const double qnorm = std::sqrt(exact_dot(query, query, dim));
  const auto cosine = [&](uint32_t r) {
    const double denom = v.norms[r] * qnorm;
    return Scored{denom == 0 ? 0.0 : exact_dot(v.data + int64_t(r) * dim, query, dim) / denom, r};
  };
  // The rows re-scored lie anywhere in the f32 table: each is fetched a few rows ahead.
  constexpr size_t kAhead = 4;
  const auto fetch = [&](uint32_t r) {
    const char* p = reinterpret_cast<const char*>(v.data + int64_t(r) * dim);
    for (int64_t b = 0; b < dim * int64_t(sizeof(float)); b += 64) __builtin_prefetch(p + b);
  };
  const auto cosines = [&](const std::vector<uint32_t>& rows, std::vector<Scored>& into) {
    for (size_t i = 0; i < std::min(kAhead, rows.size()); ++i) fetch(rows[i]);
    for (size_t i = 0; i < rows.size(); ++i) {
      if (i + kAhead < rows.size()) fetch(rows[i + kAhead]);
      into.push_back(cosine(rows[i]));
    }
  };
  TopKStats local;
  if (!stats) stats = &local;
  *stats = TopKStats{};
  if (n <= 0) return 0;
  if (qnorm == 0) {
    // Every cosine is 0: the first n kept rows.
    int64_t out = 0;
    for (int64_t r = 0; r < v.rows && out < n; ++r)
      if (!mask || mask[r]) rows_out[out] = uint32_t(r), scores_out[out++] = 0;
    return out;
  }

  // The query as int8 codes d with step t, and its residual norm |q/|q| - t d|_2.
  std::vector<int8_t> d(size_t(dim), 0);
  double t = 0;
  float qres = 0;
  int64_t dsum = 0;
  {
    double peak = 0;
    for (int64_t j = 0; j < dim; ++j) peak = std::max(peak, std::fabs(double(query[j])) / qnorm);
    t = round_up(peak / 127);
    double res2 = 0;
    for (int64_t j = 0; j < dim; ++j) {
      const double u = double(query[j]) / qnorm;
      d[size_t(j)] = quantize(u, t);
      dsum += d[size_t(j)];
      res2 += (u - t * d[size_t(j)]) * (u - t * d[size_t(j)]);
    }
    qres = round_up(std::sqrt(res2));
  }

  // Pass 1: the int8 score of every kept row (-inf for the others).
  thread_local std::vector<int32_t> raw_scratch;
  thread_local std::vector<float> approx_scratch, upper_scratch;
  raw_scratch.resize(size_t(v.rows));
  approx_scratch.resize(size_t(v.rows));
  upper_scratch.resize(size_t(v.rows));
  int32_t* raw = raw_scratch.data();
  float* approx = approx_scratch.data();
  float* upper = upper_scratch.data();
  int8_row_dots(v.codes, v.rows, dim, d.data(), level, raw);
  const int64_t kept_rows = int8_scores(v, raw, float(t), int32_t(128 * dsum), qres, mask, approx, upper);
  // The m best int8 scores (any m rows would keep the result exact; the best make X tight): a
  // threshold from every 32nd row, set to keep about twice the rows needed, one filtered pass,
  // then a selection among the few kept (all kept rows when the sample's threshold keeps too few).
  const int64_t m = std::min(n * kCandidatesPerResult, kept_rows);
  std::vector<Scored> picked;
  {
    constexpr int64_t kSampleEvery = 32;
    std::vector<float> sample;
    for (int64_t r = 0; r < v.rows; r += kSampleEvery)
      if (approx[r] > -INFINITY) sample.push_back(approx[r]);
    const int64_t want = int64_t(double(m) * double(sample.size()) / double(std::max<int64_t>(1, kept_rows)) * 2) + 8;
    float threshold = -INFINITY;
    if (want < int64_t(sample.size())) {
      std::nth_element(sample.begin(), sample.begin() + want, sample.end(), std::greater<float>());
      threshold = sample[size_t(want)];
    }
    const auto collect = [&](float at_least) {
      picked.clear();
      for (int64_t r = 0; r < v.rows; r += 64)
        for (uint64_t hits = above_bits(approx + r, std::min<int64_t>(64, v.rows - r), at_least, true); hits; hits &= hits - 1) {
          const int64_t row = r + __builtin_ctzll(hits);
          if (approx[row] > -INFINITY) picked.push_back({approx[row], uint32_t(row)});
        }
    };
    collect(threshold);
    if (int64_t(picked.size()) < m) collect(-INFINITY);
    if (int64_t(picked.size()) > m) {
      std::nth_element(picked.begin(), picked.begin() + m, picked.end(), better);
      picked.resize(size_t(m));
    }
  }
  stats->candidates = int64_t(picked.size());

  std::vector<uint32_t> rows;
  for (const Scored& s : picked) rows.push_back(s.row);
  std::sort(rows.begin(), rows.end());
  std::vector<Scored> exact;
  cosines(rows, exact);  // in row order
  if (kept_rows > m) {
    // X = the n-th best exact score among the candidates; the true top n all score >= X, and a row
    // scores at most its int8 score plus its bound, so the rows whose sum reaches X contain them.
    std::vector<Scored> candidates = exact;
    std::nth_element(exact.begin(), exact.begin() + (n - 1), exact.end(), better);
    const double x = exact[size_t(n - 1)].score;
    // The scan up to X (float(x) rounded down, then the exact test); candidates keep their scores.
    float xf = float(x);
    if (double(xf) > x) xf = std::nextafter(xf, -INFINITY);
    rows.clear();
    exact.clear();
    size_t next_candidate = 0;
    for (int64_t r = 0; r < v.rows; r += 64)
      for (uint64_t hits = above_bits(upper + r, std::min<int64_t>(64, v.rows - r), xf, true); hits; hits &= hits - 1) {
        const int64_t row = r + __builtin_ctzll(hits);
        if (!(double(upper[row]) >= x)) continue;
        while (next_candidate < candidates.size() && candidates[next_candidate].row < uint32_t(row)) ++next_candidate;
        if (next_candidate < candidates.size() && candidates[next_candidate].row == uint32_t(row))
          exact.push_back(candidates[next_candidate]);
        else
          rows.push_back(uint32_t(row));
      }
    cosines(rows, exact);
  }
  stats->rescored = int64_t(exact.size());
  const int64_t out = std::min<int64_t>(n, int64_t(exact.size()));
  std::partial_sort(exact.begin(), exact.begin() + out, exact.end(), better);
  for (int64_t i = 0; i < out; ++i) {
    rows_out[i] = exact[size_t(i)].row;
    scores_out[i] = exact[size_t(i)].score;
  }
  return out;
}

}  // namespace ls
