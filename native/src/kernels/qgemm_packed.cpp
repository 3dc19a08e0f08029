#include "kernels/qgemm_packed.h"

#include <cstring>

namespace ls {

PackedBytes pack_rows16(GgmlType type, const uint8_t* data, int64_t rows, int64_t cols, size_t row_bytes) {
  const bool q8 = type == GgmlType::Q8_0;
  const int64_t nb = cols / kQ8Block, groups = (rows + kPackRows - 1) / kPackRows;
  const int block_bytes = q8 ? 34 : 18, steps = q8 ? 8 : 4;
  const size_t group_bytes = packed_group_bytes(type, cols);
  const size_t total = (size_t(groups) * group_bytes + 63) / 64 * 64;
  // Decode streams every matrix once per token: huge pages (kernels/huge_pages.h).
  PackedBytes out = alloc_huge(total);
  std::memset(out.get(), 0, total);  // padding rows: zero scale, so they add nothing
  for (int64_t g = 0; g < groups; ++g) {
    uint8_t* scales = out.get() + size_t(g) * group_bytes;
    uint8_t* quants = scales + size_t(nb) * 2 * kPackRows;
    for (int lane = 0; lane < kPackRows && g * kPackRows + lane < rows; ++lane) {
      const uint8_t* row = data + size_t(g * kPackRows + lane) * row_bytes;
      for (int64_t b = 0; b < nb; ++b) {
        const uint8_t* blk = row + b * block_bytes;
        std::memcpy(scales + (b * kPackRows + lane) * 2, blk, 2);
        uint8_t* dst = quants + b * steps * kPackRows * 4 + lane * 4;
        for (int k = 0; k < steps; ++k)
          for (int j = 0; j < 4; ++j) dst[k * kPackRows * 4 + j] = q8 ? uint8_t(blk[2 + 4 * k + j] ^ 0x80) : blk[2 + 4 * k + j];
      }
    }
  }
  return out;
}

}  // namespace ls
