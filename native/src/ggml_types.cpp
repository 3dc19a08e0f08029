// The ggml tensor type table: block geometry of every type id ggml defines, so any GGUF
// can be named and sized, and which of them the engine can compute with.
#include <limits>
#include <string>

#include "gguf.h"

namespace ls {

namespace {

// Indexed by type id; ids ggml retired (4, 5, 31-33, 36-38) have no name.
constexpr TypeTraits kTypes[] = {
    {"F32", 1, 4, true},        // 0
    {"F16", 1, 2, true},        // 1
    {"Q4_0", 32, 18, true},     // 2
    {"Q4_1", 32, 20, false},    // 3
    {nullptr, 0, 0, false},     // 4 (Q4_2, removed)
    {nullptr, 0, 0, false},     // 5 (Q4_3, removed)
    {"Q5_0", 32, 22, false},    // 6
    {"Q5_1", 32, 24, false},    // 7
    {"Q8_0", 32, 34, true},     // 8
    {"Q8_1", 32, 36, false},    // 9
    {"Q2_K", 256, 84, false},   // 10
    {"Q3_K", 256, 110, false},  // 11
    {"Q4_K", 256, 144, true},   // 12
    {"Q5_K", 256, 176, false},  // 13
    {"Q6_K", 256, 210, true},   // 14
    {"Q8_K", 256, 292, false},  // 15
    {"IQ2_XXS", 256, 66, false},  // 16
    {"IQ2_XS", 256, 74, false},   // 17
    {"IQ3_XXS", 256, 98, false},  // 18
    {"IQ1_S", 256, 50, false},    // 19
    {"IQ4_NL", 32, 18, false},    // 20
    {"IQ3_S", 256, 110, false},   // 21
    {"IQ2_S", 256, 82, false},    // 22
    {"IQ4_XS", 256, 136, false},  // 23
    {"I8", 1, 1, false},          // 24
    {"I16", 1, 2, false},         // 25
    {"I32", 1, 4, false},         // 26
    {"I64", 1, 8, false},         // 27
    {"F64", 1, 8, false},         // 28
    {"IQ1_M", 256, 56, false},    // 29
    {"BF16", 1, 2, true},         // 30
    {nullptr, 0, 0, false},       // 31 (Q4_0_4_4, removed)
    {nullptr, 0, 0, false},       // 32 (Q4_0_4_8, removed)
    {nullptr, 0, 0, false},       // 33 (Q4_0_8_8, removed)
    {"TQ1_0", 256, 54, false},    // 34
    {"TQ2_0", 256, 66, false},    // 35
    {nullptr, 0, 0, false},       // 36 (IQ4_NL_4_4, removed)
    {nullptr, 0, 0, false},       // 37 (IQ4_NL_4_8, removed)
    {nullptr, 0, 0, false},       // 38 (IQ4_NL_8_8, removed)
    {"MXFP4", 32, 17, false},     // 39
};

}  // namespace

const TypeTraits* type_traits(uint32_t type_id) {
  if (type_id >= sizeof(kTypes) / sizeof(kTypes[0]) || kTypes[type_id].name == nullptr) return nullptr;
  return &kTypes[type_id];
}

uint64_t row_bytes(GgmlType type, uint64_t n) {
  const TypeTraits* t = type_traits(static_cast<uint32_t>(type));
  if (t == nullptr) throw FormatError("unknown ggml type id " + std::to_string(static_cast<uint32_t>(type)));
  if (n % t->block_elems != 0) {
    throw FormatError("a row of " + std::to_string(n) + " elements is not a whole number of " + t->name +
                      " blocks (" + std::to_string(t->block_elems) + " elements each)");
  }
  const uint64_t blocks = n / t->block_elems;
  if (blocks > std::numeric_limits<uint64_t>::max() / t->block_bytes) {
    throw FormatError("a row of " + std::to_string(n) + " " + t->name + " elements overflows 64 bits");
  }
  return blocks * t->block_bytes;
}

}  // namespace ls
