// Node binding of the inference engine: `loadEngine(path, options)` resolves to an Engine
// object. Everything that computes runs on libuv worker threads, one job at a time per
// engine (Engine::mutex); the event loop only converts arguments and results.
#include <napi.h>

#include <atomic>
#include <cmath>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "engine.h"
#include "napi/registry.h"

namespace {

using ls::Engine;
using EnginePtr = std::shared_ptr<Engine>;

// ---- argument helpers (throw Napi::TypeError naming the argument) ----

std::vector<int32_t> token_array(const Napi::Env& env, const Napi::Value& v, const char* what) {
  std::vector<int32_t> out;
  if (v.IsTypedArray() && v.As<Napi::TypedArray>().TypedArrayType() == napi_int32_array) {
    Napi::Int32Array a = v.As<Napi::Int32Array>();
    out.assign(a.Data(), a.Data() + a.ElementLength());
    return out;
  }
  if (!v.IsArray()) throw Napi::TypeError::New(env, std::string(what) + " must be an Int32Array or an array of token ids");
  Napi::Array a = v.As<Napi::Array>();
  out.reserve(a.Length());
  for (uint32_t i = 0; i < a.Length(); ++i) {
    Napi::Value e = a.Get(i);
    if (!e.IsNumber()) throw Napi::TypeError::New(env, std::string(what) + "[" + std::to_string(i) + "] is not a number");
    const double d = e.As<Napi::Number>().DoubleValue();
    if (d != double(int32_t(d))) throw Napi::TypeError::New(env, std::string(what) + "[" + std::to_string(i) + "] is not an int32");
    out.push_back(int32_t(d));
  }
  return out;
}

// Optional numeric option: absent/undefined keeps dflt; anything but a finite number throws.
double number_option(const Napi::Env& env, const Napi::Object& o, const char* key, double dflt) {
  if (!o.Has(key)) return dflt;
  Napi::Value v = o.Get(key);
  if (v.IsUndefined()) return dflt;
  if (!v.IsNumber() || !std::isfinite(v.As<Napi::Number>().DoubleValue()))
    throw Napi::TypeError::New(env, std::string("option ") + key + " must be a finite number");
  return v.As<Napi::Number>().DoubleValue();
}

int64_t int_option(const Napi::Env& env, const Napi::Object& o, const char* key, int64_t dflt, int64_t lo, int64_t hi) {
  const double d = number_option(env, o, key, double(dflt));
  if (d != double(int64_t(d)) || d < double(lo) || d > double(hi))
    throw Napi::RangeError::New(env, std::string("option ") + key + " must be an integer in " + std::to_string(lo) +
                                         ".." + std::to_string(hi));
  return int64_t(d);
}

// Optional boolean option: absent/undefined keeps dflt; anything but a boolean throws.
bool bool_option(const Napi::Env& env, const Napi::Object& o, const char* key, bool dflt) {
  if (!o.Has(key)) return dflt;
  Napi::Value v = o.Get(key);
  if (v.IsUndefined()) return dflt;
  if (!v.IsBoolean()) throw Napi::TypeError::New(env, std::string("option ") + key + " must be a boolean");
  return v.As<Napi::Boolean>().Value();
}

// ---- async jobs: a function run under the engine lock, its result turned into JS ----

class Job : public Napi::AsyncWorker {
 public:
  using Work = std::function<void()>;
  using Result = std::function<Napi::Value(Napi::Env)>;
  Job(Napi::Env env, EnginePtr engine, Work work, Result result)
      : Napi::AsyncWorker(env, "litsurvey.engine"),
        deferred_(Napi::Promise::Deferred::New(env)),
        engine_(std::move(engine)),
        work_(std::move(work)),
        result_(std::move(result)) {}
  Napi::Promise promise() { return deferred_.Promise(); }

