// InfLLM v2 block-sparse attention (the MiniCPM4 rule): which KV blocks a query attends to.
//
// Per layer and KV head, over keys as stored (after RoPE):
// - fine compressed keys K1[j] = mean of keys [s*j, s*j + k) (k = kernel_size, s = kernel_stride);
//   coarse compressed keys K2[j] = mean of keys [4s*j, 4s*j + 4k). A compressed key is visible to
//   a query at position p when its last token is at or before p, and it is stored (a summary
//   row of the KV cache) in the block that holds that last token.
// - For each query head h of the KV head's group: lse_h = log Σ_j exp(q_h·K2[j]/√d) over the
//   visible coarse keys (0 when none is visible); kernel score S[j] = Σ_h exp(q_h·K1[j]/√d − lse_h).
// - Block b (64 tokens) scores the max of S over the visible fine kernels that overlap it
//   (−∞ when none does); blocks before init_blocks score +∞.
// - The window (the last window_size/64 blocks, the query's own block included) is not scored
//   and always attended. Among the earlier blocks the topk highest are chosen (ties: the lower
//   block first), sorted, and those at or past the query's block dropped.
// - Attention is exact (scale 1/√d) over the chosen blocks plus the window, and dense while the
//   query sees fewer than dense_len keys.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace ls {

class KvCache;
struct KvSequence;

struct SparseParams {
  bool enabled = false;
  int64_t topk = 64;          // blocks chosen outside the window, init blocks included
  int64_t kernel_size = 32;   // tokens per fine compressed key (coarse: 4x)
  int64_t kernel_stride = 16; // tokens between fine compressed keys (coarse: 4x)
  int64_t init_blocks = 1;    // leading blocks always chosen
  int64_t block_size = 64;    // must be the KV cache's block size
  int64_t window_size = 2048; // tokens of trailing blocks always attended (a multiple of block_size)
  int64_t dense_len = 8192;   // queries seeing fewer keys attend densely

  // Throws std::invalid_argument naming the field when the values cannot be used.
  void validate() const;
  int64_t fine_per_block() const { return block_size / kernel_stride; }
  int64_t coarse_per_block() const { return block_size / (4 * kernel_stride); }
  // Summary rows per layer and block: the fine, then the coarse compressed keys.
  int summary_rows() const { return enabled ? int(fine_per_block() + coarse_per_block()) : 0; }
  int64_t window_blocks() const { return window_size / block_size; }
  std::string describe() const;
};

// Computes the compressed keys of a layer whose last token lies in [from, to), from the keys
// stored in seq's cache (every key they cover must be stored).
void update_compressed_keys(KvCache& kv, const KvSequence& seq, int layer, int64_t from, int64_t to,
                            const SparseParams& sp);

// Chooses blocks for queries; holds per-thread scratch, so one selector per thread.
class BlockSelector {
 public:
  // For the query at position pos with the group's query heads q (group rows of head_dim,
  // contiguous) of KV head kv_head: writes the chosen block indices before the window to out
  // (ascending; at most sp.topk) and returns their count. *window_first receives the first
  // window block. Only meaningful when pos + 1 >= sp.dense_len (the caller's check).
  int64_t select(const KvCache& kv, const KvSequence& seq, int layer, int64_t kv_head, const float* q, int64_t group,
                 int64_t head_dim, int64_t pos, const SparseParams& sp, int32_t* out, int64_t* window_first);

 private:
  std::vector<float> qt_, scratch_, tile_scores_, tile16_;  // the score kernels' queries, scratch and outputs
  std::vector<float> coarse_, kernel_scores_, block_scores_, lse_, threshold_;
};

}  // namespace ls
