// Unicode helpers for the tokenizers: general-category flags of code points (from a table
// generated out of Node's Unicode data by scripts/gen-unicode-tables.mjs), UTF-8 decoding with
// llama.cpp's tolerance of invalid bytes, and GPT-2's byte <-> printable-character mapping.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace ls::unicode {

// Exactly one category bit is set for every code point; kWhitespace may be added.
enum CpFlag : uint16_t {
  kUnassigned = 0x01,   // Cn
  kNumber = 0x02,       // \p{N}
  kLetter = 0x04,       // \p{L}
  kSeparator = 0x08,    // \p{Z}
  kMark = 0x10,         // \p{M}
  kPunctuation = 0x20,  // \p{P}
  kSymbol = 0x40,       // \p{S}
  kControl = 0x80,      // Cc, Cf, Co, Cs
  kCategoryMask = 0xFF,
  kWhitespace = 0x100,  // the White_Space property
};

// Flags of a code point; code points past U+10FFFF count as unassigned.
uint16_t flags(uint32_t cp);

// Byte length of the UTF-8 sequence a lead byte announces (1 for a stray continuation byte).
size_t utf8_len(uint8_t lead);

// Decodes UTF-8; an invalid or truncated sequence yields U+FFFD and skips a single byte.
std::vector<uint32_t> decode_utf8(const std::string& text);

// Appends the UTF-8 encoding of cp (U+FFFD for a value past U+10FFFF).
void append_utf8(std::string& out, uint32_t cp);

// GPT-2 byte-level BPE: every byte is written as a printable code point.
const std::string& byte_to_bpe_char(uint8_t byte);
// The byte a code point stands for, or -1 when it is not one of the 256 byte characters.
int bpe_char_to_byte(uint32_t cp);

}  // namespace ls::unicode
