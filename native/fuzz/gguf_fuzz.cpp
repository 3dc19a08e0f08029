// Mutation fuzzer for the GGUF reader, built with ASan/UBSan by scripts/fuzz-gguf.sh.
// Seeds: GGUF files written here (every value type, arrays, tensors of each computable
// type, v2 and v3, several alignments) plus any *.gguf in the --seeds directories.
// Each case is a mutated, truncated or spliced seed in a heap buffer of exactly its size
// (so ASan sees any read past the end); it must parse or throw FormatError. Anything else
// (another exception, a sanitizer report, a crash) fails the run.
#include <dirent.h>
#include <unistd.h>

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "gguf.h"

namespace {

using Bytes = std::vector<uint8_t>;

// ---- A small GGUF writer for the generated seeds -------------------------------------

class SeedWriter {
 public:
  explicit SeedWriter(uint32_t version) {
    put32(0x46554747);
    put32(version);
  }
  void string_kv(const std::string& key, const std::string& value) {
    key_header(key, ls::GgufValueType::STRING);
    str(value);
  }
  template <typename T>
  void number_kv(const std::string& key, ls::GgufValueType type, T value) {
    key_header(key, type);
    put(&value, sizeof value);
  }
  template <typename T>
  void array_kv(const std::string& key, ls::GgufValueType elem, const std::vector<T>& values) {
    key_header(key, ls::GgufValueType::ARRAY);
    put32(static_cast<uint32_t>(elem));
    put64(values.size());
    for (const T& v : values) put(&v, sizeof v);
  }
  void string_array_kv(const std::string& key, const std::vector<std::string>& values) {
    key_header(key, ls::GgufValueType::ARRAY);
    put32(static_cast<uint32_t>(ls::GgufValueType::STRING));
    put64(values.size());
    for (const std::string& v : values) str(v);
  }
  void tensor(const std::string& name, ls::GgmlType type, std::vector<uint64_t> dims) {
    tensors_.push_back({name, type, std::move(dims)});
  }
  // Writes the tensor table and the data section; returns the whole file.
  Bytes finish(uint64_t alignment, std::mt19937_64& rng) {
    Bytes out;
    auto append = [&out](const void* p, size_t n) {
      out.insert(out.end(), static_cast<const uint8_t*>(p), static_cast<const uint8_t*>(p) + n);
    };
    append(body_.data(), 8);  // magic + version
    const uint64_t n_tensors = tensors_.size();
    append(&n_tensors, 8);
    append(&n_kv_, 8);
    append(body_.data() + 8, body_.size() - 8);
    uint64_t offset = 0;
    std::vector<uint64_t> sizes;
    for (const Pending& t : tensors_) {
      const uint64_t name_len = t.name.size();
      append(&name_len, 8);
      append(t.name.data(), t.name.size());
      const uint32_t n_dims = static_cast<uint32_t>(t.dims.size());
      append(&n_dims, 4);
      uint64_t rows = 1;
      for (size_t d = 0; d < t.dims.size(); ++d) {
        append(&t.dims[d], 8);
        if (d > 0) rows *= t.dims[d];
      }
      const uint32_t type = static_cast<uint32_t>(t.type);
      append(&type, 4);
      append(&offset, 8);
      const uint64_t size = ls::row_bytes(t.type, t.dims[0]) * rows;
      sizes.push_back(size);
      offset = (offset + size + alignment - 1) / alignment * alignment;
    }
    if (!tensors_.empty()) {
      out.resize((out.size() + alignment - 1) / alignment * alignment, 0);
      for (size_t i = 0; i < sizes.size(); ++i) {
        for (uint64_t b = 0; b < sizes[i]; ++b) out.push_back(static_cast<uint8_t>(rng()));
        if (i + 1 < sizes.size()) out.resize((out.size() + alignment - 1) / alignment * alignment, 0);
      }
    }
    return out;
  }

 private:
  struct Pending {
    std::string name;
    ls::GgmlType type;
    std::vector<uint64_t> dims;
  };
  Bytes body_;
  uint64_t n_kv_ = 0;
  std::vector<Pending> tensors_;

