#pragma once
// What the byte-level BPE tokenizers share (CLIP's and the tokenizer.json
// one): UTF-8 encoding of a code point, and GPT-2's byte alphabet, in which
// printable Latin-1 bytes stand for themselves and the others take code
// points from 256 up, in byte order.
#include <array>
#include <string>

namespace sc::engine::byte_level {

inline void append_utf8(std::string& out, char32_t cp) {
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

// The stand-in code point of every byte.
inline const std::array<char32_t, 256>& gpt2_alphabet() {
  static const std::array<char32_t, 256> a = [] {
    std::array<char32_t, 256> cps{};
    int next = 0;
    for (int b = 0; b < 256; ++b) {
      const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
      cps[static_cast<std::size_t>(b)] = static_cast<char32_t>(printable ? b : 256 + next++);
    }
    return cps;
  }();
  return a;
}

}  // namespace sc::engine::byte_level