  void Execute() override {
    try {
      std::lock_guard<std::mutex> lock(engine_->mutex());
      work_();
    } catch (const std::exception& e) {
      SetError(e.what());
    }
  }
  void OnOK() override { deferred_.Resolve(result_(Env())); }
  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  Napi::Promise::Deferred deferred_;
  EnginePtr engine_;
  Work work_;
  Result result_;
};

class EngineWrap;

// Loads a model on a worker thread; resolves to a new EngineWrap.
class LoadJob : public Napi::AsyncWorker {
 public:
  LoadJob(Napi::Env env, Napi::FunctionReference* constructor, std::string path, ls::EngineOptions opts)
      : Napi::AsyncWorker(env, "litsurvey.engine.load"),
        deferred_(Napi::Promise::Deferred::New(env)),
        constructor_(constructor),
        path_(std::move(path)),
        opts_(opts) {}
  Napi::Promise promise() { return deferred_.Promise(); }
  void Execute() override {
    try {
      engine_ = EnginePtr(Engine::load(path_, opts_).release());
    } catch (const std::exception& e) {
      SetError(e.what());
    }
  }
  void OnOK() override;
  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  Napi::Promise::Deferred deferred_;
  Napi::FunctionReference* constructor_;  // this environment's Engine class
  std::string path_;
  ls::EngineOptions opts_;
  EnginePtr engine_;
};

// Runs Engine::generate, delivering each token to a JS callback on the main thread.
class GenerateJob : public Napi::AsyncProgressQueueWorker<int32_t> {
 public:
  GenerateJob(Napi::Env env, Napi::Function on_token, EnginePtr engine, std::vector<int32_t> prompt,
              ls::GenerateParams params, std::shared_ptr<std::atomic<bool>> cancel)
      : Napi::AsyncProgressQueueWorker<int32_t>(on_token, "litsurvey.engine.generate"),
        deferred_(Napi::Promise::Deferred::New(env)),
        engine_(std::move(engine)),
        prompt_(std::move(prompt)),
        params_(std::move(params)),
        cancel_(std::move(cancel)) {}
  Napi::Promise promise() { return deferred_.Promise(); }

