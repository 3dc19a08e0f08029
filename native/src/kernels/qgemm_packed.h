// Q8_0 / Q4_0 weights re-laid at load for the AVX-512 VNNI kernel: rows in groups of 16, so
// one 512-bit register holds the same 4 bytes of one block from 16 rows (one int32 lane per
// row) and vpdpbusd against 4 broadcast activation bytes adds that step of all 16 row sums.
// A group is [nb x 16 fp16 block scales][nb x quants], per block k-major:
//   Q8_0: 8 steps x 16 rows x 4 bytes, stored biased (q + 128, unsigned) — 512 bytes;
//   Q4_0: 4 steps x 16 rows x 4 bytes of the block's nibble pairs, unchanged — 256 bytes
//         (low nibbles are elements 4k..4k+3, high nibbles 16+4k..16+4k+3).
// The total size equals the GGUF tensor's (plus padding rows to a multiple of 16, zero scale).
// The bias (128 or 8) times the activation block's sum is subtracted exactly in the integer
// accumulator, so every block sum is the ggml one; per row the blocks are summed in order as
// acc = fma(float(isum), d_w * d_x, acc).
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>

#include "gguf.h"
#include "kernels/huge_pages.h"
#include "kernels/qgemm.h"

namespace ls {

constexpr int kPackRows = 16;

// Bytes of one packed 16-row group of `cols` values.
inline size_t packed_group_bytes(GgmlType type, int64_t cols) {
  const size_t nb = size_t(cols / kQ8Block);
  return nb * (2 * kPackRows + (type == GgmlType::Q8_0 ? 512 : 256));
}

using PackedBytes = HugeBytes;

// Whether a matrix of this type and width has a packed layout.
inline bool packable(GgmlType type, int64_t cols) {
  return (type == GgmlType::Q8_0 || type == GgmlType::Q4_0) && cols % kQ8Block == 0 && cols > 0;
}

// Packs `rows` GGUF rows (row_bytes apart) into ceil(rows / 16) groups.
PackedBytes pack_rows16(GgmlType type, const uint8_t* data, int64_t rows, int64_t cols, size_t row_bytes);

}  // namespace ls
