// SentencePiece-style BPE (`tokenizer.ggml.model` = llama): start from single UTF-8 characters
// and repeatedly merge the adjacent pair whose concatenation is the highest-scoring token
// (ties: the leftmost pair); characters left outside every token fall back to byte tokens.
#include <algorithm>
#include <queue>
#include <string>
#include <vector>

#include "unicode.h"
#include "vocab_impl.h"

namespace ls {

namespace {

struct Symbol {
  int prev, next;  // neighbours in the current segmentation, -1 at the ends
  size_t offset;   // into the text
  size_t length;   // 0 once merged into its left neighbour
};

struct Candidate {
  int left, right;
  float score;
  size_t length;  // of the merged text; a candidate whose symbols changed no longer matches it
};

struct ByPriority {
  bool operator()(const Candidate& a, const Candidate& b) const {
    return a.score < b.score || (a.score == b.score && a.left > b.left);
  }
};

}  // namespace

void Vocab::Impl::tokenize_spm(const std::string& text, std::vector<int32_t>& out) const {
  std::vector<Symbol> symbols;
  for (size_t offset = 0; offset < text.size();) {
    const size_t len = std::min(unicode::utf8_len(static_cast<uint8_t>(text[offset])), text.size() - offset);
    const int index = static_cast<int>(symbols.size());
    symbols.push_back({index - 1, offset + len == text.size() ? -1 : index + 1, offset, len});
    offset += len;
  }

  std::priority_queue<Candidate, std::vector<Candidate>, ByPriority> queue;
  std::string pair;  // reused: the lookups dominate the run time
  auto propose = [&](int left, int right) {
    if (left < 0 || right < 0) return;
    const size_t length = symbols[left].length + symbols[right].length;
    pair.assign(text, symbols[left].offset, length);
    const int32_t id = find(pair);
    if (id == kNoToken) return;
    queue.push({left, right, tokens[id].score, length});
  };
  for (int i = 1; i < static_cast<int>(symbols.size()); ++i) propose(i - 1, i);

  while (!queue.empty()) {
    const Candidate c = queue.top();
    queue.pop();
    Symbol& left = symbols[c.left];
    Symbol& right = symbols[c.right];
    if (left.length == 0 || right.length == 0 || left.length + right.length != c.length) continue;
    left.length += right.length;
    right.length = 0;
    left.next = right.next;
    if (right.next >= 0) symbols[right.next].prev = c.left;
    propose(left.prev, c.left);
    propose(c.left, left.next);
  }

  // Every merged symbol is a token; a single character may not be, and then goes out as bytes.
  for (int i = symbols.empty() ? -1 : 0; i != -1; i = symbols[i].next) {
    const Symbol& s = symbols[i];
    const std::string piece = text.substr(s.offset, s.length);
    const int32_t id = find(piece);
    if (id != kNoToken) {
      out.push_back(id);
      continue;
    }
    for (char byte : piece) out.push_back(byte_token(static_cast<uint8_t>(byte)));
  }
}

}  // namespace ls
