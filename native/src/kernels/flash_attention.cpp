#include "kernels/flash_attention.h"

#include <algorithm>
#include <cmath>

#include "kernels/expf_ggml.h"
#include "kernels/half.h"

namespace ls {
namespace {

// The scalar level: one lane, the members every Vec provides.
struct Vec {
  using T = float;
  using L = int32_t;
  static constexpr int W = 1;
  static constexpr int kAcc = 8;
  static constexpr int kMaxG = 4;
  static T zero() { return 0.f; }
  static T set1(float x) { return x; }
  static T load(const float* p) { return *p; }
  static void store(float* p, T x) { *p = x; }
  static T bcast(const float* p) { return *p; }
  static T fma(T a, T b, T c) { return std::fma(a, b, c); }
  static T mul(T a, T b) { return a * b; }
  static T add(T a, T b) { return a + b; }
  static T sub(T a, T b) { return a - b; }
  static T max(T a, T b) { return a > b ? a : b; }
  static L load_limit(const int32_t* p) { return *p; }
  static T mask_after(T x, L limit, int32_t pos) { return pos > limit ? -INFINITY : x; }
  static T finite_or_zero(T m) { return m == -INFINITY ? 0.f : m; }
  static T exp(T x) { return x >= -87.f ? expf_ggml(x) : 0.f; }
  static void convert_f16(const uint16_t* src, int64_t n, float* dst) {
    for (int64_t i = 0; i < n; ++i) dst[i] = fp16_to_f32(src[i]);
  }
  static T load_f16(const uint16_t* p) { return fp16_to_f32(*p); }
};

}  // namespace
}  // namespace ls

#include "kernels/flash_attention_simd.h"

namespace ls {

const FlashKernelSet& flash_kernels_scalar() { return kFlashKernels; }

namespace {

const FlashKernelSet& kernels_for(KernelLevel level) {
#if defined(__x86_64__)
  if (int(level) > int(cpu_kernel_level())) level = cpu_kernel_level();
  if (level == KernelLevel::Avx512) return flash_kernels_avx512();
  if (level == KernelLevel::Avx2) return flash_kernels_avx2();
#endif
  return flash_kernels_scalar();
}

const FlashKernelSet& active() {
  static const FlashKernelSet& set = kernels_for(active_kernel_level());
  return set;
}

}  // namespace

void flash_load_queries(const FlashShape& s, const float* q, int64_t heads, int64_t token_stride, float scale,
                        float* qt) {
  std::fill(qt, qt + s.qt_floats(), 0.f);
  for (int64_t r = 0; r < s.rows; ++r) {
    const float* row = q + (r / heads) * token_stride + (r % heads) * s.hd;
    for (int64_t i = 0; i < s.hd; ++i) qt[i * s.ld + r] = row[i] * scale;
  }
}

void flash_prefetch(const void* rows, int64_t stride, int64_t n, int64_t bytes) {
  const char* p = static_cast<const char*>(rows);
  for (int64_t j = 0; j < n; ++j)
    for (int64_t i = 0; i < bytes; i += 64) __builtin_prefetch(p + j * stride + i);
}

void flash_reset(const FlashShape& s, FlashState st) {
  std::fill(st.m, st.m + s.ld, -INFINITY);
  std::fill(st.l, st.l + s.ld, 0.f);
  std::fill(st.acc, st.acc + s.hdp * s.ld, 0.f);
}

void flash_output(const FlashShape& s, FlashState st, float* out, int64_t heads, int64_t token_stride) {
  for (int64_t r = 0; r < s.rows; ++r) {
    float* row = out + (r / heads) * token_stride + (r % heads) * s.hd;
    const float l = st.l[r];
    for (int64_t i = 0; i < s.hd; ++i) row[i] = l > 0.f ? st.acc[s.acc_at(i, r)] / l : 0.f;
  }
}

void flash_block(const FlashShape& s, const float* qt, const uint16_t* k, const uint16_t* v, int64_t stride, int64_t n,
                 int64_t pos, const int32_t* limit, FlashState st, float* scratch, const FlashNext& next) {
  active().block(s, qt, k, v, stride, n, pos, limit, st, scratch, next);
}

void flash_merge(const FlashShape& s, FlashState into, FlashState part) { active().merge(s, into, part); }

void flash_scores(const FlashShape& s, const float* qt, const void* const* keys, bool keys_f16, int64_t n, float* out,
                  float* scratch) {
  active().scores(s, qt, keys, keys_f16, n, out, scratch);
}

void flash_scores16(const FlashShape& s, const float* qt, const void* keys16, bool keys_f16, int64_t n_groups,
                    float* out) {
  active().scores16(s, qt, keys16, keys_f16, n_groups, out);
}

void flash_scores16_at(KernelLevel level, const FlashShape& s, const float* qt, const void* keys16, bool keys_f16,
                       int64_t n_groups, float* out) {
  kernels_for(level).scores16(s, qt, keys16, keys_f16, n_groups, out);
}

void flash_block_at(KernelLevel level, const FlashShape& s, const float* qt, const uint16_t* k, const uint16_t* v,
                    int64_t stride, int64_t n, int64_t pos, const int32_t* limit, FlashState st, float* scratch,
                    const FlashNext& next) {
  kernels_for(level).block(s, qt, k, v, stride, n, pos, limit, st, scratch, next);
}

void flash_merge_at(KernelLevel level, const FlashShape& s, FlashState into, FlashState part) {
  kernels_for(level).merge(s, into, part);
}

void flash_scores_at(KernelLevel level, const FlashShape& s, const float* qt, const void* const* keys, bool keys_f16,
                     int64_t n, float* out, float* scratch) {
  kernels_for(level).scores(s, qt, keys, keys_f16, n, out, scratch);
}

}  // namespace ls
