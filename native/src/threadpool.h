// A persistent pool of worker threads. `parallel_for` gives each thread (the calling thread is
// thread 0) one contiguous share of [0, n), which it works through front to back in chunks
// of 1/8 of a share, shrinking to a quarter of what is left near its end; a thread that runs
// out takes half of what is left (at most 1/8 of a share) from the back of another's share,
// so uneven work (causal attention over a prompt) and a descheduled thread still finish
// together, and the threads' last chunks are small (the one finishing first waits less).
// Returns when all of [0, n) is done. Callers must not depend on which thread runs which items.
// Start and finish are signalled through atomics that the threads spin on briefly (a decode
// step issues hundreds of parallel_for calls a few microseconds apart) before falling back
// to sleeping on a condition variable, so an idle pool costs no CPU. A job waits only for the
// workers that joined it: once the calling thread has claimed the last chunk it closes the job,
// and a worker that was asleep or descheduled until then skips it instead of delaying it (on a
// shared machine a decode step would otherwise stall at many of its ~150 joins).
// Not reentrant: one parallel_for at a time per pool (the engine serialises its work).
#pragma once
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace ls {

class ThreadPool {
 public:
  explicit ThreadPool(int n_threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return n_threads_; }
  // fn(begin, end, thread_index) over a partition of [0, n); empty chunks are skipped.
  void parallel_for(int64_t n, const std::function<void(int64_t, int64_t, int)>& fn);

 private:
  void worker(int index);
  void run_shares(int index);
  bool claim(int share, bool from_back, int64_t& begin, int64_t& end);

  // One thread's share: [begin, end) packed as begin << 32 | end, so owner and thieves claim
  // chunks with one compare-and-swap.
  struct alignas(64) Share {
    std::atomic<uint64_t> span{0};
  };

  int n_threads_;
  std::vector<std::thread> threads_;
  std::mutex mu_;
  std::condition_variable start_cv_, done_cv_;
  std::atomic<uint64_t> generation_{0};  // bumped (under mu_) to start a job
  // A worker joins a job by incrementing active_ and then finding open_ set; the caller clears
  // open_ and then waits for active_ to reach 0 before it touches the job's state again
  // (both sides sequentially consistent: a worker either sees the job closed or is waited for).
  std::atomic<bool> open_{false};
  std::atomic<int> active_{0};
  std::atomic<bool> stopping_{false};
  int64_t chunk_ = 1;                    // the job, published by the generation bump
  const std::function<void(int64_t, int64_t, int)>* fn_ = nullptr;
  std::vector<Share> shares_;
};

}  // namespace ls
