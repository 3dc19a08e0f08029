// Shared tiling of the x86 integer GEMM kernels: tiles of up to R weight rows x T tokens,
// each tile kept in registers across the whole row (a weight block is loaded once per tile).
#pragma once
#include "kernels/qgemm.h"

namespace ls::qgemm_detail {

// Calls Tile::template run<R, T>(task, r0, t0) over the whole task, R <= RMax, T <= TMax.
template <class Tile, int R, int TMax>
inline void run_tokens(const QGemmTask& a, int64_t r0) {
  int64_t t0 = 0;
  for (; t0 + TMax <= a.n_tokens; t0 += TMax) Tile::template run<R, TMax>(a, r0, t0);
  switch (a.n_tokens - t0) {
    case 3: if constexpr (TMax > 3) Tile::template run<R, 3>(a, r0, t0); break;
    case 2: if constexpr (TMax > 2) Tile::template run<R, 2>(a, r0, t0); break;
    case 1: if constexpr (TMax > 1) Tile::template run<R, 1>(a, r0, t0); break;
    default: break;
  }
}

template <class Tile, int RMax, int TMax>
inline void run_tiles(const QGemmTask& a) {
  static_assert(RMax <= 4 && TMax <= 4, "tails handle at most 3 leftover rows/tokens");
  int64_t r0 = 0;
  for (; r0 + RMax <= a.n_rows; r0 += RMax) run_tokens<Tile, RMax, TMax>(a, r0);
  switch (a.n_rows - r0) {
    case 3: if constexpr (RMax > 3) run_tokens<Tile, 3, TMax>(a, r0); break;
    case 2: if constexpr (RMax > 2) run_tokens<Tile, 2, TMax>(a, r0); break;
    case 1: if constexpr (RMax > 1) run_tokens<Tile, 1, TMax>(a, r0); break;
    default: break;
  }
}

}  // namespace ls::qgemm_detail
