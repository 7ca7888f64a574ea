#include "engine/tokenizers/clip_tokenizer.h"

#include <locale.h>
#include <wctype.h>

#include <algorithm>
#include <array>
#include <fstream>
#include <limits>
#include <sstream>

#include <nlohmann/json.hpp>

#include "base/error.h"
#include "engine/tokenizers/byte_level.h"
#include "engine/tokenizers/utf8.h"

namespace sc::engine {
namespace {

constexpr const char* kBos = "<|startoftext|>";
constexpr const char* kEos = "<|endoftext|>";
constexpr char32_t kReplacement = 0xFFFD;

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error("cannot open tokenizer file {}", path.string());
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

using byte_level::append_utf8;

std::u32string decode_utf8(std::string_view s) {
  std::u32string out;
  std::size_t i = 0;
  while (i < s.size()) {
    const auto b = static_cast<unsigned char>(s[i]);
    if (b < 0x80) {
      out += b;
      ++i;
      continue;
    }
    std::size_t extra = 0;
    char32_t cp = 0;
    if ((b & 0xE0) == 0xC0) {
      extra = 1;
      cp = b & 0x1F;
    } else if ((b & 0xF0) == 0xE0) {
      extra = 2;
      cp = b & 0x0F;
    } else if ((b & 0xF8) == 0xF0) {
      extra = 3;
      cp = b & 0x07;
    }
    bool ok = extra > 0 && i + extra < s.size();
    for (std::size_t k = 1; ok && k <= extra; ++k) {
      const auto c = static_cast<unsigned char>(s[i + k]);
      if ((c & 0xC0) != 0x80) ok = false;
      cp = (cp << 6) | (c & 0x3F);
    }
    const char32_t min_for_length[] = {0, 0x80, 0x800, 0x10000};
    if (!ok || cp < min_for_length[extra] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
      out += kReplacement;
      ++i;
      continue;
    }
    out += cp;
    i += extra + 1;
  }
  return out;
}

// Unicode White_Space, what the reference's \s matches.
bool is_space(char32_t c) {
  return (c >= 0x09 && c <= 0x0D) || c == 0x20 || c == 0x85 || c == 0xA0 || c == 0x1680 ||
         (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000;
}

locale_t utf8_locale() {
  static const locale_t loc = newlocale(LC_CTYPE_MASK, "C.UTF-8", static_cast<locale_t>(nullptr));
  return loc;
}

bool is_digit(char32_t c) { return c >= U'0' && c <= U'9'; }
bool is_letter(char32_t c) {
  if (c < 0x80) return (c >= U'a' && c <= U'z') || (c >= U'A' && c <= U'Z');
  const locale_t loc = utf8_locale();
  return loc != nullptr && iswalpha_l(static_cast<wint_t>(c), loc) != 0;
}
char32_t to_lower(char32_t c) {
  if (c < 0x80) return (c >= U'A' && c <= U'Z') ? c + 32 : c;
  const locale_t loc = utf8_locale();
  return loc != nullptr ? static_cast<char32_t>(towlower_l(static_cast<wint_t>(c), loc)) : c;
}

std::u32string normalize(std::string_view text) {
  std::u32string out;
  bool in_space = false;
  for (char32_t c : decode_utf8(text)) {
    if (is_space(c)) {
      if (!in_space) out += U' ';
      in_space = true;
    } else {
      out += to_lower(c);
      in_space = false;
    }
  }
  return out;
}

bool starts_with(const std::u32string& s, std::size_t at, std::u32string_view what) {
  return s.compare(at, what.size(), what) == 0;
}

// CLIP's pre-tokenizer pattern over one stretch of normalised text.
std::vector<std::u32string> split_pieces(const std::u32string& s) {
  static constexpr std::u32string_view kContractions[] = {U"'s", U"'t", U"'re", U"'ve", U"'m", U"'ll", U"'d"};
  std::vector<std::u32string> out;
  std::size_t i = 0;
  while (i < s.size()) {
    const char32_t c = s[i];
    if (is_space(c)) {
      ++i;
      continue;
    }
    if (c == U'\'') {
      bool matched = false;
      for (std::u32string_view k : kContractions) {
        if (starts_with(s, i, k)) {
          out.emplace_back(k);
          i += k.size();
          matched = true;
          break;
        }
      }
      if (matched) continue;
    }
    std::size_t j = i + 1;
    if (is_digit(c)) {
      // one digit per piece
    } else if (is_letter(c)) {
      while (j < s.size() && is_letter(s[j]) && !is_digit(s[j])) ++j;
    } else {
      while (j < s.size() && !is_space(s[j]) && !is_letter(s[j]) && !is_digit(s[j])) ++j;
    }
    out.push_back(s.substr(i, j - i));
    i = j;
  }
  return out;
}

std::string pad_token_of(const std::filesystem::path& file) {
  if (!std::filesystem::is_regular_file(file)) return "";
  const nlohmann::json j = nlohmann::json::parse(read_file(file), nullptr, false);
  if (j.is_discarded()) throw Error("{}: not valid JSON", file.string());
  if (!j.is_object() || !j.contains("pad_token") || j["pad_token"].is_null()) return "";
  const auto& p = j["pad_token"];
  if (p.is_string()) return p.get<std::string>();
  if (p.is_object() && p.contains("content") && p["content"].is_string()) return p["content"].get<std::string>();
  throw Error("{}: pad_token: expected a string or {{\"content\": ...}}, found {}", file.string(), p.dump());
}

}  // namespace

ClipTokenizer ClipTokenizer::load(const std::filesystem::path& folder) {
  std::string pad = pad_token_of(folder / "tokenizer_config.json");
  if (pad.empty()) pad = pad_token_of(folder / "special_tokens_map.json");
  if (pad.empty()) pad = kEos;
  std::int64_t max_length = 77;
  if (std::filesystem::is_regular_file(folder / "tokenizer_config.json")) {
    const auto j = nlohmann::json::parse(read_file(folder / "tokenizer_config.json"), nullptr, false);
    if (j.is_object() && j.contains("model_max_length") && j["model_max_length"].is_number_integer()) {
      // Some folders store a huge sentinel for "no limit"; CLIP's positions stop at 77.
      max_length = std::min<std::int64_t>(j["model_max_length"].get<std::int64_t>(), 77);
    }
  }
  return from_files(folder / "vocab.json", folder / "merges.txt", pad, max_length);
}

ClipTokenizer ClipTokenizer::from_files(const std::filesystem::path& vocab_json,
                                        const std::filesystem::path& merges_txt, const std::string& pad_token,
                                        std::int64_t max_length) {
  ClipTokenizer t;
  t.source_ = vocab_json.parent_path().string();
  const nlohmann::json vocab = nlohmann::json::parse(read_file(vocab_json), nullptr, false);
  if (vocab.is_discarded() || !vocab.is_object()) {
    throw Error("{}: expected a JSON object of token -> id", vocab_json.string());
  }
  for (const auto& [token, id] : vocab.items()) {
    if (!id.is_number_integer()) throw Error("{}: id of \"{}\" is not an integer", vocab_json.string(), token);
    t.vocab_[token] = id.get<std::int64_t>();
    t.tokens_[id.get<std::int64_t>()] = token;
  }
  std::istringstream merges(read_file(merges_txt));
  std::string line;
  std::int64_t rank = 0;
  int number = 0;
  while (std::getline(merges, line)) {
    ++number;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty() || (number == 1 && line.rfind("#version", 0) == 0)) continue;
    const std::size_t space = line.find(' ');
    if (space == std::string::npos || space == 0 || space + 1 >= line.size() ||
        line.find(' ', space + 1) != std::string::npos) {
      throw Error("{}:{}: expected \"<left> <right>\", found \"{}\"", merges_txt.string(), number, line);
    }
    t.ranks_.emplace(std::make_pair(line.substr(0, space), line.substr(space + 1)), rank++);
  }
  // GPT-2's byte alphabet (byte_level.h).
  t.byte_chars_.resize(256);
  for (std::size_t b = 0; b < 256; ++b) append_utf8(t.byte_chars_[b], byte_level::gpt2_alphabet()[b]);
  t.bos_id_ = t.id_of(kBos, "bos token");
  t.eos_id_ = t.id_of(kEos, "eos token");
  t.pad_id_ = t.id_of(pad_token, "pad token");
  if (max_length < 2) throw Error("{}: max_length {} leaves no room for bos and eos", t.source_, max_length);
  t.max_length_ = max_length;
  // Special tokens are cut out of the text before BPE. The pad token is one
  // of them: a "!" pad (SD 2.x) turns every "!" typed into id 0, as in the
  // reference, rather than BPE's "!</w>".
  t.specials_.emplace_back(U"<|startoftext|>", t.bos_id_);
  t.specials_.emplace_back(U"<|endoftext|>", t.eos_id_);
  if (pad_token != kBos && pad_token != kEos) t.specials_.emplace_back(decode_utf8(pad_token), t.pad_id_);
  return t;
}

std::int64_t ClipTokenizer::id_of(const std::string& token, const std::string& what) const {
  const auto it = vocab_.find(token);
  if (it == vocab_.end()) throw Error("{}: the {} \"{}\" is not in vocab.json", source_, what, token);
  return it->second;
}

void ClipTokenizer::bpe(const std::string& piece, std::vector<std::int64_t>& out) const {
  std::vector<std::string> symbols;
  for (unsigned char b : piece) symbols.push_back(byte_chars_[b]);
  symbols.back() += "</w>";
  while (symbols.size() > 1) {
    std::int64_t best = std::numeric_limits<std::int64_t>::max();
    std::size_t at = 0;
    for (std::size_t i = 0; i + 1 < symbols.size(); ++i) {
      const auto it = ranks_.find({symbols[i], symbols[i + 1]});
      if (it != ranks_.end() && it->second < best) {
        best = it->second;
        at = i;
      }
    }
    if (best == std::numeric_limits<std::int64_t>::max()) break;
    // Merge every occurrence of the best pair, left to right.
    const std::string left = symbols[at], right = symbols[at + 1];
    std::vector<std::string> merged;
    for (std::size_t i = 0; i < symbols.size(); ++i) {
      if (i + 1 < symbols.size() && symbols[i] == left && symbols[i + 1] == right) {
        merged.push_back(left + right);
        ++i;
      } else {
        merged.push_back(symbols[i]);
      }
    }
    symbols = std::move(merged);
  }
  for (const std::string& s : symbols) {
    const auto it = vocab_.find(s);
    out.push_back(it != vocab_.end() ? it->second : eos_id_);  // the unk token is <|endoftext|>
  }
}

std::vector<std::int64_t> ClipTokenizer::encode(std::string_view text) const {
  const std::u32string norm = normalize(text);
  std::vector<std::int64_t> ids;
  std::size_t start = 0;
  auto flush = [&](std::size_t end) {
    for (const std::u32string& piece : split_pieces(norm.substr(start, end - start))) {
      std::string bytes;
      for (char32_t c : piece) append_utf8(bytes, c);
      bpe(bytes, ids);
    }
  };
  std::size_t i = 0;
  while (i < norm.size()) {
    bool special = false;
    for (const auto& [token, id] : specials_) {
      if (starts_with(norm, i, token)) {
        flush(i);
        ids.push_back(id);
        i += token.size();
        start = i;
        special = true;
        break;
      }
    }
    if (!special) ++i;
  }
  flush(norm.size());
  return ids;
}

std::vector<std::int64_t> ClipTokenizer::encode_padded(std::string_view text) const {
  std::vector<std::int64_t> ids = encode(text);
  const auto room = static_cast<std::size_t>(max_length_ - 2);
  if (ids.size() > room) ids.resize(room);
  ids.insert(ids.begin(), bos_id_);
  ids.push_back(eos_id_);
  ids.resize(static_cast<std::size_t>(max_length_), pad_id_);
  return ids;
}

Tensor ClipTokenizer::encode_batch(std::span<const std::string> texts) const {
  std::vector<std::int64_t> all;
  for (const std::string& t : texts) {
    const auto ids = encode_padded(t);
    all.insert(all.end(), ids.begin(), ids.end());
  }
  return Tensor::from_vector_i64({static_cast<std::int64_t>(texts.size()), max_length_}, all);
}

std::optional<std::string> ClipTokenizer::id_to_token(std::int64_t id) const {
  const auto it = tokens_.find(id);
  if (it == tokens_.end()) return std::nullopt;
  return it->second;
}

std::string ClipTokenizer::decode(std::span<const std::int64_t> ids, bool skip_special_tokens) const {
  // GPT-2's alphabet inverted: code point -> byte (its code points are < 512).
  static const std::array<int, 512> byte_of = [] {
    std::array<int, 512> b{};
    b.fill(-1);
    for (std::size_t i = 0; i < 256; ++i) b[byte_level::gpt2_alphabet()[i]] = static_cast<int>(i);
    return b;
  }();
  std::string joined;
  for (std::int64_t id : ids) {
    if (skip_special_tokens && (id == bos_id_ || id == eos_id_ || id == pad_id_)) continue;
    const auto it = tokens_.find(id);
    if (it != tokens_.end()) joined += it->second;
  }
  // Characters outside the alphabet (none in CLIP's vocabulary) keep their
  // UTF-8 bytes, as the ByteLevel decoder keeps them.
  std::string bytes;
  for (std::size_t i = 0; i < joined.size();) {
    const utf8::Char c = utf8::read(joined, i);
    if (c.valid && c.cp < byte_of.size() && byte_of[c.cp] >= 0) {
      bytes += static_cast<char>(byte_of[c.cp]);
    } else {
      bytes.append(joined, i, c.len);
    }
    i += c.len;
  }
  std::string text = utf8::lossy(bytes);
  std::string spaced;
  for (std::size_t at = 0;;) {
    const std::size_t w = text.find("</w>", at);
    spaced.append(text, at, w == std::string::npos ? std::string::npos : w - at);
    if (w == std::string::npos) break;
    spaced += ' ';
    at = w + 4;
  }
  // Python's str.strip(): Unicode whitespace and the separators 0x1C-0x1F.
  auto space_at = [&](std::size_t i) {
    const utf8::Char c = utf8::read(spaced, i);
    return c.valid && (is_space(c.cp) || (c.cp >= 0x1C && c.cp <= 0x1F));
  };
  std::size_t begin = 0;
  while (begin < spaced.size() && space_at(begin)) begin += utf8::read(spaced, begin).len;
  std::size_t end = begin;
  for (std::size_t i = begin; i < spaced.size();) {
    const std::size_t len = utf8::read(spaced, i).len;
    if (!space_at(i)) end = i + len;
    i += len;
  }
  return spaced.substr(begin, end - begin);
}

}  // namespace sc::engine