  void Execute(const ExecutionProgress& progress) override {
    try {
      std::lock_guard<std::mutex> lock(engine_->mutex());
      stats_ = engine_->generate(prompt_, params_, [&](int32_t id) {
        progress.Send(&id, 1);
        return true;
      }, *cancel_);
    } catch (const std::exception& e) {
      SetError(e.what());
    }
  }
  void OnProgress(const int32_t* ids, size_t count) override {
    Napi::Env env = Env();
    Napi::HandleScope scope(env);
    for (size_t i = 0; i < count; ++i) {
      if (cancel_->load()) return;
      Napi::Value r = Callback().Call({Napi::Number::New(env, ids[i])});
      // The callback returns false to stop; an exception in it also stops generation.
      if (env.IsExceptionPending()) {
        env.GetAndClearPendingException();
        cancel_->store(true);
      } else if (r.IsBoolean() && !r.As<Napi::Boolean>().Value()) {
        cancel_->store(true);
      }
    }
  }
  void OnOK() override {
    Napi::Env env = Env();
    Napi::Object o = Napi::Object::New(env);
    o.Set("promptTokens", double(stats_.prompt_tokens));
    o.Set("cachedTokens", double(stats_.cached_tokens));
    o.Set("generatedTokens", double(stats_.generated_tokens));
    o.Set("prefillMs", stats_.prefill_ms);
    o.Set("decodeMs", stats_.decode_ms);
    o.Set("stopReason", stats_.stop_reason);
    deferred_.Resolve(o);
  }
  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  Napi::Promise::Deferred deferred_;
  EnginePtr engine_;
  std::vector<int32_t> prompt_;
  ls::GenerateParams params_;
  std::shared_ptr<std::atomic<bool>> cancel_;
  ls::GenerateStats stats_;
};

// Hands the vector's memory to JS without a copy (logits are vocab-sized, every decode step).
Napi::Float32Array to_float32(Napi::Env env, std::vector<float>&& v) {
  auto* owned = new std::vector<float>(std::move(v));
  if (owned->empty()) {
    delete owned;
    return Napi::Float32Array::New(env, 0);
  }
  Napi::ArrayBuffer buffer = Napi::ArrayBuffer::New(env, owned->data(), owned->size() * sizeof(float),
                                                    [](Napi::Env, void*, std::vector<float>* o) { delete o; }, owned);
  return Napi::Float32Array::New(env, owned->size(), buffer, 0);
}

class EngineWrap : public Napi::ObjectWrap<EngineWrap> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "Engine", {
        InstanceMethod("info", &EngineWrap::Info),
        InstanceMethod("tokenize", &EngineWrap::Tokenize),
        InstanceMethod("detokenize", &EngineWrap::Detokenize),
        InstanceMethod("tokenPieces", &EngineWrap::TokenPieces),
        InstanceMethod("isEog", &EngineWrap::IsEog),
        InstanceMethod("createSequence", &EngineWrap::CreateSequence),
        InstanceMethod("freeSequence", &EngineWrap::FreeSequence),
        InstanceMethod("resetSequence", &EngineWrap::ResetSequence),
        InstanceMethod("eval", &EngineWrap::Eval),
        InstanceMethod("generate", &EngineWrap::Generate),
        InstanceMethod("score", &EngineWrap::Score),
        InstanceMethod("embed", &EngineWrap::Embed),
        InstanceMethod("stats", &EngineWrap::Stats),
        InstanceMethod("fillSynthetic", &EngineWrap::FillSynthetic),
        InstanceMethod("clearPrefixCache", &EngineWrap::ClearPrefixCache),
        InstanceMethod("close", &EngineWrap::Close),
    });
  }

  explicit EngineWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<EngineWrap>(info) {
    if (info.Length() != 1 || !info[0].IsExternal())
      throw Napi::TypeError::New(info.Env(), "Engine objects are created by loadEngine()");
    engine_ = *info[0].As<Napi::External<EnginePtr>>().Data();
  }

 private:
  // The engine, or a JS error when closed. Sync calls that touch shared state take the lock.
  EnginePtr live(const Napi::CallbackInfo& info) {
    if (!engine_) throw Napi::Error::New(info.Env(), "the engine is closed");
    return engine_;
  }

  Napi::Value Info(const Napi::CallbackInfo& info) {
    EnginePtr e = live(info);
    Napi::Env env = info.Env();
    const ls::ModelHparams& hp = e->model().hp;
    Napi::Object o = Napi::Object::New(env);
    o.Set("path", e->model().file().path());
    o.Set("architecture", hp.arch);
    o.Set("vocabSize", double(hp.n_vocab));
    o.Set("embeddingLength", double(hp.n_embd));
    o.Set("layers", double(hp.n_layer));
    o.Set("heads", double(hp.n_head));
    o.Set("kvHeads", double(hp.n_head_kv));
    o.Set("headDim", double(hp.head_dim));
    o.Set("feedForwardLength", double(hp.n_ff));
    o.Set("trainContextLength", double(hp.n_ctx_train));
    o.Set("contextSize", double(e->context().params().n_ctx));
    o.Set("batchSize", double(e->context().params().n_batch));
    o.Set("threads", double(e->context().params().n_threads));
    o.Set("kvCacheType", e->context().params().kv_type == ls::KvType::F16 ? "f16" : "f32");
    o.Set("tiedEmbeddings", e->model().tied_embeddings);
    o.Set("ropeFactors", !e->model().rope_factors.empty());
    const ls::SparseParams& sp = e->context().params().sparse;
    if (sp.enabled) {
      Napi::Object so = Napi::Object::New(env);
      so.Set("topk", double(sp.topk));
      so.Set("kernelSize", double(sp.kernel_size));
      so.Set("kernelStride", double(sp.kernel_stride));
      so.Set("initBlocks", double(sp.init_blocks));
      so.Set("blockSize", double(sp.block_size));
      so.Set("windowSize", double(sp.window_size));
      so.Set("denseLen", double(sp.dense_len));
      o.Set("sparse", so);
    } else {
      o.Set("sparse", env.Null());
    }
    o.Set("bos", e->vocab().bos());
    o.Set("eos", e->vocab().eos());
    o.Set("addBos", e->vocab().add_bos());
    // Token texts as the chat template sees them (bos_token / eos_token).
    const auto text_of = [&](int32_t id) { return id == ls::kNoToken ? env.Null() : Napi::String::New(env, e->vocab().token_text(id)); };
    o.Set("bosText", text_of(e->vocab().bos()));
    o.Set("eosText", text_of(e->vocab().eos()));
    o.Set("chatTemplate", e->model().file().get_string_or("tokenizer.chat_template", ""));
    return o;
  }

  // tokenize(text, addSpecial = true, parseSpecial = false) -> Int32Array
  Napi::Value Tokenize(const Napi::CallbackInfo& info) {
    EnginePtr e = live(info);
    Napi::Env env = info.Env();
    if (info.Length() < 1 || !info[0].IsString()) throw Napi::TypeError::New(env, "tokenize(text): text must be a string");
    const bool add_special = info.Length() < 2 || info[1].IsUndefined() ? true : info[1].ToBoolean().Value();
    const bool parse_special = info.Length() < 3 || info[2].IsUndefined() ? false : info[2].ToBoolean().Value();
    const std::vector<int32_t> ids = e->vocab().tokenize(info[0].As<Napi::String>().Utf8Value(), add_special, parse_special);
    Napi::Int32Array a = Napi::Int32Array::New(env, ids.size());
    std::copy(ids.begin(), ids.end(), a.Data());
    return a;
  }

  // detokenize(ids, removeSpecial = false, unparseSpecial = false) -> Uint8Array of UTF-8 bytes
  // (bytes, so a caller streaming token by token can join multi-byte characters itself).
  Napi::Value Detokenize(const Napi::CallbackInfo& info) {
    EnginePtr e = live(info);
    Napi::Env env = info.Env();
    if (info.Length() < 1) throw Napi::TypeError::New(env, "detokenize(ids): ids missing");
    const std::vector<int32_t> ids = token_array(env, info[0], "ids");
    for (int32_t id : ids)
      if (id < 0 || id >= e->vocab().n_tokens())
        throw Napi::RangeError::New(env, "token id " + std::to_string(id) + " is outside the vocabulary");
    const bool remove_special = info.Length() >= 2 && info[1].ToBoolean().Value();
    const bool unparse_special = info.Length() >= 3 && info[2].ToBoolean().Value();
    const std::string bytes = e->vocab().detokenize(ids, remove_special, unparse_special);
    Napi::Uint8Array a = Napi::Uint8Array::New(env, bytes.size());
    std::copy(bytes.begin(), bytes.end(), a.Data());
    return a;
  }

  // tokenPieces(ids) -> Uint8Array: each token's own bytes concatenated (no leading-space
  // or special-token rules), what a stream of generated tokens prints.
  Napi::Value TokenPieces(const Napi::CallbackInfo& info) {
    EnginePtr e = live(info);
    Napi::Env env = info.Env();
    if (info.Length() < 1) throw Napi::TypeError::New(env, "tokenPieces(ids): ids missing");
    std::string bytes;
    for (int32_t id : token_array(env, info[0], "ids")) {
      if (id < 0 || id >= e->vocab().n_tokens())
        throw Napi::RangeError::New(env, "token id " + std::to_string(id) + " is outside the vocabulary");
      bytes += e->vocab().token_to_piece(id, false);
    }
    Napi::Uint8Array a = Napi::Uint8Array::New(env, bytes.size());
    std::copy(bytes.begin(), bytes.end(), a.Data());
    return a;
  }

  Napi::Value IsEog(const Napi::CallbackInfo& info) {
    EnginePtr e = live(info);
    if (info.Length() < 1 || !info[0].IsNumber()) throw Napi::TypeError::New(info.Env(), "isEog(id): id must be a number");
    return Napi::Boolean::New(info.Env(), e->vocab().is_eog(info[0].As<Napi::Number>().Int32Value()));
  }

  int32_t sequence_arg(const Napi::CallbackInfo& info) {
    if (info.Length() < 1 || !info[0].IsNumber()) throw Napi::TypeError::New(info.Env(), "a sequence id is required");
    return info[0].As<Napi::Number>().Int32Value();
  }

  // createSequence() -> id. Synchronous: it never waits for a running computation.
  Napi::Value CreateSequence(const Napi::CallbackInfo& info) {
    EnginePtr e = live(info);
    try {
      return Napi::Number::New(info.Env(), e->create_sequence());
    } catch (const std::exception& ex) {
      throw Napi::Error::New(info.Env(), ex.what());
    }
  }

  // freeSequence(id) / resetSequence(id) -> Promise<void>: they release KV blocks, so they
  // queue behind running work instead of blocking the event loop.
  Napi::Value FreeSequence(const Napi::CallbackInfo& info) {
    const int32_t id = sequence_arg(info);
    return queue_void(info, [id](Engine& e) { e.free_sequence(id); });
  }
  Napi::Value ResetSequence(const Napi::CallbackInfo& info) {
    const int32_t id = sequence_arg(info);
    return queue_void(info, [id](Engine& e) { e.reset_sequence(id); });
  }

  template <typename F>
  Napi::Value queue_void(const Napi::CallbackInfo& info, F f) {
    EnginePtr e = live(info);
    auto* job = new Job(info.Env(), e, [e, f] { f(*e); }, [](Napi::Env env) -> Napi::Value { return env.Undefined(); });
    Napi::Promise p = job->promise();
    job->Queue();
    return p;
  }

  // eval(seqId, tokens, logits: 'none'|'last'|'all') -> Promise<Float32Array | null>
  Napi::Value Eval(const Napi::CallbackInfo& info) {
    EnginePtr e = live(info);
    Napi::Env env = info.Env();
    const int32_t id = sequence_arg(info);
    if (info.Length() < 2) throw Napi::TypeError::New(env, "eval(seqId, tokens, logits)");
    auto tokens = std::make_shared<std::vector<int32_t>>(token_array(env, info[1], "tokens"));
    const std::string mode = info.Length() >= 3 && info[2].IsString() ? info[2].As<Napi::String>().Utf8Value() : "last";
    if (mode != "none" && mode != "last" && mode != "all")
      throw Napi::TypeError::New(env, "eval: logits must be 'none', 'last' or 'all'");
    if (tokens->empty()) throw Napi::RangeError::New(env, "eval: tokens is empty");
    const int64_t from = mode == "none" ? -1 : mode == "last" ? int64_t(tokens->size()) - 1 : 0;
    auto logits = std::make_shared<std::vector<float>>();
    auto* job = new Job(env, e, [e, id, tokens, from, logits] { e->eval(id, *tokens, from, *logits); },
                        [logits, from](Napi::Env env) -> Napi::Value {
                          return from < 0 ? env.Null() : Napi::Value(to_float32(env, std::move(*logits)));
                        });
    Napi::Promise p = job->promise();
    job->Queue();
    return p;
  }

  // generate(tokens, options, onToken(id) -> boolean|void) -> { done: Promise<stats>, cancel() }
  Napi::Value Generate(const Napi::CallbackInfo& info) {
    EnginePtr e = live(info);
    Napi::Env env = info.Env();
    if (info.Length() < 3 || !info[2].IsFunction())
      throw Napi::TypeError::New(env, "generate(tokens, options, onToken)");
    std::vector<int32_t> prompt = token_array(env, info[0], "tokens");
    if (prompt.empty()) throw Napi::RangeError::New(env, "generate: the prompt has no tokens");
    const Napi::Object o = info[1].IsObject() ? info[1].As<Napi::Object>() : Napi::Object::New(env);
    ls::GenerateParams p;
    p.max_tokens = int32_t(int_option(env, o, "maxTokens", 256, 0, 1 << 20));
    p.sampler.temperature = float(number_option(env, o, "temperature", 0.8));
    p.sampler.top_k = int32_t(int_option(env, o, "topK", 40, 0, 1 << 24));
    p.sampler.top_p = float(number_option(env, o, "topP", 0.95));
    p.sampler.min_p = float(number_option(env, o, "minP", 0.05));
    p.sampler.repeat_penalty = float(number_option(env, o, "repeatPenalty", 1.0));
    p.sampler.repeat_last_n = int32_t(int_option(env, o, "repeatLastN", 64, 0, 1 << 20));
    p.sampler.seed = uint64_t(int_option(env, o, "seed", 0, 0, (int64_t(1) << 53)));
    p.ignore_eos = bool_option(env, o, "ignoreEos", false);
    p.sequence = int32_t(int_option(env, o, "sequence", -1, -1, INT32_MAX));
    if (o.Has("json") && !o.Get("json").IsUndefined() && !o.Get("json").IsNull()) {
      Napi::Value j = o.Get("json");
      if (j.IsBoolean()) {
        p.json = j.As<Napi::Boolean>().Value();
      } else if (j.IsString()) {
        p.json = true;
        p.json_schema = j.As<Napi::String>().Utf8Value();
      } else {
        throw Napi::TypeError::New(env, "option json must be a boolean or a JSON schema string");
      }
    }
    try {
      ls::validate_sampler_params(p.sampler);
    } catch (const std::exception& ex) {
      throw Napi::RangeError::New(env, ex.what());
    }
    auto cancel = std::make_shared<std::atomic<bool>>(false);
    auto* job = new GenerateJob(env, info[2].As<Napi::Function>(), e, std::move(prompt), std::move(p), cancel);
    Napi::Object handle = Napi::Object::New(env);
    handle.Set("done", job->promise());
    handle.Set("cancel", Napi::Function::New(env, [cancel](const Napi::CallbackInfo& ci) {
                 cancel->store(true);
                 return ci.Env().Undefined();
               }, "cancel"));
    job->Queue();
    return handle;
  }

  // score(promptTokens, continuationTokens) -> Promise<Float64Array> of natural-log probs
  Napi::Value Score(const Napi::CallbackInfo& info) {
    EnginePtr e = live(info);
    Napi::Env env = info.Env();
    if (info.Length() < 2) throw Napi::TypeError::New(env, "score(promptTokens, continuationTokens)");
    auto prompt = std::make_shared<std::vector<int32_t>>(token_array(env, info[0], "promptTokens"));
    auto cont = std::make_shared<std::vector<int32_t>>(token_array(env, info[1], "continuationTokens"));
    auto result = std::make_shared<std::vector<double>>();
    auto* job = new Job(env, e, [e, prompt, cont, result] { *result = e->score(*prompt, *cont); },
                        [result](Napi::Env env) -> Napi::Value {
                          Napi::Float64Array a = Napi::Float64Array::New(env, result->size());
                          std::copy(result->begin(), result->end(), a.Data());
                          return a;
                        });
    Napi::Promise p = job->promise();
    job->Queue();
    return p;
  }

  // embed(tokens) -> Promise<Float32Array> (L2-normalised mean of final hidden states)
  Napi::Value Embed(const Napi::CallbackInfo& info) {
    EnginePtr e = live(info);
    Napi::Env env = info.Env();
    if (info.Length() < 1) throw Napi::TypeError::New(env, "embed(tokens)");
    auto tokens = std::make_shared<std::vector<int32_t>>(token_array(env, info[0], "tokens"));
    auto result = std::make_shared<std::vector<float>>();
    auto* job = new Job(env, e, [e, tokens, result] { *result = e->embed(*tokens); },
                        [result](Napi::Env env) -> Napi::Value { return to_float32(env, std::move(*result)); });
    Napi::Promise p = job->promise();
    job->Queue();
    return p;
  }

  // stats() -> prefix-cache and KV-pool counters (a snapshot: never waits for running work).
  Napi::Value Stats(const Napi::CallbackInfo& info) {
    EnginePtr e = live(info);
    Napi::Env env = info.Env();
    const ls::PrefixCacheStats s = e->stats();
    Napi::Object o = Napi::Object::New(env);
    o.Set("hitTokens", double(s.hit_tokens));
    o.Set("computedTokens", double(s.computed_tokens));
    o.Set("evictions", double(s.kv.evictions));
    o.Set("blocksInUse", double(s.kv.blocks_in_use));
    o.Set("blocksFree", double(s.kv.blocks_cached + s.kv.blocks_empty));
    o.Set("blocksCached", double(s.kv.blocks_cached));
    o.Set("blocksEmpty", double(s.kv.blocks_empty));
    o.Set("blocksTotal", double(s.kv.blocks_total));
    o.Set("blockTokens", double(ls::KvCache::kBlockTokens));
    Napi::Object last = Napi::Object::New(env);
    last.Set("hitTokens", double(s.last_hit_tokens));
    last.Set("computedTokens", double(s.last_computed_tokens));
    o.Set("lastPrompt", last);
    o.Set("attendedKeys", double(s.attention.attended));
    o.Set("causalKeys", double(s.attention.causal));
    o.Set("attendedFraction", s.attention.causal > 0 ? double(s.attention.attended) / double(s.attention.causal) : 1.0);
    Napi::Object phases = Napi::Object::New(env);
    phases.Set("matmul", s.phases.matmul_ms);
    phases.Set("selection", s.phases.selection_ms);
    phases.Set("attention", s.phases.attention_ms);
    phases.Set("other", s.phases.other_ms);
    o.Set("phaseMs", phases);
    return o;
  }

  // fillSynthetic(seqId, nTokens, seed) -> Promise<void>: for benchmarks only. Fills an empty
  // sequence with nTokens positions of pseudo-random keys and values (and compressed keys) as
  // if a prompt had been evaluated; it is never shared through the prefix cache. Decode cost
  // does not depend on the KV values, so this measures long-context decode without a long prefill.
  Napi::Value FillSynthetic(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    const int32_t id = sequence_arg(info);
    if (info.Length() < 3 || !info[1].IsNumber() || !info[2].IsNumber())
      throw Napi::TypeError::New(env, "fillSynthetic(seqId, nTokens, seed): nTokens and seed must be numbers");
    const double n = info[1].As<Napi::Number>().DoubleValue();
    const double seed = info[2].As<Napi::Number>().DoubleValue();
    if (!(n >= 1 && n <= double(1 << 20) && n == std::floor(n)))
      throw Napi::RangeError::New(env, "fillSynthetic: nTokens must be an integer in 1..1048576");
    if (!(seed >= 0 && seed <= 4294967295.0 && seed == std::floor(seed)))
      throw Napi::RangeError::New(env, "fillSynthetic: seed must be an integer in 0..4294967295");
    return queue_void(info, [id, n, seed](Engine& e) { e.fill_synthetic(id, int64_t(n), uint64_t(seed)); });
  }

  // clearPrefixCache() -> Promise<void>: evicts the cached blocks no sequence uses.
  Napi::Value ClearPrefixCache(const Napi::CallbackInfo& info) {
    return queue_void(info, [](Engine& e) { e.clear_prefix_cache(); });
  }

  // Drops this object's reference; running jobs keep the engine alive until they finish.
  Napi::Value Close(const Napi::CallbackInfo& info) {
    engine_.reset();
    return info.Env().Undefined();
  }

  EnginePtr engine_;
};

