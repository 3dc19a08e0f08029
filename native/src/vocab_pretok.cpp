// Pre-tokenizers of byte-level BPE vocabularies: the text is cut into words before BPE runs,
// by the family's ordered list of rules; each rule re-splits every piece the previous rules
// left. llama.cpp runs the GPT-2 / Llama-3 / Qwen2 rules as hand-written scanners and the
// others as ECMAScript regexes (std::regex) over a "collapsed" text in which every non-ASCII
// code point is replaced by one byte naming its category. Both are reproduced here by hand —
// the scanners rule for rule, the regexes by a small backtracking matcher over the same
// transformed text — so words come out exactly as llama.cpp cuts them.
#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "unicode.h"
#include "vocab_impl.h"

namespace ls {

namespace {

using unicode::flags;
namespace uf = unicode;

constexpr uint32_t kOutOfRange = 0xFFFFFFFF;

// A run of code points [begin, end) of the text being split.
struct Piece {
  size_t begin, end;
};

// ---------------------------------------------------------------------------------------------
// Hand-written scanners (llama.cpp's custom splitters).

class Scanner {
 public:
  Scanner(const std::vector<uint32_t>& cps, Piece piece, std::vector<Piece>& out)
      : cps_(cps), begin_(piece.begin), end_(piece.end), out_(out), emitted_(piece.begin) {}

 protected:
  uint32_t cp(size_t pos) const { return pos >= begin_ && pos < end_ ? cps_[pos] : kOutOfRange; }
  // 0 outside the piece (every code point inside has a category bit).
  uint16_t fl(size_t pos) const { return pos >= begin_ && pos < end_ ? flags(cps_[pos]) : 0; }
  // Ends the current word at `end`.
  void emit(size_t end) {
    if (end > emitted_) out_.push_back({emitted_, end});
    emitted_ = end;
  }
  static bool is_contraction_letter(uint32_t c) { return c == 's' || c == 't' || c == 'm' || c == 'd'; }
  static bool is_contraction_pair(uint32_t a, uint32_t b) {
    return (a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l');
  }
  static uint32_t ascii_lower(uint32_t c) { return c >= 'A' && c <= 'Z' ? c + 32 : c; }
  // 's 't 're 've 'm 'll 'd at pos: the contraction's length, else 0.
  size_t contraction(size_t pos, bool ignore_case) const {
    if (cp(pos) != '\'' || pos + 1 >= end_) return 0;
    const uint32_t a = ignore_case ? ascii_lower(cp(pos + 1)) : cp(pos + 1);
    if (is_contraction_letter(a)) return 2;
    if (pos + 2 >= end_) return 0;
    const uint32_t b = ignore_case ? ascii_lower(cp(pos + 2)) : cp(pos + 2);
    return is_contraction_pair(a, b) ? 3 : 0;
  }

  const std::vector<uint32_t>& cps_;
  const size_t begin_, end_;
  std::vector<Piece>& out_;
  size_t emitted_;
};

// 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)
class Gpt2Scanner : Scanner {
 public:
  using Scanner::Scanner;
  void run() {
    constexpr uint16_t kWordClasses = uf::kWhitespace | uf::kLetter | uf::kNumber;
    size_t pos = begin_;
    while (pos < end_) {
      if (size_t n = contraction(pos, false)) {
        pos += n;
        emit(pos);
        continue;
      }
      const bool space = cp(pos) == ' ';
      const uint16_t f = space ? fl(pos + 1) : fl(pos);
      if (f & uf::kLetter) {
        pos += space;
        while (fl(pos) & uf::kLetter) ++pos;
        emit(pos);
        continue;
      }
      if (f & uf::kNumber) {
        pos += space;
        while (fl(pos) & uf::kNumber) ++pos;
        emit(pos);
        continue;
      }
      if (f != 0 && !(f & kWordClasses)) {
        pos += space;
        while (fl(pos) != 0 && !(fl(pos) & kWordClasses)) ++pos;
        emit(pos);
        continue;
      }
      size_t n_space = 0;
      while (fl(pos + n_space) & uf::kWhitespace) ++n_space;
      if (n_space > 1 && cp(pos + n_space) != kOutOfRange) {
        pos += n_space - 1;  // leave the last space to the word after it
      } else if (n_space > 0) {
        pos += n_space;
      } else {
        pos += 1;
      }
      emit(pos);
    }
  }
};

// Llama 3:  (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
// Qwen2: the same with \p{N} (one digit per word) instead of \p{N}{1,3}.
class Llama3Scanner : Scanner {
 public:
  Llama3Scanner(const std::vector<uint32_t>& cps, Piece piece, std::vector<Piece>& out, size_t max_digits)
      : Scanner(cps, piece, out), max_digits_(max_digits) {}
  void run() {
    constexpr uint16_t kWordClasses = uf::kWhitespace | uf::kLetter | uf::kNumber;
    auto is_newline = [](uint32_t c) { return c == '\r' || c == '\n'; };
    size_t pos = begin_;
    while (pos < end_) {
      if (size_t n = contraction(pos, true)) {
        pos += n;
        emit(pos);
        continue;
      }
      const uint32_t c = cp(pos);
      const uint16_t f = fl(pos);
      if (!is_newline(c) && !(f & uf::kNumber) && ((f & uf::kLetter) || (fl(pos + 1) & uf::kLetter))) {
        ++pos;
        while (fl(pos) & uf::kLetter) ++pos;
        emit(pos);
        continue;
      }
      if (f & uf::kNumber) {
        size_t run = 0;
        while (fl(pos) & uf::kNumber) {
          ++pos;
          if (++run == max_digits_) {
            emit(pos);
            run = 0;
          }
        }
        emit(pos);
        continue;
      }
      // " ?" then symbols (as in llama.cpp, a space ending the piece also counts as one).
      const bool space = c == ' ';
      const uint16_t f2 = space ? fl(pos + 1) : f;
      if (f != 0 && !(f2 & kWordClasses)) {
        pos += space;
        while (fl(pos) != 0 && !(fl(pos) & kWordClasses)) ++pos;
        while (is_newline(cp(pos))) ++pos;
        emit(pos);
        continue;
      }
      size_t n_space = 0;
      size_t after_last_newline = 0;
      while (fl(pos + n_space) & uf::kWhitespace) {
        if (is_newline(cp(pos + n_space))) after_last_newline = pos + n_space + 1;
        ++n_space;
      }
      if (after_last_newline > 0) {
        pos = after_last_newline;
      } else if (n_space > 1 && cp(pos + n_space) != kOutOfRange) {
        pos += n_space - 1;
      } else if (n_space > 0) {
        pos += n_space;
      } else {
        pos += 1;
      }
      emit(pos);
    }
  }

