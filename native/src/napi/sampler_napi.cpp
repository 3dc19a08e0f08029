// Test-facing bindings for sampling and JSON-constrained masking, usable without a model:
//   samplerSample(logits: Float32Array, options?, history?: Int32Array | number[]) → id
//   new Sampler(options)  .sample(logits) → id   .accept(id)   .reset()
//   new JsonConstraint(pieces: (string | Uint8Array)[], eosIds: number[] | Int32Array, schema?, limits?)
//     .mask(logits: Float32Array) → allowed count   .allowedIds() → Int32Array
//     .allowed(id) → bool   .accept(id)   .done() → bool   .finished() → bool
// Logits passed to sample/samplerSample are copied, never modified; mask() edits its argument.
#include "napi/sampler_napi.h"

#include <cmath>
#include <stdexcept>
#include <string>
#include <vector>

#include "napi/registry.h"

namespace ls::napi {

namespace {

[[noreturn]] void rethrow_as_js(Napi::Env env, const std::exception& e) {
  throw Napi::Error::New(env, e.what());
}

double number_field(Napi::Env env, Napi::Object o, const char* name, double fallback) {
  Napi::Value v = o.Get(name);
  if (v.IsUndefined()) return fallback;
  if (!v.IsNumber()) throw Napi::TypeError::New(env, std::string("sampler: ") + name + " must be a number");
  return v.As<Napi::Number>().DoubleValue();
}

int32_t int_field(Napi::Env env, Napi::Object o, const char* name, int32_t fallback) {
  const double d = number_field(env, o, name, fallback);
  if (!(d == std::floor(d)) || d < -2147483648.0 || d > 2147483647.0)
    throw Napi::TypeError::New(env, std::string("sampler: ") + name + " must be a 32-bit integer");
  return static_cast<int32_t>(d);
}

uint64_t seed_field(Napi::Env env, Napi::Object o) {
  Napi::Value v = o.Get("seed");
  if (v.IsUndefined()) return 0;
  if (v.IsBigInt()) {
    bool lossless = false;
    const uint64_t s = v.As<Napi::BigInt>().Uint64Value(&lossless);
    if (!lossless) throw Napi::TypeError::New(env, "sampler: seed BigInt must fit in 64 unsigned bits");
    return s;
  }
  const double d = v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : -1;
  if (!(d >= 0 && d <= 9007199254740991.0 && d == std::floor(d)))
    throw Napi::TypeError::New(env, "sampler: seed must be a non-negative safe integer or a BigInt");
  return static_cast<uint64_t>(d);
}

// Float32Array → a private copy.
std::vector<float> logits_arg(Napi::Env env, Napi::Value v, const char* fn) {
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array)
    throw Napi::TypeError::New(env, std::string(fn) + ": logits must be a Float32Array");
  Napi::Float32Array a = v.As<Napi::Float32Array>();
  if (a.ElementLength() == 0 || a.ElementLength() > 0x7FFFFFFF)
    throw Napi::RangeError::New(env, std::string(fn) + ": logits must hold 1 .. 2^31-1 values");
  return std::vector<float>(a.Data(), a.Data() + a.ElementLength());
}

std::vector<int32_t> ids_arg(Napi::Env env, Napi::Value v, const char* what) {
  std::vector<int32_t> out;
  if (v.IsUndefined() || v.IsNull()) return out;
  if (v.IsTypedArray() && v.As<Napi::TypedArray>().TypedArrayType() == napi_int32_array) {
    Napi::Int32Array a = v.As<Napi::Int32Array>();
    out.assign(a.Data(), a.Data() + a.ElementLength());
    return out;
  }
  if (!v.IsArray()) throw Napi::TypeError::New(env, std::string(what) + " must be an Int32Array or an array of integers");
  Napi::Array a = v.As<Napi::Array>();
  for (uint32_t i = 0; i < a.Length(); ++i) {
    Napi::Value e = a.Get(i);
    const double d = e.IsNumber() ? e.As<Napi::Number>().DoubleValue() : NAN;
    if (!(d == std::floor(d)) || d < 0 || d > 2147483647.0)
      throw Napi::TypeError::New(env, std::string(what) + "[" + std::to_string(i) + "] must be a non-negative integer");
    out.push_back(static_cast<int32_t>(d));
  }
  return out;
}

int32_t id_arg(Napi::Env env, const Napi::CallbackInfo& info, const char* fn) {
  const double d = info.Length() > 0 && info[0].IsNumber() ? info[0].As<Napi::Number>().DoubleValue() : NAN;
  if (!(d == std::floor(d)) || d < -2147483648.0 || d > 2147483647.0)
    throw Napi::TypeError::New(env, std::string(fn) + ": token id must be an integer");
  return static_cast<int32_t>(d);
}

Napi::Value SamplerSample(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::vector<float> logits = logits_arg(env, info[0], "samplerSample");
  const SamplerParams params = sampler_params_from_js(env, info[1]);
  const std::vector<int32_t> history = ids_arg(env, info[2], "samplerSample: history");
  try {
    Sampler s(params);
    for (const int32_t t : history) s.accept(t);
    return Napi::Number::New(env, s.sample(logits.data(), static_cast<int32_t>(logits.size())));
  } catch (const std::exception& e) {
    rethrow_as_js(env, e);
  }
}

class SamplerWrap : public Napi::ObjectWrap<SamplerWrap> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "Sampler",
                       {InstanceMethod<&SamplerWrap::Sample>("sample"), InstanceMethod<&SamplerWrap::Accept>("accept"),
                        InstanceMethod<&SamplerWrap::Reset>("reset")});
  }
  explicit SamplerWrap(const Napi::CallbackInfo& info)
      : Napi::ObjectWrap<SamplerWrap>(info), sampler_(sampler_params_from_js(info.Env(), info[0])) {}

 private:
  Napi::Value Sample(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    std::vector<float> logits = logits_arg(env, info[0], "Sampler.sample");
    try {
      return Napi::Number::New(env, sampler_.sample(logits.data(), static_cast<int32_t>(logits.size())));
    } catch (const std::exception& e) {
      rethrow_as_js(env, e);
    }
  }
  void Accept(const Napi::CallbackInfo& info) { sampler_.accept(id_arg(info.Env(), info, "Sampler.accept")); }
  void Reset(const Napi::CallbackInfo&) { sampler_.reset(); }

  Sampler sampler_;
};

