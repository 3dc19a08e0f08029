// GGUF reader. The file is hostile: every read goes through a bounds-checked cursor, every
// count is weighed against the bytes left before anything is sized from it, and every
// product of sizes is overflow-checked.
#include "gguf.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <limits>

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the GGUF reader assumes a little-endian host"
#endif

namespace ls {

namespace {

constexpr uint32_t kMagic = 0x46554747;  // "GGUF" read as a little-endian u32
constexpr uint64_t kMaxKeyLength = 65535;
constexpr uint64_t kMaxTensorNameLength = 63;  // ggml's GGML_MAX_NAME (64) includes the NUL
constexpr uint64_t kMaxAlignment = uint64_t(1) << 20;
// The least a metadata entry can occupy: key length, a 1-byte key, value type, a 1-byte value.
constexpr uint64_t kMinKvBytes = 8 + 1 + 4 + 1;
// The least a tensor-table entry can occupy: name length, 1-byte name, n_dims, one dim, type, offset.
constexpr uint64_t kMinTensorInfoBytes = 8 + 1 + 4 + 8 + 4 + 8;

std::string quoted(const std::string& s) {
  // Keys and names come from the file: keep messages printable and bounded.
  std::string out = "'";
  for (size_t i = 0; i < s.size() && i < 80; ++i) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    out += (c >= 0x20 && c < 0x7f) ? static_cast<char>(c) : '?';
  }
  if (s.size() > 80) out += "...";
  return out + "'";
}

bool mul_overflows(uint64_t a, uint64_t b, uint64_t* out) { return __builtin_mul_overflow(a, b, out); }

size_t fixed_value_size(GgufValueType t) {
  switch (t) {
    case GgufValueType::U8: case GgufValueType::I8: case GgufValueType::BOOL: return 1;
    case GgufValueType::U16: case GgufValueType::I16: return 2;
    case GgufValueType::U32: case GgufValueType::I32: case GgufValueType::F32: return 4;
    case GgufValueType::U64: case GgufValueType::I64: case GgufValueType::F64: return 8;
    case GgufValueType::STRING: case GgufValueType::ARRAY: return 0;
  }
  return 0;
}

bool is_integer(GgufValueType t) {
  switch (t) {
    case GgufValueType::U8: case GgufValueType::I8: case GgufValueType::U16: case GgufValueType::I16:
    case GgufValueType::U32: case GgufValueType::I32: case GgufValueType::U64: case GgufValueType::I64:
      return true;
    default:
      return false;
  }
}

bool is_signed(GgufValueType t) {
  return t == GgufValueType::I8 || t == GgufValueType::I16 || t == GgufValueType::I32 || t == GgufValueType::I64;
}

// Decodes one little-endian number of type t at p into the scalar fields of v:
// integers into i and/or u (each when representable) and f; floats into f; bools into u and i.
void decode_number(GgufValueType t, const uint8_t* p, GgufValue& v) {
  auto load = [p](auto x) { std::memcpy(&x, p, sizeof x); return x; };
  switch (t) {
    case GgufValueType::U8: v.u = load(uint8_t{}); break;
    case GgufValueType::U16: v.u = load(uint16_t{}); break;
    case GgufValueType::U32: v.u = load(uint32_t{}); break;
    case GgufValueType::U64: v.u = load(uint64_t{}); break;
    case GgufValueType::BOOL: v.u = load(uint8_t{}) != 0; break;
    case GgufValueType::I8: v.i = load(int8_t{}); break;
    case GgufValueType::I16: v.i = load(int16_t{}); break;
    case GgufValueType::I32: v.i = load(int32_t{}); break;
    case GgufValueType::I64: v.i = load(int64_t{}); break;
    case GgufValueType::F32: v.f = load(float{}); return;
    case GgufValueType::F64: v.f = load(double{}); return;
    case GgufValueType::STRING: case GgufValueType::ARRAY: return;
  }
  if (is_signed(t)) {
    if (v.i >= 0) v.u = static_cast<uint64_t>(v.i);
    v.f = static_cast<double>(v.i);
  } else {
    if (v.u <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) v.i = static_cast<int64_t>(v.u);
    v.f = static_cast<double>(v.u);
  }
}

}  // namespace

