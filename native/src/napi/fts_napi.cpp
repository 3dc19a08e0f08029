// The resident full-text index's native parts (src/index/resident-text.ts):
//   new FtsBuilder(columns) builds postings (text/fts_builder.h):
//     scan(column, values: Uint8Array, offsets: Int32Array) → string[]: appends documents
//       i = 0 .. offsets.length - 2, the UTF-8 bytes values[offsets[i], offsets[i + 1]) (an Arrow
//       Utf8 column), to `column`; returns the words first seen in this call, in id order
//     build(wordStart: Uint32Array, wordTerms: Uint32Array, terms) → { starts, docs, weights,
//       documents }[] per column: word w's term ids are wordTerms[wordStart[w], wordStart[w + 1])
//   bm25TopK(columns: { starts: Uint32Array, docs: Uint32Array, weights: Float32Array,
//       documents: number, boost: number }[], rows, terms: Uint32Array, n, mask?: Uint8Array | null)
//     → { rows: Uint32Array, scores: Float32Array }: kernels/bm25_topk.h
#include <cmath>
#include <string>
#include <vector>

#include "kernels/bm25_topk.h"
#include "napi/registry.h"
#include "text/fts_builder.h"

namespace ls::napi {
namespace {

template <class Array>
Array typed(Napi::Env env, const Napi::Value& v, napi_typedarray_type type, const std::string& what) {
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != type) throw Napi::TypeError::New(env, what);
  return v.As<Array>();
}

double number(Napi::Env env, const Napi::Value& v, const std::string& name, double lo, double hi, bool integer) {
  const double d = v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : NAN;
  if (!(d >= lo && d <= hi) || (integer && d != std::floor(d)))
    throw Napi::RangeError::New(env, name + " must be " + (integer ? "an integer" : "a number") + " in " + std::to_string(lo) + ".." +
                                         std::to_string(hi));
  return d;
}

class FtsBuilderWrap : public Napi::ObjectWrap<FtsBuilderWrap> {
 public:
  static Napi::Function define(Napi::Env env) {
    return DefineClass(env, "FtsBuilder",
                       {InstanceMethod<&FtsBuilderWrap::scan>("scan"), InstanceMethod<&FtsBuilderWrap::build>("build")});
  }
  explicit FtsBuilderWrap(const Napi::CallbackInfo& info)
      : Napi::ObjectWrap<FtsBuilderWrap>(info), builder_(int(number(info.Env(), info[0], "new FtsBuilder(columns): columns", 1, 16, true))) {}

 private:
  Napi::Value scan(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    const int column = int(number(env, info[0], "FtsBuilder.scan: column", 0, builder_.columns() - 1, true));
    auto values = typed<Napi::Uint8Array>(env, info[1], napi_uint8_array, "FtsBuilder.scan: values must be a Uint8Array");
    auto offsets = typed<Napi::Int32Array>(env, info[2], napi_int32_array, "FtsBuilder.scan: offsets must be an Int32Array");
    if (offsets.ElementLength() == 0) throw Napi::RangeError::New(env, "FtsBuilder.scan: offsets must hold at least one value");
    const size_t docs = offsets.ElementLength() - 1;
    const int32_t* off = offsets.Data();
    for (size_t i = 0; i < docs; ++i)
      if (off[i] < 0 || off[i] > off[i + 1] || size_t(off[i + 1]) > values.ElementLength())
        throw Napi::RangeError::New(env, "FtsBuilder.scan: offsets must rise within values (document " + std::to_string(i) + ")");
    // Word ids are 32-bit and every new word takes at least one byte.
    if (double(builder_.words()) + double(values.ElementLength()) >= double(UINT32_MAX))
      throw Napi::RangeError::New(env, "FtsBuilder.scan: too much text for 32-bit word ids");
    const uint32_t first = builder_.scan(column, values.Data(), off, docs);
    Napi::Array fresh = Napi::Array::New(env, builder_.words() - first);
    for (uint32_t id = first; id < builder_.words(); ++id) fresh.Set(id - first, Napi::String::New(env, builder_.word(id)));
    return fresh;
  }

  Napi::Value build(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    auto word_start = typed<Napi::Uint32Array>(env, info[0], napi_uint32_array, "FtsBuilder.build: wordStart must be a Uint32Array");
    auto word_terms = typed<Napi::Uint32Array>(env, info[1], napi_uint32_array, "FtsBuilder.build: wordTerms must be a Uint32Array");
    const uint32_t terms = uint32_t(number(env, info[2], "FtsBuilder.build: terms", 0, UINT32_MAX - 1.0, true));
    if (word_start.ElementLength() != builder_.words() + 1)
      throw Napi::RangeError::New(env, "FtsBuilder.build: wordStart must hold " + std::to_string(builder_.words() + 1) + " offsets");
    std::vector<PostingColumn> columns;
    if (!builder_.build(word_start.Data(), word_terms.Data(), word_terms.ElementLength(), terms, columns))
      throw Napi::RangeError::New(env, "FtsBuilder.build: wordStart/wordTerms are inconsistent (offsets out of order or a term id >= terms)");
    Napi::Array out = Napi::Array::New(env, columns.size());
    for (size_t c = 0; c < columns.size(); ++c) {
      const PostingColumn& col = columns[c];
      Napi::Uint32Array starts = Napi::Uint32Array::New(env, col.starts.size());
      Napi::Uint32Array docs = Napi::Uint32Array::New(env, col.docs.size());
      Napi::Float32Array weights = Napi::Float32Array::New(env, col.weights.size());
      std::copy(col.starts.begin(), col.starts.end(), starts.Data());
      std::copy(col.docs.begin(), col.docs.end(), docs.Data());
      std::copy(col.weights.begin(), col.weights.end(), weights.Data());
      Napi::Object o = Napi::Object::New(env);
      o.Set("starts", starts);
      o.Set("docs", docs);
      o.Set("weights", weights);
      o.Set("documents", Napi::Number::New(env, double(col.documents)));
      out.Set(uint32_t(c), o);
    }
    return out;
  }

