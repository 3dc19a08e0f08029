// One loaded model ready to run: the GGUF mapping, weights, tokenizer and inference context,
// with the operations the Node binding exposes (sequences + eval, generate, score, embed).
// Callers hold mutex() around every call that computes or touches the KV cache (everything
// but create_sequence, which only needs the short internal lock and so never waits for a
// running computation).
#pragma once
#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "context.h"
#include "gguf.h"
#include "model/model.h"
#include "sampler.h"
#include "vocab.h"

namespace ls {

class JsonVocab;

// Sparse attention at load: Auto follows the model file (on when it declares sparse keys);
// fields >= 0 in `overrides` replace the model's (or the default) values.
enum class SparseMode { Auto, On, Off };
struct SparseOverrides {
  int64_t topk = -1, kernel_size = -1, kernel_stride = -1, init_blocks = -1, window_size = -1, dense_len = -1;
};

struct EngineOptions {
  int n_threads = 2;
  int64_t n_ctx = 0;  // 0: the model's training context, capped at 4096 (any value up to 2^20 when given)
  int64_t n_batch = 256;
  int max_sequences = 4;
  uint64_t kv_cache_bytes = 0;  // KV pool budget; 0: room for n_ctx positions of each of max_sequences
  KvType kv_type = KvType::F16;
  SparseMode sparse = SparseMode::Auto;
  SparseOverrides sparse_overrides;
};

// Prefix-cache counters since load; `last_*` describe the prompt of the latest
// generate/score/embed/eval call (a generate's decode steps are counted in the totals only).
struct PrefixCacheStats {
  int64_t hit_tokens = 0;       // positions attached from cached blocks
  int64_t computed_tokens = 0;  // positions run through the forward pass
  int64_t last_hit_tokens = 0;
  int64_t last_computed_tokens = 0;
  KvCacheStats kv;
  AttentionCounts attention;  // key positions attended versus dense, since load
  PhaseTimes phases;          // forward-pass time by phase, since load
};

struct GenerateParams {
  SamplerParams sampler;
  int32_t max_tokens = 256;
  bool json = false;         // constrain the output to JSON
  std::string json_schema;   // optional schema (JSON text) when json is set
  // End-of-generation tokens are masked (never sampled, so never output), as llama.cpp's
  // ignore_eos does: generation runs to max_tokens, a stop or the context. Not with json,
  // whose constraint ends the output when the value is complete.
  bool ignore_eos = false;
  // >= 0: generate in this sequence (the prompt is appended to it, and what is generated
  // stays, all but the last token, which is not evaluated) instead of in a scratch one.
  int32_t sequence = -1;
};

struct GenerateStats {
  int64_t prompt_tokens = 0;
  int64_t cached_tokens = 0;  // prompt tokens served from the prefix cache
  int64_t generated_tokens = 0;
  double prefill_ms = 0;
  double decode_ms = 0;
  std::string stop_reason;  // "eog", "length", "stopped", "cancelled", "context"
};

class Engine {
 public:
  // Throws FormatError / std::runtime_error naming the problem.
  static std::unique_ptr<Engine> load(const std::string& path, const EngineOptions& options);
  ~Engine();

  std::mutex& mutex() { return mu_; }
  const Model& model() const { return *model_; }
  const Vocab& vocab() const { return *vocab_; }
  const Context& context() const { return *ctx_; }

  int32_t create_sequence();
  // free/reset release KV blocks: call with mutex() held.
  void free_sequence(int32_t id);
  void reset_sequence(int32_t id);
  int64_t sequence_length(int32_t id);
  // Appends tokens to a sequence. logits_from as in EvalOutputs (-1: none).
  void eval(int32_t id, const std::vector<int32_t>& tokens, int64_t logits_from, std::vector<float>& logits);

  // Runs the prompt in a temporary sequence, then samples up to max_tokens. on_token gets
  // every emitted token (end-of-generation tokens are not emitted) and returns false to stop.
  GenerateStats generate(const std::vector<int32_t>& prompt, const GenerateParams& params,
                         const std::function<bool(int32_t)>& on_token, const std::atomic<bool>& cancel);
  // Natural-log probability of each continuation token given the prompt and the tokens before it.
  std::vector<double> score(const std::vector<int32_t>& prompt, const std::vector<int32_t>& continuation);
  // Mean of the output-normed final hidden states, L2-normalised. Needs every position's
  // hidden state, so it computes all tokens, but publishes its blocks for later prompts.
  std::vector<float> embed(const std::vector<int32_t>& tokens);
  // Context::fill_synthetic on a sequence (benchmarks of long-context decode; call with mutex() held).
  void fill_synthetic(int32_t id, int64_t n_tokens, uint64_t seed);

  // A snapshot updated after each call; never waits for a running computation.
  PrefixCacheStats stats();
  // Evicts every cached block no live sequence uses (call with mutex() held).
  void clear_prefix_cache();

 private:
  Engine() = default;
  KvSequence& sequence(int32_t id);
  // A sequence released on scope exit, for generate/score/embed.
  struct ScratchSequence;
  // Runs ctx_->eval and accounts its counts; `prompt` marks the call's prompt eval.
  EvalCounts counted_eval(KvSequence& seq, const int32_t* tokens, int64_t n, const EvalOutputs& out, bool prompt);
  void publish_stats();

  std::mutex mu_;
  std::mutex sequences_mu_;  // guards sequences_ / next_sequence_ (the map, not the caches)
  std::unique_ptr<GgufFile> file_;
  std::unique_ptr<Model> model_;
  std::unique_ptr<Vocab> vocab_;
  std::unique_ptr<Context> ctx_;
  std::map<int32_t, KvSequence> sequences_;
  int32_t next_sequence_ = 1;
  std::shared_ptr<const JsonVocab> json_vocab_;  // built on first JSON request
  PrefixCacheStats counts_;     // kept under mu_
  std::mutex stats_mu_;         // guards snapshot_
  PrefixCacheStats snapshot_;
};

}  // namespace ls