  void put(const void* p, size_t n) {
    body_.insert(body_.end(), static_cast<const uint8_t*>(p), static_cast<const uint8_t*>(p) + n);
  }
  void put32(uint32_t v) { put(&v, 4); }
  void put64(uint64_t v) { put(&v, 8); }
  void str(const std::string& s) {
    put64(s.size());
    put(s.data(), s.size());
  }
  void key_header(const std::string& key, ls::GgufValueType type) {
    ++n_kv_;
    str(key);
    put32(static_cast<uint32_t>(type));
  }
};

std::vector<Bytes> generated_seeds(std::mt19937_64& rng) {
  using V = ls::GgufValueType;
  using G = ls::GgmlType;
  std::vector<Bytes> seeds;

  // Every value type, short and long arrays, and one tensor of each computable type.
  SeedWriter full(3);
  full.string_kv("general.architecture", "llama");
  full.number_kv("general.alignment", V::U32, uint32_t{32});
  full.number_kv("t.u8", V::U8, uint8_t{200});
  full.number_kv("t.i8", V::I8, int8_t{-5});
  full.number_kv("t.u16", V::U16, uint16_t{60000});
  full.number_kv("t.i16", V::I16, int16_t{-30000});
  full.number_kv("t.u32", V::U32, uint32_t{4000000000u});
  full.number_kv("t.i32", V::I32, int32_t{-2000000000});
  full.number_kv("t.f32", V::F32, 1e-5f);
  full.number_kv("t.bool", V::BOOL, uint8_t{1});
  full.number_kv("t.u64", V::U64, uint64_t{1} << 60);
  full.number_kv("t.i64", V::I64, -(int64_t{1} << 60));
  full.number_kv("t.f64", V::F64, 3.25);
  full.array_kv("t.arr.i32", V::I32, std::vector<int32_t>{1, -2, 3, 0x7fffffff});
  full.array_kv("t.arr.u64", V::U64, std::vector<uint64_t>{1, uint64_t{1} << 40});
  full.array_kv("t.arr.f32", V::F32, std::vector<float>(100, 0.5f));
  full.array_kv("t.arr.bool", V::BOOL, std::vector<uint8_t>{0, 1, 1});
  full.array_kv("t.arr.u8", V::U8, std::vector<uint8_t>{});
  full.string_array_kv("tokenizer.ggml.tokens", {"<unk>", "<s>", "</s>", "hello", "", "\xe2\x96\x81world"});
  full.string_kv("tokenizer.chat_template", "{% for m in messages %}{{ m.content }}\n{% endfor %}");
  full.tensor("f32", G::F32, {8, 2});
  full.tensor("f16", G::F16, {16});
  full.tensor("bf16", G::BF16, {4, 4});
  full.tensor("q8_0", G::Q8_0, {64, 2});
  full.tensor("q4_0", G::Q4_0, {32, 3});
  full.tensor("q4_k", G::Q4_K, {256, 2});
  full.tensor("q6_k", G::Q6_K, {256, 1, 1, 2});
  seeds.push_back(full.finish(32, rng));

  // Version 2 with a 64-byte alignment from the metadata.
  SeedWriter v2(2);
  v2.string_kv("general.architecture", "qwen2");
  v2.number_kv("general.alignment", V::U64, uint64_t{64});
  v2.number_kv("qwen2.block_count", V::U32, uint32_t{1});
  v2.tensor("token_embd.weight", G::Q8_0, {32, 4});
  v2.tensor("output_norm.weight", G::F32, {32});
  v2.tensor("blk.0.ffn_down.weight", G::Q6_K, {256, 3});
  seeds.push_back(v2.finish(64, rng));

  // Vocabulary only: no tensors, no padding at the end.
  SeedWriter vocab(3);
  vocab.string_kv("tokenizer.ggml.model", "gpt2");
  std::vector<std::string> tokens;
  std::vector<float> scores;
  for (int i = 0; i < 40; ++i) {
    tokens.push_back("tok" + std::to_string(i));
    scores.push_back(-static_cast<float>(i));
  }
  vocab.string_array_kv("tokenizer.ggml.tokens", tokens);
  vocab.array_kv("tokenizer.ggml.scores", V::F32, scores);
  vocab.string_array_kv("tokenizer.ggml.merges", {"t o", "to k"});
  seeds.push_back(vocab.finish(32, rng));

  // Alignment 1: tensors packed back to back.
  SeedWriter packed(3);
  packed.number_kv("general.alignment", V::U32, uint32_t{1});
  packed.tensor("a", G::F16, {3});
  packed.tensor("b", G::Q4_0, {32});
  packed.tensor("c", G::BF16, {1, 1, 5});
  seeds.push_back(packed.finish(1, rng));
  return seeds;
}

// ---- Mutations ---------------------------------------------------------------------

const uint64_t kInteresting[] = {
    0, 1, 2, 3, 4, 5, 7, 8, 9, 12, 13, 15, 16, 31, 32, 33, 63, 64, 255, 256, 1000, 65535, 65536,
    0x7fffffff, 0x80000000, 0xffffffff, uint64_t{1} << 32, uint64_t{1} << 40, uint64_t{1} << 53,
    0x7fffffffffffffff, 0x8000000000000000, 0xfffffffffffffffe, 0xffffffffffffffff,
};

class Mutator {
 public:
  Mutator(const std::vector<Bytes>& seeds, uint64_t seed) : seeds_(seeds), rng_(seed) {}

