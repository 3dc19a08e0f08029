// LS_FMA_DISPATCH: compile a function for x86-64-v4 (AVX-512), x86-64-v3 (AVX2 + FMA) and
// baseline x86-64, picked at load time. For loops written with explicit std::fma, so every
// clone computes the same bits and the newer ones vectorise them.
#pragma once

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define LS_FMA_DISPATCH __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define LS_FMA_DISPATCH
#endif
