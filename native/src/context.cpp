#include "context.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <string>

#include "kernels/flash_attention.h"
#include "kernels/dequant.h"
#include "kernels/float_dot.h"
#include "kernels/half.h"
#include "kernels/ops.h"

namespace ls {
namespace {

int pool_blocks(const ModelHparams& hp, const ContextParams& params) {
  const int64_t per_seq = (params.n_ctx + KvCache::kBlockTokens - 1) / KvCache::kBlockTokens;
  if (params.kv_cache_bytes == 0) return int(std::min<int64_t>(per_seq * params.max_sequences, INT32_MAX));
  const size_t block = KvCache::block_bytes(int(hp.n_layer), int(hp.n_head_kv * hp.head_dim), params.kv_type,
                                            params.sparse.summary_rows());
  const uint64_t blocks = params.kv_cache_bytes / block;
  if (blocks < 1)
    throw std::invalid_argument("kvCacheMb (" + std::to_string(params.kv_cache_bytes) +
                                " bytes) holds no KV block (one block of " + std::to_string(KvCache::kBlockTokens) +
                                " tokens takes " + std::to_string(block) + " bytes)");
  return int(std::min<int64_t>(blocks, INT32_MAX));
}

// v's memory from a 64-byte boundary, at least `floats` long: the attention kernels load and
// store whole 64-byte vectors of their scratch and states, and one that straddles two cache
// lines costs both (a thread whose buffers malloc had placed off the boundary ran its decode
// runs ~30% slower than the other).
float* first_line(float* p) { return reinterpret_cast<float*>((reinterpret_cast<uintptr_t>(p) + 63) & ~uintptr_t(63)); }
float* line_aligned(std::vector<float>& v, size_t floats) {
  if (v.size() < floats + 16) v.resize(floats + 16);
  return first_line(v.data());
}

// FNV-1a over bytes, for the model salt.
uint64_t fnv1a(uint64_t h, const void* data, size_t n) {
  const uint8_t* p = static_cast<const uint8_t*>(data);
  for (size_t i = 0; i < n; ++i) h = (h ^ p[i]) * 0x100000001b3ull;
  return h;
}

template <typename T>
uint64_t fnv1a_value(uint64_t h, const T& v) {
  return fnv1a(h, &v, sizeof v);
}

// Separates prefix-cache keys of different models and KV types: the file's size, its
// tensor table and the hyper-parameters that shape the keys and values.
uint64_t model_salt(const Model& model, KvType kv_type) {
  const ModelHparams& hp = model.hp;
  uint64_t h = 0xcbf29ce484222325ull;
  h = fnv1a(h, hp.arch.data(), hp.arch.size());
  h = fnv1a_value(h, model.file().file_size());
  for (const GgufTensor& t : model.file().tensors()) {
    h = fnv1a(h, t.name.data(), t.name.size());
    h = fnv1a_value(h, t.type);
    h = fnv1a_value(h, t.offset);
    h = fnv1a_value(h, t.nbytes);
  }
  for (int64_t v : {hp.n_vocab, hp.n_embd, hp.n_layer, hp.n_ff, hp.n_head, hp.n_head_kv, hp.head_dim, hp.n_rot})
    h = fnv1a_value(h, v);
  for (float v : {hp.norm_eps, hp.rope_freq_base, hp.rope_freq_scale, hp.rope_attn_factor, hp.embedding_scale,
                  hp.residual_scale})
    h = fnv1a_value(h, v);
  h = fnv1a_value(h, hp.rope_style);
  for (float v : model.rope_factors) h = fnv1a_value(h, v);
  return fnv1a_value(h, kv_type);
}

// Charges the wall time of a forward pass to its phases: lap(bucket) adds the time since the
// previous lap to bucket; what follows the last lap counts as other.
class PhaseClock {
 public:
  explicit PhaseClock(PhaseTimes& times) : times_(times), last_(std::chrono::steady_clock::now()) {}
  ~PhaseClock() { lap(&PhaseTimes::other_ms); }
  PhaseClock(const PhaseClock&) = delete;
  PhaseClock& operator=(const PhaseClock&) = delete;
  void lap(double PhaseTimes::*bucket) {
    const auto now = std::chrono::steady_clock::now();
    times_.*bucket += std::chrono::duration<double, std::milli>(now - last_).count();
    last_ = now;
  }

