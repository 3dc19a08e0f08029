// Key/value cache as a pool of fixed 64-token blocks with a prefix cache. A sequence owns
// an ordered list of block ids (its block table). Every full block is keyed by a chained
// hash (parent block's key + its 64 token ids + a per-model salt); a new prompt walks its
// full blocks through that map and shares every hit (reference-counted) instead of
// computing it. Shared blocks are never written: a sequence only appends into its own tail.
// A released sequence's cached blocks stay in the map as free-but-cached until the pool
// needs them; they are evicted least-recently-used, leaves first (a block outlives its
// cached children), so a shared prefix survives longer than the suffixes hanging off it.
// Block memory is allocated on first use; the pool's size is the memory budget.
// Besides 64 positions of keys and values per layer, a block may hold `summary_rows` extra
// rows per layer (kv_dim wide, the KV element type): sparse attention's compressed keys,
// each stored in the block that holds its last token, so a reused block brings them along.
#pragma once
#include <cstdint>
#include <memory>
#include <set>
#include <unordered_map>
#include <utility>
#include <vector>

#include "kernels/huge_pages.h"

namespace ls {

enum class KvType { F16, F32 };

struct KvSequence {
  std::vector<int32_t> blocks;  // block table: positions [64*i, 64*i+64) live in blocks[i]
  int64_t n_tokens = 0;          // positions filled
  std::vector<int32_t> tokens;   // the token at each filled position (prefix-cache keys)
  std::vector<uint64_t> keys;    // chained key of each full block, in table order
  bool shareable = true;         // false: never published to the prefix map (synthetic contents)
  // The summary rows of the blocks up to summary_copied[layer], copied per layer, KV head and
  // kind ([(layer * heads + head) * 2 + kind]; KvCache::sync_summary_copy).
  std::vector<std::vector<uint8_t>> summary_copy;
  std::vector<int64_t> summary_copied;
  int summary_split = 0;
};

struct KvCacheStats {
  int64_t evictions = 0;   // cached blocks dropped to make room
  int blocks_in_use = 0;   // referenced by live sequences
  int blocks_cached = 0;   // free, still in the prefix map
  int blocks_empty = 0;    // free, holding nothing reusable
  int blocks_total = 0;
};

class KvCache {
 public:
  static constexpr int kBlockTokens = 64;

  // Rows of n_heads KV heads of head_dim; max_blocks bounds the pool; salt separates models;
  // summary_rows: extra rows per layer and block (see above).
  KvCache(int n_layers, int n_heads, int head_dim, int max_blocks, KvType type, uint64_t salt, int summary_rows = 0);

  // Bytes of one block (every layer's keys, values and summary rows).
  static size_t block_bytes(int n_layers, int kv_dim, KvType type, int summary_rows = 0);

  KvType type() const { return type_; }
  int kv_dim() const { return kv_dim_; }
  int n_heads() const { return n_heads_; }
  int head_dim() const { return head_dim_; }
  size_t elem_bytes() const { return elem_bytes_; }
  int max_blocks() const { return max_blocks_; }
  int summary_rows() const { return summary_rows_; }
  int blocks_in_use() const { return in_use_; }
  KvCacheStats stats() const;

  // When seq ends at a block boundary, appends to it the cached blocks that hold
  // tokens[0, 64k) for the largest k with 64k <= max_tokens, stopping at the first miss.
  // Returns the number of tokens attached (seq.n_tokens grows by as much).
  int64_t attach_cached(KvSequence& seq, const int32_t* tokens, int64_t max_tokens);
  // Detaches blocks past n_tokens (a multiple of 64 not above seq.n_tokens): undoes attach_cached.
  void truncate(KvSequence& seq, int64_t n_tokens);
  // Grows seq's block table to hold n_tokens positions, evicting free cached blocks when
  // no empty one is left; throws std::runtime_error when blocks held by live sequences
  // leave no room (the table is then as it was).
  void reserve(KvSequence& seq, int64_t n_tokens);
  // Records that positions [seq.n_tokens - n, seq.n_tokens) hold `tokens`, and publishes
  // the blocks this filled in the prefix map.
  void commit(KvSequence& seq, const int32_t* tokens, int64_t n);
  // Drops seq's references; its cached blocks stay reusable until evicted.
  void release(KvSequence& seq);
  // Evicts every free cached block (a cold start for the next prompt).
  void clear_cached();

