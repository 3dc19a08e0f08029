#include "kernels/kernel_bench.h"

#include <algorithm>
#include <chrono>
#include <numeric>
#include <vector>

#include "kernels/flash_attention.h"
#include "kernels/half.h"
#include "kernels/huge_pages.h"
#include "kernels/matmul.h"
#include "kernels/qgemm_packed.h"
#include "threadpool.h"

namespace ls {
namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// xorshift bytes: weights and activations with no structure for the hardware to exploit.
void fill_random(uint8_t* p, size_t n, uint64_t seed) {
  uint64_t s = seed | 1;
  for (size_t i = 0; i < n; ++i) {
    s ^= s << 13, s ^= s >> 7, s ^= s << 17;
    p[i] = uint8_t(s);
  }
}

}  // namespace

StreamTiming time_decode_matmul(GgmlType type, int64_t cols, size_t bytes, int threads, int reps) {
  const bool q8 = type == GgmlType::Q8_0;
  WeightMatrix w;
  w.type = type;
  w.cols = cols;
  w.row_bytes = size_t(cols / kQ8Block) * (q8 ? 34 : 18);
  w.rows = std::max<int64_t>(16, int64_t(bytes / w.row_bytes) / 16 * 16);
  std::vector<uint8_t> raw(w.row_bytes * size_t(w.rows));
  fill_random(raw.data(), raw.size(), 7);
  // Block scales 1.0 (F16 0x3c00), so no NaN or infinity reaches the sums.
  for (int64_t r = 0; r < w.rows; ++r)
    for (int64_t b = 0; b < cols / kQ8Block; ++b) {
      uint8_t* block = raw.data() + size_t(r) * w.row_bytes + size_t(b) * (q8 ? 34 : 18);
      block[0] = 0x00, block[1] = 0x3c;
    }
  w.data = raw.data();
  PackedBytes packed;
  if (active_kernel_level() == KernelLevel::Avx512 && packable(type, cols)) {
    packed = pack_rows16(type, w.data, w.rows, cols, w.row_bytes);
    w.packed = packed.get();
    std::vector<uint8_t>().swap(raw);  // the kernels read the packed copy only
    w.data = nullptr;
  }
  std::vector<float> x(static_cast<size_t>(cols)), y(static_cast<size_t>(w.rows));
  for (int64_t i = 0; i < cols; ++i) x[size_t(i)] = float(i % 7) - 3.f;
  ThreadPool pool(threads);
  MatmulScratch scratch;
  StreamTiming t;
  t.bytes = double(w.packed ? packed_group_bytes(type, cols) * size_t(w.rows / 16) : w.row_bytes * size_t(w.rows));
  t.seconds = 1e30;
  for (int r = 0; r < std::max(1, reps); ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    matmul(w, x.data(), 1, y.data(), pool, scratch);
    t.seconds = std::min(t.seconds, seconds_since(t0));
  }
  return t;
}

double time_flash_run(int64_t blocks, int reps) {
  constexpr int64_t kRows = 8, kHeadDim = 64, kRun = 64;
  const size_t half_block = size_t(kRun * kHeadDim);  // F16 values of one run's keys (or values)
  HugeBytes mem = alloc_huge(size_t(blocks) * 2 * half_block * sizeof(uint16_t));
  uint16_t* kv = reinterpret_cast<uint16_t*>(mem.get());
  // Uniform in [-1, 1), as Context::fill_synthetic writes them.
  uint64_t x = 88172645463325252ull;
  for (size_t i = 0; i < size_t(blocks) * 2 * half_block; ++i) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    kv[i] = f32_to_fp16(float(int64_t(x >> 40) - (int64_t(1) << 23)) / float(int64_t(1) << 23));
  }
  const FlashShape shape(kRows, kHeadDim);
  std::vector<float> qt(shape.qt_floats()), state(shape.state_floats()), scratch(shape.scratch_floats());
  for (size_t i = 0; i < qt.size(); ++i) qt[i] = 0.01f * float(i % 13);
  // A stride coprime with the block count visits every block in a scattered order.
  int64_t step = 7919 % blocks;
  while (step == 0 || std::gcd(step, blocks) != 1) step = (step + 1) % blocks;
  const auto block = [&](int64_t i) { return kv + size_t(i * step % blocks) * 2 * half_block; };
  double best = 1e30;
  for (int r = 0; r < std::max(1, reps); ++r) {
    flash_reset(shape, FlashState(shape, state.data()));
    const auto t0 = std::chrono::steady_clock::now();
    for (int64_t i = 0; i < blocks; ++i) {
      const uint16_t* k = block(i);
      const uint16_t* next = block(i + 1);
      flash_block(shape, qt.data(), k, k + half_block, kHeadDim, kRun, 0, nullptr, FlashState(shape, state.data()),
                  scratch.data(), FlashNext{next, next + half_block, int64_t(half_block * sizeof(uint16_t))});
    }
    best = std::min(best, seconds_since(t0) / double(blocks));
  }
  return best * 1e6;
}

}  // namespace ls
