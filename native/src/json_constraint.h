// JSON-constrained decoding: masks every token whose bytes would make the output stop being a
// prefix of a valid JSON value (optionally of a value matching a small schema subset).
//
// Use in a generate loop (one JsonVocab per model, one JsonConstraint per request):
//   auto vocab = std::make_shared<const JsonVocab>(pieces, eos_ids);   // pieces[id] = raw bytes
//   JsonConstraint c(vocab, JsonSchema::parse(schema_json));           // or JsonSchema::any()
//   loop: c.mask(logits, n_vocab); id = sampler.sample(logits, n_vocab); c.accept(id);
//         stop when id is an EOS id (c.done() is then true).
// Give control/special tokens an empty piece: empty pieces are never allowed (they would let the
// model loop without advancing). EOS ids are allowed exactly when the output is a complete value.
// From an ls::Vocab: pieces[id] = vocab.token_to_piece(id, /*special=*/false) (control tokens come
// back empty), eos_ids = vocab.eog_ids().
//
// The recogniser works on bytes: objects, arrays, strings (escapes incl. \uXXXX, well-formed UTF-8,
// no raw control bytes), numbers (JSON grammar, at most max_number_bytes), true/false/null,
// at most max_whitespace_run consecutive whitespace bytes, nesting at most max_depth (raised to what
// the schema needs). Whitespace is allowed around values and after the complete top-level value.
// No reachable state is a dead end: a byte is refused when it would leave no way to finish
// (a required key that could no longer fit under max_depth, a number at its length limit, …).
//
// Schema subset (JSON Schema keywords; annotations title/description/$schema/$id/default/examples
// are ignored; any other keyword is an error so nothing is silently unenforced):
//   type: "object"|"array"|"string"|"number"|"integer"|"boolean"|"null" or an array of them
//         → the value's first byte must start one of them; "integer" also forbids '.', 'e', 'E'.
//   properties: {name: schema}  → a declared key's value is checked against its schema.
//   required: [names]           → '}' is refused until all of them are present (each must be
//                                 declared in properties).
//   additionalProperties: false → only declared keys, byte by byte (true/absent: other keys allowed,
//                                 their values unconstrained).  A declared key may appear once.
//   items: schema               → every array element is checked against it.
//   minItems / maxItems         → ']' refused below minItems, ',' refused at maxItems.
//   Declared keys are matched on their canonical JSON encoding (as JSON.stringify writes it); a key
//   spelled with other escapes (e.g. "\u0074itle") counts as an undeclared key.
//   At most 64 properties per object schema.
#pragma once
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace ls {

// Parsed schema: a tree of nodes flattened into a vector; node 0 is the root.
class JsonSchema {
 public:
  static std::shared_ptr<const JsonSchema> any();
  // Throws std::invalid_argument naming the problem (bad JSON, unsupported keyword, bad value).
  static std::shared_ptr<const JsonSchema> parse(const std::string& schema_json);

  enum TypeBit : uint8_t {
    kObject = 1, kArray = 2, kString = 4, kNumber = 8, kInteger = 16, kBoolean = 32, kNull = 64,
    kAnyType = 127,
  };
  struct Property {
    std::string encoded;  // canonical JSON encoding of the name, without the quotes
    uint16_t node;
  };
  struct Node {
    uint8_t types = kAnyType;
    std::vector<Property> properties;
    uint64_t required = 0;  // bit i ↔ properties[i]
    bool additional = true;
    uint16_t items = 0;     // node index; only meaningful when has_items
    bool has_items = false;
    uint32_t min_items = 0;
    uint32_t max_items = UINT32_MAX;
  };
  const std::vector<Node>& nodes() const { return nodes_; }

 private:
  std::vector<Node> nodes_;
};

struct JsonConstraintOptions {
  int32_t max_whitespace_run = 8;   // consecutive whitespace bytes
  int32_t max_depth = 32;           // nested objects/arrays
  int32_t max_number_bytes = 32;    // bytes of one number
};

// The vocabulary indexed for fast masking (byte tries); immutable, share it between requests.
class JsonVocab {
 public:
  JsonVocab(std::vector<std::string> pieces, std::vector<int32_t> eos_ids);
  int32_t size() const { return static_cast<int32_t>(pieces_.size()); }
  const std::string& piece(int32_t id) const { return pieces_[static_cast<size_t>(id)]; }
  bool is_eos(int32_t id) const;
  const std::vector<int32_t>& eos_ids() const { return eos_; }

  struct Trie {
    // Node n's children are edges [first_edge[n], first_edge[n+1]); node 0 is the root.
    std::vector<uint32_t> first_edge;
    std::vector<uint8_t> edge_byte;
    std::vector<uint32_t> edge_child;
    // Tokens ending at node n: token_ids[first_token[n] .. first_token[n+1]).
    std::vector<uint32_t> first_token;
    std::vector<int32_t> token_ids;
  };
  // Tokens whose bytes are plain string content (no '"', '\\', control bytes; complete UTF-8
  // sequences): inside a string with nothing pending they are all allowed without simulation.
  const std::vector<int32_t>& plain_tokens() const { return plain_; }
  const Trie& plain_trie() const { return plain_trie_; }
  const Trie& other_trie() const { return other_trie_; }

 private:
  std::vector<std::string> pieces_;
  std::vector<int32_t> eos_;
  std::vector<int32_t> plain_;
  Trie plain_trie_, other_trie_;
};

class JsonConstraint {
 public:
  JsonConstraint(std::shared_ptr<const JsonVocab> vocab, std::shared_ptr<const JsonSchema> schema,
                 JsonConstraintOptions options = {});
  ~JsonConstraint();
  JsonConstraint(const JsonConstraint&) = delete;
  JsonConstraint& operator=(const JsonConstraint&) = delete;

  // Sets logits[id] = -inf for every id < n_vocab that is not allowed now (ids >= vocab size too).
  // Returns the number of allowed ids (0 only after EOS was accepted).
  int32_t mask(float* logits, int32_t n_vocab);
  bool allowed(int32_t token);  // simulates the token's bytes; the state is unchanged
  // Advances by the token's bytes; throws std::invalid_argument if the token is not allowed.
  void accept(int32_t token);
  // True once the output is a complete value (EOS allowed) — or after EOS was accepted.
  bool done() const;
  bool finished() const;  // EOS accepted
  int32_t vocab_size() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ls
