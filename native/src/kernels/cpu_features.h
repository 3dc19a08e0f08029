// Which SIMD kernel set runs: the best the CPU supports, chosen once at load time, so one
// build runs on any x86-64 (other architectures always use the scalar set).
// LITSURVEY_KERNELS=scalar|avx2|avx512 forces a set (capped at what the CPU supports), e.g. to
// test the fallbacks on a machine that has AVX-512.
#pragma once

namespace ls {

enum class KernelLevel { Scalar = 0, Avx2 = 1, Avx512 = 2 };

// The best level this CPU can run: Avx512 needs AVX-512 F/BW/VL/DQ + VNNI, Avx2 needs AVX2+FMA+F16C.
KernelLevel cpu_kernel_level();
// The level the engine uses: cpu_kernel_level(), or LITSURVEY_KERNELS capped at it.
KernelLevel active_kernel_level();
const char* kernel_level_name(KernelLevel level);
// Parses "scalar", "avx2" or "avx512"; false for anything else.
bool parse_kernel_level(const char* name, KernelLevel& out);

}  // namespace ls
