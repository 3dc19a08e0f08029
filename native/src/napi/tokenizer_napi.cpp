// Tokenizer for JS: `new Tokenizer(ggufPath)` reads only the vocabulary of a GGUF file.
//   tokenize(text, {addSpecial?, parseSpecial?}) -> Int32Array
//   detokenize(ids, {removeSpecial?, unparseSpecial?}) -> string
//   tokenToPiece(id, special = true) -> Uint8Array (the token's bytes; may be partial UTF-8)
//   isEog(id) -> boolean
//   info() -> {model, pre, nTokens, bos, eos, eot, eom, unk, pad, nl, eog, addBos, addEos, addSpacePrefix}
#include <cmath>
#include <stdexcept>
#include <string>
#include <vector>

#include "gguf.h"
#include "napi/registry.h"
#include "vocab.h"

namespace {

class Tokenizer : public Napi::ObjectWrap<Tokenizer> {
 public:
  static Napi::Function define(Napi::Env env) {
    return DefineClass(env, "Tokenizer",
                       {
                           InstanceMethod<&Tokenizer::tokenize>("tokenize"),
                           InstanceMethod<&Tokenizer::detokenize>("detokenize"),
                           InstanceMethod<&Tokenizer::token_to_piece>("tokenToPiece"),
                           InstanceMethod<&Tokenizer::is_eog>("isEog"),
                           InstanceMethod<&Tokenizer::info>("info"),
                       });
  }

