// Key/value cache as a pool of fixed 64-token blocks. A sequence owns an ordered list of
// block ids (its block table); blocks are reference-counted so a later prefix cache can
// share one block between sequences. Block memory is allocated on first use.
#pragma once
#include <cstdint>
#include <memory>
#include <vector>

namespace ls {

enum class KvType { F16, F32 };

struct KvSequence {
  std::vector<int32_t> blocks;  // block table: positions [64*i, 64*i+64) live in blocks[i]
  int64_t n_tokens = 0;          // positions filled
};

class KvCache {
 public:
  static constexpr int kBlockTokens = 64;

  // kv_dim = n_kv_heads * head_dim; max_blocks bounds the pool.
  KvCache(int n_layers, int kv_dim, int max_blocks, KvType type);

  KvType type() const { return type_; }
  int kv_dim() const { return kv_dim_; }
  size_t elem_bytes() const { return elem_bytes_; }
  int max_blocks() const { return int(blocks_.size()); }
  int blocks_in_use() const { return in_use_; }

  // Grows seq's block table to hold n_tokens positions; throws std::runtime_error when the
  // pool is exhausted (leaving the table as it was).
  void reserve(KvSequence& seq, int64_t n_tokens);
  // Drops seq's references; its blocks return to the free list when unshared.
  void release(KvSequence& seq);
  void retain_block(int32_t block);
  void release_block(int32_t block);

  // Writes one position's keys and values (kv_dim floats each) for a layer.
  void store(const KvSequence& seq, int64_t pos, int layer, const float* k, const float* v);
  // Pointer to the stored key/value row of a position (F16 bits or F32 per type()).
  const void* key(const KvSequence& seq, int64_t pos, int layer) const { return row(seq, pos, layer, 0); }
  const void* value(const KvSequence& seq, int64_t pos, int layer) const { return row(seq, pos, layer, 1); }

 private:
  uint8_t* row(const KvSequence& seq, int64_t pos, int layer, int which) const;
  size_t row_elems_offset(int64_t slot, int layer, int which) const;

  int n_layers_;
  int kv_dim_;
  KvType type_;
  size_t elem_bytes_;
  size_t block_bytes_;
  std::vector<std::unique_ptr<uint8_t[]>> blocks_;  // null until first allocated
  std::vector<int32_t> ref_counts_;
  std::vector<int32_t> free_list_;
  int in_use_ = 0;
};

}  // namespace ls
