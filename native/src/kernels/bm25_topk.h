// BM25 top-n over postings held in memory, scored as LanceDB 0.37.1 (lance 10) scores a
// MultiMatchQuery over several full-text-indexed columns:
//   per column, score(doc) = sum over the query's distinct terms t in doc of idf(t) * w(t, doc),
//     idf(t) = ln((N - df + 0.5) / (df + 0.5) + 1)   (N: documents in the column with a token,
//                                                    df: documents with t),
//     w = (k1 + 1) tf / (tf + k1 (1 - b + b len / avglen)),  k1 = 1.2, b = 0.75,
//   all in f32; the caller precomputes w per posting (it depends on the document alone);
//   final(doc) = max over the columns matching doc of boost * score(doc).
// The statistics (N, df, avglen) are the whole column's even when a mask (a where-filter) hides
// rows, as LanceDB's prefilter leaves them. f32 sums depend on order: the terms are added in
// order of rising idf, which is LanceDB's usual order but not always (its MaxScore search adds
// some terms later), so a score may differ from LanceDB's in the last bit or two.
#pragma once
#include <cstdint>

namespace ls {

struct Bm25Column {
  const uint32_t* starts = nullptr;  // terms + 1 offsets into docs/weights, per term id
  const uint32_t* docs = nullptr;    // row of each posting, rising within a term
  const float* weights = nullptr;    // w of each posting
  uint32_t terms = 0;
  uint64_t postings = 0;             // length of docs and weights
  uint64_t documents = 0;            // N: documents with at least one token
  float boost = 1.0f;
};

// The top n rows by final score (ties by lower row), skipping rows whose mask byte is 0 (mask
// may be null); rows without any query term are never returned. query_terms are distinct term
// ids. Writes up to n rows and scores; returns the count, or -1 when the arrays are inconsistent
// (a term id past `terms`, offsets out of order or past `postings`, a posting row >= rows).
int64_t bm25_topk(const Bm25Column* columns, int ncolumns, uint32_t rows, const uint32_t* query_terms, int64_t nterms,
                  int64_t n, const uint8_t* mask, uint32_t* rows_out, float* scores_out);

// idf as above, in f32 (std::log on a float: the same libm logf LanceDB's f32::ln calls).
float bm25_idf(uint64_t df, uint64_t documents);

}  // namespace ls
