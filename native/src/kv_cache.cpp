#include "kv_cache.h"

#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <string>

#include "kernels/half.h"

namespace ls {
namespace {

// splitmix64's finaliser: a bijective 64-bit mix.
uint64_t mix64(uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ull;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebull;
  x ^= x >> 31;
  return x;
}

}  // namespace

size_t KvCache::block_bytes(int n_layers, int kv_dim, KvType type, int summary_rows) {
  return (size_t(kBlockTokens) * 2 + size_t(summary_rows)) * size_t(n_layers) * size_t(kv_dim) *
         (type == KvType::F16 ? 2 : 4);
}

KvCache::KvCache(int n_layers, int n_heads, int head_dim, int max_blocks, KvType type, uint64_t salt, int summary_rows)
    : n_layers_(n_layers),
      n_heads_(n_heads),
      head_dim_(head_dim),
      kv_dim_(n_heads * head_dim),
      summary_rows_(summary_rows),
      type_(type),
      elem_bytes_(type == KvType::F16 ? 2 : 4),
      block_bytes_(block_bytes(n_layers, n_heads * head_dim, type, summary_rows)),
      salt_(salt),
      max_blocks_(max_blocks) {
  if (max_blocks < 1) throw std::invalid_argument("the KV cache needs at least one block");
  if (summary_rows < 0) throw std::invalid_argument("summary_rows must not be negative");
}

int64_t KvCache::blocks_per_slab() const {
  return std::max<int64_t>(1, int64_t(kSlabBytes / block_bytes_));
}

KvCacheStats KvCache::stats() const {
  KvCacheStats s;
  s.evictions = evictions_;
  s.blocks_in_use = in_use_;
  s.blocks_cached = cached_free_;
  s.blocks_total = max_blocks_;
  s.blocks_empty = max_blocks_ - in_use_ - cached_free_;
  return s;
}

uint64_t KvCache::block_key(uint64_t parent_key, const int32_t* tokens) const {
  uint64_t h = mix64(salt_ ^ mix64(parent_key + 0x9e3779b97f4a7c15ull));
  for (int i = 0; i < kBlockTokens; ++i) h = mix64(h + uint64_t(uint32_t(tokens[i])) + 0x9e3779b97f4a7c15ull);
  return h;
}

void KvCache::retain(int32_t block) {
  BlockInfo& b = info_[size_t(block)];
  if (b.refs++ > 0) return;
  // A free cached block comes back into use.
  ++in_use_;
  --cached_free_;
  evictable_.erase({b.released_at, block});
}

void KvCache::release_block(int32_t block) {
  BlockInfo& b = info_[size_t(block)];
  if (--b.refs > 0) return;
  --in_use_;
  b.released_at = ++clock_;
  if (b.cached) {
    ++cached_free_;
    make_evictable_if_leaf(block);
  } else {
    empty_.push_back(block);
  }
}

void KvCache::make_evictable_if_leaf(int32_t block) {
  const BlockInfo& b = info_[size_t(block)];
  if (b.refs == 0 && b.cached && b.cached_children == 0) evictable_.insert({b.released_at, block});
}

void KvCache::evict(int32_t block) {
  BlockInfo& b = info_[size_t(block)];
  evictable_.erase({b.released_at, block});
  by_key_.erase(b.key);
  b.cached = false;
  b.tokens.clear();
  --cached_free_;
  const int32_t parent = b.parent;
  b.parent = kNoBlock;
  if (parent != kNoBlock) {
    --info_[size_t(parent)].cached_children;
    make_evictable_if_leaf(parent);
  }
}

int32_t KvCache::take_block() {
  int32_t block;
  if (!empty_.empty()) {
    block = empty_.back();
    empty_.pop_back();
  } else if (int(blocks_.size()) < max_blocks_) {
    block = int32_t(blocks_.size());
    blocks_.push_back(nullptr);
    info_.emplace_back();
  } else {
    // reserve() counted the cached free blocks, and a free cached block's cached
    // descendants are free too, so a leaf is always there while cached_free_ > 0.
    block = evictable_.begin()->second;
    evict(block);
    ++evictions_;
  }
  if (!blocks_[size_t(block)]) {
    const int64_t per = blocks_per_slab(), slab = block / per;
    while (int64_t(slabs_.size()) <= slab) {
      const int64_t first = int64_t(slabs_.size()) * per;
      slabs_.push_back(alloc_huge(size_t(std::min<int64_t>(per, max_blocks_ - first)) * block_bytes_));
    }
    blocks_[size_t(block)] = slabs_[size_t(slab)].get() + size_t(block % per) * block_bytes_;
  }
  info_[size_t(block)].refs = 1;
  ++in_use_;
  return block;
}

int64_t KvCache::attach_cached(KvSequence& seq, const int32_t* tokens, int64_t max_tokens) {
  if (!seq.shareable || seq.n_tokens % kBlockTokens != 0 || int64_t(seq.blocks.size()) * kBlockTokens != seq.n_tokens ||
      seq.keys.size() != seq.blocks.size())
    return 0;
  int64_t attached = 0;
  while (attached + kBlockTokens <= max_tokens) {
    const size_t i = seq.blocks.size();
    const int32_t* block_tokens = tokens + attached;
    const uint64_t key = block_key(i ? seq.keys[i - 1] : 0, block_tokens);
    const auto hit = by_key_.find(key);
    if (hit == by_key_.end()) break;
    const BlockInfo& b = info_[size_t(hit->second)];
    // The key is a hash: a hit counts only when the chain and the tokens are really equal.
    const int32_t parent = i ? seq.blocks[i - 1] : kNoBlock;
    if (b.parent != parent || !std::equal(b.tokens.begin(), b.tokens.end(), block_tokens)) break;
    retain(hit->second);
    seq.blocks.push_back(hit->second);
    seq.keys.push_back(key);
    seq.tokens.insert(seq.tokens.end(), block_tokens, block_tokens + kBlockTokens);
    seq.n_tokens += kBlockTokens;
    attached += kBlockTokens;
  }
  return attached;
}

void KvCache::truncate(KvSequence& seq, int64_t n_tokens) {
  if (n_tokens % kBlockTokens != 0 || n_tokens > seq.n_tokens)
    throw std::logic_error("KvCache::truncate: not a block boundary inside the sequence");
  const size_t keep = size_t(n_tokens / kBlockTokens);
  while (seq.blocks.size() > keep) {
    release_block(seq.blocks.back());
    seq.blocks.pop_back();
  }
  seq.keys.resize(std::min(seq.keys.size(), keep));
  seq.tokens.resize(size_t(n_tokens));
  seq.n_tokens = n_tokens;
}

void KvCache::reserve(KvSequence& seq, int64_t n_tokens) {
  const size_t needed = size_t((n_tokens + kBlockTokens - 1) / kBlockTokens);
  if (needed <= seq.blocks.size()) return;
  const size_t extra = needed - seq.blocks.size();
  const size_t never_used = size_t(max_blocks_) - blocks_.size();
  if (extra > empty_.size() + never_used + size_t(cached_free_))
    throw std::runtime_error("KV cache is full: " + std::to_string(in_use_) + " blocks of " +
                             std::to_string(max_blocks_) + " in use by live sequences; raise kvCacheMb (" +
                             std::to_string(extra) + " more blocks of " + std::to_string(kBlockTokens) +
                             " tokens needed)");
  while (seq.blocks.size() < needed) seq.blocks.push_back(take_block());
}

void KvCache::commit(KvSequence& seq, const int32_t* tokens, int64_t n) {
  seq.tokens.insert(seq.tokens.end(), tokens, tokens + n);
  if (!seq.shareable) return;
  for (size_t i = seq.keys.size(); int64_t(i + 1) * kBlockTokens <= seq.n_tokens; ++i) {
    const int32_t* block_tokens = seq.tokens.data() + i * kBlockTokens;
    const uint64_t key = block_key(i ? seq.keys[i - 1] : 0, block_tokens);
    seq.keys.push_back(key);
    const int32_t block = seq.blocks[i];
    BlockInfo& b = info_[size_t(block)];
    // Publish only a chain of cached blocks (a cached block's parent stays cached while it
    // is), and only the first block with this content.
    const int32_t parent = i ? seq.blocks[i - 1] : kNoBlock;
    if (b.cached || (parent != kNoBlock && !info_[size_t(parent)].cached) || by_key_.count(key)) continue;
    by_key_.emplace(key, block);
    b.cached = true;
    b.key = key;
    b.parent = parent;
    b.tokens.assign(block_tokens, block_tokens + kBlockTokens);
    if (parent != kNoBlock) ++info_[size_t(parent)].cached_children;
  }
}

void KvCache::release(KvSequence& seq) {
  // Deepest first, so the deeper blocks get the older stamps and are evicted sooner.
  for (auto it = seq.blocks.rbegin(); it != seq.blocks.rend(); ++it) release_block(*it);
  seq = KvSequence();
}

void KvCache::clear_cached() {
  while (!evictable_.empty()) {
    const int32_t block = evictable_.begin()->second;
    evict(block);
    empty_.push_back(block);
  }
}

// Block layout: per layer, 64 key rows, 64 value rows (each of the two: head after head, a
// head's 64 positions consecutive), then the summary rows (kv_dim wide).
size_t KvCache::row_elems_offset(int64_t slot, int layer, int which) const {
  const size_t layer_rows = 2 * size_t(kBlockTokens) + size_t(summary_rows_);
  return (size_t(layer) * layer_rows + size_t(which) * kBlockTokens + size_t(slot)) * size_t(kv_dim_);
}

void* KvCache::summary(const KvSequence& seq, int64_t block_index, int layer, int r) const {
  const int32_t b = seq.blocks[size_t(block_index)];
  return blocks_[size_t(b)] + row_elems_offset(int64_t(2) * kBlockTokens + r, layer, 0) * elem_bytes_;
}

void KvCache::sync_summary_copy(KvSequence& seq, int layer, int64_t stable, int64_t upto, int split) const {
  if (split < 0 || split > summary_rows_) throw std::logic_error("sync_summary_copy: split outside the summary rows");
  const size_t heads = size_t(n_heads_), hd = size_t(head_dim_);
  if (seq.summary_copied.empty() || seq.summary_split != split) {
    seq.summary_copied.assign(size_t(n_layers_), 0);
    seq.summary_copy.assign(size_t(n_layers_) * heads * 2, {});
    seq.summary_split = split;
  }
  int64_t& copied = seq.summary_copied[size_t(layer)];
  upto = std::min<int64_t>(upto, int64_t(seq.blocks.size()));
  copied = std::min({copied, stable, upto});
  for (int kind = 0; kind < 2; ++kind) {
    const int first = kind == 0 ? 0 : split, per_block = kind == 0 ? split : summary_rows_ - split;
    const size_t groups = (size_t(upto) * size_t(per_block) + 15) / 16;
    for (size_t h = 0; h < heads; ++h) {
      std::vector<uint8_t>& dst = seq.summary_copy[(size_t(layer) * heads + h) * 2 + size_t(kind)];
      dst.resize(groups * 16 * hd * elem_bytes_);
      for (int64_t b = copied; b < upto; ++b)
        for (int r = 0; r < per_block; ++r) {
          const size_t item = size_t(b) * size_t(per_block) + size_t(r), g = item / 16, j = item % 16;
          const uint8_t* src = static_cast<const uint8_t*>(summary(seq, b, layer, first + r)) + h * hd * elem_bytes_;
          uint8_t* base = dst.data() + (g * hd * 16 + j) * elem_bytes_;
          if (elem_bytes_ == 2)
            for (size_t i = 0; i < hd; ++i) std::memcpy(base + i * 32, src + i * 2, 2);
          else
            for (size_t i = 0; i < hd; ++i) std::memcpy(base + i * 64, src + i * 4, 4);
        }
    }
  }
  copied = upto;
}

int64_t KvCache::summary_items(const KvSequence& seq, int layer, int kind) const {
  if (size_t(layer) >= seq.summary_copied.size()) return 0;
  return seq.summary_copied[size_t(layer)] * (kind == 0 ? seq.summary_split : summary_rows_ - seq.summary_split);
}

const void* KvCache::summary_group(const KvSequence& seq, int layer, int head, int kind, int64_t group) const {
  return seq.summary_copy[(size_t(layer) * size_t(n_heads_) + size_t(head)) * 2 + size_t(kind)].data() +
         size_t(group) * 16 * size_t(head_dim_) * elem_bytes_;
}

const void* KvCache::summary_row(const KvSequence& seq, int64_t block_index, int layer, int head, int r) const {
  return static_cast<const uint8_t*>(summary(seq, block_index, layer, r)) + size_t(head) * size_t(head_dim_) * elem_bytes_;
}

uint8_t* KvCache::row(const KvSequence& seq, int64_t pos, int layer, int which, int head) const {
  const int32_t b = seq.blocks[size_t(pos / kBlockTokens)];
  const size_t in_layer = (size_t(head) * kBlockTokens + size_t(pos % kBlockTokens)) * size_t(head_dim_);
  return blocks_[size_t(b)] + (row_elems_offset(0, layer, which) + in_layer) * elem_bytes_;
}

const void* KvCache::key(const KvSequence& seq, int64_t pos, int layer, int head) const {
  if (type_ != KvType::F32) throw std::logic_error("KvCache::key: an F16 cache keeps keys dims-major (keys_f16)");
  return row(seq, pos, layer, 0, head);
}

const uint16_t* KvCache::keys_f16(const KvSequence& seq, int64_t pos, int layer, int head) const {
  if (type_ != KvType::F16) throw std::logic_error("KvCache::keys_f16: not an F16 cache");
  return reinterpret_cast<const uint16_t*>(row(seq, pos - pos % kBlockTokens, layer, 0, head));
}

void KvCache::store(const KvSequence& seq, int64_t pos, int layer, const float* k, const float* v) {
  for (int which = 0; which < 2; ++which)
    for (int h = 0; h < n_heads_; ++h) {
      const float* src = (which == 0 ? k : v) + size_t(h) * size_t(head_dim_);
      if (type_ == KvType::F32) {
        std::memcpy(row(seq, pos, layer, which, h), src, size_t(head_dim_) * 4);
      } else if (which == 0) {
        const int64_t slot = pos % kBlockTokens;
        uint16_t* keys = reinterpret_cast<uint16_t*>(row(seq, pos - slot, layer, 0, h)) + slot;
        for (int i = 0; i < head_dim_; ++i) keys[size_t(i) * kBlockTokens] = f32_to_fp16(src[i]);
      } else {
        uint16_t* half = reinterpret_cast<uint16_t*>(row(seq, pos, layer, which, h));
        for (int i = 0; i < head_dim_; ++i) half[i] = f32_to_fp16(src[i]);
      }
    }
}

}  // namespace ls
