#include "kernels/huge_pages.h"

#include <new>
#if defined(__linux__)
#include <sys/mman.h>
#endif

namespace ls {

HugeBytes alloc_huge(size_t bytes) {
  const bool huge = bytes >= kHugePageBytes;
  void* mem = nullptr;
  if (posix_memalign(&mem, huge ? kHugePageBytes : 64, bytes == 0 ? 64 : bytes) != 0) throw std::bad_alloc();
#if defined(MADV_HUGEPAGE)
  if (huge) madvise(mem, bytes, MADV_HUGEPAGE);
#endif
  return HugeBytes(static_cast<uint8_t*>(mem));
}

}  // namespace ls
