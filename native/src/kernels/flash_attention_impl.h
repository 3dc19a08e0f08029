// The per-level kernel sets behind flash_attention.h (one translation unit per ISA).
#pragma once
#include "kernels/flash_attention.h"

namespace ls {

struct FlashKernelSet {
  void (*block)(const FlashShape&, const float*, const uint16_t*, const uint16_t*, int64_t, int64_t, int64_t,
                const int32_t*, FlashState, float*, const FlashNext&);
  void (*merge)(const FlashShape&, FlashState, FlashState);
  void (*scores)(const FlashShape&, const float*, const void* const*, bool, int64_t, float*, float*);
  void (*scores16)(const FlashShape&, const float*, const void*, bool, int64_t, float*);
};

const FlashKernelSet& flash_kernels_scalar();
#if defined(__x86_64__)
const FlashKernelSet& flash_kernels_avx2();
const FlashKernelSet& flash_kernels_avx512();
#endif

}  // namespace ls
