// Bindings for benchmarks and kernel tests:
//   kernelInfo() → { cpu: 'avx512'|'avx2'|'scalar', active: ... } (active honours LITSURVEY_KERNELS)
//   kernelMatmul(level, type, weights: Uint8Array, rows, cols, x: Float32Array, nTokens, threads?)
//     → Float32Array of nTokens * rows: y = W x through the engine's matmul at that kernel level
//   kernelFlashAttention(level, k: Uint16Array, v: Uint16Array, stride, q: Float32Array, rows, headDim,
//                        limits: Int32Array, tileRows) → Float32Array rows × headDim: softmax attention
//     (scale 1/√headDim) of query row r over keys 0..limits[r] (key j's K/V rows at j * stride, F16),
//     run as the engine does: tiles of tileRows rows, runs of 64 keys (regrouped dims-major, as an
//     F16 KV cache keeps them), chunks merged in order
//   kernelFlashScores(level, keys: Uint16Array | Float32Array, nKeys, q: Float32Array, rows, headDim,
//                     dimsMajor = false)
//     → Float32Array rows × nKeys: q_r · key_j / √headDim through the selection's row kernel, or
//     with dimsMajor through its 16-keys kernel over the keys regrouped as the sequence copy keeps them
//   memoryReadBandwidth(bytes, threads, sweeps = 5) → best read bandwidth in bytes per second
//   benchDecodeMatmul(type: 'Q8_0' | 'Q4_0', cols, bytes, threads, reps) → { seconds, bytes }: the
//     best of reps one-token matmuls over ~bytes of packed random weights (kernels/kernel_bench.h)
//   benchFlashRun(blocks, reps) → microseconds per 64-key decode-tile attention run
//   sparseSelect(keys: Float32Array, queries: Float32Array, kvHeads, headDim, options?)
//     → { blocks: Int32Array[] (per KV head), windowFirst }: the blocks InfLLM v2 sparse
//     attention chooses for a query at the last key's position, through the engine's own
//     code (an F32 KV cache, or F16 with options.kvType 'f16'; compressed keys built
//     incrementally). keys: [nKeys][kvHeads][headDim]
//     (after RoPE); queries: [heads][headDim], heads a multiple of kvHeads; options:
//     { topk, kernelSize, kernelStride, initBlocks, windowSize } (defaults as the engine's).
#include <algorithm>
#include <climits>
#include <cstring>
#include <cmath>
#include <new>
#include <string>
#include <vector>

#include "infllm.h"
#include "kernels/bandwidth.h"
#include "kernels/cpu_features.h"
#include "kernels/flash_attention.h"
#include "kernels/kernel_bench.h"
#include "kernels/matmul.h"
#include "kernels/qgemm_packed.h"
#include "kv_cache.h"
#include "napi/registry.h"