const char* value_type_name(GgufValueType t) {
  switch (t) {
    case GgufValueType::U8: return "u8";
    case GgufValueType::I8: return "i8";
    case GgufValueType::U16: return "u16";
    case GgufValueType::I16: return "i16";
    case GgufValueType::U32: return "u32";
    case GgufValueType::I32: return "i32";
    case GgufValueType::F32: return "f32";
    case GgufValueType::BOOL: return "bool";
    case GgufValueType::STRING: return "string";
    case GgufValueType::ARRAY: return "array";
    case GgufValueType::U64: return "u64";
    case GgufValueType::I64: return "i64";
    case GgufValueType::F64: return "f64";
  }
  return "unknown";
}

// Walks the image front to back, filling a GgufFile. Friend of GgufFile.
class GgufParser {
 public:
  GgufParser(GgufFile& f) : f_(f), end_(f.size_) {}

  void parse() {
    if (end_ < 4) fail("file is too small to be GGUF (" + std::to_string(end_) + " bytes)");
    const uint32_t magic = u32("magic");
    if (magic != kMagic) fail("not a GGUF file (bad magic bytes)");
    const uint32_t version = u32("version");
    if (version == 1) fail("GGUF version 1 is not supported (only versions 2 and 3)");
    if (version != 2 && version != 3) {
      if (version == 0x02000000 || version == 0x03000000) fail("big-endian GGUF is not supported");
      fail("unsupported GGUF version " + std::to_string(version) + " (only versions 2 and 3)");
    }
    f_.version_ = version;
    const uint64_t n_tensors = u64("tensor count");
    const uint64_t n_kv = u64("metadata count");
    if (n_kv > left() / kMinKvBytes) {
      fail("metadata count " + std::to_string(n_kv) + " is more than the " + std::to_string(left()) +
           " bytes left could hold");
    }
    if (n_tensors > left() / kMinTensorInfoBytes) {
      fail("tensor count " + std::to_string(n_tensors) + " is more than the " + std::to_string(left()) +
           " bytes left could hold");
    }
    // No reserve from the counts: a forged count within the file size could still ask for
    // many times the file's size in memory. The vectors grow only as entries actually parse.
    for (uint64_t k = 0; k < n_kv; ++k) read_kv(k);
    apply_alignment();

    if (n_tensors > left() / kMinTensorInfoBytes) {
      fail("tensor count " + std::to_string(n_tensors) + " is more than the " + std::to_string(left()) +
           " bytes left after the metadata could hold");
    }
    for (uint64_t t = 0; t < n_tensors; ++t) read_tensor_info(t);

    // The data section starts at the next multiple of the alignment. A file without tensors
    // may end before it (vocab-only files need no padding).
    const uint64_t a = f_.alignment_;
    f_.data_offset_ = (pos_ + a - 1) / a * a;  // pos_ <= file size < 2^63 and a <= 2^20: no overflow
    place_tensors();
  }

 private:
  GgufFile& f_;
  uint64_t pos_ = 0;
  const uint64_t end_;
  std::string context_;  // what is being read, for messages ("key 'x'", "tensor 'y'")

  [[noreturn]] void fail(const std::string& what) const {
    throw FormatError(f_.path_ + ": " + (context_.empty() ? "" : context_ + ": ") + what);
  }

  uint64_t left() const { return end_ - pos_; }

  // Returns a pointer to n bytes at the cursor and advances past them.
  const uint8_t* take(uint64_t n, const char* what) {
    if (n > left()) {
      fail(std::string("truncated: ") + what + " needs " + std::to_string(n) + " bytes at offset " +
           std::to_string(pos_) + " but the file has " + std::to_string(end_) + " bytes");
    }
    const uint8_t* p = f_.base_ + pos_;
    pos_ += n;
    return p;
  }

  uint32_t u32(const char* what) {
    uint32_t v;
    std::memcpy(&v, take(4, what), 4);
    return v;
  }
  uint64_t u64(const char* what) {
    uint64_t v;
    std::memcpy(&v, take(8, what), 8);
    return v;
  }

  std::string str(const char* what, uint64_t max_len = std::numeric_limits<uint64_t>::max()) {
    const uint64_t len = u64(what);
    if (len > max_len) fail(std::string(what) + " is " + std::to_string(len) + " bytes (limit " + std::to_string(max_len) + ")");
    if (len > left()) {
      fail(std::string(what) + " length " + std::to_string(len) + " at offset " + std::to_string(pos_ - 8) +
           " runs past the end of the file (" + std::to_string(end_) + " bytes)");
    }
    const uint8_t* p = take(len, what);
    return std::string(reinterpret_cast<const char*>(p), len);
  }