std::vector<std::string> pieces_arg(Napi::Env env, Napi::Value v) {
  if (!v.IsArray()) throw Napi::TypeError::New(env, "JsonConstraint: pieces must be an array of strings or Uint8Arrays");
  Napi::Array a = v.As<Napi::Array>();
  std::vector<std::string> pieces;
  pieces.reserve(a.Length());
  for (uint32_t i = 0; i < a.Length(); ++i) {
    Napi::Value p = a.Get(i);
    if (p.IsString()) {
      pieces.push_back(p.As<Napi::String>().Utf8Value());
    } else if (p.IsTypedArray() && p.As<Napi::TypedArray>().TypedArrayType() == napi_uint8_array) {
      Napi::Uint8Array b = p.As<Napi::Uint8Array>();
      pieces.emplace_back(reinterpret_cast<const char*>(b.Data()), b.ElementLength());
    } else {
      throw Napi::TypeError::New(env, "JsonConstraint: pieces[" + std::to_string(i) + "] must be a string or Uint8Array");
    }
  }
  return pieces;
}

JsonConstraintOptions limits_arg(Napi::Env env, Napi::Value v) {
  JsonConstraintOptions o;
  if (v.IsUndefined() || v.IsNull()) return o;
  if (!v.IsObject()) throw Napi::TypeError::New(env, "JsonConstraint: limits must be an object");
  Napi::Object obj = v.As<Napi::Object>();
  o.max_whitespace_run = int_field(env, obj, "maxWhitespaceRun", o.max_whitespace_run);
  o.max_depth = int_field(env, obj, "maxDepth", o.max_depth);
  o.max_number_bytes = int_field(env, obj, "maxNumberBytes", o.max_number_bytes);
  return o;
}

