// GGUF inspection for JS: ggufInspect(path) returns the header, metadata and tensor table
// (long arrays summarised); typeTraits() lists the ggml type table.
#include <charconv>
#include <cmath>
#include <cstdlib>

#include "gguf.h"
#include "napi/registry.h"

namespace {

// Arrays up to this length are returned whole; longer ones as {type, length, head}.
constexpr uint64_t kMaxInlineArray = 64;
constexpr uint64_t kSummaryHead = 8;

// JS numbers hold integers exactly up to 2^53; larger ones are returned as decimal strings.
constexpr uint64_t kMaxSafeInteger = (uint64_t(1) << 53) - 1;

Napi::Value integer_value(Napi::Env env, const ls::GgufValue& v, bool is_signed) {
  if (is_signed) {
    const uint64_t magnitude = v.i < 0 ? 0 - static_cast<uint64_t>(v.i) : static_cast<uint64_t>(v.i);
    if (magnitude <= kMaxSafeInteger) return Napi::Number::New(env, static_cast<double>(v.i));
    return Napi::String::New(env, std::to_string(v.i));
  }
  if (v.u <= kMaxSafeInteger) return Napi::Number::New(env, static_cast<double>(v.u));
  return Napi::String::New(env, std::to_string(v.u));
}

// The double whose shortest decimal form is the float's (1e-05f shows as 1e-05, not 9.99999974738e-06).
double shortest_double(float x) {
  if (!std::isfinite(x)) return x;
  char buf[64];
  const auto res = std::to_chars(buf, buf + sizeof buf - 1, x);
  *res.ptr = '\0';
  return std::strtod(buf, nullptr);
}

// A scalar (the value itself, or one decoded array element) as a JS value.
Napi::Value scalar_value(Napi::Env env, const ls::GgufValue& v) {
  using T = ls::GgufValueType;
  switch (v.type) {
    case T::BOOL: return Napi::Boolean::New(env, v.u != 0);
    case T::F32: return Napi::Number::New(env, shortest_double(static_cast<float>(v.f)));
    case T::F64: return Napi::Number::New(env, v.f);
    case T::STRING: return Napi::String::New(env, v.str);
    case T::I8: case T::I16: case T::I32: case T::I64: return integer_value(env, v, true);
    case T::U8: case T::U16: case T::U32: case T::U64: return integer_value(env, v, false);
    case T::ARRAY: break;
  }
  return env.Undefined();
}

Napi::Value metadata_value(Napi::Env env, const ls::GgufValue& v) {
  if (v.type != ls::GgufValueType::ARRAY) return scalar_value(env, v);
  const uint64_t shown = v.count <= kMaxInlineArray ? v.count : kSummaryHead;
  Napi::Array items = Napi::Array::New(env, shown);
  for (uint64_t i = 0; i < shown; ++i) items.Set(static_cast<uint32_t>(i), scalar_value(env, ls::array_element(v, i)));
  if (v.count <= kMaxInlineArray) return items;
  Napi::Object summary = Napi::Object::New(env);
  summary.Set("type", ls::value_type_name(v.elem_type));
  summary.Set("length", Napi::Number::New(env, static_cast<double>(v.count)));
  summary.Set("head", items);
  return summary;
}

Napi::Value Inspect(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsString()) throw Napi::TypeError::New(env, "ggufInspect(path): path must be a string");
  std::unique_ptr<ls::GgufFile> f;
  try {
    f = ls::GgufFile::open(info[0].As<Napi::String>().Utf8Value());
  } catch (const ls::FormatError& e) {
    throw Napi::Error::New(env, e.what());
  }
  Napi::Object out = Napi::Object::New(env);
  out.Set("version", Napi::Number::New(env, f->version()));
  out.Set("alignment", Napi::Number::New(env, static_cast<double>(f->alignment())));
  out.Set("dataOffset", Napi::Number::New(env, static_cast<double>(f->data_offset())));
  out.Set("fileSize", Napi::Number::New(env, static_cast<double>(f->file_size())));

  Napi::Object metadata = Napi::Object::New(env);
  // Defined, not assigned: a key named "__proto__" in the file stays an ordinary property.
  for (const auto& [key, value] : f->metadata()) {
    metadata.DefineProperty(Napi::PropertyDescriptor::Value(
        key, metadata_value(env, value), static_cast<napi_property_attributes>(napi_writable | napi_enumerable | napi_configurable)));
  }
  out.Set("metadata", metadata);

  Napi::Array tensors = Napi::Array::New(env, f->tensors().size());
  uint32_t index = 0;
  for (const ls::GgufTensor& t : f->tensors()) {
    Napi::Object o = Napi::Object::New(env);
    o.Set("name", t.name);
    o.Set("type", ls::type_traits(static_cast<uint32_t>(t.type))->name);  // validated at parse time
    Napi::Array dims = Napi::Array::New(env, t.n_dims);
    for (uint32_t d = 0; d < t.n_dims; ++d) dims.Set(d, Napi::Number::New(env, static_cast<double>(t.ne[d])));
    o.Set("dims", dims);
    o.Set("elements", Napi::Number::New(env, static_cast<double>(t.n_elements)));
    o.Set("offset", Napi::Number::New(env, static_cast<double>(t.offset)));
    o.Set("bytes", Napi::Number::New(env, static_cast<double>(t.nbytes)));
    tensors.Set(index++, o);
  }
  out.Set("tensors", tensors);
  return out;
}

Napi::Value TypeTraitsList(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Array list = Napi::Array::New(env);
  uint32_t n = 0;
  for (uint32_t id = 0; id < 256; ++id) {
    const ls::TypeTraits* t = ls::type_traits(id);
    if (t == nullptr) continue;
    Napi::Object o = Napi::Object::New(env);
    o.Set("id", Napi::Number::New(env, id));
    o.Set("name", t->name);
    o.Set("blockElements", Napi::Number::New(env, t->block_elems));
    o.Set("blockBytes", Napi::Number::New(env, t->block_bytes));
    o.Set("computable", Napi::Boolean::New(env, t->computable));
    list.Set(n++, o);
  }
  return list;
}

ls::napi::Registrar reg("gguf", [](Napi::Env env, Napi::Object exports) {
  exports.Set("ggufInspect", Napi::Function::New(env, Inspect, "ggufInspect"));
  exports.Set("typeTraits", Napi::Function::New(env, TypeTraitsList, "typeTraits"));
});

}  // namespace