  explicit Tokenizer(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Tokenizer>(info) {
    Napi::Env env = info.Env();
    if (info.Length() < 1 || !info[0].IsString()) throw Napi::TypeError::New(env, "new Tokenizer(ggufPath): ggufPath must be a string");
    const std::string path = info[0].As<Napi::String>().Utf8Value();
    try {
      std::unique_ptr<ls::GgufFile> file = ls::GgufFile::open(path);
      vocab_ = std::make_unique<ls::Vocab>(ls::Vocab::load(*file));
    } catch (const std::exception& e) {
      throw Napi::Error::New(env, path + ": " + e.what());
    }
  }

 private:
  static bool flag(const Napi::Value& options, const char* name, bool dflt) {
    if (!options.IsObject()) return dflt;
    Napi::Value v = options.As<Napi::Object>().Get(name);
    if (v.IsUndefined()) return dflt;
    if (!v.IsBoolean()) throw Napi::TypeError::New(options.Env(), std::string("option ") + name + " must be a boolean");
    return v.As<Napi::Boolean>().Value();
  }

  int32_t token_arg(const Napi::Value& v, const char* what) const {
    Napi::Env env = v.Env();
    if (!v.IsNumber()) throw Napi::TypeError::New(env, std::string(what) + " must be a number");
    const double d = v.As<Napi::Number>().DoubleValue();
    if (!(d >= 0 && d < vocab_->n_tokens()) || std::floor(d) != d) {
      throw Napi::RangeError::New(env, std::string(what) + " " + v.ToString().Utf8Value() + " is not a token id (0 ≤ id < " +
                                           std::to_string(vocab_->n_tokens()) + ")");
    }
    return static_cast<int32_t>(d);
  }

  Napi::Value tokenize(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (info.Length() < 1 || !info[0].IsString()) throw Napi::TypeError::New(env, "tokenize(text): text must be a string");
    const std::string text = info[0].As<Napi::String>().Utf8Value();
    const bool add_special = flag(info[1], "addSpecial", false);
    const bool parse_special = flag(info[1], "parseSpecial", false);
    std::vector<int32_t> ids;
    try {
      ids = vocab_->tokenize(text, add_special, parse_special);
    } catch (const std::exception& e) {
      throw Napi::Error::New(env, std::string("tokenize: ") + e.what());
    }
    Napi::Int32Array out = Napi::Int32Array::New(env, ids.size());
    std::copy(ids.begin(), ids.end(), out.Data());
    return out;
  }

  // ids: an Int32Array, a Uint32Array or an array of numbers.
  std::vector<int32_t> ids_arg(const Napi::Value& v) const {
    Napi::Env env = v.Env();
    std::vector<int32_t> ids;
    if (v.IsTypedArray()) {
      Napi::TypedArray t = v.As<Napi::TypedArray>();
      if (t.TypedArrayType() != napi_int32_array && t.TypedArrayType() != napi_uint32_array) {
        throw Napi::TypeError::New(env, "detokenize(ids): a typed array must be an Int32Array or Uint32Array");
      }
      ids.reserve(t.ElementLength());
      for (size_t i = 0; i < t.ElementLength(); ++i) ids.push_back(token_arg(t.Get(static_cast<uint32_t>(i)), "token"));
      return ids;
    }
    if (!v.IsArray()) throw Napi::TypeError::New(env, "detokenize(ids): ids must be an array of token ids");
    Napi::Array a = v.As<Napi::Array>();
    ids.reserve(a.Length());
    for (uint32_t i = 0; i < a.Length(); ++i) ids.push_back(token_arg(a.Get(i), "token"));
    return ids;
  }

  Napi::Value detokenize(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    const std::vector<int32_t> ids = ids_arg(info[0]);
    const bool remove_special = flag(info[1], "removeSpecial", false);
    const bool unparse_special = flag(info[1], "unparseSpecial", false);
    return Napi::String::New(env, vocab_->detokenize(ids, remove_special, unparse_special));
  }

  Napi::Value token_to_piece(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    const int32_t id = token_arg(info[0], "tokenToPiece(id): id");
    bool special = true;
    if (info.Length() > 1 && !info[1].IsUndefined()) {
      if (!info[1].IsBoolean()) throw Napi::TypeError::New(env, "tokenToPiece(id, special): special must be a boolean");
      special = info[1].As<Napi::Boolean>().Value();
    }
    const std::string piece = vocab_->token_to_piece(id, special);
    return Napi::Buffer<uint8_t>::Copy(env, reinterpret_cast<const uint8_t*>(piece.data()), piece.size());
  }

  Napi::Value is_eog(const Napi::CallbackInfo& info) {
    return Napi::Boolean::New(info.Env(), vocab_->is_eog(token_arg(info[0], "isEog(id): id")));
  }

  Napi::Value info(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    const ls::Vocab& v = *vocab_;
    auto id_or_null = [&](int32_t id) -> Napi::Value {
      return id == ls::kNoToken ? env.Null() : Napi::Number::New(env, id);
    };
    Napi::Object out = Napi::Object::New(env);
    out.Set("model", v.model());
    out.Set("pre", v.pre());
    out.Set("nTokens", Napi::Number::New(env, v.n_tokens()));
    out.Set("bos", id_or_null(v.bos()));
    out.Set("eos", id_or_null(v.eos()));
    out.Set("eot", id_or_null(v.eot()));
    out.Set("eom", id_or_null(v.eom()));
    out.Set("unk", id_or_null(v.unk()));
    out.Set("pad", id_or_null(v.pad()));
    out.Set("nl", id_or_null(v.nl()));
    Napi::Array eog = Napi::Array::New(env, v.eog_ids().size());
    for (size_t i = 0; i < v.eog_ids().size(); ++i) eog.Set(static_cast<uint32_t>(i), Napi::Number::New(env, v.eog_ids()[i]));
    out.Set("eog", eog);
    out.Set("addBos", Napi::Boolean::New(env, v.add_bos()));
    out.Set("addEos", Napi::Boolean::New(env, v.add_eos()));
    out.Set("addSpacePrefix", Napi::Boolean::New(env, v.add_space_prefix()));
    return out;
  }

  std::unique_ptr<ls::Vocab> vocab_;
};

ls::napi::Registrar reg("tokenizer", [](Napi::Env env, Napi::Object exports) {
  exports.Set("Tokenizer", Tokenizer::define(env));
});

}  // namespace