 private:
  PhaseTimes& times_;
  std::chrono::steady_clock::time_point last_;
};

void add_bias(float* y, const std::vector<float>& bias, int64_t n_tokens) {
  if (bias.empty()) return;
  const int64_t w = int64_t(bias.size());
  for (int64_t t = 0; t < n_tokens; ++t) add_scaled(y + t * w, bias.data(), 1.0f, w);
}

}  // namespace

Context::Context(const Model& model, const ContextParams& params)
    : model_(model),
      params_(params),
      pool_(params.n_threads),
      kv_(int(model.hp.n_layer), int(model.hp.n_head_kv), int(model.hp.head_dim),
          pool_blocks(model.hp, params), params.kv_type, model_salt(model, params.kv_type),
          params.sparse.summary_rows()) {
  const ModelHparams& hp = model.hp;
  const size_t nb = size_t(params.n_batch);
  x_.resize(nb * size_t(hp.n_embd));
  xn_.resize(nb * size_t(hp.n_embd));
  proj_.resize(nb * size_t(hp.n_embd));
  q_.resize(nb * size_t(hp.n_head * hp.head_dim));
  attn_.resize(q_.size());
  k_.resize(nb * size_t(hp.n_head_kv * hp.head_dim));
  v_.resize(k_.size());
  gate_.resize(nb * size_t(hp.n_ff));
  up_.resize(gate_.size());
  rope_cos_.resize(nb * size_t(hp.n_rot / 2));
  rope_sin_.resize(rope_cos_.size());
  scores_.resize(size_t(pool_.size()));
  flash_scratch_.resize(size_t(pool_.size()));
  flash_limits_.resize(size_t(pool_.size()));
  if (params.sparse.enabled) {
    params.sparse.validate();
    selectors_.resize(size_t(pool_.size()));
    const size_t tasks = nb * size_t(hp.n_head_kv);
    chosen_.resize(tasks * size_t(params.sparse.topk));
    chosen_count_.resize(tasks);
    window_first_.resize(tasks);
  }
}

EvalCounts Context::eval(KvSequence& seq, const int32_t* tokens, int64_t n, const EvalOutputs& out) {
  const ModelHparams& hp = model_.hp;
  if (n <= 0) throw std::runtime_error("eval needs at least one token");
  for (int64_t i = 0; i < n; ++i)
    if (tokens[i] < 0 || tokens[i] >= hp.n_vocab)
      throw std::runtime_error("token id " + std::to_string(tokens[i]) + " is outside the vocabulary (0.." +
                               std::to_string(hp.n_vocab - 1) + ")");
  if (seq.n_tokens + n > params_.n_ctx)
    throw std::runtime_error("context overflow: " + std::to_string(seq.n_tokens) + " + " + std::to_string(n) +
                             " tokens exceed the context size of " + std::to_string(params_.n_ctx));
  if (out.logits_from > n) throw std::runtime_error("logits_from is past the last token");
  // Positions before the first wanted output may come from the prefix cache.
  const int64_t output_from = out.hidden_sum ? 0 : out.logits && out.logits_from >= 0 ? out.logits_from : n;
  const int64_t n_before = seq.n_tokens;
  const int64_t hit = kv_.attach_cached(seq, tokens, output_from);
  try {
    kv_.reserve(seq, n_before + n);
  } catch (...) {
    if (hit > 0) kv_.truncate(seq, n_before);
    throw;
  }

  float* logits = nullptr;
  if (out.logits && out.logits_from >= 0) {
    out.logits->resize(size_t((n - out.logits_from) * hp.n_vocab));  // every value is written below
    logits = out.logits->data();
  }
  float* hidden_sum = nullptr;
  if (out.hidden_sum) {
    out.hidden_sum->assign(size_t(hp.n_embd), 0.f);
    hidden_sum = out.hidden_sum->data();
  }
  for (int64_t start = hit; start < n; start += params_.n_batch) {
    const int64_t len = std::min(params_.n_batch, n - start);
    // Rows of this batch that need logits, counted from the batch start.
    int64_t from = -1;
    float* batch_logits = nullptr;
    if (logits && out.logits_from < start + len) {
      from = std::max<int64_t>(0, out.logits_from - start);
      batch_logits = logits + (start + from - out.logits_from) * hp.n_vocab;
    }
    forward_batch(seq, tokens + start, len, from, batch_logits, hidden_sum);
    kv_.commit(seq, tokens + start, len);
  }
  return {hit, n - hit};
}

void Context::forward_batch(KvSequence& seq, const int32_t* tokens, int64_t n, int64_t logits_from, float* logits,
                            float* hidden_sum) {
  const ModelHparams& hp = model_.hp;
  const int64_t d = hp.n_embd, hd = hp.head_dim;
  const int64_t q_dim = hp.n_head * hd, kv_dim = hp.n_head_kv * hd;
  const int64_t pos0 = seq.n_tokens;
  PhaseClock clock(phase_times_);

  for (int64_t t = 0; t < n; ++t) {
    float* row = x_.data() + t * d;
    dequantize_row(model_.token_embd.type, model_.token_embd.row(tokens[t]), row, d);
    if (hp.embedding_scale != 1.f)
      for (int64_t i = 0; i < d; ++i) row[i] *= hp.embedding_scale;
  }

  RopeParams rope;
  rope.n_rot = int(hp.n_rot);
  rope.freq_base = hp.rope_freq_base;
  rope.freq_scale = hp.rope_freq_scale;
  rope.mscale = hp.rope_attn_factor;
  rope.factors = model_.rope_factors.empty() ? nullptr : model_.rope_factors.data();
  rope.style = hp.rope_style;
  const int64_t half = hp.n_rot / 2;
  for (int64_t t = 0; t < n; ++t)
    rope_angles(rope, pos0 + t, rope_cos_.data() + t * half, rope_sin_.data() + t * half);

  for (int64_t il = 0; il < hp.n_layer; ++il) {
    const LayerWeights& L = model_.layers[size_t(il)];
    // Attention block.
    norm_rows(L.attn_norm, n);
    clock.lap(&PhaseTimes::other_ms);
    matmul_shared_input({{&L.wq, q_.data()}, {&L.wk, k_.data()}, {&L.wv, v_.data()}}, xn_.data(), n, pool_, mm_);
    clock.lap(&PhaseTimes::matmul_ms);
    add_bias(q_.data(), L.bq, n);
    add_bias(k_.data(), L.bk, n);
    add_bias(v_.data(), L.bv, n);
    for (int64_t t = 0; t < n; ++t) {
      const float* c = rope_cos_.data() + t * half;
      const float* s = rope_sin_.data() + t * half;
      for (int64_t h = 0; h < hp.n_head; ++h) {
        float* head = q_.data() + t * q_dim + h * hd;
        if (!L.q_norm.empty()) rms_norm(head, L.q_norm.data(), head, hd, hp.norm_eps);
        rope_apply(rope, c, s, head);
      }
      for (int64_t h = 0; h < hp.n_head_kv; ++h) {
        float* head = k_.data() + t * kv_dim + h * hd;
        if (!L.k_norm.empty()) rms_norm(head, L.k_norm.data(), head, hd, hp.norm_eps);
        rope_apply(rope, c, s, head);
      }
      kv_.store(seq, pos0 + t, int(il), k_.data() + t * kv_dim, v_.data() + t * kv_dim);
    }
    clock.lap(&PhaseTimes::other_ms);
    const bool sparse = select_blocks(seq, int(il), pos0, n);
    clock.lap(&PhaseTimes::selection_ms);
    attention(seq, int(il), pos0, n, sparse);
    clock.lap(&PhaseTimes::attention_ms);
    matmul(L.wo, attn_.data(), n, proj_.data(), pool_, mm_);
    clock.lap(&PhaseTimes::matmul_ms);
    add_bias(proj_.data(), L.bo, n);
    add_scaled(x_.data(), proj_.data(), hp.residual_scale, n * d);

    // Feed-forward block (SwiGLU).
    norm_rows(L.ffn_norm, n);
    clock.lap(&PhaseTimes::other_ms);
    matmul_swiglu(L.ffn_gate, L.ffn_up, xn_.data(), n, gate_.data(), up_.data(), pool_, mm_);
    matmul(L.ffn_down, gate_.data(), n, proj_.data(), pool_, mm_);
    clock.lap(&PhaseTimes::matmul_ms);
    add_scaled(x_.data(), proj_.data(), hp.residual_scale, n * d);
  }
  seq.n_tokens = pos0 + n;

  const int64_t first = hidden_sum ? 0 : logits_from;
  if (first < 0) return;
  for (int64_t t = first; t < n; ++t) rms_norm(x_.data() + t * d, model_.output_norm.data(), xn_.data() + t * d, d, hp.norm_eps);
  if (hidden_sum)
    for (int64_t t = 0; t < n; ++t) add_scaled(hidden_sum, xn_.data() + t * d, 1.0f, d);
  if (logits && logits_from >= 0) {
    const int64_t rows = n - logits_from;
    clock.lap(&PhaseTimes::other_ms);
    matmul(model_.output, xn_.data() + logits_from * d, rows, logits, pool_, mm_);
    clock.lap(&PhaseTimes::matmul_ms);
    if (hp.logit_scale != 1.f) {
      const float inv = 1.0f / hp.logit_scale;
      for (int64_t i = 0; i < rows * hp.n_vocab; ++i) logits[i] *= inv;
    }
  }
}

void Context::norm_rows(const std::vector<float>& weight, int64_t n) {
  const int64_t d = model_.hp.n_embd;
  const float eps = model_.hp.norm_eps;
  const auto rows = [&](int64_t begin, int64_t end, int) {
    for (int64_t t = begin; t < end; ++t) rms_norm(x_.data() + t * d, weight.data(), xn_.data() + t * d, d, eps);
  };
  if (n < 8) rows(0, n, 0); else pool_.parallel_for(n, rows);
}

bool Context::select_blocks(KvSequence& seq, int layer, int64_t pos0, int64_t n) {
  const ModelHparams& hp = model_.hp;
  const int64_t hd = hp.head_dim, q_dim = hp.n_head * hd, n_kv = hp.n_head_kv;
  const int64_t group = hp.n_head / n_kv;
  const SparseParams& sp = params_.sparse;
  constexpr int64_t bs = KvCache::kBlockTokens;

  // Sparse: the compressed keys these positions complete, then the blocks each (token, KV
  // head) attends to; tokens seeing fewer than dense_len keys stay dense (count -1).
  const bool sparse = sp.enabled && pos0 + n >= sp.dense_len;
  if (sp.enabled) update_compressed_keys(kv_, seq, layer, pos0, pos0 + n, sp);
  if (sparse) {
    // Blocks before pos0 are committed; this batch completes those up to (pos0 + n) / bs.
    kv_.sync_summary_copy(seq, layer, pos0 / bs, (pos0 + n) / bs, int(sp.fine_per_block()));
    pool_.parallel_for(n * n_kv, [&](int64_t begin, int64_t end, int thread) {
      for (int64_t task = begin; task < end; ++task) {
        const int64_t t = task / n_kv, g = task % n_kv, pos = pos0 + t;
        if (pos + 1 < sp.dense_len) {
          chosen_count_[size_t(task)] = -1;
          continue;
        }
        chosen_count_[size_t(task)] = selectors_[size_t(thread)].select(
            kv_, seq, layer, g, q_.data() + t * q_dim + g * group * hd, group, hd, pos, sp,
            chosen_.data() + task * sp.topk, &window_first_[size_t(task)]);
      }
    });
  }
  for (int64_t t = 0; t < n; ++t) {
    const int64_t n_keys = pos0 + t + 1;
    attention_counts_.causal += n_keys * n_kv;
    for (int64_t g = 0; g < n_kv; ++g) {
      const size_t task = size_t(t * n_kv + g);
      attention_counts_.attended +=
          sparse && chosen_count_[task] >= 0 ? chosen_count_[task] * bs + n_keys - window_first_[task] * bs : n_keys;
    }
  }
  return sparse;
}

void Context::attention(const KvSequence& seq, int layer, int64_t pos0, int64_t n, bool sparse) {
  const ModelHparams& hp = model_.hp;
  const int64_t hd = hp.head_dim, q_dim = hp.n_head * hd, n_kv = hp.n_head_kv;
  const int64_t group = hp.n_head / n_kv;
  const float scale = 1.0f / std::sqrt(float(hd));
  const KvType type = kv_.type();
  const SparseParams& sp = params_.sparse;
  constexpr int64_t bs = KvCache::kBlockTokens;
  if (type == KvType::F16) {
    attention_f16(seq, layer, pos0, n, sparse);
    return;
  }
  // F32 KV, in llama.cpp's arithmetic: one task per (token, KV head, slice of its query heads),
  // enough tasks to occupy the threads: exact attention over runs of positions, each run inside
  // one KV block (dense: 0..pos; sparse: the chosen blocks, then the window up to pos).
  const int64_t slices = std::min(group, std::max<int64_t>(1, (pool_.size() + n * n_kv - 1) / (n * n_kv)));
  const int64_t per_slice = (group + slices - 1) / slices;
  const size_t score_room = size_t(per_slice * (pos0 + n));
  for (std::vector<float>& s : scores_)
    if (s.size() < score_room) s.resize(score_room);
  pool_.parallel_for(n * n_kv * slices, [&](int64_t begin, int64_t end, int thread) {
    float* scores = scores_[size_t(thread)].data();
    for (int64_t task = begin; task < end; ++task) {
      const int64_t t = task / (n_kv * slices), g = task / slices % n_kv, slice = task % slices;
      const int64_t h0 = g * group + slice * per_slice, n_heads = std::min(per_slice, group - slice * per_slice);
      if (n_heads <= 0) continue;
      const int64_t n_keys = pos0 + t + 1;
      const size_t sel = size_t(t * n_kv + g);
      const bool dense = !sparse || chosen_count_[sel] < 0;
      const int32_t* chosen = dense ? nullptr : chosen_.data() + sel * size_t(sp.topk);
      const int64_t n_chosen = dense ? 0 : chosen_count_[sel];
      const int64_t tail_from = dense ? 0 : window_first_[sel] * bs;
      // Calls fn(first position, run length, offset in a head's scores) for each run in order.
      const auto for_runs = [&](auto&& fn) {
        int64_t off = 0;
        for (int64_t i = 0; i < n_chosen; ++i, off += bs) fn(int64_t(chosen[i]) * bs, bs, off);
        for (int64_t j = tail_from; j < n_keys;) {
          const int64_t run = std::min(bs - j % bs, n_keys - j);
          fn(j, run, off);
          j += run;
          off += run;
        }
        return off;
      };
      const int64_t room = n_keys;  // scores of head i start at scores + i * room
      const int64_t n_scores = for_runs([&](int64_t j0, int64_t run, int64_t off) {
        const float* key = static_cast<const float*>(kv_.key(seq, j0, layer, int(g)));
        for (int64_t i = 0; i < n_heads; ++i) {
          const float* q = q_.data() + t * q_dim + (h0 + i) * hd;
          float* out = scores + i * room + off;
          for (int64_t j = 0; j < run; ++j) out[j] = dot_vec_f32(key + j * hd, q, hd) * scale;
        }
      });
      for (int64_t i = 0; i < n_heads; ++i) {
        softmax(scores + i * room, n_scores);
        float* out = attn_.data() + t * q_dim + (h0 + i) * hd;
        for (int64_t c = 0; c < hd; ++c) out[c] = 0.f;
      }
      // llama.cpp's order for an F32 cache (kernels/float_dot.h): attended key j goes to lane
      // j % lanes, so F16/BF16 models, which round this output before the next matmul, round
      // it the same way.
      const int lanes = n == 1 ? 64 : 16;
      thread_local std::vector<float> acc;
      acc.assign(size_t(n_heads * hd * lanes), 0.f);
      for_runs([&](int64_t j0, int64_t run, int64_t off) {
        const float* value = static_cast<const float*>(kv_.value(seq, j0, layer, int(g)));
        for (int64_t i = 0; i < n_heads; ++i)
          for (int64_t j = 0; j < run; ++j)
            lanes_fma(acc.data() + i * hd * lanes, lanes, value + j * hd, scores[i * room + off + j], off + j, hd);
      });
      for (int64_t i = 0; i < n_heads; ++i)
        lanes_sum(acc.data() + i * hd * lanes, lanes, hd, attn_.data() + t * q_dim + (h0 + i) * hd);
    }
  });
}

// F16 KV: flash attention (kernels/flash_attention.h) per (KV head, tile of tokens). A token's
// attended blocks form a list (dense: 0..its own block; sparse: the chosen blocks, then the
// window), folded in chunks of kFlashChunkBlocks. Consecutive dense tokens share a tile of up to
// 32 query rows (their lists are prefixes of the tile's last token's; the causal mask trims the
// rest); a sparse token is a tile of its own. With too few tiles to occupy the threads (decode),
// every chunk is a task and the chunk states are merged afterwards (flash-decoding): the same
// states merged in the same order as one task would, so the same bits either way.
void Context::attention_f16(const KvSequence& seq, int layer, int64_t pos0, int64_t n, bool sparse) {
  const ModelHparams& hp = model_.hp;
  const int64_t hd = hp.head_dim, q_dim = hp.n_head * hd, n_kv = hp.n_head_kv, group = hp.n_head / n_kv;
  const int64_t stride = hd, topk = params_.sparse.topk;  // a head's positions are consecutive
  const float scale = 1.0f / std::sqrt(float(hd));
  constexpr int64_t bs = KvCache::kBlockTokens, per_chunk = kFlashChunkBlocks;

  const int64_t per_tile = std::max<int64_t>(1, 32 / group);
  const auto sparse_token = [&](int64_t t) { return sparse && chosen_count_[size_t(t * n_kv)] >= 0; };
  tiles_.clear();
  for (int64_t t = 0; t < n;) {
    int64_t end = t + 1;
    if (!sparse_token(t))
      while (end < n && end - t < per_tile && !sparse_token(end)) ++end;
    tiles_.push_back({t, end});
    t = end;
  }
  const FlashShape widest(group * per_tile, hd);
  const size_t state_room = widest.state_floats();
  // Per thread: queries, the running state, a chunk state, kernel scratch; the rows' limits.
  const size_t room = widest.qt_floats() + 2 * state_room + widest.scratch_floats();
  for (std::vector<float>& s : flash_scratch_) line_aligned(s, room);
  const auto thread_room = [&](int thread) { return first_line(flash_scratch_[size_t(thread)].data()); };
  for (std::vector<int32_t>& s : flash_limits_)
    if (s.size() < size_t(widest.ld)) s.resize(size_t(widest.ld));

  struct BlockList {
    const int32_t* chosen;
    int64_t n_chosen, window_first, n_blocks;
    int64_t block(int64_t i) const { return i < n_chosen ? chosen[i] : window_first + i - n_chosen; }
  };
  const auto list_of = [&](const Tile& tile, int64_t g) {
    const int64_t own = (pos0 + tile.end - 1) / bs;
    const size_t sel = size_t(tile.begin * n_kv + g);
    if (!sparse_token(tile.begin)) return BlockList{nullptr, 0, 0, own + 1};
    const int64_t n_chosen = chosen_count_[sel], first = window_first_[sel];
    return BlockList{chosen_.data() + sel * size_t(topk), n_chosen, first, n_chosen + own - first + 1};
  };
  const auto chunks_of = [&](const BlockList& list) { return (list.n_blocks + per_chunk - 1) / per_chunk; };
  // Queries and limits of (tile, g) into the thread's scratch.
  const auto load_tile = [&](const Tile& tile, int64_t g, const FlashShape& shape, float* qt, int32_t* limit) {
    flash_load_queries(shape, q_.data() + tile.begin * q_dim + g * group * hd, group, q_dim, scale, qt);
    for (int64_t r = 0; r < shape.ld; ++r)
      limit[r] = int32_t(pos0 + tile.begin + std::min(r / group, tile.end - tile.begin - 1));
  };
  // The state of chunk c of (tile, g).
  const auto chunk_state = [&](const Tile& tile, int64_t g, const BlockList& list, int64_t c, const FlashShape& shape,
                               const float* qt, const int32_t* limit, FlashState st, float* scratch) {
    flash_reset(shape, st);
    const int64_t first = pos0 + tile.begin, last = pos0 + tile.end - 1;
    const auto rows = [&](int64_t i, int which) {
      const int64_t j0 = list.block(i) * bs;
      return which == 0 ? kv_.keys_f16(seq, j0, layer, int(g)) : static_cast<const uint16_t*>(kv_.value(seq, j0, layer, int(g)));
    };
    for (int64_t i = c * per_chunk, e = std::min(list.n_blocks, i + per_chunk); i < e; ++i) {
      const int64_t j0 = list.block(i) * bs, run = std::min(bs, last - j0 + 1);
      FlashNext next;  // the next run streams in while this one is computed
      if (i + 1 < list.n_blocks) next = {rows(i + 1, 0), rows(i + 1, 1), bs * hd * 2};
      flash_block(shape, qt, rows(i, 0), rows(i, 1), stride, run, j0, j0 + run - 1 > first ? limit : nullptr, st,
                  scratch, next);
    }
  };
  const auto shape_of = [&](const Tile& tile) { return FlashShape(group * (tile.end - tile.begin), hd); };
  const int64_t n_tasks = int64_t(tiles_.size()) * n_kv;

  if (n_tasks >= 2 * pool_.size()) {
    pool_.parallel_for(n_tasks, [&](int64_t begin, int64_t end, int thread) {
      float* qt = thread_room(thread);
      float* total = qt + widest.qt_floats();
      float* part = total + state_room;
      float* scratch = part + state_room;
      int32_t* limit = flash_limits_[size_t(thread)].data();
      for (int64_t task = begin; task < end; ++task) {
        const Tile& tile = tiles_[size_t(task / n_kv)];
        const int64_t g = task % n_kv;
        const FlashShape shape = shape_of(tile);
        const BlockList list = list_of(tile, g);
        load_tile(tile, g, shape, qt, limit);
        flash_reset(shape, FlashState(shape, total));
        for (int64_t c = 0, nc = chunks_of(list); c < nc; ++c) {
          chunk_state(tile, g, list, c, shape, qt, limit, FlashState(shape, part), scratch);
          flash_merge(shape, FlashState(shape, total), FlashState(shape, part));
        }
        flash_output(shape, FlashState(shape, total), attn_.data() + tile.begin * q_dim + g * group * hd, group, q_dim);
      }
    });
    return;
  }
  // Flash-decoding: a task per chunk, its state kept in flash_parts_, then the merges.
  split_first_.assign(size_t(n_tasks) + 1, 0);
  split_parts_.clear();
  for (int64_t task = 0; task < n_tasks; ++task) {
    const int64_t chunks = chunks_of(list_of(tiles_[size_t(task / n_kv)], task % n_kv));
    for (int64_t c = 0; c < chunks; ++c) split_parts_.push_back({task, c});
    split_first_[size_t(task) + 1] = int64_t(split_parts_.size());
  }
  const int64_t n_parts = int64_t(split_parts_.size());
  // One chunk per task (short contexts): each part is its task's whole state, so it goes
  // straight to the output (merging one part into an empty state changes no bit).
  const bool single = n_parts == n_tasks;
  float* parts = single ? nullptr : line_aligned(flash_parts_, size_t(n_parts) * state_room);
  pool_.parallel_for(n_parts, [&](int64_t begin, int64_t end, int thread) {
    float* qt = thread_room(thread);
    float* own = qt + widest.qt_floats();
    float* scratch = own + 2 * state_room;
    int32_t* limit = flash_limits_[size_t(thread)].data();
    int64_t loaded = -1;
    for (int64_t p = begin; p < end; ++p) {
      const SplitPart part = split_parts_[size_t(p)];
      const Tile& tile = tiles_[size_t(part.task / n_kv)];
      const int64_t g = part.task % n_kv;
      const FlashShape shape = shape_of(tile);
      if (part.task != loaded) load_tile(tile, g, shape, qt, limit);
      loaded = part.task;
      // The chunk runs on the thread's own state, which stays in cache from chunk to chunk, and
      // is copied out after: a state in flash_parts_ would start each chunk cold (the KV
      // stream pushed it out since the last layer), and its first run paid for it.
      chunk_state(tile, g, list_of(tile, g), part.chunk, shape, qt, limit, FlashState(shape, own), scratch);
      if (single)
        flash_output(shape, FlashState(shape, own), attn_.data() + tile.begin * q_dim + g * group * hd, group, q_dim);
      else
        std::copy(own, own + shape.live_state_floats(), parts + size_t(p) * state_room);
    }
  });
  if (single) return;
  pool_.parallel_for(n_tasks, [&](int64_t begin, int64_t end, int thread) {
    float* total = thread_room(thread) + widest.qt_floats();
    for (int64_t task = begin; task < end; ++task) {
      const Tile& tile = tiles_[size_t(task / n_kv)];
      const int64_t g = task % n_kv;
      const FlashShape shape = shape_of(tile);
      flash_reset(shape, FlashState(shape, total));
      for (int64_t c = split_first_[size_t(task)]; c < split_first_[size_t(task) + 1]; ++c)
        flash_merge(shape, FlashState(shape, total),
                    FlashState(shape, parts + size_t(c) * state_room));
      flash_output(shape, FlashState(shape, total), attn_.data() + tile.begin * q_dim + g * group * hd, group, q_dim);
    }
  });
}

void Context::fill_synthetic(KvSequence& seq, int64_t n_tokens, uint64_t seed) {
  const ModelHparams& hp = model_.hp;
  if (seq.n_tokens != 0) throw std::runtime_error("fill_synthetic needs an empty sequence");
  if (n_tokens < 1 || n_tokens > params_.n_ctx)
    throw std::runtime_error("fill_synthetic: " + std::to_string(n_tokens) + " tokens do not fit the context size of " +
                             std::to_string(params_.n_ctx));
  kv_.reserve(seq, n_tokens);
  seq.shareable = false;
  const int64_t kv_dim = hp.n_head_kv * hp.head_dim;
  // Keys and values uniform in [-1, 1): a xorshift stream per layer, so threads split layers.
  pool_.parallel_for(hp.n_layer, [&](int64_t begin, int64_t end, int) {
    std::vector<float> k(static_cast<size_t>(kv_dim)), v(static_cast<size_t>(kv_dim));
    for (int64_t il = begin; il < end; ++il) {
      uint64_t x = (seed + 1) * 0x9e3779b97f4a7c15ull ^ uint64_t(il + 1) * 0xbf58476d1ce4e5b9ull;
      const auto next = [&x] {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        return float(int64_t(x >> 40) - (int64_t(1) << 23)) / float(int64_t(1) << 23);
      };
      for (int64_t p = 0; p < n_tokens; ++p) {
        for (int64_t i = 0; i < kv_dim; ++i) k[size_t(i)] = next();
        for (int64_t i = 0; i < kv_dim; ++i) v[size_t(i)] = next();
        kv_.store(seq, p, int(il), k.data(), v.data());
      }
      if (params_.sparse.enabled) update_compressed_keys(kv_, seq, int(il), 0, n_tokens, params_.sparse);
    }
  });
  // A prefill leaves the selection's copy of the compressed keys current; so does this (one layer
  // at a time: the first call sizes every layer's copy).
  if (params_.sparse.enabled)
    for (int64_t il = 0; il < hp.n_layer; ++il)
      kv_.sync_summary_copy(seq, int(il), 0, n_tokens / KvCache::kBlockTokens, int(params_.sparse.fine_per_block()));
  seq.n_tokens = n_tokens;
  seq.tokens.assign(size_t(n_tokens), 0);
}

}  // namespace ls
