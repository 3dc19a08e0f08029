// A decoder-only transformer read from GGUF: hyper-parameters and weight views into the
// file's mapping. One forward pass (context.cpp) serves every architecture; what differs
// between llama, minicpm, qwen2 and qwen3 is data here (scales, RoPE style, optional
// biases and q/k norms), filled in from the architecture table in model.cpp.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "gguf.h"
#include "infllm.h"
#include "kernels/matmul.h"
#include "kernels/ops.h"
#include "kernels/qgemm_packed.h"

namespace ls {

struct ModelHparams {
  std::string arch;
  int64_t n_vocab = 0;
  int64_t n_embd = 0;
  int64_t n_layer = 0;
  int64_t n_ff = 0;
  int64_t n_head = 0;
  int64_t n_head_kv = 0;
  int64_t head_dim = 0;  // key and value head size
  int64_t n_rot = 0;
  int64_t n_ctx_train = 0;
  float norm_eps = 1e-6f;
  float rope_freq_base = 10000.f;
  float rope_freq_scale = 1.f;  // 1 / rope.scaling.factor for linear scaling
  float rope_attn_factor = 1.f;
  RopeStyle rope_style = RopeStyle::AdjacentPairs;
  // minicpm: x0 = embd * embedding_scale; every block output is multiplied by
  // residual_scale before its residual add; logits = lm_head(h) / logit_scale.
  float embedding_scale = 1.f;
  float residual_scale = 1.f;
  float logit_scale = 1.f;
  // Sparse attention the model declares (GGUF keys <arch>.sparse.*, written from a HF
  // sparse_config): `enabled` when any key is present; absent keys keep the defaults.
  SparseParams sparse;
  bool sparse_use_nope = false;  // selection on keys without RoPE (not supported)
};

struct LayerWeights {
  std::vector<float> attn_norm, ffn_norm;
  WeightMatrix wq, wk, wv, wo;
  std::vector<float> bq, bk, bv, bo;    // empty when absent
  std::vector<float> q_norm, k_norm;    // qwen3: per-head RMSNorm weights (head_dim)
  WeightMatrix ffn_gate, ffn_up, ffn_down;
};

class Model {
 public:
  // Validates the architecture, hyper-parameters and every tensor's type and shape.
  // Throws FormatError naming the problem. The file must outlive the model.
  static std::unique_ptr<Model> load(const GgufFile& file, int64_t n_ctx);

  const GgufFile& file() const { return *file_; }
  ModelHparams hp;
  WeightMatrix token_embd;
  WeightMatrix output;  // token_embd when the file ties the embeddings
  bool tied_embeddings = false;
  std::vector<float> output_norm;
  std::vector<float> rope_factors;  // empty, or n_rot/2 divisors of the RoPE frequencies
  std::vector<LayerWeights> layers;

  // The loader's helpers, shared by the per-architecture files.
  WeightMatrix matrix(const std::string& name, int64_t rows, int64_t cols) const;
  bool has(const std::string& name) const { return file_->tensor(name) != nullptr; }
  std::vector<float> f32_vector(const std::string& name, int64_t n) const;
  std::vector<float> optional_vector(const std::string& name, int64_t n) const;

 private:
  explicit Model(const GgufFile& file) : file_(&file) {}
  // With AVX-512 kernels, gives every Q8_0/Q4_0 matrix its packed copy (qgemm_packed.h).
  void pack_weights();
  const GgufFile* file_;
  std::vector<PackedBytes> packed_;
};

}  // namespace ls
