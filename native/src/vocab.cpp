// Vocab loading from GGUF metadata, special tokens, pieces and detokenization, and the
// tokenize driver that cuts special tokens out of the text before the SPM/BPE tokenizers run.
// The rules follow llama.cpp's llama-vocab.cpp (the version in node-llama-cpp 3.22.1), which is
// the correctness oracle of the tests.
#include <algorithm>
#include <cctype>
#include <cstdio>
#include <limits>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "gguf.h"
#include "unicode.h"
#include "vocab.h"
#include "vocab_impl.h"

namespace ls {

namespace {

const std::string kSpaceMark = "\xE2\x96\x81";  // ▁ (U+2581), SentencePiece's space

void replace_all(std::string& s, const std::string& from, const std::string& to) {
  std::string out;
  out.reserve(s.size());
  size_t pos = 0;
  for (size_t hit; (hit = s.find(from, pos)) != std::string::npos; pos = hit + from.size()) {
    out.append(s, pos, hit - pos).append(to);
  }
  out.append(s, pos, std::string::npos);
  s.swap(out);
}

bool is_c_space(char c) { return c == ' ' || (c >= '\t' && c <= '\r'); }

uint32_t attr_of_token_type(int32_t type) {
  switch (type) {
    case 1: return kAttrNormal;
    case 2: return kAttrUnknown;
    case 3: return kAttrControl;
    case 4: return kAttrUserDefined;
    case 5: return kAttrUnused;
    case 6: return kAttrByte;
    default: return kAttrUndefined;
  }
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// The byte a byte-fallback token "<0xNN>" stands for.
uint8_t byte_of_byte_token(const std::string& text, int32_t id) {
  const bool shaped = text.size() == 6 && text.compare(0, 3, "<0x") == 0 && text[5] == '>';
  const int hi = shaped ? hex_digit(text[3]) : -1;
  const int lo = shaped ? hex_digit(text[4]) : -1;
  if (hi < 0 || lo < 0) {
    throw FormatError("tokenizer.ggml.tokens: byte token " + std::to_string(id) + " is not of the form <0xNN>");
  }
  return static_cast<uint8_t>(hi * 16 + lo);
}

// Byte-level BPE token text back to bytes; a character outside the byte alphabet is kept
// visible as llama.cpp does ("[UNK_BYTE_0x…]").
std::string decode_bpe_text(const std::string& text) {
  std::string out;
  for (uint32_t cp : unicode::decode_utf8(text)) {
    const int byte = unicode::bpe_char_to_byte(cp);
    if (byte >= 0) {
      out.push_back(static_cast<char>(byte));
      continue;
    }
    std::string utf8;
    unicode::append_utf8(utf8, cp);
    out += "[UNK_BYTE_0x";
    for (unsigned char c : utf8) {
      char hex[3];
      std::snprintf(hex, sizeof hex, "%02x", c);
      out += hex;
    }
    out += text + "]";
  }
  return out;
}

// llama.cpp's detokenizer clean-up for vocabs with clean_spaces: drops the space before
// ? ! . , — around a lone ' — and before 's 'm 're 've. Three in-place passes, each reading the
// previous pass's output as llama.cpp does (including the '\0' it leaves after " ' ").
void clean_up_spaces(std::string& text) {
  const size_t n1 = text.size();
  if (n1 == 0) return;
  size_t total = 1;
  for (size_t i = 1; i < n1; ++i) {
    const char x = text[i];
    if (text[i - 1] == ' ' && (x == '?' || x == '!' || x == '.' || x == ',')) --total;
    text[total++] = x;
  }
  const size_t n2 = total;
  total = 1;
  for (size_t i = 1; i < n2; ++i) {
    const char x = text[i];
    if (x == '\'' && i + 1 < n2 && text[i - 1] == ' ' && text[i + 1] == ' ') {
      --total;
      text[++i] = '\0';
    }
    text[total++] = x;
  }
  const size_t n3 = total;
  total = 1;
  for (size_t i = 1; i < n3; ++i) {
    const char x = text[i];
    if (text[i - 1] == ' ' && x == '\'' && i + 1 < n3) {
      const char x1 = text[i + 1];
      const char x2 = i + 2 < n3 ? text[i + 2] : '\0';
      if (x1 == 's' || x1 == 'm' || (x1 == 'r' && x2 == 'e') || (x1 == 'v' && x2 == 'e')) --total;
    }
    text[total++] = x;
  }
  text.resize(total);
}

// Text fragment of the input, or a special token cut out of it.
struct Fragment {
  int32_t token;  // kNoToken for text
  size_t offset, length;
};

const char* const kEotTexts[] = {"<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>",
                                 "<|end_of_text|>", "<EOT>", "_<EOT>", "[EOT]", "<｜end▁of▁sentence｜>",
                                 "<end_of_utterance>"};
const char* const kEomTexts[] = {"<|eom_id|>"};
const char* const kFimPreTexts[] = {"<|fim_prefix|>", "<fim-prefix>", "<fim_prefix>", "<｜fim▁begin｜>",
                                    "<PRE>", "▁<PRE>", "<|code_prefix|>", "<|prefix|>"};
const char* const kFimSufTexts[] = {"<|fim_suffix|>", "<fim-suffix>", "<fim_suffix>", "<｜fim▁hole｜>",
                                    "<SUF>", "▁<SUF>", "<|code_suffix|>", "<|suffix|>"};
const char* const kFimMidTexts[] = {"<|fim_middle|>", "<fim-middle>", "<fim_middle>", "<｜fim▁end｜>",
                                    "<MID>", "▁<MID>", "<|code_middle|>", "<|middle|>"};
const char* const kFimPadTexts[] = {"<|fim_pad|>", "<fim-pad>", "<fim_pad>", "<PAD>", "[PAD]"};
const char* const kFimRepTexts[] = {"<|fim_repo|>", "<|repo_name|>", "<fim-repo>", "<REPO>", "<reponame>"};
const char* const kFimSepTexts[] = {"<|file_sep|>"};
const char* const kEogTexts[] = {"<|eot_id|>", "<|im_end|>", "<|end|>", "<|return|>", "<|call|>", "<|flush|>",
                                 "<|calls|>", "<end_of_turn>", "<|endoftext|>", "</s>", "<|eom_id|>", "<EOT>",
                                 "_<EOT>", "[EOT]", "[EOS]", "<|end_of_text|>", "<end_of_utterance>", "<eos>",
                                 "<turn|>", "<|tool_response>", "<｜end▁of▁sentence｜>", "[e~["};

template <size_t N>
bool one_of(const std::string& s, const char* const (&list)[N]) {
  for (const char* t : list) {
    if (s == t) return true;
  }
  return false;
}

std::string to_lower_ascii(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace

int32_t Vocab::Impl::byte_token(uint8_t byte) const {
  static const char* hex = "0123456789ABCDEF";
  const char name[7] = {'<', '0', 'x', hex[byte >> 4], hex[byte & 15], '>', 0};
  int32_t id = find(name);
  if (id == kNoToken) id = find(std::string(1, static_cast<char>(byte)));
  if (id == kNoToken) {
    char msg[64];
    std::snprintf(msg, sizeof msg, "the vocabulary has no token for byte 0x%02X", byte);
    throw std::runtime_error(msg);
  }
  return id;
}

Vocab::Vocab(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Vocab::Vocab(Vocab&&) noexcept = default;
Vocab& Vocab::operator=(Vocab&&) noexcept = default;
Vocab::~Vocab() = default;

Vocab Vocab::load(const GgufFile& gguf) {
  auto impl = std::make_unique<Impl>();
  Impl& v = *impl;

  v.model = gguf.get_string("tokenizer.ggml.model");
  v.pre = gguf.get_string_or("tokenizer.ggml.pre", "");
  if (v.model == "llama") {
    v.type = VocabType::Spm;
    v.bos_id = 1;
    v.eos_id = 2;
    v.unk_id = 0;
    v.add_space_prefix = true;
    v.add_bos = true;
  } else if (v.model == "gpt2") {
    v.type = VocabType::Bpe;
    v.bos_id = 11;
    v.eos_id = 11;
    if (v.pre.empty()) v.pre = "default";
    if (!find_pretokenizer(v.pre, v.pretok)) {
      throw FormatError("tokenizer.ggml.pre: unsupported pre-tokenizer '" + v.pre + "'");
    }
    v.clean_spaces = v.pretok.clean_spaces;
    v.ignore_merges = v.pretok.ignore_merges;
    v.add_bos = v.pretok.add_bos;
    if (v.pretok.no_bos) v.bos_id = kNoToken;
  } else {
    throw FormatError("tokenizer.ggml.model: unsupported tokenizer '" + v.model + "' (supported: llama, gpt2)");
  }
  v.add_space_prefix = gguf.get_bool_or("tokenizer.ggml.add_space_prefix", v.add_space_prefix);

  // Tokens, scores and types.
  std::vector<std::string> texts = gguf.get_string_array("tokenizer.ggml.tokens");
  if (texts.empty() || texts.size() > static_cast<size_t>(std::numeric_limits<int32_t>::max())) {
    throw FormatError("tokenizer.ggml.tokens: bad token count " + std::to_string(texts.size()));
  }
  const size_t n = texts.size();
  std::vector<float> scores;
  if (const GgufValue* s = gguf.find("tokenizer.ggml.scores")) {
    if (s->type == GgufValueType::ARRAY && s->elem_type == GgufValueType::I32) {
      for (int32_t x : gguf.get_i32_array("tokenizer.ggml.scores")) scores.push_back(static_cast<float>(x));
    } else {
      scores = gguf.get_f32_array("tokenizer.ggml.scores");
    }
    if (scores.size() < n) throw FormatError("tokenizer.ggml.scores: fewer scores than tokens");
  }
  std::vector<int32_t> types;
  if (gguf.has("tokenizer.ggml.token_type")) {
    types = gguf.get_i32_array("tokenizer.ggml.token_type");
    if (types.size() < n) throw FormatError("tokenizer.ggml.token_type: fewer types than tokens");
  }
  v.tokens.resize(n);
  // No reserve: iteration order of token_ids must follow from the insertions alone (see below).
  for (size_t i = 0; i < n; ++i) {
    TokenData& t = v.tokens[i];
    t.text = texts[i].empty() ? "[EMPTY_" + std::to_string(i) + "]" : std::move(texts[i]);
    t.score = scores.empty() ? 0.0f : scores[i];
    t.attr = types.empty() ? kAttrNormal : attr_of_token_type(types[i]);
    if (!v.token_ids.emplace(t.text, static_cast<int32_t>(i)).second) {
      throw FormatError("tokenizer.ggml.tokens: token " + std::to_string(i) + " repeats the text of token " +
                        std::to_string(v.token_ids[t.text]));
    }
  }
  for (int32_t id = 0; id < static_cast<int32_t>(n); ++id) {
    if (v.tokens[id].attr & kAttrByte) byte_of_byte_token(v.tokens[id].text, id);  // validates
  }

  if (v.type == VocabType::Bpe) {
    if (!gguf.has("tokenizer.ggml.merges")) throw FormatError("tokenizer.ggml.merges: missing (needed by a gpt2 tokenizer)");
    const std::vector<std::string> merges = gguf.get_string_array("tokenizer.ggml.merges");
    v.merge_ranks.reserve(merges.size());
    std::string key;
    for (size_t i = 0; i < merges.size(); ++i) {
      const std::string_view m = merges[i];
      const size_t space = m.find(' ', 1);  // no space after the first byte: ("", "")
      Impl::merge_key(space == m.npos ? "" : m.substr(0, space), space == m.npos ? "" : m.substr(space + 1), key);
      v.merge_ranks.emplace(key, static_cast<int32_t>(std::min<size_t>(i, INT32_MAX)));
    }
  }

  // The newline token, found before any special-token id is read (as llama.cpp does).
  if (v.type == VocabType::Spm) {
    try {
      v.nl_id = v.byte_token('\n');
    } catch (const std::runtime_error&) {
      v.nl_id = v.pad_id;
    }
  } else {
    std::vector<int32_t> ids;
    v.tokenize_bpe("\n", ids);
    v.nl_id = ids.empty() ? v.pad_id : ids[0];
  }

  // Special token ids: family defaults out of range are dropped; a stored id out of range is
  // ignored (the default stays).
  struct IdKey {
    const char* key;
    int32_t& id;
  };
  const IdKey id_keys[] = {
      {"tokenizer.ggml.bos_token_id", v.bos_id},         {"tokenizer.ggml.eos_token_id", v.eos_id},
      {"tokenizer.ggml.eot_token_id", v.eot_id},         {"tokenizer.ggml.eom_token_id", v.eom_id},
      {"tokenizer.ggml.unknown_token_id", v.unk_id},     {"tokenizer.ggml.seperator_token_id", v.sep_id},
      {"tokenizer.ggml.padding_token_id", v.pad_id},     {"tokenizer.ggml.mask_token_id", v.mask_id},
      {"tokenizer.ggml.fim_pre_token_id", v.fim_pre_id}, {"tokenizer.ggml.fim_suf_token_id", v.fim_suf_id},
      {"tokenizer.ggml.fim_mid_token_id", v.fim_mid_id}, {"tokenizer.ggml.fim_pad_token_id", v.fim_pad_id},
      {"tokenizer.ggml.fim_rep_token_id", v.fim_rep_id}, {"tokenizer.ggml.fim_sep_token_id", v.fim_sep_id},
      {"tokenizer.ggml.prefix_token_id", v.fim_pre_id},  {"tokenizer.ggml.suffix_token_id", v.fim_suf_id},
      {"tokenizer.ggml.middle_token_id", v.fim_mid_id},
  };
  for (const IdKey& k : id_keys) {
    if (k.id >= static_cast<int32_t>(n)) k.id = kNoToken;
    if (!gguf.has(k.key)) continue;
    const uint64_t id = gguf.get_u64(k.key);
    if (id < n) k.id = static_cast<int32_t>(id);
  }
  v.add_bos = gguf.get_bool_or("tokenizer.ggml.add_bos_token", v.add_bos);
  v.add_eos = gguf.get_bool_or("tokenizer.ggml.add_eos_token", v.add_eos);

  // Tokens llama.cpp recognises by their text. It walks its text->id hash map, so when several
  // tokens could fill one role the first in that walk wins; token_ids is the same libstdc++
  // container filled in the same order, so the walk — and the choice — is the same.
  auto mark_control = [&](int32_t id) { v.tokens[id].attr |= kAttrControl; };
  struct Role {
    int32_t& id;
    const char* const* texts;
    size_t count;
  };
  const Role roles[] = {
      {v.eot_id, kEotTexts, std::size(kEotTexts)},          {v.eom_id, kEomTexts, std::size(kEomTexts)},
      {v.fim_pre_id, kFimPreTexts, std::size(kFimPreTexts)}, {v.fim_suf_id, kFimSufTexts, std::size(kFimSufTexts)},
      {v.fim_mid_id, kFimMidTexts, std::size(kFimMidTexts)}, {v.fim_pad_id, kFimPadTexts, std::size(kFimPadTexts)},
      {v.fim_rep_id, kFimRepTexts, std::size(kFimRepTexts)}, {v.fim_sep_id, kFimSepTexts, std::size(kFimSepTexts)},
  };
  for (const auto& [text, id] : v.token_ids) {
    for (const Role& role : roles) {
      if (role.id != kNoToken) continue;
      if (std::find_if(role.texts, role.texts + role.count, [&](const char* t) { return text == t; }) !=
          role.texts + role.count) {
        role.id = id;
        mark_control(id);
      }
    }
  }
  for (TokenData& t : v.tokens) {
    if ((t.attr & kAttrControl) && t.text.find("unused") != std::string::npos) t.attr |= kAttrUnused;
  }

  std::vector<int32_t> eog;
  for (int32_t id : {v.fim_pad_id, v.fim_rep_id, v.fim_sep_id}) {
    if (id != kNoToken) eog.push_back(id);
  }
  for (const auto& [text, id] : v.token_ids) {
    if (one_of(text, kEogTexts)) {
      eog.push_back(id);
      mark_control(id);
    }
    // gpt-oss renders these structural tokens as text.
    if (text == "<|channel|>" || text == "<|message|>" || text == "<|start|>" || text == "<|constrain|>") {
      v.tokens[id].attr = kAttrUserDefined;
    }
  }
  for (int32_t id : {v.eos_id, v.eot_id, v.eom_id}) {
    if (id != kNoToken) eog.push_back(id);
  }
  std::sort(eog.begin(), eog.end());
  eog.erase(std::unique(eog.begin(), eog.end()), eog.end());
  auto eog_with_text = [&](const char* text) {
    for (int32_t id : eog) {
      if (v.tokens[id].text == text) return id;
    }
    return kNoToken;
  };
  // Harmony / Solar-Open vocabs: <|end|> ends a message, not the generation.
  const int32_t end_id = eog_with_text("<|end|>");
  const bool has_call = eog_with_text("<|call|>") != kNoToken || eog_with_text("<|calls|>") != kNoToken;
  if (end_id != kNoToken && has_call &&
      (eog_with_text("<|return|>") != kNoToken || eog_with_text("<|flush|>") != kNoToken)) {
    eog.erase(std::find(eog.begin(), eog.end(), end_id));
    v.tokens[end_id].attr = kAttrUserDefined;
  }
  // Vocabs with <|tool_response>: </s> is an ordinary token.
  const int32_t s_id = eog_with_text("</s>");
  if (s_id != kNoToken && eog_with_text("<|tool_response>") != kNoToken) {
    eog.erase(std::find(eog.begin(), eog.end(), s_id));
    v.tokens[s_id].attr = kAttrNormal;
  }
  v.eog = std::move(eog);

  // Special tokens, longest first. std::sort on ids in ascending order, like llama.cpp, so
  // equally long tokens are tried in the same order.
  for (int32_t id = 0; id < static_cast<int32_t>(n); ++id) {
    if (v.tokens[id].attr & (kAttrControl | kAttrUserDefined | kAttrUnknown)) v.special_tokens.push_back(id);
  }
  std::sort(v.special_tokens.begin(), v.special_tokens.end(),
            [&](int32_t a, int32_t b) { return v.tokens[a].text.size() > v.tokens[b].text.size(); });

  // Pieces of all tokens.
  v.pieces.resize(n);
  for (size_t id = 0; id < n; ++id) {
    const TokenData& t = v.tokens[id];
    std::string& piece = v.pieces[id];
    if (t.attr & (kAttrUnknown | kAttrControl | kAttrUserDefined)) {
      piece = t.text;
    } else if (t.attr & kAttrNormal) {
      if (v.type == VocabType::Spm) {
        piece = t.text;
        replace_all(piece, kSpaceMark, " ");
      } else {
        piece = decode_bpe_text(t.text);
      }
    } else if (t.attr & kAttrByte) {
      piece.assign(1, static_cast<char>(byte_of_byte_token(t.text, static_cast<int32_t>(id))));
    }  // unused and undefined tokens stand for nothing
  }

  // Phi-3 vocabs: special tokens swallow the whitespace after them (llama.cpp keys this on the
  // model name).
  const std::string name = to_lower_ascii(gguf.get_string_or("general.name", ""));
  if (name.find("phi-3") != std::string::npos || name.find("phi3") != std::string::npos) {
    for (int32_t id : v.special_tokens) v.tokens[id].attr |= kAttrRstrip;
    auto set_rstrip = [&](const char* text, bool on) {
      const int32_t id = v.find(text);
      if (id == kNoToken) return;
      if (on) {
        v.tokens[id].attr |= kAttrRstrip;
      } else {
        v.tokens[id].attr &= ~static_cast<uint32_t>(kAttrRstrip);
      }
    };
    set_rstrip("</s>", true);
    for (const char* text : {"<unk>", "<s>", "<|endoftext|>"}) set_rstrip(text, false);
  }

  return Vocab(std::move(impl));
}

std::vector<int32_t> Vocab::tokenize(const std::string& text, bool add_special, bool parse_special) const {
  const Impl& v = *impl_;

  // Cut special tokens out of the text: each in turn (longest first) splits every remaining
  // text fragment at its occurrences, left to right.
  std::vector<Fragment> fragments;
  if (!text.empty()) fragments.push_back({kNoToken, 0, text.size()});
  for (int32_t special : v.special_tokens) {
    const TokenData& st = v.tokens[special];
    // Control and unknown tokens only when asked; user-defined ones always.
    if (!parse_special && (st.attr & (kAttrControl | kAttrUnknown))) continue;
    std::vector<Fragment> next;
    next.reserve(fragments.size());
    for (const Fragment& f : fragments) {
      if (f.token != kNoToken) {
        next.push_back(f);
        continue;
      }
      size_t begin = f.offset;
      const size_t end = f.offset + f.length;
      const std::string_view window(text.data(), end);  // search this fragment only
      for (;;) {
        const size_t hit = window.find(st.text, begin);
        if (hit == std::string_view::npos) break;
        size_t left_end = hit;
        if (st.attr & kAttrLstrip) {
          while (left_end > begin && is_c_space(text[left_end - 1])) --left_end;
        }
        if (left_end > begin) next.push_back({kNoToken, begin, left_end - begin});
        next.push_back({special, 0, 0});
        begin = hit + st.text.size();
        if (st.attr & kAttrRstrip) {
          while (begin < end && is_c_space(text[begin])) ++begin;
        }
      }
      if (begin < end) next.push_back({kNoToken, begin, end - begin});
    }
    fragments = std::move(next);
  }

  std::vector<int32_t> out;
  if (add_special && v.add_bos) {
    if (v.bos_id == kNoToken) throw std::runtime_error("the model asks for a BOS token but has none");
    out.push_back(v.bos_id);
  }
  bool after_special = true;  // SPM: a fragment at the start or after a special token gets a space
  for (const Fragment& f : fragments) {
    if (f.token != kNoToken) {
      out.push_back(f.token);
      after_special = true;
      continue;
    }
    if (v.type == VocabType::Spm) {
      std::string piece = v.add_space_prefix && after_special ? " " : "";
      piece.append(text, f.offset, f.length);
      replace_all(piece, " ", kSpaceMark);
      v.tokenize_spm(piece, out);
    } else {
      v.tokenize_bpe(text.substr(f.offset, f.length), out);
    }
    after_special = false;
  }
  if (add_special && v.add_eos) {
    if (v.eos_id == kNoToken) throw std::runtime_error("the model asks for an EOS token but has none");
    out.push_back(v.eos_id);
  }
  return out;
}

std::string Vocab::token_to_piece(int32_t id, bool special) const {
  const Impl& v = *impl_;
  if (id < 0 || id >= n_tokens()) throw std::out_of_range("token id " + std::to_string(id) + " is out of range");
  if (!special && (v.tokens[id].attr & (kAttrUnknown | kAttrControl))) return "";
  return v.pieces[id];
}

std::string Vocab::detokenize(const std::vector<int32_t>& ids, bool remove_special, bool unparse_special) const {
  const Impl& v = *impl_;
  size_t first = 0, last = ids.size();
  bool remove_space = v.add_space_prefix;  // the space the tokenizer put before the text
  if (remove_special && v.add_bos && last > first && ids[first] == v.bos_id) {
    remove_space = false;
    ++first;
  }
  if (remove_special && v.add_eos && last > first && ids[last - 1] == v.eos_id) --last;
  std::string text;
  for (size_t i = first; i < last; ++i) {
    const std::string piece = token_to_piece(ids[i], unparse_special);
    text.append(piece, remove_space && !piece.empty() && piece[0] == ' ' ? 1 : 0, std::string::npos);
    remove_space = false;
  }
  if (v.clean_spaces) clean_up_spaces(text);
  return text;
}

int32_t Vocab::n_tokens() const { return static_cast<int32_t>(impl_->tokens.size()); }
VocabType Vocab::type() const { return impl_->type; }
const std::string& Vocab::model() const { return impl_->model; }
const std::string& Vocab::pre() const { return impl_->pre; }
int32_t Vocab::bos() const { return impl_->bos_id; }
int32_t Vocab::eos() const { return impl_->eos_id; }
int32_t Vocab::eot() const { return impl_->eot_id; }
int32_t Vocab::eom() const { return impl_->eom_id; }
int32_t Vocab::unk() const { return impl_->unk_id; }
int32_t Vocab::pad() const { return impl_->pad_id; }
int32_t Vocab::nl() const { return impl_->nl_id; }
bool Vocab::add_bos() const { return impl_->add_bos; }
bool Vocab::add_eos() const { return impl_->add_eos; }
bool Vocab::add_space_prefix() const { return impl_->add_space_prefix; }
bool Vocab::is_eog(int32_t id) const { return std::binary_search(impl_->eog.begin(), impl_->eog.end(), id); }
const std::vector<int32_t>& Vocab::eog_ids() const { return impl_->eog; }
bool Vocab::is_control(int32_t id) const { return attr(id) & kAttrControl; }
uint32_t Vocab::attr(int32_t id) const {
  return id >= 0 && id < n_tokens() ? impl_->tokens[id].attr : 0;
}
const std::string& Vocab::token_text(int32_t id) const {
  if (id < 0 || id >= n_tokens()) throw std::out_of_range("token id " + std::to_string(id) + " is out of range");
  return impl_->tokens[id].text;
}
int32_t Vocab::text_to_token(const std::string& text) const { return impl_->find(text); }
float Vocab::score(int32_t id) const { return id >= 0 && id < n_tokens() ? impl_->tokens[id].score : 0.0f; }

}  // namespace ls
