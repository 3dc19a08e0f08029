#include "json_constraint.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace ls {

// ---------------------------------------------------------------------------------------------
// Schema: a minimal JSON reader for the schema text, then the supported keyword subset.
// ---------------------------------------------------------------------------------------------
namespace {

struct JValue {
  enum Kind { Null, Bool, Number, String, Array, Object } kind = Null;
  bool boolean = false;
  double number = 0;
  std::string text;
  std::vector<JValue> items;
  std::vector<std::pair<std::string, JValue>> members;
};

[[noreturn]] void schema_error(const std::string& what) {
  throw std::invalid_argument("json schema: " + what);
}

void append_utf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

class JsonReader {
 public:
  explicit JsonReader(const std::string& s) : s_(s) {}
  JValue document() {
    JValue v = value(0);
    skip_ws();
    if (pos_ != s_.size()) fail("unexpected text after the schema");
    return v;
  }

 private:
  static constexpr int kMaxDepth = 64;
  [[noreturn]] void fail(const std::string& what) {
    schema_error(what + " at byte " + std::to_string(pos_));
  }
  void skip_ws() {
    while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\t' || s_[pos_] == '\n' || s_[pos_] == '\r'))
      ++pos_;
  }
  bool eat(char c) {
    skip_ws();
    if (pos_ < s_.size() && s_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }
  void expect_word(const char* w) {
    for (const char* p = w; *p; ++p, ++pos_)
      if (pos_ >= s_.size() || s_[pos_] != *p) fail("invalid literal");
  }
  uint32_t hex4() {
    if (pos_ + 4 > s_.size()) fail("truncated \\u escape");
    uint32_t v = 0;
    for (int i = 0; i < 4; ++i) {
      const char c = s_[pos_++];
      v <<= 4;
      if (c >= '0' && c <= '9') v |= static_cast<uint32_t>(c - '0');
      else if (c >= 'a' && c <= 'f') v |= static_cast<uint32_t>(c - 'a' + 10);
      else if (c >= 'A' && c <= 'F') v |= static_cast<uint32_t>(c - 'A' + 10);
      else fail("bad hex digit in \\u escape");
    }
    return v;
  }
  std::string string_body() {  // after the opening quote
    std::string out;
    while (true) {
      if (pos_ >= s_.size()) fail("unterminated string");
      const unsigned char c = static_cast<unsigned char>(s_[pos_++]);
      if (c == '"') return out;
      if (c < 0x20) fail("control character in string");
      if (c != '\\') {
        out += static_cast<char>(c);
        continue;
      }
      if (pos_ >= s_.size()) fail("unterminated escape");
      const char e = s_[pos_++];
      switch (e) {
        case '"': out += '"'; break;
        case '\\': out += '\\'; break;
        case '/': out += '/'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'u': {
          uint32_t cp = hex4();
          if (cp >= 0xD800 && cp <= 0xDBFF) {
            if (pos_ + 2 > s_.size() || s_[pos_] != '\\' || s_[pos_ + 1] != 'u') fail("unpaired surrogate");
            pos_ += 2;
            const uint32_t lo = hex4();
            if (lo < 0xDC00 || lo > 0xDFFF) fail("unpaired surrogate");
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
          } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
            fail("unpaired surrogate");
          }
          append_utf8(out, cp);
          break;
        }
        default: fail("bad escape");
      }
    }
  }
  JValue value(int depth) {
    if (depth > kMaxDepth) fail("nesting deeper than 64");
    skip_ws();
    if (pos_ >= s_.size()) fail("unexpected end");
    JValue v;
    const char c = s_[pos_];
    if (c == '{') {
      ++pos_;
      v.kind = JValue::Object;
      if (eat('}')) return v;
      do {
        if (!eat('"')) fail("expected a key");
        std::string key = string_body();
        if (!eat(':')) fail("expected ':'");
        v.members.emplace_back(std::move(key), value(depth + 1));
      } while (eat(','));
      if (!eat('}')) fail("expected ',' or '}'");
    } else if (c == '[') {
      ++pos_;
      v.kind = JValue::Array;
      if (eat(']')) return v;
      do v.items.push_back(value(depth + 1));
      while (eat(','));
      if (!eat(']')) fail("expected ',' or ']'");
    } else if (c == '"') {
      ++pos_;
      v.kind = JValue::String;
      v.text = string_body();
    } else if (c == 't') {
      expect_word("true");
      v.kind = JValue::Bool;
      v.boolean = true;
    } else if (c == 'f') {
      expect_word("false");
      v.kind = JValue::Bool;
    } else if (c == 'n') {
      expect_word("null");
    } else if (c == '-' || (c >= '0' && c <= '9')) {
      const size_t start = pos_;
      while (pos_ < s_.size() && std::string("+-.eE0123456789").find(s_[pos_]) != std::string::npos) ++pos_;
      const std::string num = s_.substr(start, pos_ - start);
      char* end = nullptr;
      v.kind = JValue::Number;
      v.number = std::strtod(num.c_str(), &end);
      if (end != num.c_str() + num.size() || !std::isfinite(v.number)) fail("bad number");
    } else {
      fail("unexpected character");
    }
    return v;
  }

