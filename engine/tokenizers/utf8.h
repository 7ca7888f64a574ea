#pragma once
// UTF-8 as the tokenizers read it: one character at a time by Unicode's
// "maximal subpart" rule (what Rust's from_utf8_lossy and Python's
// errors="replace" do, so invalid bytes become U+FFFD exactly where the
// reference tokenizers put them), the lossy conversion, and where a text
// stops being valid (so a caller can refuse it rather than tokenize
// replacement characters).
#include <algorithm>
#include <cstddef>
#include <string>
#include <string_view>

namespace sc::engine::utf8 {

inline constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD

struct Char {
  char32_t cp = 0;
  std::size_t len = 1;     // bytes taken: the character, or one maximal invalid subsequence
  bool valid = false;      // false: len bytes stand for one U+FFFD
  bool truncated = false;  // invalid only because the text ends inside it
};

// One character at s[i] (i < s.size()): a lead byte and the continuation
// bytes that can still make a character are one U+FFFD together; the byte
// that breaks them starts the next read.
inline Char read(std::string_view s, std::size_t i) {
  const auto b = static_cast<unsigned char>(s[i]);
  Char c;
  if (b < 0x80) {
    c.cp = b;
    c.valid = true;
    return c;
  }
  std::size_t need = 0;
  unsigned char lo = 0x80, hi = 0xBF;  // the range of the first continuation byte
  if (b >= 0xC2 && b <= 0xDF) {
    need = 1;
    c.cp = b & 0x1F;
  } else if (b >= 0xE0 && b <= 0xEF) {
    need = 2;
    c.cp = b & 0x0F;
    if (b == 0xE0) lo = 0xA0;
    if (b == 0xED) hi = 0x9F;  // no surrogates
  } else if (b >= 0xF0 && b <= 0xF4) {
    need = 3;
    c.cp = b & 0x07;
    if (b == 0xF0) lo = 0x90;
    if (b == 0xF4) hi = 0x8F;  // nothing past U+10FFFF
  } else {
    return c;  // a stray continuation byte, C0, C1, F5..FF
  }
  for (std::size_t k = 1; k <= need; ++k) {
    if (i + k >= s.size()) {
      c.len = k;
      c.truncated = true;
      return c;
    }
    const auto x = static_cast<unsigned char>(s[i + k]);
    if (x < (k == 1 ? lo : 0x80) || x > (k == 1 ? hi : 0xBF)) {
      c.len = k;
      return c;
    }
    c.cp = (c.cp << 6) | (x & 0x3F);
  }
  c.len = need + 1;
  c.valid = true;
  return c;
}

inline bool is_ascii(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return static_cast<unsigned char>(c) < 0x80; });
}

// s with each invalid sequence as U+FFFD.
inline std::string lossy(std::string_view s) {
  if (is_ascii(s)) return std::string(s);
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size();) {
    const Char c = read(s, i);
    if (c.valid) {
      out.append(s.substr(i, c.len));
    } else {
      out.append(kReplacement);
    }
    i += c.len;
  }
  return out;
}

// The offset of the first byte that starts no valid character, or npos when
// s is valid UTF-8.
inline std::size_t first_invalid(std::string_view s) {
  for (std::size_t i = 0; i < s.size();) {
    const Char c = read(s, i);
    if (!c.valid) return i;
    i += c.len;
  }
  return std::string_view::npos;
}

}  // namespace sc::engine::utf8
