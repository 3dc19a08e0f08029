// Fuzzer for the tokenizers (native/src/vocab*.cpp), meant to run under ASan + UBSan
// (npm run fuzz:vocab). For each vocabulary GGUF given:
//  - tokenizes random byte strings (invalid UTF-8, whitespace runs, special-token texts) with
//    every flag combination, checks that ids are in range and detokenizes them again;
//  - loads copies with random bytes overwritten: each must load or throw FormatError, and what
//    loads must tokenize without crashing.
// Usage: vocab_fuzz [--cases N] [--seed S] file.gguf...
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "gguf.h"
#include "vocab.h"

namespace {

std::vector<uint8_t> read_file(const char* path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw std::runtime_error(std::string("cannot read ") + path);
  return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

std::string random_text(std::mt19937& rng) {
  static const char* const kAtoms[] = {" ", "  ", "\n", "\r\n", "\t", "'s", "'LL", "<s>", "</s>", "<|im_start|>",
                                       "<|endoftext|>", "▁", "é", "中", "🦙", "\xE2\x80", "\xFF", "123", "a", "Hello"};
  std::string s;
  const int n = static_cast<int>(rng() % 48);
  for (int i = 0; i < n; ++i) {
    if (rng() % 3 == 0) {
      s.push_back(static_cast<char>(rng() % 256));
    } else {
      s += kAtoms[rng() % (sizeof kAtoms / sizeof kAtoms[0])];
    }
  }
  return s;
}

// Tokenizes and detokenizes; a missing byte/BOS/EOS token may be reported as runtime_error.
void exercise(const ls::Vocab& vocab, const std::string& text, bool add_special, bool parse_special) {
  std::vector<int32_t> ids;
  try {
    ids = vocab.tokenize(text, add_special, parse_special);
  } catch (const std::runtime_error&) {
    return;
  }
  for (int32_t id : ids) {
    if (id < 0 || id >= vocab.n_tokens()) {
      std::fprintf(stderr, "token id %d out of range\n", id);
      std::abort();
    }
    (void)vocab.token_to_piece(id, parse_special);
  }
  (void)vocab.detokenize(ids, add_special, parse_special);
}

}  // namespace

int main(int argc, char** argv) {
  int cases = 2000;
  unsigned seed = 1;
  std::vector<const char*> files;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--cases") && i + 1 < argc) {
      cases = std::atoi(argv[++i]);
    } else if (!std::strcmp(argv[i], "--seed") && i + 1 < argc) {
      seed = static_cast<unsigned>(std::atoi(argv[++i]));
    } else {
      files.push_back(argv[i]);
    }
  }
  if (files.empty()) {
    std::fprintf(stderr, "usage: vocab_fuzz [--cases N] [--seed S] file.gguf...\n");
    return 2;
  }
  std::mt19937 rng(seed);
  for (const char* path : files) {
    const std::vector<uint8_t> original = read_file(path);
    {
      auto file = ls::GgufFile::open_memory(original.data(), original.size(), path);
      const ls::Vocab vocab = ls::Vocab::load(*file);
      for (int i = 0; i < cases; ++i) exercise(vocab, random_text(rng), rng() % 2, rng() % 2);
    }
    int loaded = 0, refused = 0;
    for (int i = 0; i < cases / 10; ++i) {
      std::vector<uint8_t> bytes = original;
      const int flips = 1 + static_cast<int>(rng() % 8);
      for (int k = 0; k < flips; ++k) bytes[rng() % bytes.size()] = static_cast<uint8_t>(rng());
      try {
        auto file = ls::GgufFile::open_memory(bytes.data(), bytes.size(), "mutant");
        const ls::Vocab vocab = ls::Vocab::load(*file);
        ++loaded;
        for (int j = 0; j < 10; ++j) exercise(vocab, random_text(rng), true, true);
      } catch (const ls::FormatError&) {
        ++refused;
      }
    }
    std::printf("%s: %d random texts; %d mutants loaded, %d refused with FormatError\n", path, cases, loaded, refused);
  }
  return 0;
}
