// Exact cosine top-n over vectors held in memory, scored first as int8 (a quarter of the f32 bytes,
// so 98k × 100-dimension rows stay in the L3 cache) and then re-scored exactly.
//
// Exactness: each row's int8 score differs from its true cosine by at most a bound the row and the
// query carry (Cauchy–Schwarz on the quantisation residuals, plus a slack for float rounding). After
// the exact re-scoring of the top 2n int8 candidates gives an n-th best exact score X, every row
// whose int8 score plus its bound reaches X is re-scored too; no other row can reach X. The result
// is therefore the exact top n by (cosine descending, row ascending), ties at the cut included.
#pragma once
#include <cstdint>

#include "kernels/cpu_features.h"

namespace ls {

// The quantised copy of `rows` f32 vectors of `dim` values, in caller-owned arrays:
//   codes[r * dim + j] = c + 128, c = round(u_j / steps[r]) in -127..127, u = row / |row|;
//   steps[r]: the quantisation step (max |u_j| / 127, rounded up);
//   residuals[r] >= |u - steps[r] c|_2 and code_norms[r] >= |steps[r] c|_2 (both rounded up);
//   norms[r] = |row|_2 in double, summed as exact_dot sums (0 for a zero row, which scores 0).
struct QuantizedRows {
  const float* data = nullptr;  // rows × dim, the exact values
  const uint8_t* codes = nullptr;
  const float* steps = nullptr;
  const float* residuals = nullptr;
  const float* code_norms = nullptr;
  const double* norms = nullptr;
  int64_t rows = 0;
  int64_t dim = 0;
};

void quantize_rows(const float* data, int64_t rows, int64_t dim, uint8_t* codes, float* steps, float* residuals,
                   float* code_norms, double* norms);

// a·b in double with four interleaved partial sums (element j into sum j % 4), added as
// (s0 + s1) + (s2 + s3). Every f32 product is exact in double, so the result does not depend on
// fused multiply-adds; a JS reference summing in the same order gets the same bits.
double exact_dot(const float* a, const float* b, int64_t n);

struct TopKStats {
  int64_t candidates = 0;  // rows taken by int8 score
  int64_t rescored = 0;    // rows whose bound reached the n-th exact score, re-scored exactly
};

// The top n rows by exact cosine with `query` (ties by lower row index), skipping rows whose
// mask byte is 0 (mask may be null). Writes min(n, unmasked rows) row indexes and their cosines
// (dot / (|row| |query|), 0 when either norm is 0); returns that count.
int64_t vector_topk(const QuantizedRows& v, const float* query, int64_t n, const uint8_t* mask, KernelLevel level,
                    uint32_t* rows_out, double* scores_out, TopKStats* stats);

// The int8 dot products sum_j codes[r * dim + j] * q[j] of all rows at one kernel level (exposed
// for tests: every level must give the same integers). Masked rows are scored too (it costs the
// same as skipping them) and ignored later.
void int8_row_dots(const uint8_t* codes, int64_t rows, int64_t dim, const int8_t* q, KernelLevel level, int32_t* out);

}  // namespace ls