  GgufValueType value_type(const char* what) {
    const uint32_t t = u32(what);
    if (t > static_cast<uint32_t>(GgufValueType::F64)) fail("unknown value type " + std::to_string(t));
    return static_cast<GgufValueType>(t);
  }

  void read_kv(uint64_t index) {
    context_ = "metadata entry " + std::to_string(index);
    std::string key = str("key", kMaxKeyLength);
    if (key.empty()) fail("empty key");
    context_ = "key " + quoted(key);
    if (f_.kv_index_.count(key)) fail("duplicate key");
    GgufValue v;
    v.type = value_type("value type");
    if (v.type == GgufValueType::STRING) {
      v.str = str("string value");
    } else if (v.type == GgufValueType::ARRAY) {
      read_array(v);
    } else {
      decode_number(v.type, take(fixed_value_size(v.type), "value"), v);
    }
    f_.kv_index_.emplace(key, f_.kv_.size());
    f_.kv_.emplace_back(std::move(key), std::move(v));
    context_.clear();
  }

  void read_array(GgufValue& v) {
    v.elem_type = value_type("array element type");
    if (v.elem_type == GgufValueType::ARRAY) fail("nested arrays are not supported");
    v.count = u64("array length");
    if (v.elem_type == GgufValueType::STRING) {
      // Every string has at least its 8-byte length, so the count is bounded by the bytes left.
      if (v.count > left() / 8) {
        fail("array of " + std::to_string(v.count) + " strings is more than the " + std::to_string(left()) +
             " bytes left could hold");
      }
      for (uint64_t i = 0; i < v.count; ++i) v.strs.push_back(str("array string"));
      return;
    }
    const size_t elem = fixed_value_size(v.elem_type);
    uint64_t bytes;
    if (mul_overflows(v.count, elem, &bytes) || bytes > left()) {
      fail("array of " + std::to_string(v.count) + " " + value_type_name(v.elem_type) + " values at offset " +
           std::to_string(pos_) + " runs past the end of the file (" + std::to_string(end_) + " bytes)");
    }
    v.raw = take(bytes, "array");
  }

  void apply_alignment() {
    const GgufValue* a = f_.find("general.alignment");
    if (a == nullptr) return;
    context_ = "key 'general.alignment'";
    if (!is_integer(a->type)) fail(std::string("must be an integer, not ") + value_type_name(a->type));
    if (is_signed(a->type) && a->i < 0) fail("must be positive, not " + std::to_string(a->i));
    if (a->u == 0 || (a->u & (a->u - 1)) != 0 || a->u > kMaxAlignment) {
      fail("alignment " + std::to_string(a->u) + " is not a power of two between 1 and " + std::to_string(kMaxAlignment));
    }
    f_.alignment_ = a->u;
    context_.clear();
  }

  void read_tensor_info(uint64_t index) {
    context_ = "tensor " + std::to_string(index);
    GgufTensor t{};
    t.name = str("tensor name", kMaxTensorNameLength);
    if (t.name.empty()) fail("empty tensor name");
    context_ = "tensor " + quoted(t.name);
    if (f_.tensor_index_.count(t.name)) fail("duplicate tensor name");
    t.n_dims = u32("dimension count");
    if (t.n_dims == 0 || t.n_dims > 4) fail("has " + std::to_string(t.n_dims) + " dimensions (must be 1 to 4)");
    t.n_elements = 1;
    for (uint32_t d = 0; d < 4; ++d) {
      t.ne[d] = d < t.n_dims ? u64("dimension") : 1;
      if (t.ne[d] == 0) fail("dimension " + std::to_string(d) + " is 0");
      // ggml keeps sizes in int64: the element count must fit there.
      if (mul_overflows(t.n_elements, t.ne[d], &t.n_elements) ||
          t.n_elements > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
        fail("element count overflows 64 bits");
      }
    }
    const uint32_t type_id = u32("tensor type");
    const TypeTraits* traits = type_traits(type_id);
    if (traits == nullptr) fail("unknown tensor type id " + std::to_string(type_id));
    t.type = static_cast<GgmlType>(type_id);
    if (t.ne[0] % traits->block_elems != 0) {
      fail("row length " + std::to_string(t.ne[0]) + " is not a whole number of " + traits->name + " blocks (" +
           std::to_string(traits->block_elems) + " elements each)");
    }
    const uint64_t row = row_bytes(t.type, t.ne[0]);
    if (mul_overflows(row, t.n_elements / t.ne[0], &t.nbytes)) fail("byte size overflows 64 bits");
    t.offset = u64("tensor offset");
    if (t.offset % f_.alignment_ != 0) {
      fail("offset " + std::to_string(t.offset) + " is not a multiple of the alignment " + std::to_string(f_.alignment_));
    }
    f_.tensor_index_.emplace(t.name, f_.tensors_.size());
    f_.tensors_.push_back(std::move(t));
    context_.clear();
  }