  const std::string& s_;
  size_t pos_ = 0;
};

// The name as JSON.stringify writes it, without the surrounding quotes.
std::string canonical_encoding(const std::string& name) {
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (const char ch : name) {
    const unsigned char c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) {
          out += "\\u00";
          out += hex[c >> 4];
          out += hex[c & 15];
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out;
}

}  // namespace

struct SchemaBuilder {
  std::vector<JsonSchema::Node> nodes;

  static uint32_t count_value(const JValue& v, const std::string& where) {
    if (v.kind != JValue::Number || v.number < 0 || v.number > 4294967295.0 ||
        v.number != std::floor(v.number))
      schema_error(where + " must be a non-negative integer");
    return static_cast<uint32_t>(v.number);
  }

  static uint8_t type_bit(const JValue& v, const std::string& where) {
    if (v.kind != JValue::String) schema_error(where + ".type entries must be strings");
    const std::string& t = v.text;
    if (t == "object") return JsonSchema::kObject;
    if (t == "array") return JsonSchema::kArray;
    if (t == "string") return JsonSchema::kString;
    if (t == "number") return JsonSchema::kNumber;
    if (t == "integer") return JsonSchema::kInteger;
    if (t == "boolean") return JsonSchema::kBoolean;
    if (t == "null") return JsonSchema::kNull;
    schema_error(where + ".type \"" + t + "\" is not supported");
  }