void LoadJob::OnOK() {
  Napi::Env env = Env();
  Napi::Object obj = constructor_->New({Napi::External<EnginePtr>::New(env, &engine_)});
  deferred_.Resolve(obj);
}

// Option `sparse`: a boolean, or an object of overrides (turns sparse attention on) with the
// optional integers topk, kernelSize, kernelStride, initBlocks, windowSize, denseLen.
void sparse_options(const Napi::Env& env, const Napi::Object& o, ls::EngineOptions& opts) {
  if (!o.Has("sparse")) return;
  const Napi::Value v = o.Get("sparse");
  if (v.IsUndefined()) return;
  if (v.IsBoolean()) {
    opts.sparse = v.As<Napi::Boolean>().Value() ? ls::SparseMode::On : ls::SparseMode::Off;
    return;
  }
  if (!v.IsObject() || v.IsArray()) throw Napi::TypeError::New(env, "option sparse must be a boolean or an object");
  opts.sparse = ls::SparseMode::On;
  const Napi::Object s = v.As<Napi::Object>();
  const Napi::Array names = s.GetPropertyNames();
  for (uint32_t i = 0; i < names.Length(); ++i) {
    const std::string name = names.Get(i).ToString().Utf8Value();
    if (name != "topk" && name != "kernelSize" && name != "kernelStride" && name != "initBlocks" &&
        name != "windowSize" && name != "denseLen")
      throw Napi::TypeError::New(env, "option sparse." + name +
                                          " is unknown (topk, kernelSize, kernelStride, initBlocks, windowSize, denseLen)");
  }
  const int64_t max = int64_t(1) << 30;
  // -1 (absent) keeps the model's value.
  const auto field = [&](const char* key, int64_t lo, int64_t hi) {
    return s.Has(key) && !s.Get(key).IsUndefined() ? int_option(env, s, key, 0, lo, hi) : -1;
  };
  ls::SparseOverrides& ov = opts.sparse_overrides;
  ov.topk = field("topk", 1, max);
  ov.kernel_size = field("kernelSize", 1, 65536);
  ov.kernel_stride = field("kernelStride", 1, 64);
  ov.init_blocks = field("initBlocks", 0, max);
  ov.window_size = field("windowSize", 64, max);
  ov.dense_len = field("denseLen", 0, max);
}

