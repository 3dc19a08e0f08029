// Exact vector search over vectors resident in memory (kernels/vector_topk.h):
//   vectorQuantize(data: Float32Array, dim, codes: Uint8Array, steps: Float32Array,
//     residuals: Float32Array, codeNorms: Float32Array, norms: Float64Array) fills the int8 copy
//     (the arrays may be SharedArrayBuffer views, so worker threads share one copy)
//   vectorTopK(store: { data, dim, codes, steps, residuals, codeNorms, norms }, query: Float32Array,
//     n, mask?: Uint8Array | null, level?: 'scalar'|'avx2'|'avx512')
//     → { rows: Uint32Array, scores: Float64Array, candidates, rescored }: the exact top n by
//     cosine (ties by lower row), skipping rows whose mask byte is 0
//   vectorInt8Dots(level, codes: Uint8Array, dim, q: Int8Array) → Int32Array of
//     sum_j codes[r][j] * q[j]: the int8 kernel alone, for tests
#include <cmath>
#include <string>

#include "kernels/cpu_features.h"
#include "kernels/vector_topk.h"
#include "napi/registry.h"

namespace ls::napi {
namespace {

[[noreturn]] void type_error(Napi::Env env, const char* fn, const std::string& what) {
  throw Napi::TypeError::New(env, std::string(fn) + ": " + what);
}

template <class Array>
Array typed(Napi::Env env, const Napi::Value& v, napi_typedarray_type type, const char* fn, const char* what) {
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != type) type_error(env, fn, what);
  return v.As<Array>();
}

int64_t integer(Napi::Env env, const Napi::Value& v, const char* fn, const char* name, int64_t lo, int64_t hi) {
  const double d = v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : NAN;
  if (!(d == std::floor(d) && d >= double(lo) && d <= double(hi)))
    throw Napi::RangeError::New(env, std::string(fn) + ": " + name + " must be an integer in " + std::to_string(lo) + ".." +
                                         std::to_string(hi));
  return int64_t(d);
}

void check_length(Napi::Env env, const Napi::TypedArray& a, size_t want, const char* fn, const char* name) {
  if (a.ElementLength() != want)
    throw Napi::RangeError::New(env, std::string(fn) + ": " + name + " must hold " + std::to_string(want) + " values, not " +
                                         std::to_string(a.ElementLength()));
}

KernelLevel level_of(Napi::Env env, const Napi::Value& v, const char* fn) {
  if (v.IsUndefined()) return active_kernel_level();
  KernelLevel level;
  if (!v.IsString() || !parse_kernel_level(v.As<Napi::String>().Utf8Value().c_str(), level))
    type_error(env, fn, "level must be 'scalar', 'avx2' or 'avx512'");
  return level;
}

const uint8_t* mask_of(Napi::Env env, const Napi::Value& v, size_t rows, const char* fn) {
  if (v.IsUndefined() || v.IsNull()) return nullptr;
  auto mask = typed<Napi::Uint8Array>(env, v, napi_uint8_array, fn, "mask must be a Uint8Array or null");
  check_length(env, mask, rows, fn, "mask");
  return mask.Data();
}

constexpr int64_t kMaxDim = 1 << 16;

Napi::Value vector_quantize(const Napi::CallbackInfo& info) {
  const char* fn = "vectorQuantize";
  Napi::Env env = info.Env();
  auto data = typed<Napi::Float32Array>(env, info[0], napi_float32_array, fn, "data must be a Float32Array");
  const int64_t dim = integer(env, info[1], fn, "dim", 1, kMaxDim);
  if (data.ElementLength() % size_t(dim) != 0) throw Napi::RangeError::New(env, "vectorQuantize: data length must be a multiple of dim");
  const size_t rows = data.ElementLength() / size_t(dim);
  auto codes = typed<Napi::Uint8Array>(env, info[2], napi_uint8_array, fn, "codes must be a Uint8Array");
  auto steps = typed<Napi::Float32Array>(env, info[3], napi_float32_array, fn, "steps must be a Float32Array");
  auto residuals = typed<Napi::Float32Array>(env, info[4], napi_float32_array, fn, "residuals must be a Float32Array");
  auto code_norms = typed<Napi::Float32Array>(env, info[5], napi_float32_array, fn, "codeNorms must be a Float32Array");
  auto norms = typed<Napi::Float64Array>(env, info[6], napi_float64_array, fn, "norms must be a Float64Array");
  check_length(env, codes, rows * size_t(dim), fn, "codes");
  check_length(env, steps, rows, fn, "steps");
  check_length(env, residuals, rows, fn, "residuals");
  check_length(env, code_norms, rows, fn, "codeNorms");
  check_length(env, norms, rows, fn, "norms");
  quantize_rows(data.Data(), int64_t(rows), dim, codes.Data(), steps.Data(), residuals.Data(), code_norms.Data(), norms.Data());
  return env.Undefined();
}

Napi::Value vector_top_k(const Napi::CallbackInfo& info) {
  const char* fn = "vectorTopK";
  Napi::Env env = info.Env();
  if (!info[0].IsObject()) type_error(env, fn, "store must be an object { data, dim, codes, steps, residuals, codeNorms, norms }");
  const Napi::Object store = info[0].As<Napi::Object>();
  auto data = typed<Napi::Float32Array>(env, store.Get("data"), napi_float32_array, fn, "store.data must be a Float32Array");
  const int64_t dim = integer(env, store.Get("dim"), fn, "store.dim", 1, kMaxDim);
  if (data.ElementLength() % size_t(dim) != 0) throw Napi::RangeError::New(env, "vectorTopK: store.data length must be a multiple of store.dim");
  const size_t rows = data.ElementLength() / size_t(dim);
  if (rows > UINT32_MAX) throw Napi::RangeError::New(env, "vectorTopK: too many rows");
  auto codes = typed<Napi::Uint8Array>(env, store.Get("codes"), napi_uint8_array, fn, "store.codes must be a Uint8Array");
  auto steps = typed<Napi::Float32Array>(env, store.Get("steps"), napi_float32_array, fn, "store.steps must be a Float32Array");
  auto residuals = typed<Napi::Float32Array>(env, store.Get("residuals"), napi_float32_array, fn, "store.residuals must be a Float32Array");
  auto code_norms = typed<Napi::Float32Array>(env, store.Get("codeNorms"), napi_float32_array, fn, "store.codeNorms must be a Float32Array");
  auto norms = typed<Napi::Float64Array>(env, store.Get("norms"), napi_float64_array, fn, "store.norms must be a Float64Array");
  check_length(env, codes, rows * size_t(dim), fn, "store.codes");
  check_length(env, steps, rows, fn, "store.steps");
  check_length(env, residuals, rows, fn, "store.residuals");
  check_length(env, code_norms, rows, fn, "store.codeNorms");
  check_length(env, norms, rows, fn, "store.norms");
  auto query = typed<Napi::Float32Array>(env, info[1], napi_float32_array, fn, "query must be a Float32Array");
  check_length(env, query, size_t(dim), fn, "query");
  const int64_t n = integer(env, info[2], fn, "n", 0, int64_t(1) << 31);
  const uint8_t* mask = mask_of(env, info[3], rows, fn);
  const KernelLevel level = level_of(env, info[4], fn);

  QuantizedRows v;
  v.data = data.Data();
  v.codes = codes.Data();
  v.steps = steps.Data();
  v.residuals = residuals.Data();
  v.code_norms = code_norms.Data();
  v.norms = norms.Data();
  v.rows = int64_t(rows);
  v.dim = dim;
  const size_t cap = size_t(std::min<int64_t>(n, int64_t(rows)));
  Napi::Uint32Array out_rows = Napi::Uint32Array::New(env, cap);
  Napi::Float64Array out_scores = Napi::Float64Array::New(env, cap);
  TopKStats stats;
  const int64_t found = vector_topk(v, query.Data(), int64_t(cap), mask, level, out_rows.Data(), out_scores.Data(), &stats);
  Napi::Object result = Napi::Object::New(env);
  result.Set("rows", found == int64_t(cap) ? out_rows : Napi::Uint32Array::New(env, size_t(found), out_rows.ArrayBuffer(), 0));
  result.Set("scores", found == int64_t(cap) ? out_scores : Napi::Float64Array::New(env, size_t(found), out_scores.ArrayBuffer(), 0));
  result.Set("candidates", Napi::Number::New(env, double(stats.candidates)));
  result.Set("rescored", Napi::Number::New(env, double(stats.rescored)));
  return result;
}

Napi::Value vector_int8_dots(const Napi::CallbackInfo& info) {
  const char* fn = "vectorInt8Dots";
  Napi::Env env = info.Env();
  const KernelLevel level = level_of(env, info[0], fn);
  auto codes = typed<Napi::Uint8Array>(env, info[1], napi_uint8_array, fn, "codes must be a Uint8Array");
  const int64_t dim = integer(env, info[2], fn, "dim", 1, kMaxDim);
  if (codes.ElementLength() % size_t(dim) != 0) throw Napi::RangeError::New(env, "vectorInt8Dots: codes length must be a multiple of dim");
  const size_t rows = codes.ElementLength() / size_t(dim);
  auto q = typed<Napi::Int8Array>(env, info[3], napi_int8_array, fn, "q must be an Int8Array");
  check_length(env, q, size_t(dim), fn, "q");
  Napi::Int32Array out = Napi::Int32Array::New(env, rows);
  int8_row_dots(codes.Data(), int64_t(rows), dim, q.Data(), level, out.Data());
  return out;
}

Registrar reg("vector", [](Napi::Env env, Napi::Object exports) {
  exports.Set("vectorQuantize", Napi::Function::New(env, vector_quantize, "vectorQuantize"));
  exports.Set("vectorTopK", Napi::Function::New(env, vector_top_k, "vectorTopK"));
  exports.Set("vectorInt8Dots", Napi::Function::New(env, vector_int8_dots, "vectorInt8Dots"));
});

}  // namespace
}  // namespace ls::napi
