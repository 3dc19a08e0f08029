#include "kv_cache.h"

#include <cstring>
#include <stdexcept>
#include <string>

#include "kernels/half.h"

namespace ls {

KvCache::KvCache(int n_layers, int kv_dim, int max_blocks, KvType type)
    : n_layers_(n_layers), kv_dim_(kv_dim), type_(type), elem_bytes_(type == KvType::F16 ? 2 : 4) {
  block_bytes_ = size_t(kBlockTokens) * size_t(n_layers) * 2 * size_t(kv_dim) * elem_bytes_;
  blocks_.resize(size_t(max_blocks));
  ref_counts_.assign(size_t(max_blocks), 0);
  free_list_.reserve(size_t(max_blocks));
  // Lowest ids are handed out first.
  for (int i = max_blocks - 1; i >= 0; --i) free_list_.push_back(i);
}

void KvCache::reserve(KvSequence& seq, int64_t n_tokens) {
  const size_t needed = size_t((n_tokens + kBlockTokens - 1) / kBlockTokens);
  if (needed <= seq.blocks.size()) return;
  if (needed - seq.blocks.size() > free_list_.size())
    throw std::runtime_error("KV cache is full: " + std::to_string(needed - seq.blocks.size()) +
                             " more blocks of " + std::to_string(kBlockTokens) + " tokens needed, " +
                             std::to_string(free_list_.size()) + " free");
  while (seq.blocks.size() < needed) {
    const int32_t b = free_list_.back();
    free_list_.pop_back();
    if (!blocks_[size_t(b)]) blocks_[size_t(b)].reset(new uint8_t[block_bytes_]);
    ref_counts_[size_t(b)] = 1;
    ++in_use_;
    seq.blocks.push_back(b);
  }
}

void KvCache::retain_block(int32_t block) { ++ref_counts_[size_t(block)]; }

void KvCache::release_block(int32_t block) {
  if (--ref_counts_[size_t(block)] == 0) {
    free_list_.push_back(block);
    --in_use_;
  }
}

void KvCache::release(KvSequence& seq) {
  for (int32_t b : seq.blocks) release_block(b);
  seq.blocks.clear();
  seq.n_tokens = 0;
}

size_t KvCache::row_elems_offset(int64_t slot, int layer, int which) const {
  return ((size_t(layer) * 2 + size_t(which)) * kBlockTokens + size_t(slot)) * size_t(kv_dim_);
}

uint8_t* KvCache::row(const KvSequence& seq, int64_t pos, int layer, int which) const {
  const int32_t b = seq.blocks[size_t(pos / kBlockTokens)];
  return blocks_[size_t(b)].get() + row_elems_offset(pos % kBlockTokens, layer, which) * elem_bytes_;
}

void KvCache::store(const KvSequence& seq, int64_t pos, int layer, const float* k, const float* v) {
  for (int which = 0; which < 2; ++which) {
    const float* src = which == 0 ? k : v;
    uint8_t* dst = row(seq, pos, layer, which);
    if (type_ == KvType::F32) {
      std::memcpy(dst, src, size_t(kv_dim_) * 4);
    } else {
      uint16_t* h = reinterpret_cast<uint16_t*>(dst);
      for (int i = 0; i < kv_dim_; ++i) h[i] = f32_to_fp16(src[i]);
    }
  }
}

}  // namespace ls
