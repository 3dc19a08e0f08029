// Memory for data streamed once per token (packed weights, KV blocks, the bandwidth probe):
// aligned to 2 MiB and advised as transparent huge pages where the OS has them, because with
// 4 KiB pages every 4 KiB read is a TLB miss. Advice only: without huge pages it still works.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>

namespace ls {

struct FreeDeleter {
  void operator()(uint8_t* p) const { std::free(p); }
};
using HugeBytes = std::unique_ptr<uint8_t, FreeDeleter>;

constexpr size_t kHugePageBytes = size_t(2) << 20;

// `bytes` uninitialised bytes, 2 MiB aligned when at least 2 MiB, else 64-byte aligned.
// Throws std::bad_alloc.
HugeBytes alloc_huge(size_t bytes);

}  // namespace ls
