#include "text/fts_builder.h"

#include <cstring>

namespace ls {

namespace {

bool is_ascii_separator(uint8_t b) {
  return b < 0x80 && !((b >= '0' && b <= '9') || (b >= 'A' && b <= 'Z') || (b >= 'a' && b <= 'z'));
}

// FNV-1a over the bytes, then a multiply-xorshift finaliser so the low bits (the slot index) mix.
uint64_t hash_bytes(const uint8_t* p, size_t n) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (size_t i = 0; i < n; ++i) h = (h ^ p[i]) * 0x100000001b3ull;
  h ^= h >> 32;
  h *= 0xd6e8feb86659fd93ull;
  return h ^ (h >> 32);
}

constexpr float kK1 = 1.2f;
constexpr float kB = 0.75f;

}  // namespace

void FtsBuilder::grow() {
  std::vector<Slot> slots(slots_.empty() ? 4096 : slots_.size() * 2, Slot{0, 0});
  const size_t mask = slots.size() - 1;
  for (uint32_t id = 0; id < words_.size(); ++id) {
    size_t s = size_t(hashes_[id]) & mask;
    while (slots[s].id_plus_1 != 0) s = (s + 1) & mask;
    slots[s] = Slot{uint32_t(hashes_[id] >> 32), id + 1};
  }
  slots_.swap(slots);
}

uint32_t FtsBuilder::intern(const uint8_t* w, size_t len) {
  if ((words_.size() + 1) * 2 > slots_.size()) grow();
  const uint64_t h = hash_bytes(w, len);
  const size_t mask = slots_.size() - 1;
  for (size_t s = size_t(h) & mask;; s = (s + 1) & mask) {
    const Slot slot = slots_[s];
    if (slot.id_plus_1 == 0) {
      const uint32_t id = uint32_t(words_.size());
      words_.push_back(Word{bytes_.size(), uint32_t(len)});
      hashes_.push_back(h);
      bytes_.append(reinterpret_cast<const char*>(w), len);
      slots_[s] = Slot{uint32_t(h >> 32), id + 1};
      return id;
    }
    if (slot.tag == uint32_t(h >> 32)) {
      const Word& word = words_[slot.id_plus_1 - 1];
      if (word.length == len && std::memcmp(bytes_.data() + word.start, w, len) == 0) return slot.id_plus_1 - 1;
    }
  }
}

uint32_t FtsBuilder::scan(int column, const uint8_t* text, const int32_t* offsets, size_t documents) {
  const uint32_t first_new = uint32_t(words_.size());
  Column& col = columns_[size_t(column)];
  if (documents > 0) col.words.reserve(col.words.size() + size_t(offsets[documents] - offsets[0]) / 6);  // ~1 word per 6 bytes of English
  for (size_t d = 0; d < documents; ++d) {
    const uint8_t* p = text + offsets[d];
    const size_t len = size_t(offsets[d + 1] - offsets[d]);
    size_t i = 0;
    while (i < len) {
      while (i < len && is_ascii_separator(p[i])) ++i;
      const size_t start = i;
      while (i < len && !is_ascii_separator(p[i])) ++i;
      if (i > start) col.words.push_back(intern(p + start, i - start));
    }
    col.ends.push_back(col.words.size());
  }
  return first_new;
}

std::string FtsBuilder::word(uint32_t id) const { return bytes_.substr(words_[id].start, words_[id].length); }

bool FtsBuilder::build(const uint32_t* word_start, const uint32_t* word_terms, size_t word_terms_len, uint32_t terms,
                       std::vector<PostingColumn>& out) const {
  for (size_t w = 0; w < words_.size(); ++w)
    if (word_start[w] > word_start[w + 1]) return false;
  if (word_start[words_.size()] > word_terms_len) return false;
  for (size_t k = 0; k < word_start[words_.size()]; ++k)
    if (word_terms[k] >= terms) return false;

  out.assign(columns_.size(), PostingColumn());
  std::vector<uint32_t> counts(terms, 0);
  std::vector<uint32_t> seen;
  for (size_t c = 0; c < columns_.size(); ++c) {
    const Column& col = columns_[c];
    PostingColumn& post = out[c];
    const size_t documents = col.ends.size();
    if (documents > UINT32_MAX) return false;
    // Calls each(doc, length) with the doc's term counts in `counts` (terms listed in `seen`).
    const auto for_each_doc = [&](auto&& each) {
      uint64_t at = 0;
      for (size_t d = 0; d < documents; ++d) {
        uint32_t length = 0;
        for (; at < col.ends[d]; ++at) {
          const uint32_t w = col.words[at];
          for (uint32_t k = word_start[w]; k < word_start[w + 1]; ++k) {
            const uint32_t t = word_terms[k];
            if (counts[t]++ == 0) seen.push_back(t);
            ++length;
          }
        }
        each(uint32_t(d), length);
        for (const uint32_t t : seen) counts[t] = 0;
        seen.clear();
      }
    };
    std::vector<uint64_t> df(terms + 1, 0);
    uint64_t total = 0;
    post.documents = 0;  // LanceDB leaves documents without a token out of N and the average length
    for_each_doc([&](uint32_t, uint32_t length) {
      total += length;
      post.documents += length > 0;
      for (const uint32_t t : seen) ++df[t];
    });
    post.starts.assign(size_t(terms) + 1, 0);
    uint64_t sum = 0;
    for (uint32_t t = 0; t < terms; ++t) {
      sum += df[t];
      if (sum > UINT32_MAX) return false;
      post.starts[t + 1] = uint32_t(sum);
    }
    post.docs.resize(sum);
    post.weights.resize(sum);
    std::vector<uint32_t> next(post.starts.begin(), post.starts.end() - 1);
    // LanceDB: avg = total as f32 / documents as f32; norm = k1 * (1 - b + b * len / avg);
    // w = (k1 + 1) * tf / (tf + norm), each operation rounded to f32.
    const float avg = float(total) / float(post.documents);
    for_each_doc([&](uint32_t d, uint32_t length) {
      const float norm = kK1 * (1.0f - kB + kB * float(length) / avg);
      for (const uint32_t t : seen) {
        const float tf = float(counts[t]);
        const uint32_t p = next[t]++;
        post.docs[p] = d;
        post.weights[p] = (kK1 + 1.0f) * tf / (tf + norm);
      }
    });
  }
  return true;
}

}  // namespace ls