class JsonConstraintWrap : public Napi::ObjectWrap<JsonConstraintWrap> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "JsonConstraint",
                       {InstanceMethod<&JsonConstraintWrap::Mask>("mask"),
                        InstanceMethod<&JsonConstraintWrap::AllowedIds>("allowedIds"),
                        InstanceMethod<&JsonConstraintWrap::Allowed>("allowed"),
                        InstanceMethod<&JsonConstraintWrap::Accept>("accept"),
                        InstanceMethod<&JsonConstraintWrap::Done>("done"),
                        InstanceMethod<&JsonConstraintWrap::Finished>("finished")});
  }
  explicit JsonConstraintWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<JsonConstraintWrap>(info) {
    Napi::Env env = info.Env();
    std::vector<std::string> pieces = pieces_arg(env, info[0]);
    std::vector<int32_t> eos = ids_arg(env, info[1], "JsonConstraint: eosIds");
    std::shared_ptr<const JsonSchema> schema = json_schema_from_js(env, info[2]);
    const JsonConstraintOptions limits = limits_arg(env, info[3]);
    try {
      auto vocab = std::make_shared<const JsonVocab>(std::move(pieces), std::move(eos));
      constraint_ = std::make_unique<JsonConstraint>(std::move(vocab), std::move(schema), limits);
    } catch (const std::exception& e) {
      rethrow_as_js(env, e);
    }
  }

 private:
  Napi::Value Mask(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_float32_array)
      throw Napi::TypeError::New(env, "JsonConstraint.mask: logits must be a Float32Array");
    Napi::Float32Array a = info[0].As<Napi::Float32Array>();
    if (a.ElementLength() > 0x7FFFFFFF) throw Napi::RangeError::New(env, "JsonConstraint.mask: logits too long");
    return Napi::Number::New(env, constraint_->mask(a.Data(), static_cast<int32_t>(a.ElementLength())));
  }
  Napi::Value AllowedIds(const Napi::CallbackInfo& info) {
    std::vector<float> scratch(static_cast<size_t>(constraint_->vocab_size()), 0.0f);
    constraint_->mask(scratch.data(), static_cast<int32_t>(scratch.size()));
    std::vector<int32_t> ids;
    for (size_t i = 0; i < scratch.size(); ++i)
      if (scratch[i] == 0.0f) ids.push_back(static_cast<int32_t>(i));
    Napi::Int32Array out = Napi::Int32Array::New(info.Env(), ids.size());
    std::copy(ids.begin(), ids.end(), out.Data());
    return out;
  }
  Napi::Value Allowed(const Napi::CallbackInfo& info) {
    return Napi::Boolean::New(info.Env(), constraint_->allowed(id_arg(info.Env(), info, "JsonConstraint.allowed")));
  }
  void Accept(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    const int32_t id = id_arg(env, info, "JsonConstraint.accept");
    try {
      constraint_->accept(id);
    } catch (const std::exception& e) {
      rethrow_as_js(env, e);
    }
  }
  Napi::Value Done(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), constraint_->done()); }
  Napi::Value Finished(const Napi::CallbackInfo& info) {
    return Napi::Boolean::New(info.Env(), constraint_->finished());
  }

  std::unique_ptr<JsonConstraint> constraint_;
};

}  // namespace

SamplerParams sampler_params_from_js(Napi::Env env, Napi::Value options) {
  SamplerParams p;
  if (options.IsUndefined() || options.IsNull()) return p;
  if (!options.IsObject()) throw Napi::TypeError::New(env, "sampler: options must be an object");
  Napi::Object o = options.As<Napi::Object>();
  p.temperature = static_cast<float>(number_field(env, o, "temperature", p.temperature));
  p.top_k = int_field(env, o, "topK", p.top_k);
  p.top_p = static_cast<float>(number_field(env, o, "topP", p.top_p));
  p.min_p = static_cast<float>(number_field(env, o, "minP", p.min_p));
  p.repeat_penalty = static_cast<float>(number_field(env, o, "repeatPenalty", p.repeat_penalty));
  p.repeat_last_n = int_field(env, o, "repeatLastN", p.repeat_last_n);
  p.frequency_penalty = static_cast<float>(number_field(env, o, "frequencyPenalty", p.frequency_penalty));
  p.presence_penalty = static_cast<float>(number_field(env, o, "presencePenalty", p.presence_penalty));
  p.seed = seed_field(env, o);
  try {
    validate_sampler_params(p);
  } catch (const std::exception& e) {
    throw Napi::RangeError::New(env, e.what());
  }
  return p;
}

std::shared_ptr<const JsonSchema> json_schema_from_js(Napi::Env env, Napi::Value schema) {
  if (schema.IsUndefined() || schema.IsNull()) return JsonSchema::any();
  std::string text;
  if (schema.IsString()) {
    text = schema.As<Napi::String>().Utf8Value();
  } else if (schema.IsObject()) {
    Napi::Object json = env.Global().Get("JSON").As<Napi::Object>();
    Napi::Value s = json.Get("stringify").As<Napi::Function>().Call(json, {schema});
    if (!s.IsString()) throw Napi::TypeError::New(env, "json schema: cannot be serialised with JSON.stringify");
    text = s.As<Napi::String>().Utf8Value();
  } else {
    throw Napi::TypeError::New(env, "json schema: must be a JSON string or an object");
  }
  try {
    return JsonSchema::parse(text);
  } catch (const std::exception& e) {
    throw Napi::Error::New(env, e.what());
  }
}

namespace {
Registrar reg("sampler", [](Napi::Env env, Napi::Object exports) {
  exports.Set("samplerSample", Napi::Function::New(env, SamplerSample, "samplerSample"));
  exports.Set("Sampler", SamplerWrap::Define(env));
  exports.Set("JsonConstraint", JsonConstraintWrap::Define(env));
});
}  // namespace

}  // namespace ls::napi
