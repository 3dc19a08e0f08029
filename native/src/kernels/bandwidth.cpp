#include "kernels/bandwidth.h"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <memory>
#include <thread>
#include <vector>

#include "kernels/cpu_features.h"
#include "kernels/huge_pages.h"
#if defined(__x86_64__)
#include "kernels/x86_intrinsics.h"
#endif

namespace ls {
namespace {

// Sums 64-bit words (8 independent chains) so every byte is loaded and nothing is elided.
uint64_t read_scalar(const uint64_t* p, size_t words) {
  uint64_t acc[8] = {};
  size_t i = 0;
  for (; i + 8 <= words; i += 8)
    for (int j = 0; j < 8; ++j) acc[j] += p[i + j];
  for (; i < words; ++i) acc[0] += p[i];
  uint64_t sum = 0;
  for (uint64_t a : acc) sum += a;
  return sum;
}

#if defined(__x86_64__)
// Prefetches 4 KiB ahead, as the decode kernels do: without it a plain sweep reads well below
// what a streaming kernel reaches on this class of CPU, and a bound set that low flatters everyone.
__attribute__((target("avx512f"))) uint64_t read_avx512(const uint64_t* p, size_t words) {
  __m512i a0 = _mm512_setzero_si512(), a1 = a0, a2 = a0, a3 = a0;
  size_t i = 0;
  for (; i + 32 <= words; i += 32) {
    _mm_prefetch(reinterpret_cast<const char*>(p + i) + 4096, _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char*>(p + i) + 4096 + 64, _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char*>(p + i) + 4096 + 128, _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char*>(p + i) + 4096 + 192, _MM_HINT_T0);
    a0 = _mm512_add_epi64(a0, _mm512_loadu_si512(p + i));
    a1 = _mm512_add_epi64(a1, _mm512_loadu_si512(p + i + 8));
    a2 = _mm512_add_epi64(a2, _mm512_loadu_si512(p + i + 16));
    a3 = _mm512_add_epi64(a3, _mm512_loadu_si512(p + i + 24));
  }
  const __m512i s = _mm512_add_epi64(_mm512_add_epi64(a0, a1), _mm512_add_epi64(a2, a3));
  return uint64_t(_mm512_reduce_add_epi64(s)) + read_scalar(p + i, words - i);
}
#endif

uint64_t read_words(const uint64_t* p, size_t words) {
#if defined(__x86_64__)
  if (cpu_kernel_level() == KernelLevel::Avx512) return read_avx512(p, words);
#endif
  return read_scalar(p, words);
}

}  // namespace

double memory_read_bandwidth(size_t bytes, int threads, int sweeps) {
  threads = std::max(1, threads);
  const size_t words = std::max<size_t>(bytes / 8, size_t(threads) * 64);
  // On huge pages where the OS has them, as the packed weights the decode kernels stream are
  // (qgemm_packed.cpp): 4 KiB pages cost a TLB miss every 4 KiB and would understate the bound.
  const HugeBytes mem = alloc_huge(words * 8);
  uint64_t* buf = reinterpret_cast<uint64_t*>(mem.get());
  std::memset(buf, 1, words * 8);  // fault every page in before timing
  const size_t per_thread = words / size_t(threads);
  std::vector<uint64_t> sinks(static_cast<size_t>(threads));
  double best = 0;
  for (int s = 0; s < std::max(1, sweeps); ++s) {
    const auto t0 = std::chrono::steady_clock::now();
    std::vector<std::thread> pool;
    for (int t = 1; t < threads; ++t)
      pool.emplace_back([&, t] { sinks[size_t(t)] += read_words(buf + size_t(t) * per_thread, per_thread); });
    sinks[0] += read_words(buf, per_thread);
    for (auto& th : pool) th.join();
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    best = std::max(best, double(per_thread * size_t(threads) * 8) / secs);
  }
  // Keep the sums observable so the loads cannot be optimised away.
  volatile uint64_t sink = 0;
  for (uint64_t v : sinks) sink = sink + v;
  return best;
}

}  // namespace ls
