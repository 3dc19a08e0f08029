// The x86 intrinsics, with the warnings GCC 12 raises about the deliberately undefined registers
// inside its own AVX-512 intrinsic headers turned off (for the including file).
#pragma once
#if defined(__x86_64__)
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>
#endif
