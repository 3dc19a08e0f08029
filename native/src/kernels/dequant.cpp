#include "kernels/dequant.h"

#include <cstring>

#include "kernels/half.h"

namespace ls {
namespace {

inline uint16_t load_u16(const uint8_t* p) { return uint16_t(p[0] | (p[1] << 8)); }

// Q8_0: 32 elements = f16 scale + 32 int8.
void dequant_q8_0(const uint8_t* src, float* dst, int64_t n) {
  for (int64_t b = 0; b < n / 32; ++b, src += 34, dst += 32) {
    const float d = fp16_to_f32(load_u16(src));
    const int8_t* q = reinterpret_cast<const int8_t*>(src + 2);
    for (int j = 0; j < 32; ++j) dst[j] = d * float(q[j]);
  }
}

// Q4_0: 32 elements = f16 scale + 16 bytes; low nibbles are elements 0..15, high 16..31, offset 8.
void dequant_q4_0(const uint8_t* src, float* dst, int64_t n) {
  for (int64_t b = 0; b < n / 32; ++b, src += 18, dst += 32) {
    const float d = fp16_to_f32(load_u16(src));
    const uint8_t* q = src + 2;
    for (int j = 0; j < 16; ++j) {
      dst[j] = d * float(int(q[j] & 0xf) - 8);
      dst[j + 16] = d * float(int(q[j] >> 4) - 8);
    }
  }
}

// Q4_K super-block of 256: f16 d, f16 dmin, 12 bytes of packed 6-bit (scale, min) for
// 8 sub-blocks of 32, then 128 bytes of nibbles (each 32-byte run holds two sub-blocks).
void dequant_q4_k(const uint8_t* src, float* dst, int64_t n) {
  for (int64_t b = 0; b < n / 256; ++b, src += 144) {
    const float d = fp16_to_f32(load_u16(src));
    const float dmin = fp16_to_f32(load_u16(src + 2));
    const uint8_t* scales = src + 4;
    const uint8_t* q = src + 16;
    for (int sub = 0; sub < 8; sub += 2, q += 32) {
      int sc, m;
      q4_k_scale_min(sub, scales, sc, m);
      const float d_lo = d * float(sc), m_lo = dmin * float(m);
      q4_k_scale_min(sub + 1, scales, sc, m);
      const float d_hi = d * float(sc), m_hi = dmin * float(m);
      for (int l = 0; l < 32; ++l) *dst++ = d_lo * float(q[l] & 0xf) - m_lo;
      for (int l = 0; l < 32; ++l) *dst++ = d_hi * float(q[l] >> 4) - m_hi;
    }
  }
}

// Q6_K super-block of 256: 128 bytes low nibbles, 64 bytes high 2-bit pairs, 16 int8
// sub-block scales, f16 d. Values are 6-bit with offset 32.
void dequant_q6_k(const uint8_t* src, float* dst, int64_t n) {
  for (int64_t b = 0; b < n / 256; ++b, src += 210) {
    const uint8_t* ql = src;
    const uint8_t* qh = src + 128;
    const int8_t* sc = reinterpret_cast<const int8_t*>(src + 192);
    const float d = fp16_to_f32(load_u16(src + 208));
    for (int half = 0; half < 2; ++half, dst += 128, ql += 64, qh += 32, sc += 8) {
      for (int l = 0; l < 32; ++l) {
        const int s = l / 16;
        const int q1 = int((ql[l] & 0xf) | (((qh[l] >> 0) & 3) << 4)) - 32;
        const int q2 = int((ql[l + 32] & 0xf) | (((qh[l] >> 2) & 3) << 4)) - 32;
        const int q3 = int((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
        const int q4 = int((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
        dst[l] = d * float(sc[s]) * float(q1);
        dst[l + 32] = d * float(sc[s + 2]) * float(q2);
        dst[l + 64] = d * float(sc[s + 4]) * float(q3);
        dst[l + 96] = d * float(sc[s + 6]) * float(q4);
      }
    }
  }
}

}  // namespace

bool is_supported_weight_type(GgmlType type) {
  switch (type) {
    case GgmlType::F32: case GgmlType::F16: case GgmlType::BF16: case GgmlType::Q8_0:
    case GgmlType::Q4_0: case GgmlType::Q4_K: case GgmlType::Q6_K:
      return true;
    default:
      return false;
  }
}

void dequantize_row(GgmlType type, const uint8_t* src, float* dst, int64_t n) {
  switch (type) {
    case GgmlType::F32:
      std::memcpy(dst, src, size_t(n) * 4);
      break;
    case GgmlType::F16:
      for (int64_t i = 0; i < n; ++i) dst[i] = fp16_to_f32(load_u16(src + 2 * i));
      break;
    case GgmlType::BF16:
      for (int64_t i = 0; i < n; ++i) dst[i] = bf16_to_f32(load_u16(src + 2 * i));
      break;
    case GgmlType::Q8_0: dequant_q8_0(src, dst, n); break;
    case GgmlType::Q4_0: dequant_q4_0(src, dst, n); break;
    case GgmlType::Q4_K: dequant_q4_k(src, dst, n); break;
    case GgmlType::Q6_K: dequant_q6_k(src, dst, n); break;
    default: break;  // callers check is_supported_weight_type first
  }
}

}  // namespace ls
