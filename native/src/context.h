// The inference session over one model: the thread pool, the block KV cache shared by
// several sequences, and the forward pass (batched prefill and single-token decode).
// Not thread-safe: the caller runs one eval at a time (the N-API layer serialises them).
#pragma once
#include <cstdint>
#include <memory>
#include <vector>

#include "infllm.h"
#include "kv_cache.h"
#include "model/model.h"
#include "threadpool.h"

namespace ls {

struct ContextParams {
  int n_threads = 2;
  int64_t n_ctx = 4096;     // positions per sequence
  int64_t n_batch = 256;    // tokens per forward batch during prefill
  int max_sequences = 4;
  uint64_t kv_cache_bytes = 0;  // KV pool budget; 0: n_ctx positions for each of max_sequences
  KvType kv_type = KvType::F16;
  SparseParams sparse;      // InfLLM v2 block-sparse attention (off unless sparse.enabled)
};

// Key positions attention read versus a dense causal attention's, counted per query token,
// layer and KV head since the context was made.
struct AttentionCounts {
  int64_t attended = 0;
  int64_t causal = 0;
};

// Wall time of the forward passes by phase since the context was made, in milliseconds:
// the weight matmuls, block selection (sparse attention's compressed keys and choice of
// blocks), attention, and everything else (embeddings, norms, RoPE, KV stores, residuals).
struct PhaseTimes {
  double matmul_ms = 0;
  double selection_ms = 0;
  double attention_ms = 0;
  double other_ms = 0;
};

// Where an eval's tokens came from: attached from the prefix cache or computed.
struct EvalCounts {
  int64_t hit_tokens = 0;
  int64_t computed_tokens = 0;
};

// What an eval returns besides filling the KV cache.
struct EvalOutputs {
  int64_t logits_from = -1;          // logits for input tokens [logits_from, n); -1: none
  std::vector<float>* logits = nullptr;       // resized to (n - logits_from) * n_vocab
  std::vector<float>* hidden_sum = nullptr;   // n_embd: sum of output-normed hidden states
};

class Context {
 public:
  Context(const Model& model, const ContextParams& params);

  const Model& model() const { return model_; }
  const ContextParams& params() const { return params_; }
  KvCache& kv() { return kv_; }

  // Feeds tokens at positions seq.n_tokens, ... and appends them to seq's cache. Whole
  // blocks before the first position whose output is asked for are taken from the prefix
  // cache when it holds them. Throws std::runtime_error (nothing computed, seq unchanged)
  // for a token id out of range, a context overflow, or a full KV pool.
  EvalCounts eval(KvSequence& seq, const int32_t* tokens, int64_t n, const EvalOutputs& out);

  // Fills a fresh sequence with n_tokens positions of pseudo-random keys and values (and their
  // compressed keys), as if a prompt had been evaluated, for benchmarks of decode at long
  // contexts: a decode step reads the same number of bytes whatever the values are. The
  // sequence is never published to the prefix cache. Throws like eval on overflow or a full pool.
  void fill_synthetic(KvSequence& seq, int64_t n_tokens, uint64_t seed);

  const AttentionCounts& attention_counts() const { return attention_counts_; }
  const PhaseTimes& phase_times() const { return phase_times_; }

 private:
  void forward_batch(KvSequence& seq, const int32_t* tokens, int64_t n, int64_t logits_from, float* logits,
                     float* hidden_sum);
  // xn_ = rms_norm(x_) * weight for n tokens (the pool splits the tokens of a long batch).
  void norm_rows(const std::vector<float>& weight, int64_t n);
  // Sparse attention: updates the compressed keys and chooses each (token, KV head)'s blocks;
  // returns whether attention is sparse for this batch. Counts the keys attention will read.
  bool select_blocks(KvSequence& seq, int layer, int64_t pos0, int64_t n);
  void attention(const KvSequence& seq, int layer, int64_t pos0, int64_t n, bool sparse);
  void attention_f16(const KvSequence& seq, int layer, int64_t pos0, int64_t n, bool sparse);

  const Model& model_;
  ContextParams params_;
  ThreadPool pool_;
  KvCache kv_;
  MatmulScratch mm_;
  // Per-batch activations, [tokens][width].
  std::vector<float> x_, xn_, q_, k_, v_, attn_, proj_, gate_, up_;
  std::vector<std::vector<float>> scores_;  // per thread: attention weights over positions (F32 KV)
  // F16 KV (flash attention): tiles of a batch's tokens [begin, end); per thread scratch and
  // row limits. A split batch: chunk states (flash_parts_), task after task (split_parts_:
  // which tile × KV head task and chunk), and per task the index of its first (split_first_).
  struct Tile {
    int64_t begin, end;
  };
  struct SplitPart {
    int64_t task, chunk;
  };
  std::vector<Tile> tiles_;
  std::vector<std::vector<float>> flash_scratch_;
  std::vector<std::vector<int32_t>> flash_limits_;
  std::vector<float> flash_parts_;
  std::vector<SplitPart> split_parts_;
  std::vector<int64_t> split_first_;
  // Sparse attention: a selector per thread; per (token, KV head) of a batch the chosen blocks
  // (topk slots), their count (-1: dense) and the first window block.
  std::vector<BlockSelector> selectors_;
  std::vector<int32_t> chosen_;
  std::vector<int64_t> chosen_count_, window_first_;
  AttentionCounts attention_counts_;
  PhaseTimes phase_times_;
  std::vector<float> rope_cos_, rope_sin_;  // [tokens][n_rot/2]
};

}  // namespace ls