  // Writes one position's keys and values (kv_dim floats each, head after head) for a layer.
  void store(const KvSequence& seq, int64_t pos, int layer, const float* k, const float* v);
  // Pointer to one KV head's stored value at a position (head_dim elements, F16 bits or F32
  // per type()). A block keeps each head's 64 positions together, head_dim elements apart, so
  // attention to one head streams contiguous memory. Keys are kept the same way in an F32
  // cache (key(): a position's row, read in llama.cpp's order for exact parity); an F16 cache
  // keeps a head's 64 keys of a block dims-major instead (keys_f16(): element i of position p
  // at [i * 64 + p % 64]), so the decode kernel loads 16 keys' element i at once.
  const void* key(const KvSequence& seq, int64_t pos, int layer, int head) const;
  const uint16_t* keys_f16(const KvSequence& seq, int64_t pos, int layer, int head) const;
  const void* value(const KvSequence& seq, int64_t pos, int layer, int head) const { return row(seq, pos, layer, 1, head); }
  // Summary row r (< summary_rows()) of seq's block_index-th block for a layer; the rows of
  // one block and layer are consecutive, kv_dim elements apart.
  void* summary(const KvSequence& seq, int64_t block_index, int layer, int r) const;
  // A scan of many blocks' summary rows (sparse selection) would touch every block and read them
  // a row at a time; the sequence keeps them copied for it instead. The rows [0, split) of every
  // block form one sequence of items (kind 0: item b * split + r), the others another (kind 1),
  // and each is kept per KV head in groups of 16 items stored dims-major (element i of item
  // 16g + j at (g * head_dim + i) * 16 + j): a scan scores 16 items a load. Brings layer's copy
  // to blocks [0, upto), first dropping what was copied at or past block `stable` (positions
  // past the last committed one may have been written since).
  void sync_summary_copy(KvSequence& seq, int layer, int64_t stable, int64_t upto, int split) const;
  // Items of a kind copied for a layer (0 when none), and the start of group g of them.
  int64_t summary_items(const KvSequence& seq, int layer, int kind) const;
  const void* summary_group(const KvSequence& seq, int layer, int head, int kind, int64_t group) const;
  // KV head `head`'s part of summary row r of seq's block_index-th block (head_dim elements).
  const void* summary_row(const KvSequence& seq, int64_t block_index, int layer, int head, int r) const;

 private:
  static constexpr int32_t kNoBlock = -1;
  struct BlockInfo {
    int32_t refs = 0;
    bool cached = false;          // in the prefix map under `key`
    uint64_t key = 0;
    int32_t parent = kNoBlock;    // cached block before this one in its chain
    int32_t cached_children = 0;  // cached blocks whose parent this is
    uint64_t released_at = 0;     // LRU stamp, set when refs drops to 0
    std::vector<int32_t> tokens;  // the 64 token ids of a cached block (checked on a hit)
  };

  uint8_t* row(const KvSequence& seq, int64_t pos, int layer, int which, int head) const;
  size_t row_elems_offset(int64_t slot, int layer, int which) const;
  uint64_t block_key(uint64_t parent_key, const int32_t* tokens) const;
  void retain(int32_t block);
  void release_block(int32_t block);
  // A block for new content: an empty one, else the least recently used evictable one.
  int32_t take_block();
  void evict(int32_t block);
  void make_evictable_if_leaf(int32_t block);

  int n_layers_;
  int n_heads_;
  int head_dim_;
  int kv_dim_;
  int summary_rows_;
  KvType type_;
  size_t elem_bytes_;
  size_t block_bytes_;
  uint64_t salt_;
  int max_blocks_;
  // Grown on demand up to max_blocks_; a block's memory is carved from a slab of
  // kSlabBytes on huge pages (attention reads a layer's rows from every block: with 4 KiB
  // pages that is a TLB miss per block), the slab allocated when its first block is taken.
  static constexpr size_t kSlabBytes = size_t(32) << 20;
  int64_t blocks_per_slab() const;
  std::vector<uint8_t*> blocks_;
  std::vector<HugeBytes> slabs_;
  std::vector<BlockInfo> info_;
  std::vector<int32_t> empty_;                       // free blocks that hold nothing reusable
  std::unordered_map<uint64_t, int32_t> by_key_;     // prefix map
  std::set<std::pair<uint64_t, int32_t>> evictable_; // free cached leaves by (released_at, id)
  int in_use_ = 0;
  int cached_free_ = 0;  // free blocks still in the prefix map (evictable now or after their children)
  uint64_t clock_ = 0;
  int64_t evictions_ = 0;
};

}  // namespace ls
