// Internals shared by vocab.cpp (loading, special tokens, pieces), vocab_spm.cpp,
// vocab_bpe.cpp and vocab_pretok.cpp. Not part of the engine's API: include vocab.h.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "vocab.h"

namespace ls {

// A pre-tokenizer: the ordered splitting rules of one `tokenizer.ggml.pre` family.
struct PreTokenizerRules;

// What a `tokenizer.ggml.pre` name selects, with the vocab settings llama.cpp ties to it.
struct PreTokenizerInfo {
  const PreTokenizerRules* rules;
  bool clean_spaces;   // detokenize removes spaces before punctuation and contractions
  bool ignore_merges;  // a word that is itself a token is not split by BPE
  bool add_bos;        // default of add_bos (tokenizer.ggml.add_bos_token overrides it)
  bool no_bos;         // the family has no BOS token
};

// false for a name llama.cpp would refuse or that this engine does not implement.
bool find_pretokenizer(const std::string& name, PreTokenizerInfo& info);

// Splits text into words (UTF-8; an invalid sequence becomes U+FFFD), each a run of code points
// that BPE treats separately.
std::vector<std::string> pretokenize(const PreTokenizerRules& rules, const std::string& text);

struct TokenData {
  std::string text;
  float score = 0;
  uint32_t attr = kAttrNormal;
};

struct Vocab::Impl {
  VocabType type = VocabType::Spm;
  std::string model;
  std::string pre;
  PreTokenizerInfo pretok{};

  std::vector<TokenData> tokens;
  std::unordered_map<std::string, int32_t> token_ids;
  // BPE merge ranks keyed by merge_key(left, right); the first listing of a pair wins.
  std::unordered_map<std::string, int32_t> merge_ranks;

  int32_t bos_id = kNoToken, eos_id = kNoToken, eot_id = kNoToken, eom_id = kNoToken;
  int32_t unk_id = kNoToken, sep_id = kNoToken, pad_id = kNoToken, mask_id = kNoToken;
  int32_t fim_pre_id = kNoToken, fim_suf_id = kNoToken, fim_mid_id = kNoToken;
  int32_t fim_pad_id = kNoToken, fim_rep_id = kNoToken, fim_sep_id = kNoToken;
  int32_t nl_id = kNoToken;
  std::vector<int32_t> eog;  // sorted

  bool add_bos = false;
  bool add_eos = false;
  bool add_space_prefix = false;
  bool clean_spaces = false;
  bool ignore_merges = false;

  // Control, user-defined and unknown tokens, longest text first: matched in the text before
  // the tokenizer runs.
  std::vector<int32_t> special_tokens;
  // token_to_piece(id, special = true) of every token.
  std::vector<std::string> pieces;

  int32_t find(const std::string& text) const {
    auto it = token_ids.find(text);
    return it == token_ids.end() ? kNoToken : it->second;
  }
  // The key of the pair (left, right) in merge_ranks, written into `key`. Length-prefixed, so
  // no two pairs share a key whatever bytes the tokens hold.
  static void merge_key(std::string_view left, std::string_view right, std::string& key) {
    const uint32_t n = static_cast<uint32_t>(left.size());
    key.assign(reinterpret_cast<const char*>(&n), sizeof n);
    key.append(left).append(right);
  }

  // The byte-fallback token of a byte (SPM): "<0xNN>", else a token whose text is the byte.
  int32_t byte_token(uint8_t byte) const;

  // Tokenizers of a text fragment that holds no special token, appending to out.
  void tokenize_spm(const std::string& fragment, std::vector<int32_t>& out) const;
  void tokenize_bpe(const std::string& fragment, std::vector<int32_t>& out) const;
};

}  // namespace ls
