// Tokenizers built from GGUF `tokenizer.ggml.*` metadata, behaving like the llama.cpp in
// node-llama-cpp 3.22.1: SentencePiece-style BPE over scores (`llama`, with <0xNN> byte
// fallback) and byte-level BPE over merge ranks (`gpt2`, with the pre-tokenizer named by
// `tokenizer.ggml.pre`). Special tokens are matched in the text when asked to.
//
// A Vocab is immutable after load: tokenize/detokenize may run concurrently on any thread.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace ls {

class GgufFile;

// The id llama.cpp uses for "no such token".
constexpr int32_t kNoToken = -1;

enum class VocabType { Spm, Bpe };

// Token attributes (bit flags), as llama.cpp derives them from tokenizer.ggml.token_type.
enum TokenAttr : uint32_t {
  kAttrUndefined = 0,
  kAttrUnknown = 1u << 0,
  kAttrUnused = 1u << 1,
  kAttrNormal = 1u << 2,
  kAttrControl = 1u << 3,
  kAttrUserDefined = 1u << 4,
  kAttrByte = 1u << 5,
  kAttrLstrip = 1u << 7,  // a special token that swallows the whitespace before it
  kAttrRstrip = 1u << 8,  // ... after it
};

class Vocab {
 public:
  // Reads the tokenizer from GGUF metadata. Throws FormatError (from gguf.h) naming the
  // problem for a missing/ill-typed key, an unknown tokenizer model or pre-tokenizer.
  static Vocab load(const GgufFile& gguf);

  Vocab(Vocab&&) noexcept;
  Vocab& operator=(Vocab&&) noexcept;
  ~Vocab();

  // add_special: prepend BOS / append EOS when the model asks for them (add_bos()/add_eos()).
  // parse_special: text equal to a control/user-defined token's text becomes that token
  // (user-defined tokens are always matched, as in llama.cpp). Throws std::runtime_error when
  // the vocabulary lacks a token it needs (a byte-fallback token, or BOS/EOS it asks for).
  std::vector<int32_t> tokenize(const std::string& text, bool add_special, bool parse_special) const;

  // The bytes a token stands for: byte-fallback tokens give their byte, ▁ becomes a space
  // (SPM), byte-level BPE text is mapped back to raw bytes. Control/unknown tokens give their
  // text when `special`, else "". Throws std::out_of_range for an id outside [0, n_tokens()).
  std::string token_to_piece(int32_t id, bool special = true) const;

  // Concatenated pieces with llama.cpp's rules: the leading space the tokenizer added is
  // dropped from the first piece (not after a BOS); remove_special drops a leading BOS /
  // trailing EOS the model adds itself; unparse_special renders control tokens as their text;
  // families with clean-up (GPT-2, Llama 3 …) drop the space before , . ! ? 's 'm 're 've.
  // May hold incomplete UTF-8. Throws std::out_of_range for an id out of range.
  std::string detokenize(const std::vector<int32_t>& ids, bool remove_special = false,
                         bool unparse_special = false) const;

  int32_t n_tokens() const;
  VocabType type() const;
  const std::string& model() const;  // tokenizer.ggml.model
  const std::string& pre() const;    // tokenizer.ggml.pre ("default" when absent)

  int32_t bos() const;  // kNoToken when the model has none
  int32_t eos() const;
  int32_t eot() const;
  int32_t eom() const;
  int32_t unk() const;
  int32_t pad() const;
  int32_t nl() const;   // the token of "\n"
  bool add_bos() const;
  bool add_eos() const;
  bool add_space_prefix() const;

  // End-of-generation: EOS, EOT, EOM and the end-of-turn tokens llama.cpp recognises by text.
  bool is_eog(int32_t id) const;
  const std::vector<int32_t>& eog_ids() const;  // sorted
  bool is_control(int32_t id) const;
  uint32_t attr(int32_t id) const;              // TokenAttr bits; 0 for an id out of range
  const std::string& token_text(int32_t id) const;  // the stored text; throws std::out_of_range
  int32_t text_to_token(const std::string& text) const;  // kNoToken when no token has this text
  float score(int32_t id) const;

  struct Impl;

 private:
  explicit Vocab(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace ls