 private:
  const size_t max_digits_;
};

// ---------------------------------------------------------------------------------------------
// Regex rules. Every rule used by the supported families is one sequence of greedy quantified
// character classes, optionally anchored at the end of the piece, so a leftmost-first
// backtracking matcher over the sequence reproduces std::regex's matches. Pieces the regex does
// not match stay words of their own (llama.cpp keeps the text between matches).

// How std::regex saw the text in llama.cpp.
enum class View {
  // Each code point below 128 is itself; a non-ASCII whitespace is '\v'; any other non-ASCII
  // code point is one byte naming its category (used for regexes with \p{..}).
  Collapsed,
  // Code points as they are, except that non-ASCII whitespace becomes '\v' (std::wregex).
  Wide,
};

constexpr uint32_t kCollapsedNumber = 0xD1, kCollapsedLetter = 0xD2, kCollapsedPunct = 0xD3,
                   kCollapsedMark = 0xD4, kCollapsedSymbol = 0xD5, kCollapsedOther = 0xD0;

uint32_t view_of(View view, uint32_t cp) {
  if (cp < 0x80) return cp;
  const uint16_t f = flags(cp);
  if (f & uf::kWhitespace) return '\v';
  if (view == View::Wide) return cp;
  switch (f & uf::kCategoryMask) {
    case uf::kNumber: return kCollapsedNumber;
    case uf::kLetter: return kCollapsedLetter;
    case uf::kPunctuation: return kCollapsedPunct;
    case uf::kMark: return kCollapsedMark;
    case uf::kSymbol: return kCollapsedSymbol;
    default: return kCollapsedOther;
  }
}

struct CharClass {
  std::vector<std::pair<uint32_t, uint32_t>> ranges;  // inclusive, over viewed values
  bool space = false;                                 // \s: C-locale isspace
  bool negated = false;
  bool contains(uint32_t v) const {
    bool in = space && (v == ' ' || (v >= '\t' && v <= '\r'));
    for (size_t i = 0; !in && i < ranges.size(); ++i) in = v >= ranges[i].first && v <= ranges[i].second;
    return in != negated;
  }
};

struct RegexItem {
  CharClass cls;
  size_t min, max;
};

struct RegexRule {
  View view;
  std::vector<RegexItem> items;
  bool anchored_end;  // a trailing $: the match must reach the end of the piece
};

// Class builders. In the collapsed view \p{X} is the category byte plus X's ASCII members.
using Ranges = std::vector<std::pair<uint32_t, uint32_t>>;
const Ranges kAsciiDigits = {{'0', '9'}};
const Ranges kAsciiLetters = {{'A', 'Z'}, {'a', 'z'}};
const Ranges kAsciiPunct = {{0x21, 0x23}, {0x25, 0x2A}, {0x2C, 0x2F}, {0x3A, 0x3B}, {0x3F, 0x40}, {0x5B, 0x5D}, {0x5F, 0x5F}, {0x7B, 0x7B}, {0x7D, 0x7D}};

Ranges join(std::initializer_list<Ranges> parts) {
  Ranges out;
  for (const Ranges& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}
Ranges chars(const char* s) {
  Ranges out;
  for (; *s; ++s) out.push_back({static_cast<uint8_t>(*s), static_cast<uint8_t>(*s)});
  return out;
}
const Ranges kPN = join({{{kCollapsedNumber, kCollapsedNumber}}, kAsciiDigits});
const Ranges kPL = join({{{kCollapsedLetter, kCollapsedLetter}}, kAsciiLetters});
const Ranges kPP = join({{{kCollapsedPunct, kCollapsedPunct}}, kAsciiPunct});

CharClass cls(Ranges r) { return CharClass{std::move(r), false, false}; }
CharClass space_cls() { return CharClass{{}, true, false}; }

constexpr size_t kMany = SIZE_MAX;
RegexItem one_or_more(CharClass c) { return {std::move(c), 1, kMany}; }
RegexItem optional(CharClass c) { return {std::move(c), 0, 1}; }
RegexItem exactly_one(CharClass c) { return {std::move(c), 1, 1}; }

// DeepSeek LLM's letter class (cased letters), from its tokenizer.json.
const Ranges kDeepseekLetters = {
    {0x41, 0x5A}, {0x61, 0x7A}, {0xB5, 0xB5}, {0xC0, 0xD6}, {0xD8, 0xF6}, {0xF8, 0x1BA}, {0x1BC, 0x1BF},
    {0x1C4, 0x293}, {0x295, 0x2AF}, {0x370, 0x373}, {0x376, 0x377}, {0x37B, 0x37D}, {0x37F, 0x37F},
    {0x386, 0x386}, {0x388, 0x38A}, {0x38C, 0x38C}, {0x38E, 0x3A1}, {0x3A3, 0x3F5}, {0x3F7, 0x481},
    {0x48A, 0x52F}, {0x531, 0x556}, {0x10A0, 0x10C5}, {0x13A0, 0x13F5}, {0x13F8, 0x13FD}, {0x1C90, 0x1CBA},
    {0x1CBD, 0x1CBF}, {0x1D00, 0x1D2B}, {0x1D6B, 0x1D77}, {0x1D79, 0x1D9A}, {0x1E00, 0x1F15}, {0x1F18, 0x1F1D},
    {0x1F20, 0x1F45}, {0x1F48, 0x1F4D}, {0x1F50, 0x1F57}, {0x1F59, 0x1F59}, {0x1F5B, 0x1F5B}, {0x1F5D, 0x1F5D},
    {0x1F5F, 0x1F7D}, {0x1F80, 0x1FB4}, {0x1FB6, 0x1FBC}, {0x1FBE, 0x1FBE}, {0x1FC2, 0x1FC4}, {0x1FC6, 0x1FCC},
    {0x1FD0, 0x1FD3}, {0x1FD6, 0x1FDB}, {0x1FE0, 0x1FEC}, {0x1FF2, 0x1FF4}, {0x1FF6, 0x1FFC}, {0x2102, 0x2102},
    {0x2107, 0x2107}, {0x210A, 0x2113}, {0x2115, 0x2115}, {0x2119, 0x211D}, {0x2124, 0x2124}, {0x2126, 0x2126},
    {0x2128, 0x2128}, {0x212A, 0x212D}, {0x212F, 0x2134}, {0x2139, 0x2139}, {0x213C, 0x213F}, {0x2145, 0x2149},
    {0x214E, 0x214E}, {0x2183, 0x2184}, {0x2C00, 0x2C7B}, {0x2C7E, 0x2CE4}, {0x2CEB, 0x2CEE}, {0x2CF2, 0x2CF3},
    {0xA640, 0xA66D}, {0xA680, 0xA69B}, {0xA722, 0xA76F}, {0xA771, 0xA787}, {0xA78B, 0xA78E}, {0xAB70, 0xABBF},
    {0xFB00, 0xFB06}, {0xFB13, 0xFB17}, {0xFF21, 0xFF3A}, {0xFF41, 0xFF5A}, {0x10400, 0x1044F},
    {0x104B0, 0x104D3}, {0x104D8, 0x104FB}, {0x10C80, 0x10CB2}, {0x10CC0, 0x10CF2}, {0x118A0, 0x118DF},
    {0x1E900, 0x1E943}};
// DeepSeek's punctuation: ASCII !-/ :-~, fullwidth ！-／ ：-～, quotes ‘-‟, ideographic 　-。
const Ranges kDeepseekPunct = {{0x21, 0x2F}, {0x3A, 0x7E}, {0xFF01, 0xFF0F}, {0xFF1A, 0xFF5E}, {0x2018, 0x201F}, {0x3000, 0x3002}};
// DeepSeek's CJK class 一-龥 ࠀ-一 가-퟿.
const Ranges kDeepseekCjk = {{0x4E00, 0x9FA5}, {0x0800, 0x4E00}, {0xAC00, 0xD7FF}};

// Leftmost-first match of a rule inside one piece of viewed values.
class RegexMatcher {
 public:
  RegexMatcher(const RegexRule& rule, const std::vector<uint32_t>& viewed, Piece piece)
      : rule_(rule), v_(viewed), begin_(piece.begin), end_(piece.end) {
    // run_[i][p - begin]: how many values from p on belong to item i's class. Makes every
    // attempt O(items) instead of rescanning runs (std::regex's worst case is quadratic).
    run_.resize(rule.items.size());
    for (size_t i = 0; i < rule.items.size(); ++i) {
      std::vector<size_t>& r = run_[i];
      r.assign(end_ - begin_ + 1, 0);
      for (size_t p = end_; p-- > begin_;) {
        r[p - begin_] = rule.items[i].cls.contains(v_[p]) ? r[p - begin_ + 1] + 1 : 0;
      }
    }
  }

  void split(std::vector<Piece>& out) const {
    size_t pos = begin_;
    while (pos < end_) {
      size_t start = pos, len = 0;
      while (start < end_ && (len = match_at(start)) == 0) ++start;
      if (len == 0) break;
      if (start > pos) out.push_back({pos, start});
      out.push_back({start, start + len});
      pos = start + len;
    }
    if (pos < end_) out.push_back({pos, end_});
  }

 private:
  // Length of the match starting at p, 0 when none (no rule can match the empty string).
  size_t match_at(size_t p) const {
    size_t end = 0;
    return match_items(0, p, end) ? end - p : 0;
  }
  bool match_items(size_t i, size_t p, size_t& end) const {
    if (i == rule_.items.size()) {
      if (rule_.anchored_end && p != end_) return false;
      end = p;
      return true;
    }
    const RegexItem& item = rule_.items[i];
    const size_t most = std::min(item.max, run_[i][p - begin_]);
    if (most < item.min) return false;
    if (rule_.anchored_end && i + 1 == rule_.items.size()) {
      if (p + most != end_) return false;  // only the longest run can reach the end
      end = end_;
      return true;
    }
    for (size_t n = most + 1; n-- > item.min;) {
      if (match_items(i + 1, p + n, end)) return true;
    }
    return false;
  }

  const RegexRule& rule_;
  const std::vector<uint32_t>& v_;
  const size_t begin_, end_;
  std::vector<std::vector<size_t>> run_;
};

}  // namespace

// ---------------------------------------------------------------------------------------------

enum class RuleKind { Gpt2, Llama3, Qwen2, Regex };

struct PreTokenizerRule {
  RuleKind kind;
  RegexRule regex;  // for RuleKind::Regex
};

struct PreTokenizerRules {
  std::vector<PreTokenizerRule> rules;
};

namespace {

PreTokenizerRule scanner(RuleKind kind) { return {kind, {}}; }
PreTokenizerRule regex(View view, std::vector<RegexItem> items, bool anchored_end = false) {
  return {RuleKind::Regex, {view, std::move(items), anchored_end}};
}

const PreTokenizerRules& gpt2_rules() {
  static const PreTokenizerRules r{{scanner(RuleKind::Gpt2)}};
  return r;
}
const PreTokenizerRules& llama3_rules() {
  static const PreTokenizerRules r{{scanner(RuleKind::Llama3)}};
  return r;
}
const PreTokenizerRules& qwen2_rules() {
  static const PreTokenizerRules r{{scanner(RuleKind::Qwen2)}};
  return r;
}
// [\p{P}\$\+<=>\^~\|]+ , GPT-2 , \p{N}+ , [0-9][0-9][0-9]
const PreTokenizerRules& default_rules() {
  static const PreTokenizerRules r{{
      regex(View::Collapsed, {one_or_more(cls(join({kPP, chars("$+<=>^~|")})))}),
      scanner(RuleKind::Gpt2),
      regex(View::Collapsed, {one_or_more(cls(kPN))}),
      regex(View::Wide, {exactly_one(cls(kAsciiDigits)), exactly_one(cls(kAsciiDigits)), exactly_one(cls(kAsciiDigits))}),
  }};
  return r;
}
// [\p{P}\$\+<=>\^~\|`]+ , GPT-2 , [0-9][0-9][0-9]
const PreTokenizerRules& falcon_rules() {
  static const PreTokenizerRules r{{
      regex(View::Collapsed, {one_or_more(cls(join({kPP, chars("$+<=>^~|`")})))}),
      scanner(RuleKind::Gpt2),
      regex(View::Wide, {exactly_one(cls(kAsciiDigits)), exactly_one(cls(kAsciiDigits)), exactly_one(cls(kAsciiDigits))}),
  }};
  return r;
}
// \p{N} , GPT-2
const PreTokenizerRules& starcoder_rules() {
  static const PreTokenizerRules r{{
      regex(View::Collapsed, {exactly_one(cls(kPN))}),
      scanner(RuleKind::Gpt2),
  }};
  return r;
}
// [\r\n] , \s?[letters]+ , \s?[punctuation]+ , \s+$ , [CJK]+ , \p{N}+
const PreTokenizerRules& deepseek_llm_rules() {
  static const PreTokenizerRules r{{
      regex(View::Wide, {exactly_one(cls(chars("\r\n")))}),
      regex(View::Wide, {optional(space_cls()), one_or_more(cls(kDeepseekLetters))}),
      regex(View::Wide, {optional(space_cls()), one_or_more(cls(kDeepseekPunct))}),
      regex(View::Wide, {one_or_more(space_cls())}, true),
      regex(View::Wide, {one_or_more(cls(kDeepseekCjk))}),
      regex(View::Collapsed, {one_or_more(cls(kPN))}),
  }};
  return r;
}
// [\r\n] , \s?\p{L}+ , \s?\p{P}+ , [CJK]+ , \p{N}
const PreTokenizerRules& deepseek_coder_rules() {
  static const PreTokenizerRules r{{
      regex(View::Wide, {exactly_one(cls(chars("\r\n")))}),
      regex(View::Collapsed, {optional(space_cls()), one_or_more(cls(kPL))}),
      regex(View::Collapsed, {optional(space_cls()), one_or_more(cls(kPP))}),
      regex(View::Wide, {one_or_more(cls(kDeepseekCjk))}),
      regex(View::Collapsed, {exactly_one(cls(kPN))}),
  }};
  return r;
}

struct PreTokenizerName {
  const char* name;
  const PreTokenizerRules& (*rules)();
  bool clean_spaces, ignore_merges, add_bos, no_bos;
};

// The `tokenizer.ggml.pre` names llama.cpp maps to the rule sets above, with the settings it
// ties to each name.
const PreTokenizerName kPreTokenizers[] = {
    {"default", default_rules, true, false, false, false},
    {"llama3", llama3_rules, true, true, true, false},
    {"llama-v3", llama3_rules, true, true, true, false},
    {"llama-bpe", llama3_rules, true, true, true, false},
    {"falcon3", llama3_rules, true, true, true, false},
    {"falcon-h1", llama3_rules, true, true, true, false},
    {"pixtral", llama3_rules, true, true, true, false},
    {"dbrx", llama3_rules, true, false, false, false},
    {"smaug-bpe", llama3_rules, true, false, false, false},
    {"glm4", llama3_rules, true, false, false, true},
    {"chatglm-bpe", llama3_rules, true, false, false, true},
    {"deepseek-llm", deepseek_llm_rules, false, false, false, false},
    {"deepseek-coder", deepseek_coder_rules, false, false, false, false},
    {"falcon", falcon_rules, true, false, false, false},
    {"mpt", gpt2_rules, true, false, false, false},
    {"gpt-2", gpt2_rules, true, false, false, false},
    {"phi-2", gpt2_rules, true, false, false, false},
    {"olmo", gpt2_rules, true, false, false, false},
    {"jais", gpt2_rules, true, false, false, false},
    {"starcoder", starcoder_rules, true, false, false, false},
    {"refact", starcoder_rules, true, false, false, false},
    {"codeshell", starcoder_rules, true, false, false, false},
    {"exaone", starcoder_rules, true, false, false, false},
    {"minerva-7b", starcoder_rules, true, false, false, false},
    {"exaone4", gpt2_rules, true, false, false, false},
    {"command-r", starcoder_rules, false, false, false, false},
    {"smollm", starcoder_rules, false, false, false, false},
    {"qwen2", qwen2_rules, false, false, false, false},
    {"deepseek-r1-qwen", qwen2_rules, false, false, false, false},
    {"megrez", qwen2_rules, true, false, false, false},
    {"stablelm2", qwen2_rules, true, false, false, false},
};

}  // namespace

bool find_pretokenizer(const std::string& name, PreTokenizerInfo& info) {
  // A missing name means "default" (llama.cpp warns that quality will suffer).
  const std::string key = name.empty() ? "default" : name;
  for (const PreTokenizerName& p : kPreTokenizers) {
    if (key == p.name) {
      info = {&p.rules(), p.clean_spaces, p.ignore_merges, p.add_bos, p.no_bos};
      return true;
    }
  }
  return false;
}

std::vector<std::string> pretokenize(const PreTokenizerRules& rules, const std::string& text) {
  const std::vector<uint32_t> cps = unicode::decode_utf8(text);
  std::vector<Piece> pieces{{0, cps.size()}};
  std::vector<uint32_t> viewed[2];  // by View, computed on first use
  for (const PreTokenizerRule& rule : rules.rules) {
    std::vector<Piece> next;
    next.reserve(pieces.size() * 2);
    for (const Piece& piece : pieces) {
      if (piece.begin == piece.end) continue;
      switch (rule.kind) {
        case RuleKind::Gpt2: Gpt2Scanner(cps, piece, next).run(); break;
        case RuleKind::Llama3: Llama3Scanner(cps, piece, next, 3).run(); break;
        case RuleKind::Qwen2: Llama3Scanner(cps, piece, next, 1).run(); break;
        case RuleKind::Regex: {
          std::vector<uint32_t>& v = viewed[static_cast<int>(rule.regex.view)];
          if (v.empty()) {
            v.resize(cps.size());
            for (size_t i = 0; i < cps.size(); ++i) v[i] = view_of(rule.regex.view, cps[i]);
          }
          RegexMatcher(rule.regex, v, piece).split(next);
          break;
        }
      }
    }
    pieces = std::move(next);
  }
  std::vector<std::string> words;
  words.reserve(pieces.size());
  for (const Piece& piece : pieces) {
    std::string w;
    for (size_t i = piece.begin; i < piece.end; ++i) unicode::append_utf8(w, cps[i]);
    words.push_back(std::move(w));
  }
  return words;
}

}  // namespace ls
