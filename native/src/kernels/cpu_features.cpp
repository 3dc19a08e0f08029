#include "kernels/cpu_features.h"

#include <cstdlib>
#include <cstring>
#include <initializer_list>

namespace ls {

KernelLevel cpu_kernel_level() {
#if defined(__x86_64__) && defined(__GNUC__)
  static const KernelLevel level = [] {
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq") &&
        __builtin_cpu_supports("avx512vnni"))
      return KernelLevel::Avx512;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c"))
      return KernelLevel::Avx2;
    return KernelLevel::Scalar;
  }();
  return level;
#else
  return KernelLevel::Scalar;
#endif
}

KernelLevel active_kernel_level() {
  static const KernelLevel level = [] {
    const KernelLevel best = cpu_kernel_level();
    KernelLevel forced;
    const char* env = std::getenv("LITSURVEY_KERNELS");
    if (env && parse_kernel_level(env, forced) && int(forced) < int(best)) return forced;
    return best;
  }();
  return level;
}

const char* kernel_level_name(KernelLevel level) {
  switch (level) {
    case KernelLevel::Avx512: return "avx512";
    case KernelLevel::Avx2: return "avx2";
    default: return "scalar";
  }
}

bool parse_kernel_level(const char* name, KernelLevel& out) {
  for (KernelLevel l : {KernelLevel::Scalar, KernelLevel::Avx2, KernelLevel::Avx512}) {
    if (std::strcmp(name, kernel_level_name(l)) == 0) {
      out = l;
      return true;
    }
  }
  return false;
}

}  // namespace ls
