// ggml's vector expf, which its softmax and SiLU use for each full block of 16 values instead
// of libm's expf; the engine uses it in the same places so both round alike.
#pragma once
#include <cmath>
#include <cstdint>
#include <cstring>

namespace ls {

// exp(x) = 2^n * exp(b): n = round(x / ln 2) (found by adding 1.5 * 2^23), b = x - n ln 2 with
// ln 2 split in two parts, exp(b) by a degree-5 polynomial; |n| > 192 saturates to 0 or inf.
[[gnu::always_inline]] inline float expf_ggml(float x) {
  const float shift = 0x1.8p23f;
  const float z = std::fma(x, 0x1.715476p+0f, shift);
  const float n = z - shift;
  const float b = std::fma(-n, 0x1.7f7d1cp-20f, std::fma(-n, 0x1.62e4p-1f, x));
  const float u = b * b;
  const float j = std::fma(std::fma(std::fma(0x1.0e4020p-7f, b, 0x1.573e2ep-5f), u,
                                    std::fma(0x1.555e66p-3f, b, 0x1.fffdb6p-2f)),
                           u, std::fma(0x1.ffffecp-1f, b, 1.0f));
  const int e = int(n);
  if (e >= -126 && e <= 127) {
    // j * 2^e by a power-of-two multiply (one rounding, as vscalefps makes).
    const uint32_t bits = uint32_t(e + 127) << 23;
    float p;
    std::memcpy(&p, &bits, 4);
    return j * p;
  }
  if (std::fabs(n) > 192.f) return n <= 0.f ? 0.f : INFINITY;
  return std::ldexp(j, e);
}

// expf_ggml over 16 values, written so the SIMD clones (LS_FMA_DISPATCH) vectorise it: the
// polynomial for all lanes, then the power-of-two scale; a block with a lane outside the normal
// exponent range takes the scalar function. Same arithmetic, so the same bits.
[[gnu::always_inline]] inline void expf_ggml16(const float* x, float* out) {
  const float shift = 0x1.8p23f;
  float j[16];
  int32_t e[16];
  int32_t outside = 0;
  for (int l = 0; l < 16; ++l) {
    const float z = std::fma(x[l], 0x1.715476p+0f, shift);
    const float n = z - shift;
    const float b = std::fma(-n, 0x1.7f7d1cp-20f, std::fma(-n, 0x1.62e4p-1f, x[l]));
    const float u = b * b;
    j[l] = std::fma(std::fma(std::fma(0x1.0e4020p-7f, b, 0x1.573e2ep-5f), u, std::fma(0x1.555e66p-3f, b, 0x1.fffdb6p-2f)),
                    u, std::fma(0x1.ffffecp-1f, b, 1.0f));
    e[l] = int32_t(n);
    outside |= int32_t(e[l] < -126) | int32_t(e[l] > 127);
  }
  if (outside) {
    for (int l = 0; l < 16; ++l) out[l] = expf_ggml(x[l]);
    return;
  }
  for (int l = 0; l < 16; ++l) {
    const uint32_t bits = uint32_t(e[l] + 127) << 23;
    float p;
    std::memcpy(&p, &bits, 4);
    out[l] = j[l] * p;
  }
}

}  // namespace ls
