#include "model/model.h"

#include <cmath>
#include <string>

#include "kernels/dequant.h"

namespace ls {
namespace {

// What each supported architecture changes in the shared forward pass.
struct ArchSpec {
  const char* name;
  RopeStyle rope_style;
  bool qk_norm;       // qwen3: RMSNorm over each q/k head before RoPE
  bool scales;        // minicpm: embedding / residual / logit scales
  bool rope_factors;  // reads LongRoPE frequency factors (llama.cpp's qwen graphs ignore them)
};

constexpr ArchSpec kArchs[] = {
    {"llama", RopeStyle::AdjacentPairs, false, false, true},
    {"minicpm", RopeStyle::AdjacentPairs, false, true, true},
    {"qwen2", RopeStyle::NeoX, false, false, false},
    {"qwen3", RopeStyle::NeoX, true, false, false},
};

std::string layer_tensor(int64_t il, const char* what) { return "blk." + std::to_string(il) + "." + what; }

int64_t positive(const GgufFile& f, const std::string& key, int64_t limit) {
  const uint64_t v = f.get_u64(key);
  if (v == 0 || v > uint64_t(limit))
    throw FormatError(f.path() + ": " + key + " = " + std::to_string(v) + " is out of range (1.." +
                      std::to_string(limit) + ")");
  return int64_t(v);
}

float finite_positive(const GgufFile& f, const std::string& key, float dflt) {
  const double v = f.get_f64_or(key, dflt);
  if (!std::isfinite(v) || v <= 0)
    throw FormatError(f.path() + ": " + key + " = " + std::to_string(v) + " must be a positive number");
  return float(v);
}

}  // namespace

WeightMatrix Model::matrix(const std::string& name, int64_t rows, int64_t cols) const {
  const GgufTensor* t = file_->tensor(name);
  if (!t) throw FormatError(file_->path() + ": missing tensor " + name);
  if (!is_supported_weight_type(t->type))
    throw FormatError(file_->path() + ": tensor " + name + " has type " + std::to_string(uint32_t(t->type)) +
                      " which the engine cannot run");
  if (t->ne[0] != uint64_t(cols) || t->ne[1] != uint64_t(rows) || t->ne[2] != 1 || t->ne[3] != 1)
    throw FormatError(file_->path() + ": tensor " + name + " has shape [" + std::to_string(t->ne[0]) + ", " +
                      std::to_string(t->ne[1]) + "], expected [" + std::to_string(cols) + ", " +
                      std::to_string(rows) + "]");
  WeightMatrix m;
  m.type = t->type;
  m.data = t->data;
  m.rows = rows;
  m.cols = cols;
  m.row_bytes = size_t(row_bytes(t->type, uint64_t(cols)));
  if (uint64_t(m.row_bytes) * uint64_t(rows) > t->nbytes)
    throw FormatError(file_->path() + ": tensor " + name + " is shorter than its shape");
  return m;
}

std::vector<float> Model::f32_vector(const std::string& name, int64_t n) const {
  const WeightMatrix m = matrix(name, 1, n);
  std::vector<float> out(static_cast<size_t>(n));
  dequantize_row(m.type, m.data, out.data(), n);
  return out;
}

std::vector<float> Model::optional_vector(const std::string& name, int64_t n) const {
  return has(name) ? f32_vector(name, n) : std::vector<float>();
}

std::unique_ptr<Model> Model::load(const GgufFile& f, int64_t n_ctx) {
  std::unique_ptr<Model> model(new Model(f));
  ModelHparams& hp = model->hp;
  hp.arch = f.get_string("general.architecture");
  const ArchSpec* spec = nullptr;
  for (const ArchSpec& a : kArchs)
    if (hp.arch == a.name) spec = &a;
  if (!spec)
    throw FormatError(f.path() + ": architecture '" + hp.arch + "' is not supported (llama, minicpm, qwen2, qwen3)");
  const std::string k = hp.arch + ".";
  constexpr int64_t kMaxDim = 1 << 20;
  hp.n_embd = positive(f, k + "embedding_length", kMaxDim);
  hp.n_layer = positive(f, k + "block_count", 4096);
  hp.n_ff = positive(f, k + "feed_forward_length", kMaxDim);
  hp.n_head = positive(f, k + "attention.head_count", 4096);
  hp.n_head_kv = f.has(k + "attention.head_count_kv") ? positive(f, k + "attention.head_count_kv", hp.n_head)
                                                     : hp.n_head;
  if (hp.n_head % hp.n_head_kv != 0)
    throw FormatError(f.path() + ": head_count " + std::to_string(hp.n_head) + " is not a multiple of head_count_kv " +
                      std::to_string(hp.n_head_kv));
  hp.head_dim = f.has(k + "attention.key_length") ? positive(f, k + "attention.key_length", 65536)
                                                  : hp.n_embd / hp.n_head;
  const int64_t v_dim = f.has(k + "attention.value_length") ? positive(f, k + "attention.value_length", 65536)
                                                            : hp.n_embd / hp.n_head;
  if (v_dim != hp.head_dim || hp.head_dim == 0 || hp.head_dim % 2 != 0)
    throw FormatError(f.path() + ": head sizes key " + std::to_string(hp.head_dim) + " / value " +
                      std::to_string(v_dim) + " must be equal and even");
  hp.n_rot = f.has(k + "rope.dimension_count") ? positive(f, k + "rope.dimension_count", hp.head_dim) : hp.head_dim;
  if (hp.n_rot % 2 != 0) throw FormatError(f.path() + ": rope.dimension_count must be even");
  hp.n_ctx_train = int64_t(f.get_u64_or(k + "context_length", 4096));
  hp.norm_eps = finite_positive(f, k + "attention.layer_norm_rms_epsilon", 1e-6f);
  hp.rope_freq_base = finite_positive(f, k + "rope.freq_base", 10000.f);
  const std::string scaling = f.get_string_or(k + "rope.scaling.type", "linear");
  if (scaling != "none" && scaling != "linear" && scaling != "longrope")
    throw FormatError(f.path() + ": rope scaling '" + scaling + "' is not supported (none, linear, longrope)");
  const double factor = f.get_f64_or(k + "rope.scaling.factor", 0.0);
  if (!std::isfinite(factor) || factor < 0) throw FormatError(f.path() + ": bad rope.scaling.factor");
  hp.rope_freq_scale = factor == 0.0 ? 1.f : float(1.0 / factor);
  hp.rope_attn_factor = finite_positive(f, k + "rope.scaling.attn_factor", 1.f);
  hp.rope_style = spec->rope_style;
  if (spec->scales) {
    // llama.cpp's defaults for MiniCPM files that predate these keys.
    hp.embedding_scale = finite_positive(f, k + "embedding_scale", 12.f);
    hp.residual_scale = finite_positive(f, k + "residual_scale", float(1.4 / std::sqrt(double(hp.n_layer))));
    hp.logit_scale = finite_positive(f, k + "logit_scale", float(256.0 / double(hp.n_embd)));
  }
  struct SparseKey {
    const char* name;
    int64_t SparseParams::*field;
  };
  for (const SparseKey& sk : {SparseKey{"topk", &SparseParams::topk}, SparseKey{"kernel_size", &SparseParams::kernel_size},
                              SparseKey{"kernel_stride", &SparseParams::kernel_stride},
                              SparseKey{"init_blocks", &SparseParams::init_blocks},
                              SparseKey{"block_size", &SparseParams::block_size},
                              SparseKey{"window_size", &SparseParams::window_size},
                              SparseKey{"dense_len", &SparseParams::dense_len}}) {
    const std::string key = k + "sparse." + sk.name;
    if (!f.has(key)) continue;
    const uint64_t v = f.get_u64(key);
    if (v > (uint64_t(1) << 30)) throw FormatError(f.path() + ": " + key + " = " + std::to_string(v) + " is too large");
    hp.sparse.*sk.field = int64_t(v);
    hp.sparse.enabled = true;
  }
  if (f.has(k + "sparse.use_nope")) {
    hp.sparse_use_nope = f.get_bool(k + "sparse.use_nope");
    hp.sparse.enabled = true;
  }

  const GgufTensor* embd = f.tensor("token_embd.weight");
  if (!embd) throw FormatError(f.path() + ": missing tensor token_embd.weight");
  if (embd->ne[1] == 0 || embd->ne[1] > (1u << 24)) throw FormatError(f.path() + ": bad vocabulary size");
  hp.n_vocab = int64_t(embd->ne[1]);
  model->token_embd = model->matrix("token_embd.weight", hp.n_vocab, hp.n_embd);
  model->tied_embeddings = !model->has("output.weight");
  model->output = model->tied_embeddings ? model->token_embd : model->matrix("output.weight", hp.n_vocab, hp.n_embd);
  model->output_norm = model->f32_vector("output_norm.weight", hp.n_embd);

  // LongRoPE: one set of frequency divisors for all layers. rope_freqs wins, as in
  // llama.cpp; otherwise the long factors apply past the original training context.
  const int64_t n_factors = hp.n_rot / 2;
  const bool long_short = model->has("rope_factors_long.weight") || model->has("rope_factors_short.weight");
  if (spec->rope_factors && model->has("rope_freqs.weight")) {
    model->rope_factors = model->f32_vector("rope_freqs.weight", n_factors);
  } else if (spec->rope_factors && long_short) {
    const int64_t orig = int64_t(f.get_u64_or(k + "rope.scaling.original_context_length", uint64_t(hp.n_ctx_train)));
    const char* which = n_ctx > orig ? "rope_factors_long.weight" : "rope_factors_short.weight";
    model->rope_factors = model->f32_vector(which, n_factors);
  }
  for (float v : model->rope_factors)
    if (!std::isfinite(v) || v <= 0) throw FormatError(f.path() + ": RoPE frequency factors must be positive");

  const int64_t q_dim = hp.n_head * hp.head_dim, kv_dim = hp.n_head_kv * hp.head_dim;
  if (model->has("blk.0.attn_qkv.weight"))
    throw FormatError(f.path() + ": fused attn_qkv tensors are not supported");
  model->layers.resize(size_t(hp.n_layer));
  for (int64_t il = 0; il < hp.n_layer; ++il) {
    LayerWeights& l = model->layers[size_t(il)];
    auto name = [&](const char* what) { return layer_tensor(il, what); };
    l.attn_norm = model->f32_vector(name("attn_norm.weight"), hp.n_embd);
    l.wq = model->matrix(name("attn_q.weight"), q_dim, hp.n_embd);
    l.wk = model->matrix(name("attn_k.weight"), kv_dim, hp.n_embd);
    l.wv = model->matrix(name("attn_v.weight"), kv_dim, hp.n_embd);
    l.wo = model->matrix(name("attn_output.weight"), hp.n_embd, q_dim);
    l.bq = model->optional_vector(name("attn_q.bias"), q_dim);
    l.bk = model->optional_vector(name("attn_k.bias"), kv_dim);
    l.bv = model->optional_vector(name("attn_v.bias"), kv_dim);
    l.bo = model->optional_vector(name("attn_output.bias"), hp.n_embd);
    if (spec->qk_norm) {
      l.q_norm = model->f32_vector(name("attn_q_norm.weight"), hp.head_dim);
      l.k_norm = model->f32_vector(name("attn_k_norm.weight"), hp.head_dim);
    }
    l.ffn_norm = model->f32_vector(name("ffn_norm.weight"), hp.n_embd);
    l.ffn_gate = model->matrix(name("ffn_gate.weight"), hp.n_ff, hp.n_embd);
    l.ffn_up = model->matrix(name("ffn_up.weight"), hp.n_ff, hp.n_embd);
    l.ffn_down = model->matrix(name("ffn_down.weight"), hp.n_embd, hp.n_ff);
  }
  model->pack_weights();
  return model;
}

void Model::pack_weights() {
  if (active_kernel_level() != KernelLevel::Avx512) return;
  const auto pack = [&](WeightMatrix& m) {
    if (!packable(m.type, m.cols)) return;
    packed_.push_back(pack_rows16(m.type, m.data, m.rows, m.cols, m.row_bytes));
    m.packed = packed_.back().get();
  };
  // token_embd stays as it is: the forward pass gathers single rows from it.
  pack(output);
  for (LayerWeights& l : layers)
    for (WeightMatrix* m : {&l.wq, &l.wk, &l.wv, &l.wo, &l.ffn_gate, &l.ffn_up, &l.ffn_down}) pack(*m);
}

}  // namespace ls
