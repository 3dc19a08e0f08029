// Builds the postings of the resident BM25 index (src/index/resident-text.ts) from documents'
// UTF-8 text. Native because 98k abstracts are 100 MB of text and 15M words, which JavaScript
// takes seconds over. Two steps, with the caller in between:
//   1. scan(): splits each document into words — maximal runs of bytes other than ASCII
//      non-alphanumerics, so every token of LanceDB's "simple" tokenizer lies inside one word (a
//      word with non-ASCII characters may still hold several) — and interns them;
//   2. the caller maps each distinct word to its terms (the tokenizer chain lives in TypeScript:
//      fts-tokenizer.ts), then build() turns each column's word ids into postings with BM25's
//      per-document factor w = (k1 + 1) tf / (tf + k1 (1 - b + b len / avglen)) in f32, as
//      LanceDB computes it (kernels/bm25_topk.h).
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace ls {

struct PostingColumn {
  std::vector<uint32_t> starts;  // terms + 1 offsets
  std::vector<uint32_t> docs;    // rising within a term
  std::vector<float> weights;
  uint64_t documents = 0;         // with at least one token (BM25's N)
};

class FtsBuilder {
 public:
  explicit FtsBuilder(int columns) : columns_(size_t(columns)) {}
  int columns() const { return int(columns_.size()); }

  // Appends documents to `column`: document i is text[offsets[i], offsets[i + 1]) (the caller
  // has checked the offsets). Returns the id of the first word this call saw first; words
  // [that, words()) are new.
  uint32_t scan(int column, const uint8_t* text, const int32_t* offsets, size_t documents);
  size_t words() const { return words_.size(); }
  std::string word(uint32_t id) const;

  // Postings per column. word_start[w] .. word_start[w + 1] index word w's term ids in
  // word_terms (words() + 1 offsets; term ids < terms). Returns false when they are inconsistent
  // or a column is too large for 32-bit rows and offsets.
  bool build(const uint32_t* word_start, const uint32_t* word_terms, size_t word_terms_len, uint32_t terms,
             std::vector<PostingColumn>& out) const;

 private:
  struct Word {
    uint64_t start;
    uint32_t length;
  };
  struct Slot {
    uint32_t tag;        // the hash's high half
    uint32_t id_plus_1;  // 0: empty
  };
  struct Column {
    std::vector<uint32_t> words;  // word ids of all documents
    std::vector<uint64_t> ends;   // end of each document's ids in `words`
  };
  uint32_t intern(const uint8_t* w, size_t len);
  void grow();

  std::string bytes_;
  std::vector<Word> words_;
  std::vector<uint64_t> hashes_;
  std::vector<Slot> slots_;
  std::vector<Column> columns_;
};

}  // namespace ls
