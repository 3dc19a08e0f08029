#include "threadpool.h"

#include <algorithm>
#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace ls {
namespace {

// About 10-70 microseconds of polling (pause takes ~40-140 cycles): long enough to bridge the
// gap between the matmuls of one forward pass, short enough not to burn a core when idle.
constexpr int kSpinIterations = 1 << 10;

inline void cpu_relax() {
#if defined(__x86_64__)
  _mm_pause();
#else
  std::this_thread::yield();
#endif
}

template <class Ready>
bool spin_until(Ready ready) {
  for (int i = 0; i < kSpinIterations; ++i) {
    if (ready()) return true;
    cpu_relax();
  }
  return ready();
}

}  // namespace

ThreadPool::ThreadPool(int n_threads) : n_threads_(std::max(1, n_threads)), shares_(size_t(n_threads_)) {
  for (int i = 1; i < n_threads_; ++i) threads_.emplace_back([this, i] { worker(i); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_.store(true);
  }
  start_cv_.notify_all();
  for (auto& t : threads_) t.join();
}

// The owner claims from the front of its share, a quarter of what is left at most; a thief claims
// from the back, half at most; both at most chunk_, so the last chunks of a share are small.
bool ThreadPool::claim(int share, bool from_back, int64_t& begin, int64_t& end) {
  std::atomic<uint64_t>& span = shares_[size_t(share)].span;
  uint64_t v = span.load(std::memory_order_relaxed);
  for (;;) {
    const int64_t b = int64_t(v >> 32), e = int64_t(v & 0xffffffffu);
    if (b >= e) return false;
    const int64_t n = std::max<int64_t>(1, std::min(chunk_, (e - b) / (from_back ? 2 : 4)));
    const int64_t nb = from_back ? b : b + n, ne = from_back ? e - n : e;
    if (span.compare_exchange_weak(v, uint64_t(nb) << 32 | uint64_t(ne), std::memory_order_relaxed)) {
      begin = from_back ? ne : b, end = from_back ? e : nb;
      return true;
    }
  }
}

void ThreadPool::run_shares(int index) {
  int64_t begin, end;
  while (claim(index, false, begin, end)) (*fn_)(begin, end, index);
  for (int k = 1; k < n_threads_; ++k) {
    const int victim = (index + k) % n_threads_;
    while (claim(victim, true, begin, end)) (*fn_)(begin, end, index);
  }
}

void ThreadPool::worker(int index) {
  uint64_t seen = 0;
  for (;;) {
    const auto started = [&] {
      return stopping_.load(std::memory_order_acquire) || generation_.load(std::memory_order_acquire) != seen;
    };
    if (!spin_until(started)) {
      std::unique_lock<std::mutex> lock(mu_);
      start_cv_.wait(lock, started);
    }
    if (stopping_.load(std::memory_order_acquire)) return;
    seen = generation_.load(std::memory_order_acquire);
    active_.fetch_add(1);
    if (open_.load()) run_shares(index);
    if (active_.fetch_sub(1) == 1) {
      // Taking the lock orders this notify after the caller's predicate check.
      std::lock_guard<std::mutex> lock(mu_);
      done_cv_.notify_one();
    }
  }
}

void ThreadPool::parallel_for(int64_t n, const std::function<void(int64_t, int64_t, int)>& fn) {
  if (n <= 0) return;
  if (n_threads_ == 1 || n == 1) {
    fn(0, n, 0);
    return;
  }
  // Share boundaries are 32-bit; a larger job (none in the engine) runs on this thread.
  if (n >= (int64_t(1) << 32)) {
    fn(0, n, 0);
    return;
  }
  const int64_t share = (n + n_threads_ - 1) / n_threads_;
  chunk_ = std::max<int64_t>(1, (share + 7) / 8);
  for (int i = 0; i < n_threads_; ++i) {
    const int64_t b = std::min(n, share * i), e = std::min(n, b + share);
    shares_[size_t(i)].span.store(uint64_t(b) << 32 | uint64_t(e), std::memory_order_relaxed);
  }
  fn_ = &fn;
  open_.store(true);
  {
    // Bumped under the lock so a worker between its last check and its wait cannot miss it.
    std::lock_guard<std::mutex> lock(mu_);
    generation_.fetch_add(1, std::memory_order_release);
  }
  start_cv_.notify_all();
  run_shares(0);
  open_.store(false);
  const auto done = [&] { return active_.load() == 0; };
  if (!spin_until(done)) {
    std::unique_lock<std::mutex> lock(mu_);
    done_cv_.wait(lock, done);
  }
  fn_ = nullptr;
}

}  // namespace ls