// loadEngine(path, { threads, contextSize, batchSize, maxSequences, kvCacheMb, kvCacheType, sparse }) -> Promise<Engine>
Napi::Value LoadEngine(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsString()) throw Napi::TypeError::New(env, "loadEngine(path, options): path must be a string");
  if (info.Length() >= 2 && !info[1].IsUndefined() && !info[1].IsObject())
    throw Napi::TypeError::New(env, "loadEngine: options must be an object");
  const Napi::Object o = info.Length() >= 2 && info[1].IsObject() ? info[1].As<Napi::Object>() : Napi::Object::New(env);
  ls::EngineOptions opts;
  opts.n_threads = int(int_option(env, o, "threads", 2, 1, 256));
  opts.n_ctx = int_option(env, o, "contextSize", 0, 0, 1 << 20);
  opts.n_batch = int_option(env, o, "batchSize", 256, 1, 4096);
  opts.max_sequences = int(int_option(env, o, "maxSequences", 4, 1, 256));
  const double kv_mb = number_option(env, o, "kvCacheMb", 0);
  if (kv_mb < 0 || kv_mb > double(1 << 30)) throw Napi::RangeError::New(env, "option kvCacheMb must be in 0..1073741824");
  opts.kv_cache_bytes = uint64_t(kv_mb * double(1 << 20));
  if (o.Has("kvCacheType") && !o.Get("kvCacheType").IsUndefined()) {
    const Napi::Value v = o.Get("kvCacheType");
    const std::string t = v.IsString() ? v.As<Napi::String>().Utf8Value() : "";
    if (t != "f16" && t != "f32") throw Napi::TypeError::New(env, "option kvCacheType must be 'f16' or 'f32'");
    opts.kv_type = t == "f16" ? ls::KvType::F16 : ls::KvType::F32;
  }
  sparse_options(env, o, opts);
  auto* constructor = static_cast<Napi::FunctionReference*>(info.Data());
  auto* job = new LoadJob(env, constructor, info[0].As<Napi::String>().Utf8Value(), opts);
  Napi::Promise p = job->promise();
  job->Queue();
  return p;
}

// Each environment (main thread, worker threads) gets its own Engine class, handed to
// loadEngine as its callback data and freed with the environment.
ls::napi::Registrar reg("engine", [](Napi::Env env, Napi::Object exports) {
  auto* constructor = new Napi::FunctionReference(Napi::Persistent(EngineWrap::Define(env)));
  env.AddCleanupHook([constructor] { delete constructor; });
  exports.Set("Engine", constructor->Value());
  exports.Set("loadEngine", Napi::Function::New(env, LoadEngine, "loadEngine", constructor));
});

}  // namespace
