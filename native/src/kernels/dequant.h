// Decoding of the weight types the engine runs (F32, F16, BF16, Q8_0, Q4_0, Q4_K, Q6_K)
// into float rows. Block layouts follow ggml's on-disk format.
#pragma once
#include <cstdint>

#include "gguf.h"

namespace ls {

// True for the seven types this file decodes.
bool is_supported_weight_type(GgmlType type);
// Decodes n elements (a whole number of blocks, checked by the caller) from src into dst.
void dequantize_row(GgmlType type, const uint8_t* src, float* dst, int64_t n);

// Q4_K's packed 6-bit scale and min of sub-block j (0..7) from its 12 scale bytes.
inline void q4_k_scale_min(int j, const uint8_t* s, int& scale, int& min) {
  if (j < 4) {
    scale = s[j] & 63;
    min = s[j + 4] & 63;
  } else {
    scale = (s[j + 4] & 0xf) | ((s[j - 4] >> 6) << 4);
    min = (s[j + 4] >> 4) | ((s[j] >> 6) << 4);
  }
}

}  // namespace ls
