// GGUF v2/v3 reader over a read-only mmap. Every count, size and offset is checked
// against the file before use; any problem is a FormatError whose message names it.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <vector>

namespace ls {

struct FormatError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// ggml tensor type ids as stored in GGUF.
enum class GgmlType : uint32_t {
  F32 = 0, F16 = 1, Q4_0 = 2, Q4_1 = 3, Q5_0 = 6, Q5_1 = 7, Q8_0 = 8, Q8_1 = 9,
  Q2_K = 10, Q3_K = 11, Q4_K = 12, Q5_K = 13, Q6_K = 14, Q8_K = 15, BF16 = 30,
};

struct TypeTraits {
  const char* name;
  uint32_t block_elems;  // elements per block (1 for F32/F16/BF16)
  uint32_t block_bytes;  // bytes per block
  bool computable;       // one of the 7 types the engine can run
};
// nullptr for an id ggml does not define.
const TypeTraits* type_traits(uint32_t type_id);
// Bytes of a row of n elements; throws FormatError when n is not a whole number of blocks.
uint64_t row_bytes(GgmlType type, uint64_t n);

enum class GgufValueType : uint32_t {
  U8 = 0, I8 = 1, U16 = 2, I16 = 3, U32 = 4, I32 = 5, F32 = 6, BOOL = 7,
  STRING = 8, ARRAY = 9, U64 = 10, I64 = 11, F64 = 12,
};
const char* value_type_name(GgufValueType t);

struct GgufValue {
  GgufValueType type = GgufValueType::U8;
  // Scalars: integers in i (signed) / u (unsigned), floats in f, bools in u.
  // (The reader also puts an integer in the other of i/u when it fits, and in f.)
  int64_t i = 0;
  uint64_t u = 0;
  double f = 0;
  std::string str;                // STRING
  GgufValueType elem_type = GgufValueType::U8;  // ARRAY element type (never ARRAY: nested arrays are refused)
  uint64_t count = 0;             // ARRAY length
  std::vector<std::string> strs;  // ARRAY of STRING
  const uint8_t* raw = nullptr;   // ARRAY of numbers/bools: little-endian elements inside the mapping
};

// Element i (< arr.count) of an ARRAY value as a scalar GgufValue, decoded like a scalar value.
GgufValue array_element(const GgufValue& arr, uint64_t i);

struct GgufTensor {
  std::string name;
  GgmlType type;
  uint32_t n_dims;
  uint64_t ne[4];        // ne[0] is the contiguous (row) dimension; unused dims are 1
  uint64_t n_elements;
  uint64_t offset;       // from the start of the data section
  uint64_t nbytes;
  const uint8_t* data;   // inside the mapping, bounds already checked
};

class GgufFile {
 public:
  // Maps and validates the whole header, metadata and tensor table. Throws FormatError.
  static std::unique_ptr<GgufFile> open(const std::string& path);
  // Parses a GGUF image already in memory (the fuzzer's entry point). The buffer is not
  // copied and must outlive the returned file; `name` stands for the path in messages.
  static std::unique_ptr<GgufFile> open_memory(const uint8_t* data, size_t size, const std::string& name);
  ~GgufFile();
  GgufFile(const GgufFile&) = delete;
  GgufFile& operator=(const GgufFile&) = delete;

  const std::string& path() const { return path_; }
  uint32_t version() const { return version_; }
  uint64_t file_size() const { return size_; }
  uint64_t alignment() const { return alignment_; }
  uint64_t data_offset() const { return data_offset_; }

  const std::vector<std::pair<std::string, GgufValue>>& metadata() const { return kv_; }
  const GgufValue* find(const std::string& key) const;
  bool has(const std::string& key) const { return find(key) != nullptr; }

  // Typed getters: a missing key or a wrong type throws FormatError naming the key.
  // Integer getters accept any integer type whose value fits; float getters accept ints too.
  std::string get_string(const std::string& key) const;
  uint64_t get_u64(const std::string& key) const;
  int64_t get_i64(const std::string& key) const;
  double get_f64(const std::string& key) const;
  bool get_bool(const std::string& key) const;
  std::vector<std::string> get_string_array(const std::string& key) const;
  std::vector<float> get_f32_array(const std::string& key) const;
  std::vector<int32_t> get_i32_array(const std::string& key) const;  // any integer element type that fits
  // Optional forms: the default when the key is absent (a wrong type still throws).
  std::string get_string_or(const std::string& key, const std::string& dflt) const;
  uint64_t get_u64_or(const std::string& key, uint64_t dflt) const;
  double get_f64_or(const std::string& key, double dflt) const;
  bool get_bool_or(const std::string& key, bool dflt) const;

  const std::vector<GgufTensor>& tensors() const { return tensors_; }
  const GgufTensor* tensor(const std::string& name) const;  // nullptr when absent

 private:
  GgufFile() = default;
  std::string path_;
  uint32_t version_ = 0;
  const uint8_t* base_ = nullptr;
  uint64_t size_ = 0;
  bool owns_mapping_ = false;  // base_ is our mmap (unmapped in the destructor)
  uint64_t alignment_ = 32;
  uint64_t data_offset_ = 0;
  std::vector<std::pair<std::string, GgufValue>> kv_;
  std::unordered_map<std::string, size_t> kv_index_;
  std::vector<GgufTensor> tensors_;
  std::unordered_map<std::string, size_t> tensor_index_;
  friend class GgufParser;
};

}  // namespace ls
