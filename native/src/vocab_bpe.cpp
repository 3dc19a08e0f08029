// Byte-level BPE (`tokenizer.ggml.model` = gpt2): the pre-tokenizer cuts the text into words,
// each word's bytes are written as GPT-2's printable characters, and within a word the adjacent
// pair with the lowest merge rank is merged until no listed merge applies (ties: the leftmost).
#include <algorithm>
#include <queue>
#include <string>
#include <string_view>
#include <vector>

#include "unicode.h"
#include "vocab_impl.h"

namespace ls {

namespace {

struct Symbol {
  int prev, next;
  size_t offset;
  size_t length;  // 0 once merged into its left neighbour
};

struct Candidate {
  int left, right;
  int32_t rank;
  size_t left_length, right_length;  // a candidate whose symbols changed since is stale
};

struct ByRank {
  bool operator()(const Candidate& a, const Candidate& b) const {
    return a.rank > b.rank || (a.rank == b.rank && a.left > b.left);
  }
};

std::string byte_encode(const std::string& word) {
  std::string out;
  out.reserve(word.size() * 2);
  for (char c : word) out += unicode::byte_to_bpe_char(static_cast<uint8_t>(c));
  return out;
}

}  // namespace

void Vocab::Impl::tokenize_bpe(const std::string& fragment, std::vector<int32_t>& out) const {
  std::string key;  // reused: the lookups dominate the run time
  for (const std::string& raw_word : pretokenize(*pretok.rules, fragment)) {
    const std::string word = byte_encode(raw_word);
    if (ignore_merges) {
      const int32_t id = find(word);
      if (id != kNoToken) {
        out.push_back(id);
        continue;
      }
    }

    std::vector<Symbol> symbols;
    for (size_t offset = 0; offset < word.size();) {
      const size_t len = std::min(unicode::utf8_len(static_cast<uint8_t>(word[offset])), word.size() - offset);
      const int index = static_cast<int>(symbols.size());
      symbols.push_back({index - 1, offset + len == word.size() ? -1 : index + 1, offset, len});
      offset += len;
    }

    std::priority_queue<Candidate, std::vector<Candidate>, ByRank> queue;
    auto propose = [&](int left, int right) {
      if (left < 0 || right < 0) return;
      const Symbol& l = symbols[left];
      const Symbol& r = symbols[right];
      merge_key(std::string_view(word).substr(l.offset, l.length), std::string_view(word).substr(r.offset, r.length), key);
      auto it = merge_ranks.find(key);
      if (it == merge_ranks.end()) return;
      queue.push({left, right, it->second, l.length, r.length});
    };
    for (int i = 1; i < static_cast<int>(symbols.size()); ++i) propose(i - 1, i);

    while (!queue.empty()) {
      const Candidate c = queue.top();
      queue.pop();
      Symbol& left = symbols[c.left];
      Symbol& right = symbols[c.right];
      if (left.length != c.left_length || right.length != c.right_length || left.length == 0 || right.length == 0) {
        continue;
      }
      left.length += right.length;
      right.length = 0;
      left.next = right.next;
      if (right.next >= 0) symbols[right.next].prev = c.left;
      propose(left.prev, c.left);
      propose(c.left, left.next);
    }

    for (int i = symbols.empty() ? -1 : 0; i != -1; i = symbols[i].next) {
      const std::string piece = word.substr(symbols[i].offset, symbols[i].length);
      const int32_t id = find(piece);
      if (id != kNoToken) {
        out.push_back(id);
        continue;
      }
      // As llama.cpp: try each byte of the encoded text as a token of its own; bytes that are
      // not tokens are dropped.
      for (char byte : piece) {
        const int32_t byte_id = find(std::string(1, byte));
        if (byte_id != kNoToken) out.push_back(byte_id);
      }
    }
  }
}

}  // namespace ls