namespace ls::napi {
namespace {

int64_t int_arg(const Napi::CallbackInfo& info, size_t i, const char* fn, const char* name, int64_t lo, int64_t hi) {
  const Napi::Value v = info[i];
  const double d = v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : NAN;
  if (!(d == std::floor(d) && d >= double(lo) && d <= double(hi)))
    throw Napi::RangeError::New(info.Env(), std::string(fn) + ": " + name + " must be an integer in " +
                                                std::to_string(lo) + ".." + std::to_string(hi));
  return int64_t(d);
}

KernelLevel level_arg(const Napi::CallbackInfo& info, const char* fn) {
  KernelLevel level;
  if (!info[0].IsString() || !parse_kernel_level(info[0].As<Napi::String>().Utf8Value().c_str(), level))
    throw Napi::TypeError::New(info.Env(), std::string(fn) + ": level must be 'scalar', 'avx2' or 'avx512'");
  return level;
}

template <class Array>
Array typed_arg(const Napi::CallbackInfo& info, size_t i, napi_typedarray_type type, const char* fn, const char* what) {
  const Napi::Value v = info[i];
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != type)
    throw Napi::TypeError::New(info.Env(), std::string(fn) + ": " + what);
  return v.As<Array>();
}

Napi::Value kernel_info(const Napi::CallbackInfo& info) {
  Napi::Object o = Napi::Object::New(info.Env());
  o.Set("cpu", kernel_level_name(cpu_kernel_level()));
  o.Set("active", kernel_level_name(active_kernel_level()));
  return o;
}

Napi::Value kernel_matmul(const Napi::CallbackInfo& info) {
  const char* fn = "kernelMatmul";
  Napi::Env env = info.Env();
  const KernelLevel level = level_arg(info, fn);
  if (!info[1].IsString()) throw Napi::TypeError::New(env, "kernelMatmul: type must be a type name such as 'Q8_0'");
  const std::string type_name = info[1].As<Napi::String>().Utf8Value();
  const TypeTraits* traits = nullptr;
  uint32_t type_id = 0;
  for (uint32_t id = 0; id <= 40 && !traits; ++id) {
    const TypeTraits* t = type_traits(id);
    if (t && t->computable && type_name == t->name) traits = t, type_id = id;
  }
  if (!traits) throw Napi::TypeError::New(env, "kernelMatmul: '" + type_name + "' is not a type the engine computes");
  auto weights = typed_arg<Napi::Uint8Array>(info, 2, napi_uint8_array, fn, "weights must be a Uint8Array");
  const int64_t rows = int_arg(info, 3, fn, "rows", 1, 1 << 20);
  const int64_t cols = int_arg(info, 4, fn, "cols", 1, 1 << 20);
  auto x = typed_arg<Napi::Float32Array>(info, 5, napi_float32_array, fn, "x must be a Float32Array");
  const int64_t n_tokens = int_arg(info, 6, fn, "nTokens", 1, 1 << 16);
  const int64_t threads = info[7].IsUndefined() ? 1 : int_arg(info, 7, fn, "threads", 1, 64);
  if (cols % traits->block_elems != 0)
    throw Napi::RangeError::New(env, "kernelMatmul: cols must be a multiple of " + std::to_string(traits->block_elems));
  WeightMatrix w;
  w.type = GgmlType(type_id);
  w.rows = rows;
  w.cols = cols;
  w.row_bytes = size_t(cols / traits->block_elems) * traits->block_bytes;
  if (weights.ByteLength() != w.row_bytes * size_t(rows))
    throw Napi::RangeError::New(env, "kernelMatmul: weights must be rows * " + std::to_string(w.row_bytes) + " bytes");
  if (x.ElementLength() != size_t(n_tokens * cols))
    throw Napi::RangeError::New(env, "kernelMatmul: x must hold nTokens * cols values");
  if (rows * n_tokens > (int64_t(1) << 28)) throw Napi::RangeError::New(env, "kernelMatmul: output too large");
  w.data = weights.Data();
  // The AVX-512 level runs on the packed layout, as a loaded model's weights do.
  PackedBytes packed;
  if (level == KernelLevel::Avx512 && cpu_kernel_level() == KernelLevel::Avx512 && packable(w.type, cols)) {
    packed = pack_rows16(w.type, w.data, rows, cols, w.row_bytes);
    w.packed = packed.get();
  }
  Napi::Float32Array y = Napi::Float32Array::New(env, size_t(rows * n_tokens));
  ThreadPool pool{int(threads)};
  MatmulScratch scratch;
  matmul(w, x.Data(), n_tokens, y.Data(), pool, scratch, level);
  return y;
}

Napi::Value kernel_flash_attention(const Napi::CallbackInfo& info) {
  const char* fn = "kernelFlashAttention";
  Napi::Env env = info.Env();
  const KernelLevel level = level_arg(info, fn);
  auto k = typed_arg<Napi::Uint16Array>(info, 1, napi_uint16_array, fn, "k must be a Uint16Array");
  auto v = typed_arg<Napi::Uint16Array>(info, 2, napi_uint16_array, fn, "v must be a Uint16Array");
  const int64_t stride = int_arg(info, 3, fn, "stride", 1, 1 << 16);
  auto q = typed_arg<Napi::Float32Array>(info, 4, napi_float32_array, fn, "q must be a Float32Array");
  const int64_t rows = int_arg(info, 5, fn, "rows", 1, 1024);
  const int64_t hd = int_arg(info, 6, fn, "headDim", 1, stride);
  auto limits = typed_arg<Napi::Int32Array>(info, 7, napi_int32_array, fn, "limits must be an Int32Array");
  const int64_t tile_rows = int_arg(info, 8, fn, "tileRows", 1, rows);
  if (q.ElementLength() != size_t(rows * hd) || limits.ElementLength() != size_t(rows))
    throw Napi::RangeError::New(env, std::string(fn) + ": q must hold rows * headDim values and limits rows");
  const int64_t n_keys = k.ElementLength() < size_t(hd) ? 0 : int64_t(k.ElementLength() - size_t(hd)) / stride + 1;
  if (v.ElementLength() != k.ElementLength()) throw Napi::RangeError::New(env, std::string(fn) + ": k and v lengths differ");
  for (size_t r = 0; r < size_t(rows); ++r)
    if (limits[r] < 0 || limits[r] >= n_keys)
      throw Napi::RangeError::New(env, std::string(fn) + ": limits must lie in 0..nKeys-1 (nKeys " + std::to_string(n_keys) + ")");
  Napi::Float32Array out = Napi::Float32Array::New(env, size_t(rows * hd));
  const float scale = 1.0f / std::sqrt(float(hd));
  // The keys as an F16 KV cache keeps them: each run of 64 dims-major, the slots past the last
  // key holding NaNs (a kernel must ignore them).
  const size_t run_halves = size_t(hd * kFlashRunKeys);
  std::vector<uint16_t> keys((size_t(n_keys) + kFlashRunKeys - 1) / kFlashRunKeys * run_halves, uint16_t(0x7e00));
  for (int64_t j = 0; j < n_keys; ++j)
    for (int64_t i = 0; i < hd; ++i)
      keys[size_t(j / kFlashRunKeys) * run_halves + size_t(i * kFlashRunKeys + j % kFlashRunKeys)] = k[size_t(j * stride + i)];
  for (int64_t r0 = 0; r0 < rows; r0 += tile_rows) {
    const FlashShape shape(std::min(tile_rows, rows - r0), hd);
    std::vector<float> qt(shape.qt_floats()), total(shape.state_floats()), part(shape.state_floats()),
        scratch(shape.scratch_floats());
    std::vector<int32_t> limit(size_t(shape.ld), 0);
    int32_t lo = INT32_MAX, hi = 0;
    for (int64_t r = 0; r < shape.rows; ++r) {
      limit[size_t(r)] = limits[size_t(r0 + r)];
      lo = std::min(lo, limit[size_t(r)]);
      hi = std::max(hi, limit[size_t(r)]);
    }
    flash_load_queries(shape, q.Data() + r0 * hd, 1, hd, scale, qt.data());
    flash_reset(shape, FlashState(shape, total.data()));
    const int64_t n_runs = hi / kFlashRunKeys + 1;
    for (int64_t c = 0; c * kFlashChunkBlocks < n_runs; ++c) {
      flash_reset(shape, FlashState(shape, part.data()));
      for (int64_t b = c * kFlashChunkBlocks; b < std::min(n_runs, (c + 1) * kFlashChunkBlocks); ++b) {
        const int64_t j0 = b * kFlashRunKeys, run = std::min(kFlashRunKeys, int64_t(hi) - j0 + 1);
        flash_block_at(level, shape, qt.data(), keys.data() + size_t(b) * run_halves, v.Data() + j0 * stride, stride, run, j0,
                       j0 + run - 1 > lo ? limit.data() : nullptr, FlashState(shape, part.data()), scratch.data());
      }
      flash_merge_at(level, shape, FlashState(shape, total.data()), FlashState(shape, part.data()));
    }
    flash_output(shape, FlashState(shape, total.data()), out.Data() + r0 * hd, 1, hd);
  }
  return out;
}

Napi::Value kernel_flash_scores(const Napi::CallbackInfo& info) {
  const char* fn = "kernelFlashScores";
  Napi::Env env = info.Env();
  const KernelLevel level = level_arg(info, fn);
  const Napi::Value keys = info[1];
  const bool f16 = keys.IsTypedArray() && keys.As<Napi::TypedArray>().TypedArrayType() == napi_uint16_array;
  if (!f16 && !(keys.IsTypedArray() && keys.As<Napi::TypedArray>().TypedArrayType() == napi_float32_array))
    throw Napi::TypeError::New(env, std::string(fn) + ": keys must be a Uint16Array (F16) or a Float32Array");
  const int64_t n_keys = int_arg(info, 2, fn, "nKeys", 1, 1 << 20);
  auto q = typed_arg<Napi::Float32Array>(info, 3, napi_float32_array, fn, "q must be a Float32Array");
  const int64_t rows = int_arg(info, 4, fn, "rows", 1, 1024);
  const int64_t hd = int_arg(info, 5, fn, "headDim", 1, 4096);
  const Napi::TypedArray key_array = keys.As<Napi::TypedArray>();
  if (q.ElementLength() != size_t(rows * hd) || key_array.ElementLength() != size_t(n_keys * hd))
    throw Napi::RangeError::New(env, std::string(fn) + ": q must hold rows * headDim values and keys nKeys * headDim");
  const uint8_t* base = static_cast<const uint8_t*>(key_array.ArrayBuffer().Data()) + key_array.ByteOffset();
  const size_t elem = f16 ? 2 : 4;
  const FlashShape shape(rows, hd);
  std::vector<float> qt(shape.qt_floats()), scratch(shape.scratch_floats()), st(size_t(kFlashRunKeys * shape.ld));
  flash_load_queries(shape, q.Data(), 1, hd, 1.0f / std::sqrt(float(hd)), qt.data());
  Napi::Float32Array out = Napi::Float32Array::New(env, size_t(rows * n_keys));
  if (!info[6].IsUndefined() && !info[6].IsBoolean())
    throw Napi::TypeError::New(env, std::string(fn) + ": dimsMajor must be a boolean");
  if (!info[6].IsUndefined() && info[6].As<Napi::Boolean>().Value()) {
    // The keys regrouped as sparse selection keeps them (16 a group, dims-major, zero padded),
    // scored in one call over all the groups.
    const int64_t n_groups = (n_keys + 15) / 16;
    std::vector<uint8_t> groups(size_t(n_groups * 16 * hd) * elem, uint8_t(0));
    for (int64_t j = 0; j < n_keys; ++j)
      for (int64_t i = 0; i < hd; ++i)
        std::memcpy(groups.data() + size_t(((j / 16) * hd + i) * 16 + j % 16) * elem, base + size_t(j * hd + i) * elem, elem);
    std::vector<float> scores(size_t(n_groups * rows * 16));
    flash_scores16_at(level, shape, qt.data(), groups.data(), f16, n_groups, scores.data());
    for (int64_t j = 0; j < n_keys; ++j)
      for (int64_t r = 0; r < rows; ++r) out[size_t(r * n_keys + j)] = scores[size_t(((j / 16) * rows + r) * 16 + j % 16)];
    return out;
  }
  for (int64_t j0 = 0; j0 < n_keys; j0 += kFlashRunKeys) {
    const int64_t run = std::min(kFlashRunKeys, n_keys - j0);
    const void* ptrs[kFlashRunKeys];
    for (int64_t j = 0; j < run; ++j) ptrs[j] = base + size_t((j0 + j) * hd) * elem;
    flash_scores_at(level, shape, qt.data(), ptrs, f16, run, st.data(), scratch.data());
    for (int64_t j = 0; j < run; ++j)
      for (int64_t r = 0; r < rows; ++r) out[size_t(r * n_keys + j0 + j)] = st[size_t(j * shape.ld + r)];
  }
  return out;
}

Napi::Value memory_read_bandwidth_js(const Napi::CallbackInfo& info) {
  const char* fn = "memoryReadBandwidth";
  const int64_t bytes = int_arg(info, 0, fn, "bytes", int64_t(1) << 20, int64_t(16) << 30);
  const int64_t threads = int_arg(info, 1, fn, "threads", 1, 256);
  const int64_t sweeps = info[2].IsUndefined() ? 5 : int_arg(info, 2, fn, "sweeps", 1, 100);
  try {
    return Napi::Number::New(info.Env(), memory_read_bandwidth(size_t(bytes), int(threads), int(sweeps)));
  } catch (const std::bad_alloc&) {
    throw Napi::Error::New(info.Env(), "memoryReadBandwidth: cannot allocate " + std::to_string(bytes) + " bytes");
  }
}

Napi::Value bench_decode_matmul(const Napi::CallbackInfo& info) {
  const char* fn = "benchDecodeMatmul";
  Napi::Env env = info.Env();
  const std::string type = info[0].IsString() ? info[0].As<Napi::String>().Utf8Value() : "";
  if (type != "Q8_0" && type != "Q4_0") throw Napi::TypeError::New(env, "benchDecodeMatmul: type must be 'Q8_0' or 'Q4_0'");
  const int64_t cols = int_arg(info, 1, fn, "cols", 32, 1 << 16);
  if (cols % 32 != 0) throw Napi::RangeError::New(env, "benchDecodeMatmul: cols must be a multiple of 32");
  const int64_t bytes = int_arg(info, 2, fn, "bytes", int64_t(1) << 16, int64_t(4) << 30);
  const int64_t threads = int_arg(info, 3, fn, "threads", 1, 64);
  const int64_t reps = int_arg(info, 4, fn, "reps", 1, 1000);
  try {
    const StreamTiming t = time_decode_matmul(type == "Q8_0" ? GgmlType::Q8_0 : GgmlType::Q4_0, cols, size_t(bytes),
                                              int(threads), int(reps));
    Napi::Object o = Napi::Object::New(env);
    o.Set("seconds", t.seconds);
    o.Set("bytes", t.bytes);
    return o;
  } catch (const std::bad_alloc&) {
    throw Napi::Error::New(env, "benchDecodeMatmul: cannot allocate " + std::to_string(bytes) + " bytes");
  }
}

Napi::Value bench_flash_run(const Napi::CallbackInfo& info) {
  const char* fn = "benchFlashRun";
  const int64_t blocks = int_arg(info, 0, fn, "blocks", 2, 1 << 20);
  const int64_t reps = int_arg(info, 1, fn, "reps", 1, 1000);
  try {
    return Napi::Number::New(info.Env(), time_flash_run(blocks, int(reps)));
  } catch (const std::bad_alloc&) {
    throw Napi::Error::New(info.Env(), "benchFlashRun: cannot allocate " + std::to_string(blocks) + " blocks");
  }
}

Napi::Value sparse_select(const Napi::CallbackInfo& info) {
  const char* fn = "sparseSelect";
  Napi::Env env = info.Env();
  auto keys = typed_arg<Napi::Float32Array>(info, 0, napi_float32_array, fn, "keys must be a Float32Array");
  auto queries = typed_arg<Napi::Float32Array>(info, 1, napi_float32_array, fn, "queries must be a Float32Array");
  const int64_t kv_heads = int_arg(info, 2, fn, "kvHeads", 1, 256);
  const int64_t head_dim = int_arg(info, 3, fn, "headDim", 1, 4096);
  const int64_t kv_dim = kv_heads * head_dim;
  if (keys.ElementLength() == 0 || keys.ElementLength() % size_t(kv_dim) != 0 || keys.ElementLength() / size_t(kv_dim) > (1u << 20))
    throw Napi::RangeError::New(env, "sparseSelect: keys must hold nKeys * kvHeads * headDim values (1 <= nKeys <= 2^20)");
  const int64_t n_keys = int64_t(keys.ElementLength()) / kv_dim;
  if (queries.ElementLength() == 0 || queries.ElementLength() % size_t(kv_dim) != 0)
    throw Napi::RangeError::New(env, "sparseSelect: queries must hold heads * headDim values, heads a multiple of kvHeads");
  const int64_t group = int64_t(queries.ElementLength()) / kv_dim;
  SparseParams sp;
  sp.enabled = true;
  KvType kv_type = KvType::F32;
  if (!info[4].IsUndefined()) {
    if (!info[4].IsObject()) throw Napi::TypeError::New(env, "sparseSelect: options must be an object");
    const Napi::Object o = info[4].As<Napi::Object>();
    if (o.Has("kvType") && !o.Get("kvType").IsUndefined()) {
      const Napi::Value t = o.Get("kvType");
      const std::string name = t.IsString() ? t.As<Napi::String>().Utf8Value() : "";
      if (name != "f32" && name != "f16") throw Napi::TypeError::New(env, "sparseSelect: options.kvType must be 'f32' or 'f16'");
      kv_type = name == "f16" ? KvType::F16 : KvType::F32;
    }
    for (auto [key, field] : {std::pair{"topk", &SparseParams::topk}, std::pair{"kernelSize", &SparseParams::kernel_size},
                              std::pair{"kernelStride", &SparseParams::kernel_stride},
                              std::pair{"initBlocks", &SparseParams::init_blocks},
                              std::pair{"windowSize", &SparseParams::window_size}}) {
      if (!o.Has(key) || o.Get(key).IsUndefined()) continue;
      const double d = o.Get(key).IsNumber() ? o.Get(key).As<Napi::Number>().DoubleValue() : NAN;
      if (!(d == std::floor(d) && d >= 0 && d <= double(1 << 30)))
        throw Napi::RangeError::New(env, std::string("sparseSelect: options.") + key + " must be a non-negative integer");
      sp.*field = int64_t(d);
    }
  }
  try {
    sp.validate();
    const int64_t n_blocks = (n_keys + KvCache::kBlockTokens - 1) / KvCache::kBlockTokens;
    KvCache kv(1, int(kv_heads), int(head_dim), int(n_blocks), kv_type, 0, sp.summary_rows());
    KvSequence seq;
    kv.reserve(seq, n_keys);
    std::vector<float> zeros(size_t(kv_dim), 0.f);
    for (int64_t p = 0; p < n_keys; ++p) kv.store(seq, p, 0, keys.Data() + p * kv_dim, zeros.data());
    update_compressed_keys(kv, seq, 0, 0, n_keys, sp);
    // The complete blocks' compressed keys are read from the copy, as in the engine.
    const int64_t complete = n_keys / KvCache::kBlockTokens;
    kv.sync_summary_copy(seq, 0, complete, complete, int(sp.fine_per_block()));
    BlockSelector selector;
    std::vector<int32_t> chosen(size_t(sp.topk));
    Napi::Array blocks = Napi::Array::New(env, size_t(kv_heads));
    int64_t window_first = 0;
    for (int64_t g = 0; g < kv_heads; ++g) {
      const int64_t n = selector.select(kv, seq, 0, g, queries.Data() + g * group * head_dim, group, head_dim,
                                        n_keys - 1, sp, chosen.data(), &window_first);
      Napi::Int32Array a = Napi::Int32Array::New(env, size_t(n));
      std::copy(chosen.begin(), chosen.begin() + n, a.Data());
      blocks.Set(uint32_t(g), a);
    }
    Napi::Object o = Napi::Object::New(env);
    o.Set("blocks", blocks);
    o.Set("windowFirst", double(window_first));
    return o;
  } catch (const std::exception& e) {
    throw Napi::RangeError::New(env, std::string("sparseSelect: ") + e.what());
  }
}

Registrar reg("kernels", [](Napi::Env env, Napi::Object exports) {
  exports.Set("kernelInfo", Napi::Function::New(env, kernel_info, "kernelInfo"));
  exports.Set("kernelMatmul", Napi::Function::New(env, kernel_matmul, "kernelMatmul"));
  exports.Set("kernelFlashAttention", Napi::Function::New(env, kernel_flash_attention, "kernelFlashAttention"));
  exports.Set("kernelFlashScores", Napi::Function::New(env, kernel_flash_scores, "kernelFlashScores"));
  exports.Set("sparseSelect", Napi::Function::New(env, sparse_select, "sparseSelect"));
  exports.Set("memoryReadBandwidth", Napi::Function::New(env, memory_read_bandwidth_js, "memoryReadBandwidth"));
  exports.Set("benchDecodeMatmul", Napi::Function::New(env, bench_decode_matmul, "benchDecodeMatmul"));
  exports.Set("benchFlashRun", Napi::Function::New(env, bench_flash_run, "benchFlashRun"));
});

}  // namespace
}  // namespace ls::napi