  Bytes next() {
    Bytes b = seeds_[pick(seeds_.size())];
    const int rounds = pick(2) ? 1 : 2 + static_cast<int>(pick(3));
    for (int r = 0; r < rounds; ++r) mutate(b);
    return b;
  }

 private:
  const std::vector<Bytes>& seeds_;
  std::mt19937_64 rng_;

  uint64_t pick(uint64_t n) { return n == 0 ? 0 : rng_() % n; }

  // Headers, counts and the first entries sit at the front, so favour it.
  size_t offset_in(const Bytes& b) {
    if (b.empty()) return 0;
    return pick(2) == 0 ? pick(std::min<size_t>(b.size(), 512)) : pick(b.size());
  }

  void mutate(Bytes& b) {
    switch (pick(8)) {
      case 0:  // flip a few bits
        for (uint64_t n = 1 + pick(8); n > 0 && !b.empty(); --n) b[offset_in(b)] ^= uint8_t(1u << pick(8));
        break;
      case 1: {  // overwrite a byte with an edge value
        static const uint8_t kBytes[] = {0x00, 0x01, 0x7f, 0x80, 0xfe, 0xff};
        if (!b.empty()) b[offset_in(b)] = kBytes[pick(sizeof kBytes)];
        break;
      }
      case 2:
      case 3: {  // overwrite a 4- or 8-byte field with an interesting or size-related number
        const size_t width = pick(2) ? 8 : 4;
        if (b.size() < width) break;
        uint64_t v = kInteresting[pick(std::size(kInteresting))];
        if (pick(4) == 0) v = b.size() + pick(3) - 1;
        if (pick(8) == 0) v = rng_();
        const size_t at = std::min(offset_in(b), b.size() - width);
        std::memcpy(b.data() + at, &v, width);
        break;
      }
      case 4:  // truncate
        b.resize(pick(b.size() + 1));
        break;
      case 5: {  // splice: our prefix, another seed's suffix
        const Bytes& other = seeds_[pick(seeds_.size())];
        const size_t cut = pick(b.size() + 1);
        const size_t from = pick(other.size() + 1);
        b.resize(cut);
        b.insert(b.end(), other.begin() + from, other.end());
        break;
      }
      case 6: {  // insert or delete a few bytes (shifts every later field)
        const size_t at = offset_in(b);
        const size_t n = 1 + pick(16);
        if (pick(2) && at + n <= b.size()) {
          b.erase(b.begin() + at, b.begin() + at + n);
        } else {
          for (size_t i = 0; i < n; ++i) b.insert(b.begin() + std::min(at, b.size()), static_cast<uint8_t>(rng_()));
        }
        break;
      }
      case 7: {  // duplicate a chunk in place (repeats keys, entries)
        if (b.size() < 2) break;
        const size_t at = pick(b.size());
        const size_t n = 1 + pick(std::min<size_t>(64, b.size() - at));
        Bytes chunk(b.begin() + at, b.begin() + at + std::min(n, b.size() - at));
        b.insert(b.begin() + at, chunk.begin(), chunk.end());
        break;
      }
    }
  }
};

// Touches everything a consumer would: every getter on every key, every tensor's first and last byte.
uint64_t exercise(const ls::GgufFile& f) {
  uint64_t sink = f.version() + f.alignment() + f.data_offset();
  for (const auto& [key, v] : f.metadata()) {
    auto swallow = [&sink](auto&& call) {
      try {
        call();
      } catch (const ls::FormatError&) {
        ++sink;  // a wrong type is a FormatError, which is fine
      }
    };
    swallow([&] { sink += f.get_u64(key); });
    swallow([&] { sink += static_cast<uint64_t>(f.get_i64(key)); });
    swallow([&] { sink += static_cast<uint64_t>(f.get_f64(key) != 0); });
    swallow([&] { sink += f.get_bool(key); });
    swallow([&] { sink += f.get_string(key).size(); });
    swallow([&] { sink += f.get_string_array(key).size(); });
    swallow([&] { sink += f.get_f32_array(key).size(); });
    swallow([&] { sink += f.get_i32_array(key).size(); });
    if (v.type == ls::GgufValueType::ARRAY && v.count > 0) {
      sink += ls::array_element(v, 0).u + ls::array_element(v, v.count - 1).u;
    }
  }
  for (const ls::GgufTensor& t : f.tensors()) {
    if (f.tensor(t.name) != &t) {
      std::fprintf(stderr, "tensor lookup mismatch for %s\n", t.name.c_str());
      std::abort();
    }
    sink += t.data[0] + t.data[t.nbytes - 1];
  }
  return sink;
}

Bytes read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void add_dir_seeds(const std::string& dir, std::vector<Bytes>& seeds) {
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) {
    std::fprintf(stderr, "note: seed directory %s not readable, skipped\n", dir.c_str());
    return;
  }
  std::vector<std::string> names;
  while (dirent* e = readdir(d)) {
    const std::string name = e->d_name;
    if (name.size() > 5 && name.compare(name.size() - 5, 5, ".gguf") == 0) names.push_back(name);
  }
  closedir(d);
  std::sort(names.begin(), names.end());  // a fixed seed gives the same run
  for (const std::string& n : names) seeds.push_back(read_file(dir + "/" + n));
}