  uint16_t build(const JValue& v, const std::string& where) {
    if (v.kind != JValue::Object) schema_error(where + " must be an object");
    if (nodes.size() >= 0xFFFE) schema_error("too many schema nodes");
    const uint16_t index = static_cast<uint16_t>(nodes.size());
    nodes.emplace_back();
    JsonSchema::Node node;
    const JValue* required = nullptr;
    for (const auto& [key, val] : v.members) {
      const std::string at = where + "." + key;
      if (key == "type") {
        if (val.kind == JValue::String) {
          node.types = type_bit(val, where);
        } else if (val.kind == JValue::Array && !val.items.empty()) {
          node.types = 0;
          for (const JValue& t : val.items) node.types |= type_bit(t, where);
        } else {
          schema_error(at + " must be a type name or a non-empty array of them");
        }
      } else if (key == "properties") {
        if (val.kind != JValue::Object) schema_error(at + " must be an object");
        if (val.members.size() > 64) schema_error(at + " has more than 64 properties");
        for (const auto& [name, sub] : val.members) {
          const std::string enc = canonical_encoding(name);
          for (const auto& p : node.properties)
            if (p.encoded == enc) schema_error(at + " declares \"" + name + "\" twice");
          const uint16_t child = build(sub, at + "." + name);
          node.properties.push_back({enc, child});
        }
      } else if (key == "required") {
        if (val.kind != JValue::Array) schema_error(at + " must be an array of strings");
        required = &val;
      } else if (key == "additionalProperties") {
        if (val.kind != JValue::Bool) schema_error(at + " must be true or false (schemas are not supported)");
        node.additional = val.boolean;
      } else if (key == "items") {
        if (val.kind != JValue::Object) schema_error(at + " must be a schema object (tuples are not supported)");
        node.items = build(val, at);
        node.has_items = true;
      } else if (key == "minItems") {
        node.min_items = count_value(val, at);
      } else if (key == "maxItems") {
        node.max_items = count_value(val, at);
      } else if (key == "title" || key == "description" || key == "$schema" || key == "$id" ||
                 key == "default" || key == "examples" || key == "$comment") {
        // annotations: no effect on validation
      } else {
        schema_error(at + " is not a supported keyword");
      }
    }
    if (node.min_items > node.max_items) schema_error(where + ".minItems exceeds maxItems");
    if (required) {
      for (const JValue& r : required->items) {
        if (r.kind != JValue::String) schema_error(where + ".required must be an array of strings");
        const std::string enc = canonical_encoding(r.text);
        size_t i = 0;
        while (i < node.properties.size() && node.properties[i].encoded != enc) ++i;
        if (i == node.properties.size())
          schema_error(where + ".required names \"" + r.text + "\" which is not in properties");
        node.required |= uint64_t{1} << i;
      }
    }
    nodes[index] = std::move(node);
    return index;
  }
};

std::shared_ptr<const JsonSchema> JsonSchema::any() {
  auto s = std::make_shared<JsonSchema>();
  s->nodes_.emplace_back();
  return s;
}

std::shared_ptr<const JsonSchema> JsonSchema::parse(const std::string& schema_json) {
  const JValue root = JsonReader(schema_json).document();
  SchemaBuilder b;
  b.build(root, "schema");
  auto s = std::make_shared<JsonSchema>();
  s->nodes_ = std::move(b.nodes);
  return s;
}

// ---------------------------------------------------------------------------------------------
// Vocabulary index
// ---------------------------------------------------------------------------------------------
namespace {

// Length of the complete UTF-8 sequence starting at s[i], or 0 if malformed/truncated.
size_t utf8_sequence(const std::string& s, size_t i) {
  const unsigned char c = static_cast<unsigned char>(s[i]);
  size_t need;
  unsigned char lo = 0x80, hi = 0xBF;
  if (c < 0x80) return 1;
  if (c >= 0xC2 && c <= 0xDF) need = 1;
  else if (c == 0xE0) need = 2, lo = 0xA0;
  else if (c == 0xED) need = 2, hi = 0x9F;
  else if (c >= 0xE1 && c <= 0xEF) need = 2;
  else if (c == 0xF0) need = 3, lo = 0x90;
  else if (c == 0xF4) need = 3, hi = 0x8F;
  else if (c >= 0xF1 && c <= 0xF3) need = 3;
  else return 0;
  for (size_t k = 1; k <= need; ++k) {
    if (i + k >= s.size()) return 0;
    const unsigned char d = static_cast<unsigned char>(s[i + k]);
    if (d < (k == 1 ? lo : 0x80) || d > (k == 1 ? hi : 0xBF)) return 0;
  }
  return need + 1;
}

bool is_plain_string_content(const std::string& piece) {
  size_t i = 0;
  while (i < piece.size()) {
    const unsigned char c = static_cast<unsigned char>(piece[i]);
    if (c == '"' || c == '\\' || c < 0x20) return false;
    const size_t n = utf8_sequence(piece, i);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

JsonVocab::Trie build_trie(const std::vector<std::string>& pieces, std::vector<int32_t> ids) {
  std::sort(ids.begin(), ids.end(), [&](int32_t a, int32_t b) {
    const int c = pieces[static_cast<size_t>(a)].compare(pieces[static_cast<size_t>(b)]);
    return c < 0 || (c == 0 && a < b);
  });
  JsonVocab::Trie t;
  struct Pending {
    size_t lo, hi, depth;
  };
  // Breadth-first, so each node's children get consecutive edge slots.
  std::vector<Pending> pending{{0, ids.size(), 0}};
  for (size_t n = 0; n < pending.size(); ++n) {
    auto [lo, hi, depth] = pending[n];
    t.first_token.push_back(static_cast<uint32_t>(t.token_ids.size()));
    while (lo < hi && pieces[static_cast<size_t>(ids[lo])].size() == depth) t.token_ids.push_back(ids[lo++]);
    t.first_edge.push_back(static_cast<uint32_t>(t.edge_byte.size()));
    while (lo < hi) {
      const char b = pieces[static_cast<size_t>(ids[lo])][depth];
      size_t j = lo;
      while (j < hi && pieces[static_cast<size_t>(ids[j])][depth] == b) ++j;
      t.edge_byte.push_back(static_cast<uint8_t>(b));
      t.edge_child.push_back(static_cast<uint32_t>(pending.size()));
      pending.push_back({lo, j, depth + 1});
      lo = j;
    }
  }
  t.first_token.push_back(static_cast<uint32_t>(t.token_ids.size()));
  t.first_edge.push_back(static_cast<uint32_t>(t.edge_byte.size()));
  return t;
}

}  // namespace

JsonVocab::JsonVocab(std::vector<std::string> pieces, std::vector<int32_t> eos_ids)
    : pieces_(std::move(pieces)), eos_(std::move(eos_ids)) {
  if (pieces_.size() > static_cast<size_t>(std::numeric_limits<int32_t>::max()))
    throw std::invalid_argument("json constraint: vocabulary too large");
  for (const int32_t e : eos_)
    if (e < 0 || e >= size())
      throw std::invalid_argument("json constraint: EOS id " + std::to_string(e) + " is outside the vocabulary");
  std::sort(eos_.begin(), eos_.end());
  eos_.erase(std::unique(eos_.begin(), eos_.end()), eos_.end());
  std::vector<int32_t> plain_ids, other_ids;
  for (int32_t id = 0; id < size(); ++id) {
    const std::string& p = pieces_[static_cast<size_t>(id)];
    if (p.empty() || is_eos(id)) continue;
    (is_plain_string_content(p) ? plain_ids : other_ids).push_back(id);
  }
  plain_ = plain_ids;
  plain_trie_ = build_trie(pieces_, std::move(plain_ids));
  other_trie_ = build_trie(pieces_, std::move(other_ids));
}

bool JsonVocab::is_eos(int32_t id) const { return std::binary_search(eos_.begin(), eos_.end(), id); }

// ---------------------------------------------------------------------------------------------
// The recogniser
// ---------------------------------------------------------------------------------------------
namespace {

constexpr uint16_t kAnyNode = 0xFFFF;

enum Phase : uint8_t {
  kObjKeyOrClose,   // after '{'
  kObjKey,          // after ','
  kObjColon,        // after the key
  kObjValue,        // after ':'
  kObjCommaOrClose, // after a member's value
  kArrValueOrClose, // after '['
  kArrValue,        // after ','
  kArrCommaOrClose, // after an element
};

enum LexKind : uint8_t { kLexNone, kLexString, kLexNumber, kLexLiteral };
enum StringSub : uint8_t { kStrNormal, kStrEscape, kStrHex1, kStrHex2, kStrHex3, kStrHex4 };
enum NumberSub : uint8_t { kNumMinus, kNumZero, kNumInt, kNumDot, kNumFrac, kNumE, kNumESign, kNumExp };

bool number_complete(uint8_t sub) {
  return sub == kNumZero || sub == kNumInt || sub == kNumFrac || sub == kNumExp;
}

const char* const kLiterals[3] = {"true", "false", "null"};
const uint8_t kLiteralLength[3] = {4, 5, 4};

struct Frame {
  uint64_t seen;   // object: declared properties already used
  uint32_t count;  // array: elements completed (saturating)
  uint16_t node;   // schema node of this container
  uint8_t phase;
};

// Everything but the frame array; small, so the mask search can snapshot it per trie edge.
struct Core {
  uint64_t key_cands;   // declared properties whose encoding starts with the key bytes so far
  uint32_t lex_len;     // bytes of the current number / key
  uint16_t value_node;  // schema of the value expected next
  uint8_t lex;          // LexKind
  uint8_t sub;          // StringSub / NumberSub / literal position
  uint8_t literal;      // index into kLiterals
  uint8_t is_key;       // the open string is an object key
  uint8_t integer_only; // the open number must be an integer
  uint8_t utf8_need;    // continuation bytes still due
  uint8_t utf8_lo, utf8_hi;
  uint8_t ws_run;
  uint8_t top_done;     // the top-level value is complete
  uint8_t finished;     // EOS accepted
  int32_t depth;        // open containers
};

}  // namespace

struct JsonConstraint::Impl {
  std::shared_ptr<const JsonVocab> vocab;
  std::shared_ptr<const JsonSchema> schema;
  JsonConstraintOptions opt;
  std::vector<uint8_t> min_nest;  // per schema node: container levels a value needs at least
  JsonSchema::Node any_node;

  Core core{};
  std::vector<Frame> frames;

  std::vector<uint8_t> allowed_scratch;

  Impl(std::shared_ptr<const JsonVocab> v, std::shared_ptr<const JsonSchema> s, JsonConstraintOptions o)
      : vocab(std::move(v)), schema(std::move(s)), opt(o) {
    if (!vocab) throw std::invalid_argument("json constraint: no vocabulary");
    if (!schema) schema = JsonSchema::any();
    if (opt.max_whitespace_run < 0 || opt.max_whitespace_run > 255)
      throw std::invalid_argument("json constraint: max_whitespace_run must be in [0, 255]");
    if (opt.max_depth < 1 || opt.max_depth > 1024)
      throw std::invalid_argument("json constraint: max_depth must be in [1, 1024]");
    if (opt.max_number_bytes < 2)
      throw std::invalid_argument("json constraint: max_number_bytes must be >= 2");
    compute_min_nest();
    // A schema that needs deeper nesting than the limit would dead-end: the schema wins.
    opt.max_depth = std::max<int32_t>(opt.max_depth, min_nest.empty() ? 0 : min_nest[0]);
    frames.resize(static_cast<size_t>(opt.max_depth) + 1);
    core.value_node = 0;
  }

  const JsonSchema::Node& node(uint16_t i) const {
    return i == kAnyNode ? any_node : schema->nodes()[i];
  }
  uint8_t nest(uint16_t i) const { return i == kAnyNode ? 0 : min_nest[i]; }

  // Levels needed inside a container of this node before it may close.
  uint32_t inner_object(const JsonSchema::Node& n) const {
    uint32_t need = 0;
    for (size_t p = 0; p < n.properties.size(); ++p)
      if (n.required >> p & 1) need = std::max<uint32_t>(need, nest(n.properties[p].node));
    return need;
  }
  uint32_t inner_array(const JsonSchema::Node& n) const {
    return n.min_items > 0 ? nest(n.has_items ? n.items : kAnyNode) : 0;
  }

  void compute_min_nest() {
    // Children always have higher indices than their parent (built depth-first), so go backwards.
    const auto& nodes = schema->nodes();
    min_nest.assign(nodes.size(), 0);
    for (size_t i = nodes.size(); i-- > 0;) {
      const auto& n = nodes[i];
      const uint8_t scalars = JsonSchema::kString | JsonSchema::kNumber | JsonSchema::kInteger |
                              JsonSchema::kBoolean | JsonSchema::kNull;
      if (n.types & scalars) continue;
      uint32_t best = 255;
      if (n.types & JsonSchema::kObject) best = std::min(best, 1 + inner_object(n));
      if (n.types & JsonSchema::kArray) best = std::min(best, 1 + inner_array(n));
      min_nest[i] = static_cast<uint8_t>(std::min<uint32_t>(best, 255));
    }
  }

  // Declared properties that may still be used in this object (unused, and nestable here).
  uint64_t usable_properties(const Frame& f) const {
    const auto& n = node(f.node);
    uint64_t usable = 0;
    for (size_t p = 0; p < n.properties.size(); ++p)
      if (!(f.seen >> p & 1) && core.depth + nest(n.properties[p].node) <= opt.max_depth)
        usable |= uint64_t{1} << p;
    return usable;
  }
  bool more_keys_possible(const Frame& f) const {
    return node(f.node).additional || usable_properties(f) != 0;
  }

  bool complete() const {
    if (core.finished || core.depth != 0) return false;
    return core.top_done || (core.lex == kLexNumber && number_complete(core.sub));
  }

  void value_done() {
    if (core.depth == 0) {
      core.top_done = 1;
      return;
    }
    Frame& f = frames[static_cast<size_t>(core.depth - 1)];
    if (f.phase == kObjValue) {
      f.phase = kObjCommaOrClose;
    } else {
      if (f.count != UINT32_MAX) ++f.count;
      f.phase = kArrCommaOrClose;
    }
  }

  bool open_container(bool object, uint16_t n) {
    const auto& sn = node(n);
    const uint32_t inner = object ? inner_object(sn) : inner_array(sn);
    if (core.depth + 1 + static_cast<int32_t>(inner) > opt.max_depth) return false;
    frames[static_cast<size_t>(core.depth)] = Frame{0, 0, n, object ? uint8_t{kObjKeyOrClose} : uint8_t{kArrValueOrClose}};
    ++core.depth;
    if (!object) core.value_node = sn.has_items ? sn.items : kAnyNode;
    return true;
  }

  bool close_container() {
    --core.depth;
    value_done();
    return true;
  }

  void start_string(bool key) {
    core.lex = kLexString;
    core.sub = kStrNormal;
    core.utf8_need = 0;
    core.is_key = key;
    core.lex_len = 0;
    if (key) {
      const size_t n = node(frames[static_cast<size_t>(core.depth - 1)].node).properties.size();
      core.key_cands = n == 64 ? ~uint64_t{0} : (uint64_t{1} << n) - 1;
    }
  }

  bool start_value(uint8_t b) {
    const auto& sn = node(core.value_node);
    const uint8_t t = sn.types;
    switch (b) {
      case '{': return (t & JsonSchema::kObject) && open_container(true, core.value_node);
      case '[': return (t & JsonSchema::kArray) && open_container(false, core.value_node);
      case '"':
        if (!(t & JsonSchema::kString)) return false;
        start_string(false);
        return true;
      case 't': case 'f': case 'n': {
        const uint8_t lit = b == 't' ? 0 : b == 'f' ? 1 : 2;
        if (!(t & (lit == 2 ? JsonSchema::kNull : JsonSchema::kBoolean))) return false;
        core.lex = kLexLiteral;
        core.literal = lit;
        core.sub = 1;
        return true;
      }
      default:
        if (b != '-' && (b < '0' || b > '9')) return false;
        if (!(t & (JsonSchema::kNumber | JsonSchema::kInteger))) return false;
        core.lex = kLexNumber;
        core.integer_only = !(t & JsonSchema::kNumber);
        core.lex_len = 1;
        core.sub = b == '-' ? kNumMinus : b == '0' ? kNumZero : kNumInt;
        return true;
    }
  }

  // Key closed: decide which property it is.
  bool finish_key() {
    Frame& f = frames[static_cast<size_t>(core.depth - 1)];
    const auto& sn = node(f.node);
    int match = -1;
    for (uint64_t c = core.key_cands; c; c &= c - 1) {
      const int p = __builtin_ctzll(c);
      if (sn.properties[static_cast<size_t>(p)].encoded.size() == core.lex_len) match = p;
    }
    if (match < 0) {
      if (!sn.additional) return false;
      core.value_node = kAnyNode;
    } else {
      if (!(usable_properties(f) >> match & 1)) return false;  // duplicate, or too deep here
      f.seen |= uint64_t{1} << match;
      core.value_node = sn.properties[static_cast<size_t>(match)].node;
    }
    f.phase = kObjColon;
    core.lex = kLexNone;
    return true;
  }

  bool key_byte(uint8_t b) {
    const Frame& f = frames[static_cast<size_t>(core.depth - 1)];
    const auto& sn = node(f.node);
    const uint32_t at = core.lex_len;
    for (uint64_t c = core.key_cands; c; c &= c - 1) {
      const int p = __builtin_ctzll(c);
      const std::string& enc = sn.properties[static_cast<size_t>(p)].encoded;
      if (at >= enc.size() || static_cast<uint8_t>(enc[at]) != b) core.key_cands &= ~(uint64_t{1} << p);
    }
    if (core.lex_len != UINT32_MAX) ++core.lex_len;
    return sn.additional || (core.key_cands & usable_properties(f)) != 0;
  }

  bool string_byte(uint8_t b) {
    if (core.utf8_need > 0) {
      if (b < core.utf8_lo || b > core.utf8_hi) return false;
      --core.utf8_need;
      core.utf8_lo = 0x80;
      core.utf8_hi = 0xBF;
    } else if (core.sub == kStrEscape) {
      if (b == 'u') core.sub = kStrHex4;
      else if (b == '"' || b == '\\' || b == '/' || b == 'b' || b == 'f' || b == 'n' || b == 'r' || b == 't')
        core.sub = kStrNormal;
      else return false;
    } else if (core.sub >= kStrHex1) {
      const bool hex = (b >= '0' && b <= '9') || (b >= 'a' && b <= 'f') || (b >= 'A' && b <= 'F');
      if (!hex) return false;
      core.sub = core.sub == kStrHex1 ? static_cast<uint8_t>(kStrNormal) : static_cast<uint8_t>(core.sub - 1);
    } else if (b == '"') {
      if (core.is_key) return finish_key();
      core.lex = kLexNone;
      value_done();
      return true;
    } else if (b == '\\') {
      core.sub = kStrEscape;
    } else if (b < 0x20) {
      return false;
    } else if (b >= 0x80) {
      core.utf8_lo = 0x80;
      core.utf8_hi = 0xBF;
      if (b >= 0xC2 && b <= 0xDF) core.utf8_need = 1;
      else if (b == 0xE0) core.utf8_need = 2, core.utf8_lo = 0xA0;
      else if (b == 0xED) core.utf8_need = 2, core.utf8_hi = 0x9F;
      else if (b >= 0xE1 && b <= 0xEF) core.utf8_need = 2;
      else if (b == 0xF0) core.utf8_need = 3, core.utf8_lo = 0x90;
      else if (b == 0xF4) core.utf8_need = 3, core.utf8_hi = 0x8F;
      else if (b >= 0xF1 && b <= 0xF3) core.utf8_need = 3;
      else return false;
    }
    return core.is_key ? key_byte(b) : true;
  }

  // Returns 1 if b extends the number, 0 if it does not (the number may have ended), -1 if refused.
  int number_byte(uint8_t b) {
    const bool digit = b >= '0' && b <= '9';
    uint8_t next;
    switch (core.sub) {
      case kNumMinus: if (!digit) return -1; next = b == '0' ? kNumZero : kNumInt; break;
      case kNumZero:
        if (b == '.') next = kNumDot;
        else if (b == 'e' || b == 'E') next = kNumE;
        else return digit ? -1 : 0;
        break;
      case kNumInt:
        if (digit) next = kNumInt;
        else if (b == '.') next = kNumDot;
        else if (b == 'e' || b == 'E') next = kNumE;
        else return 0;
        break;
      case kNumDot: if (!digit) return -1; next = kNumFrac; break;
      case kNumFrac:
        if (digit) next = kNumFrac;
        else if (b == 'e' || b == 'E') next = kNumE;
        else return 0;
        break;
      case kNumE:
        if (b == '+' || b == '-') next = kNumESign;
        else if (digit) next = kNumExp;
        else return -1;
        break;
      case kNumESign: if (!digit) return -1; next = kNumExp; break;
      default: if (!digit) return 0; next = kNumExp; break;
    }
    if (core.integer_only && (next == kNumDot || next == kNumE)) return -1;
    // An unfinished number keeps room for the one byte that finishes it.
    const uint32_t len = core.lex_len + 1;
    if (len > static_cast<uint32_t>(opt.max_number_bytes)) return -1;
    if (!number_complete(next) && len >= static_cast<uint32_t>(opt.max_number_bytes)) return -1;
    core.lex_len = len;
    core.sub = next;
    return 1;
  }

  bool step(uint8_t b) {
    if (core.finished) return false;
    if (core.lex == kLexString) return string_byte(b);
    if (core.lex == kLexLiteral) {
      if (static_cast<uint8_t>(kLiterals[core.literal][core.sub]) != b) return false;
      if (++core.sub == kLiteralLength[core.literal]) {
        core.lex = kLexNone;
        value_done();
      }
      return true;
    }
    if (core.lex == kLexNumber) {
      const int r = number_byte(b);
      if (r > 0) return true;
      if (r < 0 || !number_complete(core.sub)) return false;
      core.lex = kLexNone;
      value_done();
    }
    if (b == ' ' || b == '\t' || b == '\n' || b == '\r') {
      if (core.ws_run >= opt.max_whitespace_run) return false;
      ++core.ws_run;
      return true;
    }
    core.ws_run = 0;
    if (core.depth == 0) return !core.top_done && start_value(b);
    Frame& f = frames[static_cast<size_t>(core.depth - 1)];
    const auto& sn = node(f.node);
    switch (f.phase) {
      case kObjKeyOrClose:
        if (b == '}') return (f.seen & sn.required) == sn.required && close_container();
        [[fallthrough]];
      case kObjKey:
        if (b != '"' || !more_keys_possible(f)) return false;
        start_string(true);
        return true;
      case kObjColon:
        if (b != ':') return false;
        f.phase = kObjValue;
        return true;
      case kObjValue:
        return start_value(b);
      case kObjCommaOrClose:
        if (b == '}') return (f.seen & sn.required) == sn.required && close_container();
        if (b != ',' || !more_keys_possible(f)) return false;
        f.phase = kObjKey;
        return true;
      case kArrValueOrClose:  // value_node was set when the array opened
        if (b == ']') return sn.min_items == 0 && close_container();
        return sn.max_items > 0 && start_value(b);
      case kArrValue:
        return start_value(b);
      default:  // kArrCommaOrClose
        if (b == ']') return f.count >= sn.min_items && close_container();
        if (b != ',' || f.count >= sn.max_items) return false;
        f.phase = kArrValue;
        core.value_node = sn.has_items ? sn.items : kAnyNode;
        return true;
    }
  }

  // Undo record for the mask search: one byte changes at most the two innermost frames.
  struct Snapshot {
    Core core;
    Frame top, below;
  };
  void save(Snapshot& s) const {
    s.core = core;
    if (core.depth >= 1) s.top = frames[static_cast<size_t>(core.depth - 1)];
    if (core.depth >= 2) s.below = frames[static_cast<size_t>(core.depth - 2)];
  }
  void restore(const Snapshot& s) {
    core = s.core;
    if (core.depth >= 1) frames[static_cast<size_t>(core.depth - 1)] = s.top;
    if (core.depth >= 2) frames[static_cast<size_t>(core.depth - 2)] = s.below;
  }

  // Marks every token of the trie whose bytes the recogniser accepts from the current state.
  void walk(const JsonVocab::Trie& t, uint8_t* allowed) {
    struct Level {
      uint32_t edge, end;
      Snapshot before;  // state at this level's parent node
    };
    std::vector<Level> stack;
    stack.push_back({t.first_edge[0], t.first_edge[1], {}});
    while (!stack.empty()) {
      Level& top = stack.back();
      if (top.edge == top.end) {
        const Snapshot before = top.before;
        stack.pop_back();
        if (!stack.empty()) restore(before);
        continue;
      }
      const uint32_t e = top.edge++;
      Snapshot s;
      save(s);
      if (!step(t.edge_byte[e])) {
        restore(s);
        continue;
      }
      const uint32_t child = t.edge_child[e];
      for (uint32_t k = t.first_token[child]; k < t.first_token[child + 1]; ++k)
        allowed[t.token_ids[k]] = 1;
      stack.push_back({t.first_edge[child], t.first_edge[child + 1], s});
    }
  }

  bool in_plain_string() const {
    if (core.lex != kLexString || core.sub != kStrNormal || core.utf8_need != 0) return false;
    return !core.is_key || node(frames[static_cast<size_t>(core.depth - 1)].node).additional;
  }

  bool simulate(const std::string& bytes) {
    for (const char c : bytes)
      if (!step(static_cast<uint8_t>(c))) return false;
    return true;
  }
};

JsonConstraint::JsonConstraint(std::shared_ptr<const JsonVocab> vocab, std::shared_ptr<const JsonSchema> schema,
                               JsonConstraintOptions options)
    : impl_(std::make_unique<Impl>(std::move(vocab), std::move(schema), options)) {}

JsonConstraint::~JsonConstraint() = default;

bool JsonConstraint::done() const { return impl_->core.finished || impl_->complete(); }
bool JsonConstraint::finished() const { return impl_->core.finished; }
int32_t JsonConstraint::vocab_size() const { return impl_->vocab->size(); }

bool JsonConstraint::allowed(int32_t token) {
  Impl& m = *impl_;
  if (token < 0 || token >= m.vocab->size() || m.core.finished) return false;
  if (m.vocab->is_eos(token)) return m.complete();
  const std::string& piece = m.vocab->piece(token);
  if (piece.empty()) return false;
  // Simulate on the live state, then put it back.
  const Core saved_core = m.core;
  const std::vector<Frame> saved_frames(m.frames.begin(), m.frames.begin() + m.core.depth);
  const bool ok = m.simulate(piece);
  m.core = saved_core;
  std::copy(saved_frames.begin(), saved_frames.end(), m.frames.begin());
  return ok;
}

void JsonConstraint::accept(int32_t token) {
  Impl& m = *impl_;
  if (!allowed(token))
    throw std::invalid_argument("json constraint: token " + std::to_string(token) +
                                " is not allowed here");
  if (m.vocab->is_eos(token)) {
    m.core.finished = 1;
    return;
  }
  m.simulate(m.vocab->piece(token));
}

int32_t JsonConstraint::mask(float* logits, int32_t n_vocab) {
  Impl& m = *impl_;
  const int32_t n = m.vocab->size();
  m.allowed_scratch.assign(static_cast<size_t>(n), 0);
  uint8_t* allowed = m.allowed_scratch.data();
  if (!m.core.finished) {
    if (m.in_plain_string()) {
      for (const int32_t id : m.vocab->plain_tokens()) allowed[id] = 1;
    } else {
      m.walk(m.vocab->plain_trie(), allowed);
    }
    m.walk(m.vocab->other_trie(), allowed);
    if (m.complete())
      for (const int32_t id : m.vocab->eos_ids()) allowed[id] = 1;
  }
  const float neg_inf = -std::numeric_limits<float>::infinity();
  int32_t count = 0;
  for (int32_t i = 0; i < n_vocab; ++i) {
    if (i < n && allowed[i]) ++count;
    else logits[i] = neg_inf;
  }
  return count;
}

}  // namespace ls