  // Bounds and overlap checks once the data section's start is known.
  void place_tensors() {
    std::vector<const GgufTensor*> by_offset;
    by_offset.reserve(f_.tensors_.size());
    for (GgufTensor& t : f_.tensors_) {
      uint64_t begin, end;
      if (__builtin_add_overflow(f_.data_offset_, t.offset, &begin) || __builtin_add_overflow(begin, t.nbytes, &end) ||
          end > end_) {
        context_ = "tensor " + quoted(t.name);
        fail("extends past end of file (offset " + std::to_string(t.offset) + " in the data section at " +
             std::to_string(f_.data_offset_) + ", size " + std::to_string(t.nbytes) + ", file size " +
             std::to_string(end_) + ")");
      }
      t.data = f_.base_ + begin;
      by_offset.push_back(&t);
    }
    std::sort(by_offset.begin(), by_offset.end(),
              [](const GgufTensor* a, const GgufTensor* b) { return a->offset < b->offset; });
    for (size_t i = 1; i < by_offset.size(); ++i) {
      const GgufTensor& prev = *by_offset[i - 1];
      const GgufTensor& cur = *by_offset[i];
      if (cur.offset < prev.offset + prev.nbytes) {  // no overflow: both lie inside the file
        context_ = "tensor " + quoted(cur.name);
        fail("overlaps tensor " + quoted(prev.name) + " (offset " + std::to_string(cur.offset) + " < " +
             std::to_string(prev.offset) + " + " + std::to_string(prev.nbytes) + ")");
      }
    }
  }
};

std::unique_ptr<GgufFile> GgufFile::open(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw FormatError(path + ": cannot open: " + std::strerror(errno));
  struct stat st;
  if (fstat(fd, &st) != 0) {
    const int err = errno;
    ::close(fd);
    throw FormatError(path + ": cannot stat: " + std::strerror(err));
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    throw FormatError(path + ": not a regular file");
  }
  const uint64_t size = static_cast<uint64_t>(st.st_size);
  void* map = nullptr;
  if (size > 0) {
    map = mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (map == MAP_FAILED) {
      const int err = errno;
      ::close(fd);
      throw FormatError(path + ": cannot map: " + std::strerror(err));
    }
  }
  ::close(fd);  // the mapping keeps the file alive
  std::unique_ptr<GgufFile> f(new GgufFile());
  f->path_ = path;
  f->base_ = static_cast<const uint8_t*>(map);
  f->size_ = size;
  f->owns_mapping_ = map != nullptr;
  GgufParser(*f).parse();  // on a throw, ~GgufFile unmaps
  return f;
}

std::unique_ptr<GgufFile> GgufFile::open_memory(const uint8_t* data, size_t size, const std::string& name) {
  std::unique_ptr<GgufFile> f(new GgufFile());
  f->path_ = name;
  f->base_ = data;
  f->size_ = size;
  GgufParser(*f).parse();
  return f;
}

GgufFile::~GgufFile() {
  if (owns_mapping_) munmap(const_cast<uint8_t*>(base_), size_);
}

const GgufValue* GgufFile::find(const std::string& key) const {
  auto it = kv_index_.find(key);
  return it == kv_index_.end() ? nullptr : &kv_[it->second].second;
}

const GgufTensor* GgufFile::tensor(const std::string& name) const {
  auto it = tensor_index_.find(name);
  return it == tensor_index_.end() ? nullptr : &tensors_[it->second];
}

GgufValue array_element(const GgufValue& arr, uint64_t i) {
  GgufValue e;
  e.type = arr.elem_type;
  if (arr.elem_type == GgufValueType::STRING) {
    e.str = arr.strs[i];
  } else {
    decode_number(arr.elem_type, arr.raw + i * fixed_value_size(arr.elem_type), e);
  }
  return e;
}

