#include "engine.h"

#include <chrono>
#include <cmath>
#include <limits>
#include <optional>
#include <stdexcept>

#include "json_constraint.h"

namespace ls {
namespace {

double ms_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

struct Engine::ScratchSequence {
  Engine& engine;
  KvSequence seq;
  explicit ScratchSequence(Engine& e) : engine(e) {}
  ~ScratchSequence() {
    engine.ctx_->kv().release(seq);
    engine.publish_stats();
  }
};

Engine::~Engine() = default;

std::unique_ptr<Engine> Engine::load(const std::string& path, const EngineOptions& options) {
  if (options.n_threads < 1 || options.n_threads > 256) throw std::invalid_argument("threads must be in 1..256");
  if (options.n_ctx < 0 || options.n_ctx > (1 << 20)) throw std::invalid_argument("contextSize must be in 1..1048576");
  if (options.n_batch < 1 || options.n_batch > 4096) throw std::invalid_argument("batchSize must be in 1..4096");
  if (options.max_sequences < 1 || options.max_sequences > 256)
    throw std::invalid_argument("maxSequences must be in 1..256");
  std::unique_ptr<Engine> e(new Engine());
  e->file_ = GgufFile::open(path);
  ContextParams cp;
  cp.n_threads = options.n_threads;
  cp.n_batch = options.n_batch;
  cp.max_sequences = options.max_sequences;
  cp.kv_type = options.kv_type;
  cp.kv_cache_bytes = options.kv_cache_bytes;
  const std::string arch = e->file_->get_string_or("general.architecture", "");
  const int64_t n_train = int64_t(e->file_->get_u64_or(arch + ".context_length", 4096));
  cp.n_ctx = options.n_ctx > 0 ? options.n_ctx : std::min<int64_t>(std::max<int64_t>(n_train, 1), 4096);
  e->model_ = Model::load(*e->file_, cp.n_ctx);
  cp.sparse = e->model_->hp.sparse;
  if (options.sparse != SparseMode::Auto) cp.sparse.enabled = options.sparse == SparseMode::On;
  const SparseOverrides& o = options.sparse_overrides;
  for (auto [value, field] : {std::pair{o.topk, &SparseParams::topk}, std::pair{o.kernel_size, &SparseParams::kernel_size},
                              std::pair{o.kernel_stride, &SparseParams::kernel_stride},
                              std::pair{o.init_blocks, &SparseParams::init_blocks},
                              std::pair{o.window_size, &SparseParams::window_size},
                              std::pair{o.dense_len, &SparseParams::dense_len}})
    if (value >= 0) cp.sparse.*field = value;
  if (cp.sparse.enabled) {
    if (e->model_->hp.sparse_use_nope)
      throw FormatError(path + ": sparse.use_nope (block selection on keys without RoPE) is not supported");
    cp.sparse.validate();
  }
  e->vocab_ = std::make_unique<Vocab>(Vocab::load(*e->file_));
  if (e->vocab_->n_tokens() > e->model_->hp.n_vocab)
    throw FormatError(path + ": the tokenizer has " + std::to_string(e->vocab_->n_tokens()) +
                      " tokens but token_embd only " + std::to_string(e->model_->hp.n_vocab) + " rows");
  e->ctx_ = std::make_unique<Context>(*e->model_, cp);
  e->publish_stats();
  return e;
}

EvalCounts Engine::counted_eval(KvSequence& seq, const int32_t* tokens, int64_t n, const EvalOutputs& out, bool prompt) {
  const EvalCounts c = ctx_->eval(seq, tokens, n, out);
  counts_.hit_tokens += c.hit_tokens;
  counts_.computed_tokens += c.computed_tokens;
  if (prompt) {
    counts_.last_hit_tokens = c.hit_tokens;
    counts_.last_computed_tokens = c.computed_tokens;
  }
  publish_stats();
  return c;
}

void Engine::publish_stats() {
  counts_.kv = ctx_->kv().stats();
  counts_.attention = ctx_->attention_counts();
  counts_.phases = ctx_->phase_times();
  std::lock_guard<std::mutex> lock(stats_mu_);
  snapshot_ = counts_;
}

PrefixCacheStats Engine::stats() {
  std::lock_guard<std::mutex> lock(stats_mu_);
  return snapshot_;
}

void Engine::clear_prefix_cache() {
  ctx_->kv().clear_cached();
  publish_stats();
}

KvSequence& Engine::sequence(int32_t id) {
  // std::map references stay valid while other ids are inserted, so the lock covers the lookup only.
  std::lock_guard<std::mutex> lock(sequences_mu_);
  auto it = sequences_.find(id);
  if (it == sequences_.end()) throw std::invalid_argument("no sequence with id " + std::to_string(id));
  return it->second;
}

int32_t Engine::create_sequence() {
  std::lock_guard<std::mutex> lock(sequences_mu_);
  if (int(sequences_.size()) >= ctx_->params().max_sequences)
    throw std::runtime_error("all " + std::to_string(ctx_->params().max_sequences) + " sequences are in use");
  const int32_t id = next_sequence_++;
  sequences_[id] = KvSequence();
  return id;
}

void Engine::free_sequence(int32_t id) {
  ctx_->kv().release(sequence(id));
  {
    std::lock_guard<std::mutex> lock(sequences_mu_);
    sequences_.erase(id);
  }
  publish_stats();
}

void Engine::reset_sequence(int32_t id) {
  ctx_->kv().release(sequence(id));
  publish_stats();
}

int64_t Engine::sequence_length(int32_t id) { return sequence(id).n_tokens; }

void Engine::eval(int32_t id, const std::vector<int32_t>& tokens, int64_t logits_from, std::vector<float>& logits) {
  EvalOutputs out;
  out.logits_from = logits_from;
  out.logits = &logits;
  counted_eval(sequence(id), tokens.data(), int64_t(tokens.size()), out, true);
}

GenerateStats Engine::generate(const std::vector<int32_t>& prompt, const GenerateParams& params,
                               const std::function<bool(int32_t)>& on_token, const std::atomic<bool>& cancel) {
  if (prompt.empty()) throw std::invalid_argument("generate needs a non-empty prompt");
  if (params.max_tokens < 0) throw std::invalid_argument("maxTokens must be >= 0");
  if (params.json && params.ignore_eos)
    throw std::invalid_argument("ignoreEos cannot be combined with json: a complete JSON value ends the output");
  Sampler sampler(params.sampler);
  std::unique_ptr<JsonConstraint> constraint;
  if (params.json) {
    auto schema = params.json_schema.empty() ? JsonSchema::any() : JsonSchema::parse(params.json_schema);
    if (!json_vocab_) {
      std::vector<std::string> pieces(size_t(model_->hp.n_vocab));
      for (int32_t id = 0; id < vocab_->n_tokens(); ++id)
        if (!vocab_->is_control(id)) pieces[size_t(id)] = vocab_->token_to_piece(id, false);
      json_vocab_ = std::make_shared<const JsonVocab>(std::move(pieces), vocab_->eog_ids());
    }
    constraint = std::make_unique<JsonConstraint>(json_vocab_, schema);
  }
  const int32_t n_vocab = int32_t(model_->hp.n_vocab);
  GenerateStats stats;
  stats.prompt_tokens = int64_t(prompt.size());
  std::optional<ScratchSequence> scratch;
  KvSequence& seq = params.sequence >= 0 ? sequence(params.sequence) : scratch.emplace(*this).seq;
  std::vector<float> logits;
  EvalOutputs out;
  out.logits = &logits;
  out.logits_from = int64_t(prompt.size()) - 1;
  auto start = std::chrono::steady_clock::now();
  stats.cached_tokens = counted_eval(seq, prompt.data(), int64_t(prompt.size()), out, true).hit_tokens;
  stats.prefill_ms = ms_since(start);
  for (int32_t t : prompt) sampler.accept(t);

  start = std::chrono::steady_clock::now();
  out.logits_from = 0;
  stats.stop_reason = "length";
  for (int32_t i = 0; i < params.max_tokens; ++i) {
    if (cancel.load()) {
      stats.stop_reason = "cancelled";
      break;
    }
    if (constraint) constraint->mask(logits.data(), n_vocab);
    if (params.ignore_eos)
      for (int32_t eog : vocab_->eog_ids())
        if (eog < n_vocab) logits[size_t(eog)] = -std::numeric_limits<float>::infinity();
    const int32_t id = sampler.sample(logits.data(), n_vocab);
    sampler.accept(id);
    if (constraint) constraint->accept(id);
    if (vocab_->is_eog(id)) {
      stats.stop_reason = "eog";
      break;
    }
    ++stats.generated_tokens;
    if (!on_token(id)) {
      stats.stop_reason = "stopped";
      break;
    }
    if (i + 1 == params.max_tokens) break;
    if (seq.n_tokens >= ctx_->params().n_ctx) {
      stats.stop_reason = "context";
      break;
    }
    counted_eval(seq, &id, 1, out, false);
  }
  stats.decode_ms = ms_since(start);
  if (!scratch) publish_stats();
  return stats;
}

std::vector<double> Engine::score(const std::vector<int32_t>& prompt, const std::vector<int32_t>& continuation) {
  if (prompt.empty()) throw std::invalid_argument("score needs a non-empty prompt");
  if (continuation.empty()) return {};
  for (int32_t t : continuation)
    if (t < 0 || t >= model_->hp.n_vocab) throw std::invalid_argument("continuation token " + std::to_string(t) + " is outside the vocabulary");
  std::vector<int32_t> all(prompt);
  all.insert(all.end(), continuation.begin(), continuation.end());
  ScratchSequence scratch(*this);
  std::vector<float> logits;
  EvalOutputs out;
  out.logits = &logits;
  out.logits_from = int64_t(prompt.size()) - 1;
  // The last token's logits are not needed: evaluate all but it.
  counted_eval(scratch.seq, all.data(), int64_t(all.size()) - 1, out, true);
  const int64_t n_vocab = model_->hp.n_vocab;
  std::vector<double> logprobs(continuation.size());
  for (size_t i = 0; i < continuation.size(); ++i) {
    const float* row = logits.data() + int64_t(i) * n_vocab;
    float max = row[0];
    for (int64_t v = 1; v < n_vocab; ++v) max = std::max(max, row[v]);
    double sum = 0;
    for (int64_t v = 0; v < n_vocab; ++v) sum += std::exp(double(row[v]) - double(max));
    logprobs[i] = double(row[continuation[i]]) - double(max) - std::log(sum);
  }
  return logprobs;
}

void Engine::fill_synthetic(int32_t id, int64_t n_tokens, uint64_t seed) {
  ctx_->fill_synthetic(sequence(id), n_tokens, seed);
  publish_stats();
}

std::vector<float> Engine::embed(const std::vector<int32_t>& tokens) {
  if (tokens.empty()) throw std::invalid_argument("embed needs at least one token");
  ScratchSequence scratch(*this);
  std::vector<float> sum;
  EvalOutputs out;
  out.hidden_sum = &sum;
  counted_eval(scratch.seq, tokens.data(), int64_t(tokens.size()), out, true);
  double norm = 0;
  for (float v : sum) norm += double(v) * double(v);
  const float inv = norm > 0 ? float(1.0 / std::sqrt(norm)) : 0.f;  // the mean's scale cancels
  for (float& v : sum) v *= inv;
  return sum;
}

}  // namespace ls
