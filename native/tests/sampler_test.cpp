// Standalone memory-safety test for sampler.cpp and json_constraint.cpp, meant for valgrind and
// sanitizers (the behaviour itself is tested from JS in test/engine/). Build and run:
//   g++ -std=c++17 -O1 -g -fsanitize=address,undefined -Inative/src native/tests/sampler_test.cpp \
//       native/src/sampler.cpp native/src/json_constraint.cpp -o /tmp/sampler_test && /tmp/sampler_test
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "json_constraint.h"
#include "sampler.h"

namespace {

int failures = 0;
void check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "FAIL: %s\n", what);
    ++failures;
  }
}

std::vector<std::string> toy_pieces() {
  std::vector<std::string> p;
  for (const char c : std::string("{}[],:\"\\ \n0123456789abcdefnrtuls.-+eE"))
    p.push_back(std::string(1, c));
  for (const char* s : {"{\"", "\":", "\",", "]}", "true", "null", "\"title\"", "\"items\"", "\\u00e9", "\xc3", "\xa9", "\xff", ""})
    p.push_back(s);
  p.push_back("</s>");
  return p;
}

// Random walks through allowed tokens: a reachable state always allows something, and mask()
// agrees with allowed() on every token.
void walk_constraint(const std::shared_ptr<const ls::JsonVocab>& vocab, const std::string& schema, uint32_t seed) {
  ls::JsonConstraint c(vocab, schema.empty() ? ls::JsonSchema::any() : ls::JsonSchema::parse(schema));
  std::mt19937 rng(seed);
  std::vector<float> logits(static_cast<size_t>(vocab->size()) + 2);
  const int32_t eos = vocab->size() - 1;
  for (int step = 0; step < 400; ++step) {
    std::fill(logits.begin(), logits.end(), 0.0f);
    const int32_t n = c.mask(logits.data(), static_cast<int32_t>(logits.size()));
    check(n > 0, "a reachable state allows some token");
    std::vector<int32_t> allowed;
    for (int32_t id = 0; id < static_cast<int32_t>(logits.size()); ++id) {
      const bool in_mask = logits[static_cast<size_t>(id)] == 0.0f;
      check(in_mask == c.allowed(id), "mask() and allowed() agree");
      if (in_mask) allowed.push_back(id);
    }
    if (allowed.empty()) return;
    const bool can_end = c.allowed(eos);
    const int32_t pick = can_end && step > 30 ? eos : allowed[rng() % allowed.size()];
    c.accept(pick);
    if (pick == eos) {
      check(c.finished() && c.done(), "EOS finishes");
      return;
    }
  }
}

void sampler_checks() {
  ls::SamplerParams p;
  p.seed = 7;
  ls::Sampler s(p);
  std::vector<float> logits(1000);
  for (size_t i = 0; i < logits.size(); ++i) logits[i] = std::sin(static_cast<float>(i));
  for (int k = 0; k < 200; ++k) {
    std::vector<float> l = logits;
    const int32_t id = s.sample(l.data(), static_cast<int32_t>(l.size()));
    check(id >= 0 && id < 1000, "id in range");
    s.accept(id);
  }
  for (float top_p : {0.1f, 0.9f, 1.0f})
    for (int32_t top_k : {0, 1, 5, 5000}) {
      ls::SamplerParams q;
      q.top_p = top_p;
      q.top_k = top_k;
      q.repeat_penalty = 1.3f;
      ls::Sampler t(q);
      t.accept(3);
      t.accept(-5);  // ids outside the vocabulary are ignored by the penalties
      std::vector<float> l = logits;
      l[0] = -std::numeric_limits<float>::infinity();
      const int32_t id = t.sample(l.data(), static_cast<int32_t>(l.size()));
      check(id > 0 && id < 1000, "masked token never drawn");
    }
  ls::SamplerParams bad;
  bad.top_p = std::nanf("");
  bool threw = false;
  try {
    ls::Sampler t(bad);
  } catch (const std::invalid_argument&) {
    threw = true;
  }
  check(threw, "NaN top_p is refused");
}

// Truncations and byte flips of a valid schema: each either parses or throws invalid_argument.
void hostile_schemas() {
  const std::string good =
      R"({"type":"object","required":["a"],"additionalProperties":false,"properties":{"a":{"type":["string","null"]},)"
      R"("b":{"type":"array","items":{"type":"integer"},"minItems":1,"maxItems":4}}})";
  std::mt19937 rng(1);
  for (size_t cut = 0; cut <= good.size(); ++cut) {
    for (int flip = 0; flip < 4; ++flip) {
      std::string s = good.substr(0, cut);
      if (flip > 0 && !s.empty()) s[rng() % s.size()] = static_cast<char>(rng() & 0xFF);
      try {
        ls::JsonSchema::parse(s);
      } catch (const std::invalid_argument&) {
      }
    }
  }
  std::string deep;
  for (int i = 0; i < 100000; ++i) deep += "{\"items\":";
  bool threw = false;
  try {
    ls::JsonSchema::parse(deep);
  } catch (const std::invalid_argument&) {
    threw = true;
  }
  check(threw, "deep schema nesting is refused, not a stack overflow");
}

}  // namespace

int main() {
  auto vocab = std::make_shared<const ls::JsonVocab>(toy_pieces(), std::vector<int32_t>{static_cast<int32_t>(toy_pieces().size()) - 1});
  const std::string schema =
      R"({"type":"object","required":["title","items"],"properties":{"title":{"type":"string"},)"
      R"("items":{"type":"array","maxItems":2,"items":{"type":["number","boolean"]}}}})";
  for (uint32_t seed = 1; seed <= 40; ++seed) {
    walk_constraint(vocab, "", seed);
    walk_constraint(vocab, schema, seed);
  }
  sampler_checks();
  hostile_schemas();
  std::printf("%s (%d failures)\n", failures ? "FAILED" : "ok", failures);
  return failures ? 1 : 0;
}