namespace {

[[noreturn]] void bad_key(const GgufFile& f, const std::string& key, const std::string& what) {
  throw FormatError(f.path() + ": key " + quoted(key) + ": " + what);
}

const GgufValue& required(const GgufFile& f, const std::string& key) {
  const GgufValue* v = f.find(key);
  if (v == nullptr) bad_key(f, key, "required key is missing");
  return *v;
}

std::string type_desc(const GgufValue& v) {
  if (v.type == GgufValueType::ARRAY) return std::string("array of ") + value_type_name(v.elem_type);
  return value_type_name(v.type);
}

bool fits_u64(const GgufValue& v) { return is_integer(v.type) && (!is_signed(v.type) || v.i >= 0); }
bool fits_i64(const GgufValue& v) {
  return is_integer(v.type) && (is_signed(v.type) || v.u <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max()));
}

}  // namespace

std::string GgufFile::get_string(const std::string& key) const {
  const GgufValue& v = required(*this, key);
  if (v.type != GgufValueType::STRING) bad_key(*this, key, "expected a string, found " + type_desc(v));
  return v.str;
}

uint64_t GgufFile::get_u64(const std::string& key) const {
  const GgufValue& v = required(*this, key);
  if (!is_integer(v.type)) bad_key(*this, key, "expected an unsigned integer, found " + type_desc(v));
  if (!fits_u64(v)) bad_key(*this, key, "value " + std::to_string(v.i) + " is negative");
  return v.u;
}

int64_t GgufFile::get_i64(const std::string& key) const {
  const GgufValue& v = required(*this, key);
  if (!is_integer(v.type)) bad_key(*this, key, "expected an integer, found " + type_desc(v));
  if (!fits_i64(v)) bad_key(*this, key, "value " + std::to_string(v.u) + " does not fit in a signed 64-bit integer");
  return v.i;
}

double GgufFile::get_f64(const std::string& key) const {
  const GgufValue& v = required(*this, key);
  if (v.type != GgufValueType::F32 && v.type != GgufValueType::F64 && !is_integer(v.type)) {
    bad_key(*this, key, "expected a number, found " + type_desc(v));
  }
  return v.f;
}

bool GgufFile::get_bool(const std::string& key) const {
  const GgufValue& v = required(*this, key);
  if (v.type != GgufValueType::BOOL) bad_key(*this, key, "expected a bool, found " + type_desc(v));
  return v.u != 0;
}

std::vector<std::string> GgufFile::get_string_array(const std::string& key) const {
  const GgufValue& v = required(*this, key);
  if (v.type != GgufValueType::ARRAY || v.elem_type != GgufValueType::STRING) {
    bad_key(*this, key, "expected an array of strings, found " + type_desc(v));
  }
  return v.strs;
}

std::vector<float> GgufFile::get_f32_array(const std::string& key) const {
  const GgufValue& v = required(*this, key);
  if (v.type != GgufValueType::ARRAY || v.elem_type != GgufValueType::F32) {
    bad_key(*this, key, "expected an array of f32, found " + type_desc(v));
  }
  std::vector<float> out(v.count);  // count * 4 bytes were checked to lie inside the file
  if (v.count > 0) std::memcpy(out.data(), v.raw, v.count * sizeof(float));
  return out;
}

std::vector<int32_t> GgufFile::get_i32_array(const std::string& key) const {
  const GgufValue& v = required(*this, key);
  if (v.type != GgufValueType::ARRAY || !is_integer(v.elem_type)) {
    bad_key(*this, key, "expected an array of integers, found " + type_desc(v));
  }
  std::vector<int32_t> out;
  out.reserve(v.count);  // the elements were checked to lie inside the file
  for (uint64_t i = 0; i < v.count; ++i) {
    const GgufValue e = array_element(v, i);
    const bool fits = is_signed(e.type) ? (e.i >= std::numeric_limits<int32_t>::min() && e.i <= std::numeric_limits<int32_t>::max())
                                        : e.u <= static_cast<uint64_t>(std::numeric_limits<int32_t>::max());
    if (!fits) bad_key(*this, key, "element " + std::to_string(i) + " does not fit in a 32-bit integer");
    out.push_back(static_cast<int32_t>(e.i));
  }
  return out;
}

std::string GgufFile::get_string_or(const std::string& key, const std::string& dflt) const {
  return has(key) ? get_string(key) : dflt;
}
uint64_t GgufFile::get_u64_or(const std::string& key, uint64_t dflt) const { return has(key) ? get_u64(key) : dflt; }
double GgufFile::get_f64_or(const std::string& key, double dflt) const { return has(key) ? get_f64(key) : dflt; }
bool GgufFile::get_bool_or(const std::string& key, bool dflt) const { return has(key) ? get_bool(key) : dflt; }

}  // namespace ls