[[noreturn]] void usage() {
  std::fprintf(stderr, "usage: gguf_fuzz [--cases N] [--seed S] [--seeds DIR]... [--verbose]\n");
  std::exit(2);
}

}  // namespace

int main(int argc, char** argv) {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);  // progress survives a sanitizer abort
  uint64_t cases = 10000, seed = 1;
  std::vector<std::string> dirs;
  bool verbose = false;  // print every rejection message
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--verbose") {
      verbose = true;
      continue;
    }
    if (i + 1 >= argc) usage();
    if (a == "--cases") cases = std::strtoull(argv[++i], nullptr, 10);
    else if (a == "--seed") seed = std::strtoull(argv[++i], nullptr, 10);
    else if (a == "--seeds") dirs.push_back(argv[++i]);
    else usage();
  }

  std::mt19937_64 seed_rng(seed);
  std::vector<Bytes> seeds = generated_seeds(seed_rng);
  const size_t n_generated = seeds.size();
  for (const std::string& d : dirs) add_dir_seeds(d, seeds);
  std::printf("seeds: %zu generated, %zu from files\n", n_generated, seeds.size() - n_generated);

  // Every unmutated seed must parse.
  for (size_t i = 0; i < seeds.size(); ++i) {
    try {
      exercise(*ls::GgufFile::open_memory(seeds[i].data(), seeds[i].size(), "seed" + std::to_string(i)));
    } catch (const ls::FormatError& e) {
      std::fprintf(stderr, "FAIL: seed %zu does not parse: %s\n", i, e.what());
      return 1;
    }
  }

  // Every so often a case goes through the mmap path (open by file name) as well.
  const std::string tmp_path = std::string(std::getenv("TMPDIR") ? std::getenv("TMPDIR") : "/tmp") +
                               "/gguf_fuzz_" + std::to_string(getpid()) + ".gguf";
  Mutator mutator(seeds, seed);
  uint64_t parsed = 0, rejected = 0, sink = 0;
  for (uint64_t c = 0; c < cases; ++c) {
    const Bytes image = mutator.next();
    // An exact-size heap copy, so a read one byte past the end is an ASan report.
    std::unique_ptr<uint8_t[]> exact(new uint8_t[image.size() ? image.size() : 1]);
    std::memcpy(exact.get(), image.data(), image.size());
    const bool via_file = c % 100 == 0;
    try {
      std::unique_ptr<ls::GgufFile> f;
      if (via_file) {
        std::ofstream(tmp_path, std::ios::binary).write(reinterpret_cast<const char*>(image.data()), image.size());
        f = ls::GgufFile::open(tmp_path);
      } else {
        f = ls::GgufFile::open_memory(exact.get(), image.size(), "case" + std::to_string(c));
      }
      sink += exercise(*f);
      ++parsed;
    } catch (const ls::FormatError& e) {
      if (verbose) std::printf("%s\n", e.what());
      ++rejected;
    } catch (const std::exception& e) {
      std::fprintf(stderr, "FAIL: case %" PRIu64 " (seed %" PRIu64 "): unexpected %s\n", c, seed, e.what());
      std::remove(tmp_path.c_str());
      return 1;
    }
  }
  std::remove(tmp_path.c_str());
  std::printf("cases run: %" PRIu64 ", parsed OK: %" PRIu64 ", rejected: %" PRIu64 ", crashes: 0 (checksum %" PRIu64 ")\n",
              cases, parsed, rejected, sink % 1000);
  return 0;
}
