#include "kernels/bm25_topk.h"

#include <algorithm>
#include <cmath>
#include <utility>
#include <vector>

namespace ls {

float bm25_idf(uint64_t df, uint64_t documents) {
  const float n = float(documents);
  const float d = float(df);
  return std::log((n - d + 0.5f) / (d + 0.5f) + 1.0f);
}

namespace {

// Whether (score, row) ranks before (score2, row2): higher score, then lower row.
bool ranks_before(float s, uint32_t r, float s2, uint32_t r2) { return s > s2 || (s == s2 && r < r2); }

}  // namespace

int64_t bm25_topk(const Bm25Column* columns, int ncolumns, uint32_t rows, const uint32_t* query_terms, int64_t nterms,
                  int64_t n, const uint8_t* mask, uint32_t* rows_out, float* scores_out) {
  // Per-thread scores (the server and its survey threads search at once): column c's score of
  // row r at c * rows + r, zero between searches. Summing every posting into a dense array and
  // then scanning all rows once costs less than tracking which rows were touched.
  thread_local std::vector<float> scratch;
  thread_local std::vector<std::pair<float, uint32_t>> terms;
  const size_t cells = size_t(rows) * size_t(ncolumns);
  if (scratch.size() < cells) scratch.resize(cells, 0.0f);
  float* acc = scratch.data();
  for (int c = 0; c < ncolumns; ++c) {
    const Bm25Column& col = columns[c];
    float* a = acc + size_t(c) * rows;
    terms.clear();
    for (int64_t q = 0; q < nterms; ++q) {
      const uint32_t t = query_terms[q];
      if (t >= col.terms || col.starts[t] > col.starts[t + 1] || col.starts[t + 1] > col.postings) {
        std::fill(acc, acc + cells, 0.0f);
        return -1;
      }
      const uint32_t df = col.starts[t + 1] - col.starts[t];
      if (df > 0) terms.emplace_back(bm25_idf(df, col.documents), t);
    }
    std::sort(terms.begin(), terms.end());
    for (const auto& [idf, t] : terms) {
      const uint32_t end = col.starts[t + 1];
      for (uint32_t p = col.starts[t]; p < end; ++p) {
        const uint32_t r = col.docs[p];
        if (r >= rows) {
          std::fill(acc, acc + cells, 0.0f);
          return -1;
        }
        a[r] += idf * col.weights[p];
      }
    }
  }
  // Column 0's cells become each row's final score (0: no match); the other columns are cleared.
  float* best = acc;
  if (columns[0].boost != 1.0f)
    for (uint32_t r = 0; r < rows; ++r) best[r] *= columns[0].boost;
  for (int c = 1; c < ncolumns; ++c) {
    float* a = acc + size_t(c) * rows;
    const float boost = columns[c].boost;
    for (uint32_t r = 0; r < rows; ++r) {
      best[r] = std::max(best[r], a[r] * boost);
      a[r] = 0.0f;
    }
  }
  // Selection in row order with a min-heap of the best n so far (its top is the worst kept). A row
  // must beat the worst kept score strictly: on equal scores the kept row, being lower, ranks first.
  int64_t kept = 0;
  // Scores must be positive (a match) until the heap is full; with n = 0 nothing is kept.
  float threshold = n > 0 ? 0.0f : INFINITY;
  const auto worse_first = [&](int64_t i, int64_t j) { return ranks_before(scores_out[i], rows_out[i], scores_out[j], rows_out[j]); };
  for (uint32_t r = 0; r < rows; ++r) {
    const float v = best[r];
    best[r] = 0.0f;
    if (!(v > threshold) || (mask && !mask[r])) continue;
    int64_t i = 0;
    if (kept < n) {
      i = kept++;
      scores_out[i] = v;
      rows_out[i] = r;
      while (i > 0 && worse_first((i - 1) / 2, i)) {
        std::swap(scores_out[i], scores_out[(i - 1) / 2]);
        std::swap(rows_out[i], rows_out[(i - 1) / 2]);
        i = (i - 1) / 2;
      }
    } else {
      scores_out[0] = v;
      rows_out[0] = r;
      for (;;) {
        int64_t w = i;
        const int64_t l = 2 * i + 1, rr = l + 1;
        if (l < kept && worse_first(w, l)) w = l;
        if (rr < kept && worse_first(w, rr)) w = rr;
        if (w == i) break;
        std::swap(scores_out[i], scores_out[w]);
        std::swap(rows_out[i], rows_out[w]);
        i = w;
      }
    }
    if (kept == n) threshold = scores_out[0];
  }
  // Heap order to best-first order.
  std::vector<std::pair<float, uint32_t>> out(static_cast<size_t>(kept));
  for (int64_t i = 0; i < kept; ++i) out[size_t(i)] = {scores_out[i], rows_out[i]};
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return ranks_before(a.first, a.second, b.first, b.second); });
  for (int64_t i = 0; i < kept; ++i) {
    scores_out[i] = out[size_t(i)].first;
    rows_out[i] = out[size_t(i)].second;
  }
  return kept;
}

}  // namespace ls