  FtsBuilder builder_;
};

Napi::Value bm25_top_k(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsArray()) throw Napi::TypeError::New(env, "bm25TopK: columns must be an array");
  const Napi::Array list = info[0].As<Napi::Array>();
  if (list.Length() == 0 || list.Length() > 16) throw Napi::RangeError::New(env, "bm25TopK: columns must hold 1..16 columns");
  const uint32_t rows = uint32_t(number(env, info[1], "bm25TopK: rows", 0, UINT32_MAX, true));
  std::vector<Bm25Column> columns(list.Length());
  for (uint32_t c = 0; c < list.Length(); ++c) {
    const std::string at = "bm25TopK: columns[" + std::to_string(c) + "].";
    if (!list.Get(c).IsObject()) throw Napi::TypeError::New(env, at.substr(0, at.size() - 1) + " must be an object");
    const Napi::Object o = list.Get(c).As<Napi::Object>();
    auto starts = typed<Napi::Uint32Array>(env, o.Get("starts"), napi_uint32_array, at + "starts must be a Uint32Array");
    auto docs = typed<Napi::Uint32Array>(env, o.Get("docs"), napi_uint32_array, at + "docs must be a Uint32Array");
    auto weights = typed<Napi::Float32Array>(env, o.Get("weights"), napi_float32_array, at + "weights must be a Float32Array");
    if (starts.ElementLength() == 0 || starts.ElementLength() - 1 > UINT32_MAX) throw Napi::RangeError::New(env, at + "starts must hold terms + 1 offsets");
    if (docs.ElementLength() != weights.ElementLength()) throw Napi::RangeError::New(env, at + "docs and weights must be as long as each other");
    Bm25Column& col = columns[c];
    col.starts = starts.Data();
    col.docs = docs.Data();
    col.weights = weights.Data();
    col.terms = uint32_t(starts.ElementLength() - 1);
    col.postings = docs.ElementLength();
    col.documents = uint64_t(number(env, o.Get("documents"), at + "documents", 0, 9007199254740991.0, true));
    col.boost = float(number(env, o.Get("boost"), at + "boost", 1e-30, 3.4e38, false));
  }
  auto terms = typed<Napi::Uint32Array>(env, info[2], napi_uint32_array, "bm25TopK: terms must be a Uint32Array");
  const int64_t n = int64_t(number(env, info[3], "bm25TopK: n", 0, 2147483648.0, true));
  const uint8_t* mask = nullptr;
  if (!info[4].IsUndefined() && !info[4].IsNull()) {
    auto m = typed<Napi::Uint8Array>(env, info[4], napi_uint8_array, "bm25TopK: mask must be a Uint8Array or null");
    if (m.ElementLength() != rows) throw Napi::RangeError::New(env, "bm25TopK: mask must hold one byte per row");
    mask = m.Data();
  }
  const size_t cap = size_t(std::min<int64_t>(n, int64_t(rows)));
  std::vector<uint32_t> out_rows(cap);
  std::vector<float> out_scores(cap);
  const int64_t found = bm25_topk(columns.data(), int(columns.size()), rows, terms.Data(), int64_t(terms.ElementLength()), int64_t(cap), mask,
                                  out_rows.data(), out_scores.data());
  if (found < 0) throw Napi::RangeError::New(env, "bm25TopK: inconsistent postings (a term id, offset or row out of range)");
  Napi::Uint32Array r = Napi::Uint32Array::New(env, size_t(found));
  Napi::Float32Array s = Napi::Float32Array::New(env, size_t(found));
  std::copy(out_rows.begin(), out_rows.begin() + found, r.Data());
  std::copy(out_scores.begin(), out_scores.begin() + found, s.Data());
  Napi::Object result = Napi::Object::New(env);
  result.Set("rows", r);
  result.Set("scores", s);
  return result;
}

Registrar reg("fts", [](Napi::Env env, Napi::Object exports) {
  exports.Set("FtsBuilder", FtsBuilderWrap::define(env));
  exports.Set("bm25TopK", Napi::Function::New(env, bm25_top_k, "bm25TopK"));
});

}  // namespace
}  // namespace ls::napi
