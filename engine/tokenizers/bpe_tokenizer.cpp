#include "engine/tokenizers/bpe_tokenizer.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <unicode/uchar.h>
#include <unicode/unorm2.h>
#include <unicode/ustring.h>
#include <unicode/utypes.h>

#include <algorithm>
#include <cerrno>
#include <fstream>
#include <functional>
#include <limits>
#include <map>
#include <queue>
#include <sstream>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "base/error.h"
#include "engine/json_text.h"
#include "engine/tokenizers/byte_level.h"
#include "engine/tokenizers/utf8.h"

namespace sc::engine {
namespace {

using nlohmann::json;

// Qwen2's tokenizer.json is 7 MB, the largest published ones about 35 MB.
constexpr std::uintmax_t kMaxTokenizerBytes = 256u << 20;
constexpr std::uintmax_t kMaxTokenizerConfigBytes = 16u << 20;
// Ids are u32 in the reference; beyond this nothing indexes an embedding.
constexpr std::int64_t kMaxId = std::numeric_limits<std::int32_t>::max();

// GPT-2's pre-tokenizer regex (ByteLevel with use_regex).
constexpr std::string_view kGpt2Pattern =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

std::string read_file(const std::filesystem::path& path, std::uintmax_t limit, const char* what) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) {
    throw Error("{} '{}': not found (or not a file)", what, path.string());
  }
  const std::uintmax_t size = std::filesystem::file_size(path, ec);
  if (ec) throw Error("{} '{}': cannot read: {}", what, path.string(), ec.message());
  if (size > limit) {
    throw Error("{} '{}' is {} bytes; at most {} are read (is this the right file?)", what, path.string(), size, limit);
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error("{} '{}': cannot open: {}", what, path.string(), errno_text(errno));
  std::ostringstream s;
  s << in.rdbuf();
  if (!in.good() && !in.eof()) throw Error("{} '{}': read failed", what, path.string());
  return s.str();
}

// ---------------------------------------------------------------- UTF-8

using byte_level::append_utf8;

using utf8::is_ascii;
using utf8::kReplacement;
using Utf8Char = utf8::Char;
Utf8Char read_utf8(std::string_view s, std::size_t i) { return utf8::read(s, i); }
std::string lossy_utf8(std::string_view s) { return utf8::lossy(s); }

// True when s ends inside a character that more bytes could still complete.
bool ends_mid_character(std::string_view s) {
  // A character is at most 4 bytes: start reading at the last lead byte.
  std::size_t i = s.size();
  for (std::size_t k = 0; k < 4 && i > 0; ++k) {
    --i;
    const auto b = static_cast<unsigned char>(s[i]);
    if ((b & 0xC0) != 0x80) break;
  }
  while (i < s.size()) {
    const Utf8Char c = read_utf8(s, i);
    if (c.truncated) return true;
    i += c.len;
  }
  return false;
}

std::size_t char_len_at(std::string_view s, std::size_t i) { return read_utf8(s, i).len; }

// Code points of valid UTF-8.
char32_t code_point_at(std::string_view s, std::size_t i) { return read_utf8(s, i).cp; }

// The last code point of valid, non-empty UTF-8.
char32_t last_code_point(std::string_view s) {
  std::size_t i = s.size() - 1;
  while (i > 0 && (static_cast<unsigned char>(s[i]) & 0xC0) == 0x80) --i;
  return code_point_at(s, i);
}

// Rust's char::is_whitespace (Unicode White_Space), what the reference's
// lstrip / rstrip skip.
bool is_white_space(char32_t c) { return u_isUWhiteSpace(static_cast<UChar32>(c)) != 0; }

// Rust regex's \w (Alphabetic, marks, decimal digits, connector punctuation,
// Join_Control), what the reference's single_word tests at each side.
bool is_word_char(char32_t c) {
  const auto u = static_cast<UChar32>(c);
  if (u_hasBinaryProperty(u, UCHAR_ALPHABETIC) || u_hasBinaryProperty(u, UCHAR_JOIN_CONTROL)) return true;
  switch (u_charType(u)) {
    case U_NON_SPACING_MARK:
    case U_ENCLOSING_MARK:
    case U_COMBINING_SPACING_MARK:
    case U_DECIMAL_DIGIT_NUMBER:
    case U_CONNECTOR_PUNCTUATION:
      return true;
    default:
      return false;
  }
}

// GPT-2's byte alphabet (byte_level.h) both ways.
struct ByteAlphabet {
  std::string chars[256];                             // byte -> its stand-in (UTF-8)
  std::unordered_map<char32_t, unsigned char> bytes;  // stand-in -> byte
  ByteAlphabet() {
    for (int b = 0; b < 256; ++b) {
      const char32_t cp = byte_level::gpt2_alphabet()[static_cast<std::size_t>(b)];
      append_utf8(chars[b], cp);
      bytes.emplace(cp, static_cast<unsigned char>(b));
    }
  }
};

const ByteAlphabet& byte_alphabet() {
  static const ByteAlphabet a;
  return a;
}

// The ByteLevel decoder's bytes of one token: the bytes its characters stand
// for, or the token's own text when any character is outside the alphabet
// (added tokens such as "<|im_end|>" are inside it and come out as written).
std::string byte_level_bytes(std::string_view token) {
  const ByteAlphabet& a = byte_alphabet();
  std::string out;
  for (std::size_t i = 0; i < token.size();) {
    const Utf8Char c = read_utf8(token, i);
    const auto it = c.valid ? a.bytes.find(c.cp) : a.bytes.end();
    if (it == a.bytes.end()) return std::string(token);
    out += static_cast<char>(it->second);
    i += c.len;
  }
  return out;
}

// ---------------------------------------------------------------- JSON with paths

// A value in a file and where it is, for errors that name both.
class At {
 public:
  At(const json& v, std::string path, const std::string& file) : v_(&v), path_(std::move(path)), file_(&file) {}

  const json& value() const { return *v_; }
  const std::string& path() const { return path_; }
  const std::string& file() const { return *file_; }
  bool is_null() const { return v_->is_null(); }

  template <typename... Args>
  [[noreturn]] void fail(fmt::format_string<Args...> f, Args&&... args) const {
    throw Error("tokenizer '{}': {}: {}", *file_, path_.empty() ? "(top level)" : path_,
                fmt::format(f, std::forward<Args>(args)...));
  }
  [[noreturn]] void wrong(const char* expected) const {
    if (v_->is_null()) fail("is missing or null, expected {}", expected);
    fail("is {} ({}), expected {}", detail::json_kind(*v_), detail::json_brief(*v_), expected);
  }

  // A field of an object (null when absent).
  At operator[](std::string_view key) const {
    static const json kNull;
    if (!v_->is_object()) wrong("an object");
    const auto it = v_->find(key);
    const std::string path = path_.empty() ? std::string(key) : fmt::format("{}.{}", path_, key);
    return At(it == v_->end() ? kNull : *it, path, *file_);
  }
  At operator[](std::size_t i) const { return At((*v_)[i], fmt::format("{}[{}]", path_, i), *file_); }
  std::size_t array_size() const {
    if (!v_->is_array()) wrong("an array");
    return v_->size();
  }

  std::string str() const {
    if (!v_->is_string()) wrong("a string");
    return v_->get<std::string>();
  }
  bool boolean(bool fallback) const {
    if (v_->is_null()) return fallback;
    if (!v_->is_boolean()) wrong("true or false");
    return v_->get<bool>();
  }
  std::int64_t id() const {
    if (v_->is_number_unsigned() && v_->get<std::uint64_t>() <= static_cast<std::uint64_t>(kMaxId)) {
      return static_cast<std::int64_t>(v_->get<std::uint64_t>());
    }
    if (v_->is_number_integer() && v_->get<std::int64_t>() >= 0 && v_->get<std::int64_t>() <= kMaxId) {
      return v_->get<std::int64_t>();
    }
    wrong("a token id (an integer from 0 to 2^31 - 1)");
  }
  // The "type" of a component, checked against what this reader supports.
  std::string type(const char* what, const char* supported) const {
    const At t = (*this)["type"];
    if (t.is_null()) fail("has no \"type\" (expected a {}: {})", what, supported);
    const std::string s = t.str();
    return s;
  }

 private:
  const json* v_;
  std::string path_;
  const std::string* file_;
};

json parse_json(std::string_view text, const std::string& file) {
  try {
    return json::parse(text.begin(), text.end(), nullptr, true, false);
  } catch (const json::exception& e) {
    throw Error("tokenizer '{}' is not valid JSON: {}", file, e.what());
  }
}

// ---------------------------------------------------------------- normalizer

// NFC / NFD / NFKC / NFKD through ICU's unorm2, one after another.
class Normalizer {
 public:
  void add(const UNormalizer2* n) { steps_.push_back(n); }
  bool empty() const { return steps_.empty(); }

  std::string apply(std::string_view s) const {
    // ASCII is unchanged by all four forms.
    if (steps_.empty() || is_ascii(s)) return std::string(s);
    if (s.size() > static_cast<std::size_t>(std::numeric_limits<std::int32_t>::max() / 2)) {
      throw Error("text of {} bytes is too long to normalise", s.size());
    }
    std::u16string u = to_utf16(s);
    for (const UNormalizer2* n : steps_) {
      UErrorCode status = U_ZERO_ERROR;
      if (unorm2_isNormalized(n, u.data(), static_cast<int32_t>(u.size()), &status) && U_SUCCESS(status)) continue;
      status = U_ZERO_ERROR;
      const int32_t need = unorm2_normalize(n, u.data(), static_cast<int32_t>(u.size()), nullptr, 0, &status);
      if (status != U_BUFFER_OVERFLOW_ERROR && U_FAILURE(status)) fail(status);
      std::u16string out(static_cast<std::size_t>(need), u'\0');
      status = U_ZERO_ERROR;
      unorm2_normalize(n, u.data(), static_cast<int32_t>(u.size()), out.data(), need, &status);
      if (U_FAILURE(status)) fail(status);
      u = std::move(out);
    }
    return to_utf8(u);
  }

 private:
  [[noreturn]] static void fail(UErrorCode status) {
    throw Error("text normalisation failed (ICU: {})", u_errorName(status));
  }
  static std::u16string to_utf16(std::string_view s) {
    UErrorCode status = U_ZERO_ERROR;
    int32_t need = 0;
    u_strFromUTF8WithSub(nullptr, 0, &need, s.data(), static_cast<int32_t>(s.size()), 0xFFFD, nullptr, &status);
    if (status != U_BUFFER_OVERFLOW_ERROR && U_FAILURE(status)) fail(status);
    std::u16string u(static_cast<std::size_t>(need), u'\0');
    status = U_ZERO_ERROR;
    u_strFromUTF8WithSub(u.data(), need, nullptr, s.data(), static_cast<int32_t>(s.size()), 0xFFFD, nullptr, &status);
    if (U_FAILURE(status)) fail(status);
    return u;
  }
  static std::string to_utf8(const std::u16string& u) {
    UErrorCode status = U_ZERO_ERROR;
    int32_t need = 0;
    u_strToUTF8(nullptr, 0, &need, u.data(), static_cast<int32_t>(u.size()), &status);
    if (status != U_BUFFER_OVERFLOW_ERROR && U_FAILURE(status)) fail(status);
    std::string s(static_cast<std::size_t>(need), '\0');
    status = U_ZERO_ERROR;
    u_strToUTF8(s.data(), need, nullptr, u.data(), static_cast<int32_t>(u.size()), &status);
    if (U_FAILURE(status)) fail(status);
    return s;
  }

  std::vector<const UNormalizer2*> steps_;
};

void read_normalizer(const At& n, Normalizer& out) {
  if (n.is_null()) return;
  constexpr const char* kSupported = "NFC, NFD, NFKC, NFKD or a Sequence of them";
  const std::string type = n.type("normalizer", kSupported);
  if (type == "Sequence") {
    const At list = n["normalizers"];
    for (std::size_t i = 0; i < list.array_size(); ++i) read_normalizer(list[i], out);
    return;
  }
  UErrorCode status = U_ZERO_ERROR;
  const UNormalizer2* u = nullptr;
  if (type == "NFC") {
    u = unorm2_getNFCInstance(&status);
  } else if (type == "NFD") {
    u = unorm2_getNFDInstance(&status);
  } else if (type == "NFKC") {
    u = unorm2_getNFKCInstance(&status);
  } else if (type == "NFKD") {
    u = unorm2_getNFKDInstance(&status);
  } else {
    n["type"].fail("unknown normalizer \"{}\"; this tokenizer reads {}", type, kSupported);
  }
  if (U_FAILURE(status) || u == nullptr) {
    n.fail("ICU cannot provide {} ({}); is libicu's data installed?", type, u_errorName(status));
  }
  out.add(u);
}

// ---------------------------------------------------------------- regex (PCRE2)

struct Span {
  std::size_t start, end;
  bool is_match;
};

// A Split pattern: a regex run by PCRE2 (UTF + UCP, JIT-compiled where PCRE2
// has a JIT) or a literal string.
class Pattern {
 public:
  static std::shared_ptr<const Pattern> regex(std::string_view pattern, const At& where) {
    auto p = std::shared_ptr<Pattern>(new Pattern);
    int code = 0;
    PCRE2_SIZE offset = 0;
    // MULTILINE: ^ and $ at line ends, as in Oniguruma (the reference's engine).
    p->code_ = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(),
                             PCRE2_UTF | PCRE2_UCP | PCRE2_MULTILINE, &code, &offset, nullptr);
    if (p->code_ == nullptr) {
      PCRE2_UCHAR message[256];
      pcre2_get_error_message(code, message, sizeof message);
      where.fail("the regex does not compile at offset {}: {}", offset, reinterpret_cast<const char*>(message));
    }
    // Where the JIT is missing or refuses the pattern, pcre2_match interprets.
    std::uint32_t have_jit = 0;
    pcre2_config(PCRE2_CONFIG_JIT, &have_jit);
    if (have_jit != 0) (void)pcre2_jit_compile(p->code_, PCRE2_JIT_COMPLETE);
    p->where_ = fmt::format("tokenizer '{}': {}", where.file(), where.path());
    return p;
  }
  static std::shared_ptr<const Pattern> literal(std::string_view text) {
    auto p = std::shared_ptr<Pattern>(new Pattern);
    p->text_ = std::string(text);
    return p;
  }
  ~Pattern() {
    if (code_ != nullptr) pcre2_code_free(code_);
  }
  Pattern(const Pattern&) = delete;
  Pattern& operator=(const Pattern&) = delete;

  // The reference's find_matches: s cut into matches and the stretches
  // between them, in order; an empty match right after the previous match
  // is skipped (so a pattern that can match nothing cannot loop).
  void find_matches(std::string_view s, std::vector<Span>& out) const {
    out.clear();
    if (s.empty()) {
      out.push_back({0, 0, false});
      return;
    }
    std::size_t prev = 0;
    auto add = [&](std::size_t start, std::size_t end) {
      if (prev != start) out.push_back({prev, start, false});
      out.push_back({start, end, true});
      prev = end;
    };
    if (code_ == nullptr) {
      // The reference never matches an empty literal.
      if (!text_.empty()) {
        for (std::size_t at = s.find(text_); at != std::string_view::npos; at = s.find(text_, at + text_.size())) {
          add(at, at + text_.size());
        }
      }
    } else {
      std::unique_ptr<pcre2_match_data, decltype(&pcre2_match_data_free)> md(
          pcre2_match_data_create_from_pattern(code_, nullptr), &pcre2_match_data_free);
      if (!md) throw Error("out of memory matching the pre-tokenizer regex");
      std::size_t from = 0;
      std::size_t last_end = std::string_view::npos;
      while (from <= s.size()) {
        const auto [start, end] = search(s, from, md.get());
        if (start == std::string_view::npos) break;
        if (start == end && end == last_end) {
          from += from < s.size() ? char_len_at(s, from) : 1;
          continue;
        }
        add(start, end);
        from = last_end = end;
      }
    }
    if (prev != s.size()) out.push_back({prev, s.size(), false});
  }

 private:
  Pattern() = default;

  std::pair<std::size_t, std::size_t> search(std::string_view s, std::size_t from, pcre2_match_data* md) const {
    // The text was made valid UTF-8 and `from` is at a character boundary.
    const auto subject = reinterpret_cast<PCRE2_SPTR>(s.data());
    int rc = pcre2_match(code_, subject, s.size(), from, PCRE2_NO_UTF_CHECK, md, nullptr);
    if (rc == PCRE2_ERROR_JIT_STACKLIMIT) {
      // The JIT's stack is small; the interpreter keeps its frames on the heap.
      rc = pcre2_match(code_, subject, s.size(), from, PCRE2_NO_UTF_CHECK | PCRE2_NO_JIT, md, nullptr);
    }
    if (rc == PCRE2_ERROR_NOMATCH) return {std::string_view::npos, std::string_view::npos};
    if (rc < 0) {
      PCRE2_UCHAR message[256];
      pcre2_get_error_message(rc, message, sizeof message);
      throw Error("{}: the regex failed on a text of {} bytes: {}", where_, s.size(),
                  reinterpret_cast<const char*>(message));
    }
    const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(md);
    // \K in a lookahead can report a match that ends before it starts.
    if (ov[1] < ov[0] || ov[0] < from) {
      throw Error("{}: the regex reported a match outside the text searched", where_);
    }
    return {ov[0], ov[1]};
  }

  pcre2_code* code_ = nullptr;
  std::string text_;   // a literal pattern
  std::string where_;  // a regex's file and JSON path, for errors while matching
};

// ---------------------------------------------------------------- pre-tokenizer

enum class Behavior { kRemoved, kIsolated, kMergedWithPrevious, kMergedWithNext, kContiguous };

struct PreStep {
  enum class Kind { kSplit, kByteLevel } kind = Kind::kSplit;
  std::shared_ptr<const Pattern> pattern;  // kSplit; kByteLevel with use_regex (GPT-2's)
  Behavior behavior = Behavior::kIsolated;
  bool invert = false;
  bool add_prefix_space = false;  // kByteLevel
};

Behavior read_behavior(const At& b) {
  const std::string s = b.str();
  if (s == "Removed") return Behavior::kRemoved;
  if (s == "Isolated") return Behavior::kIsolated;
  if (s == "MergedWithPrevious") return Behavior::kMergedWithPrevious;
  if (s == "MergedWithNext") return Behavior::kMergedWithNext;
  if (s == "Contiguous") return Behavior::kContiguous;
  b.fail("unknown split behavior \"{}\" (expected Removed, Isolated, MergedWithPrevious, MergedWithNext or Contiguous)",
         s);
}

void read_pre_tokenizer(const At& p, std::vector<PreStep>& out, std::shared_ptr<const Pattern>& gpt2) {
  if (p.is_null()) return;
  constexpr const char* kSupported = "Split, ByteLevel or a Sequence of them";
  const std::string type = p.type("pre-tokenizer", kSupported);
  if (type == "Sequence") {
    const At list = p["pretokenizers"];
    for (std::size_t i = 0; i < list.array_size(); ++i) read_pre_tokenizer(list[i], out, gpt2);
    return;
  }
  PreStep step;
  if (type == "Split") {
    const At pattern = p["pattern"];
    if (!pattern.value().is_object()) pattern.wrong("{\"Regex\": ...} or {\"String\": ...}");
    if (!pattern["Regex"].is_null()) {
      step.pattern = Pattern::regex(pattern["Regex"].str(), pattern["Regex"]);
    } else if (!pattern["String"].is_null()) {
      step.pattern = Pattern::literal(pattern["String"].str());
    } else {
      pattern.wrong("{\"Regex\": ...} or {\"String\": ...}");
    }
    step.behavior = read_behavior(p["behavior"]);
    step.invert = p["invert"].boolean(false);
  } else if (type == "ByteLevel") {
    step.kind = PreStep::Kind::kByteLevel;
    // The reference's defaults when a field is absent.
    step.add_prefix_space = p["add_prefix_space"].boolean(true);
    if (p["use_regex"].boolean(true)) {
      if (!gpt2) gpt2 = Pattern::regex(kGpt2Pattern, p);
      step.pattern = gpt2;
    }
  } else {
    p["type"].fail("unknown pre-tokenizer \"{}\"; this tokenizer reads {}", type, kSupported);
  }
  out.push_back(std::move(step));
}

// The reference's NormalizedString::split: matches and gaps combined by the
// behaviour, empty pieces dropped.
void split_piece(const std::string& s, const PreStep& step, std::vector<Span>& spans, std::vector<std::string>& out) {
  step.pattern->find_matches(s, spans);
  if (step.invert) {
    for (Span& sp : spans) sp.is_match = !sp.is_match;
  }
  std::vector<Span> merged;
  bool previous_match = false;
  switch (step.behavior) {
    case Behavior::kIsolated:
      merged = spans;
      for (Span& sp : merged) sp.is_match = false;
      break;
    case Behavior::kRemoved:
      merged = spans;  // the matches are dropped below
      break;
    case Behavior::kContiguous:
      for (const Span& sp : spans) {
        if (sp.is_match == previous_match && !merged.empty()) {
          merged.back().end = sp.end;
        } else {
          merged.push_back({sp.start, sp.end, false});
        }
        previous_match = sp.is_match;
      }
      break;
    case Behavior::kMergedWithPrevious:
      for (const Span& sp : spans) {
        if (sp.is_match && !previous_match && !merged.empty()) {
          merged.back().end = sp.end;
        } else {
          merged.push_back({sp.start, sp.end, false});
        }
        previous_match = sp.is_match;
      }
      break;
    case Behavior::kMergedWithNext:
      for (auto it = spans.rbegin(); it != spans.rend(); ++it) {
        if (it->is_match && !previous_match && !merged.empty()) {
          merged.back().start = it->start;
        } else {
          merged.push_back({it->start, it->end, false});
        }
        previous_match = it->is_match;
      }
      std::reverse(merged.begin(), merged.end());
      break;
  }
  for (const Span& sp : merged) {
    if (sp.is_match || sp.end == sp.start) continue;
    out.push_back(s.substr(sp.start, sp.end - sp.start));
  }
}

// ---------------------------------------------------------------- BPE model

struct Merge {
  std::int32_t rank;
  std::int64_t id;
};

std::uint64_t pair_key(std::int64_t a, std::int64_t b) {
  return (static_cast<std::uint64_t>(a) << 32) | static_cast<std::uint64_t>(b);
}

struct BpeModel {
  std::unordered_map<std::string, std::int64_t> vocab;
  std::unordered_map<std::uint64_t, Merge> merges;
  std::optional<std::int64_t> unk;
  bool fuse_unk = false;
  bool byte_fallback = false;
  bool ignore_merges = false;

  struct Symbol {
    std::int64_t id;
    std::int64_t prev, next;
    std::size_t len;  // bytes; 0 once merged into its left neighbour
  };
  struct Candidate {
    std::int32_t rank;
    std::size_t pos;
    std::int64_t id;
    // std::priority_queue pops the largest: lowest rank, then leftmost.
    bool operator<(const Candidate& o) const { return rank != o.rank ? rank > o.rank : pos > o.pos; }
  };

  const Merge* merge_of(std::int64_t a, std::int64_t b) const {
    const auto it = merges.find(pair_key(a, b));
    return it == merges.end() ? nullptr : &it->second;
  }

  // One piece (in the model's alphabet) to ids, as the reference's
  // BPE::tokenize: whole-word lookup with ignore_merges, then one symbol per
  // character (byte_fallback, unk_token and fuse_unk for the unknown ones)
  // merged lowest rank first, leftmost on ties.
  void tokenize(std::string_view piece, std::vector<std::int64_t>& out) const {
    if (piece.empty()) return;
    if (ignore_merges) {
      const auto it = vocab.find(std::string(piece));
      if (it != vocab.end()) {
        out.push_back(it->second);
        return;
      }
    }
    std::vector<Symbol> symbols;
    auto add = [&](std::int64_t id, std::size_t len) {
      const auto n = static_cast<std::int64_t>(symbols.size());
      if (!symbols.empty()) symbols.back().next = n;
      symbols.push_back({id, n - 1, -1, len});
    };
    // An unk not yet added (fuse_unk grows it): id and length, when `pending`.
    // (Two plain values, not an optional pair: GCC 12 at -O2 warns that the
    // optional's pair may be read uninitialised.)
    bool pending = false;
    std::int64_t pending_id = 0;
    std::size_t pending_len = 0;
    std::string key;
    for (std::size_t i = 0; i < piece.size();) {
      const std::size_t len = char_len_at(piece, i);
      key.assign(piece.substr(i, len));
      i += len;
      const auto it = vocab.find(key);
      if (it != vocab.end()) {
        if (pending) add(pending_id, pending_len);
        pending = false;
        add(it->second, len);
        continue;
      }
      if (byte_fallback) {
        std::vector<std::int64_t> ids;
        for (unsigned char b : key) {
          const auto f = vocab.find(fmt::format("<0x{:02X}>", b));
          if (f == vocab.end()) break;
          ids.push_back(f->second);
        }
        if (ids.size() == key.size()) {
          // As the reference: a pending unk is not flushed first.
          for (std::int64_t id : ids) add(id, 1);
          continue;
        }
      }
      if (unk) {
        if (pending && fuse_unk) {
          pending_len += len;
        } else {
          if (pending) add(pending_id, pending_len);
          pending = true;
          pending_id = *unk;
          pending_len = len;
        }
      }
      // Without an unk token the reference drops the character.
    }
    if (pending) add(pending_id, pending_len);

    std::priority_queue<Candidate> queue;
    for (std::size_t i = 0; i + 1 < symbols.size(); ++i) {
      if (const Merge* m = merge_of(symbols[i].id, symbols[i + 1].id)) queue.push({m->rank, i, m->id});
    }
    while (!queue.empty()) {
      const Candidate top = queue.top();
      queue.pop();
      Symbol& left = symbols[top.pos];
      if (left.len == 0 || left.next < 0) continue;
      const auto right_pos = static_cast<std::size_t>(left.next);
      const Symbol right = symbols[right_pos];
      // A stale entry: one side has changed since it was queued.
      const Merge* now = merge_of(left.id, right.id);
      if (now == nullptr || now->id != top.id) continue;
      left.id = top.id;
      left.len += right.len;
      left.next = right.next;
      symbols[right_pos].len = 0;
      if (right.next >= 0) symbols[static_cast<std::size_t>(right.next)].prev = static_cast<std::int64_t>(top.pos);
      if (left.prev >= 0) {
        const auto p = static_cast<std::size_t>(left.prev);
        if (const Merge* m = merge_of(symbols[p].id, left.id)) queue.push({m->rank, p, m->id});
      }
      if (left.next >= 0) {
        if (const Merge* m = merge_of(left.id, symbols[static_cast<std::size_t>(left.next)].id)) {
          queue.push({m->rank, top.pos, m->id});
        }
      }
    }
    for (const Symbol& s : symbols) {
      if (s.len != 0) out.push_back(s.id);
    }
  }
};

void read_model(const At& m, BpeModel& model) {
  if (m.is_null()) m.fail("is missing (expected the BPE model)");
  if (!m.value().is_object()) m.wrong("an object (the BPE model)");
  const At type = m["type"];
  // Old files leave the type out; a vocab and merges make it BPE.
  if (!type.is_null() && type.str() != "BPE") {
    type.fail("unknown model \"{}\"; this tokenizer reads BPE (byte-level) models only", type.str());
  }
  if (!m["dropout"].is_null()) {
    const At d = m["dropout"];
    if (!d.value().is_number()) d.wrong("null or a number");
    if (d.value().get<double>() != 0.0)
      d.fail("BPE dropout ({}) is for training; it is not supported", d.value().dump());
  }
  for (const char* field : {"continuing_subword_prefix", "end_of_word_suffix"}) {
    const At f = m[field];
    if (!f.is_null() && !f.str().empty()) {
      f.fail("{} is not supported (byte-level BPE files leave it null or empty)", detail::json_brief(f.value()));
    }
  }
  model.fuse_unk = m["fuse_unk"].boolean(false);
  model.byte_fallback = m["byte_fallback"].boolean(false);
  model.ignore_merges = m["ignore_merges"].boolean(false);

  const At vocab = m["vocab"];
  if (!vocab.value().is_object()) vocab.wrong("an object of token -> id");
  model.vocab.reserve(vocab.value().size());
  for (const auto& [token, id] : vocab.value().items()) {
    model.vocab.emplace(token,
                        At(id, fmt::format("{}.{}", vocab.path(), detail::json_brief(json(token))), m.file()).id());
  }
  if (!m["unk_token"].is_null()) {
    const std::string unk = m["unk_token"].str();
    const auto it = model.vocab.find(unk);
    if (it == model.vocab.end()) m["unk_token"].fail("\"{}\" is not in model.vocab", unk);
    model.unk = it->second;
  }

  const At merges = m["merges"];
  const std::size_t n = merges.array_size();
  if (n > static_cast<std::size_t>(std::numeric_limits<std::int32_t>::max())) merges.fail("has too many merges");
  model.merges.reserve(n);
  auto id_of = [&](const At& where, const std::string& token, const char* role) {
    const auto it = model.vocab.find(token);
    if (it == model.vocab.end()) {
      where.fail("the merge's {} {} is not in model.vocab", role, detail::json_brief(json(token)));
    }
    return it->second;
  };
  for (std::size_t i = 0; i < n; ++i) {
    const At e = merges[i];
    std::string a, b;
    if (e.value().is_string()) {
      // "a b", the older spelling: split at the first space.
      const std::string s = e.str();
      const std::size_t space = s.find(' ');
      if (space == std::string::npos) e.fail("expected \"<left> <right>\", found {}", detail::json_brief(e.value()));
      a = s.substr(0, space);
      b = s.substr(space + 1);
    } else if (e.value().is_array() && e.value().size() == 2) {
      a = e[0].str();
      b = e[1].str();
    } else {
      e.wrong("\"<left> <right>\" or [\"<left>\", \"<right>\"]");
    }
    const std::int64_t a_id = id_of(e, a, "left token");
    const std::int64_t b_id = id_of(e, b, "right token");
    const std::int64_t ab = id_of(e, a + b, "result");
    // A repeated pair takes its last rank, as the reference's map does.
    model.merges.insert_or_assign(pair_key(a_id, b_id), Merge{static_cast<std::int32_t>(i), ab});
  }
}

// ---------------------------------------------------------------- added tokens

struct AddedToken {
  std::string content;
  std::int64_t id = 0;
  bool special = false, lstrip = false, rstrip = false, single_word = false, normalized = false;
};

// Longest match at a position over a byte trie.
class Trie {
 public:
  Trie() : nodes_(1) {}
  void add(std::string_view s, int token) {
    std::size_t n = 0;
    for (unsigned char c : s) {
      auto& next = nodes_[n].next;
      const auto it =
          std::lower_bound(next.begin(), next.end(), c, [](const auto& e, unsigned char x) { return e.first < x; });
      if (it != next.end() && it->first == c) {
        n = it->second;
      } else {
        const std::size_t child = nodes_.size();
        next.insert(it, {c, child});
        nodes_.emplace_back();
        n = child;
      }
    }
    nodes_[n].token = token;
  }
  bool empty() const { return nodes_.size() == 1; }
  // The longest token starting at s[at]: its index and length, or -1.
  int longest(std::string_view s, std::size_t at, std::size_t& len) const {
    int best = -1;
    std::size_t n = 0;
    for (std::size_t i = at; i < s.size(); ++i) {
      const auto& next = nodes_[n].next;
      const auto c = static_cast<unsigned char>(s[i]);
      const auto it =
          std::lower_bound(next.begin(), next.end(), c, [](const auto& e, unsigned char x) { return e.first < x; });
      if (it == next.end() || it->first != c) break;
      n = it->second;
      if (nodes_[n].token >= 0) {
        best = nodes_[n].token;
        len = i + 1 - at;
      }
    }
    return best;
  }

 private:
  struct Node {
    std::vector<std::pair<unsigned char, std::size_t>> next;  // sorted
    int token = -1;
  };
  std::vector<Node> nodes_;
};

// Text still to tokenize, or an added token's id.
struct Segment {
  std::string text;
  std::int64_t id = -1;
};

// The reference's AddedVocabulary::find_matches + split_with_indices over
// one stretch of text.
void split_added(const std::string& s, const Trie& trie, const std::vector<AddedToken>& tokens, bool parse_special,
                 std::vector<Segment>& out) {
  if (trie.empty()) {
    if (!s.empty()) out.push_back({s, -1});
    return;
  }
  std::size_t start_offset = 0;
  std::size_t at = 0;
  while (at < s.size()) {
    std::size_t len = 0;
    const int t = trie.longest(s, at, len);
    if (t < 0) {
      ++at;
      continue;
    }
    std::size_t start = at, stop = at + len;
    at = stop;  // matches never overlap, whether this one is used or not
    const AddedToken& tok = tokens[static_cast<std::size_t>(t)];
    if (tok.special && !parse_special) continue;
    if (start < start_offset) continue;  // inside what the previous rstrip took
    if (tok.single_word) {
      const bool word_before = start > 0 && is_word_char(last_code_point(std::string_view(s).substr(0, start)));
      const bool word_after = stop < s.size() && is_word_char(code_point_at(s, stop));
      if (word_before || word_after) continue;
    }
    if (tok.lstrip) {
      std::size_t new_start = start;
      while (new_start > start_offset) {
        std::size_t p = new_start - 1;
        while (p > 0 && (static_cast<unsigned char>(s[p]) & 0xC0) == 0x80) --p;
        if (!is_white_space(code_point_at(s, p))) break;
        new_start = p;
      }
      start = new_start;
    }
    if (tok.rstrip) {
      while (stop < s.size() && is_white_space(code_point_at(s, stop))) stop += char_len_at(s, stop);
      at = stop;
    }
    if (start_offset < start) out.push_back({s.substr(start_offset, start - start_offset), -1});
    out.push_back({{}, tok.id});
    start_offset = stop;
  }
  if (start_offset < s.size()) out.push_back({s.substr(start_offset), -1});
}

// In a post-processor template: where the text goes.
constexpr std::int64_t kSequence = -1;

// Token strings as tokenizer_config.json writes them: "x" or {"content": "x"}.
std::optional<std::string> config_token(const At& v) {
  if (v.is_null()) return std::nullopt;
  if (v.value().is_string()) return v.str();
  if (v.value().is_object()) return v["content"].str();
  v.wrong("a token string, {\"content\": ...} or null");
}

}  // namespace

// ---------------------------------------------------------------- the tokenizer

struct BpeTokenizer::Impl {
  struct Entry {
    std::string token;
    std::string bytes;  // what the decoder makes of it
    bool special = false;
  };

  std::string source;
  Normalizer normalizer;
  std::vector<PreStep> pre;
  std::shared_ptr<const Pattern> gpt2;
  BpeModel model;
  std::vector<AddedToken> added;
  Trie raw_trie, normalized_trie;
  std::unordered_map<std::string, std::int64_t> added_ids;
  // TemplateProcessing's single-sequence template; kSequence marks the text.
  std::vector<std::int64_t> post_template;
  bool byte_level_decoder = false;
  std::unordered_map<std::int64_t, Entry> entries;
  std::size_t vocab_size = 0;
  std::optional<std::int64_t> bos, eos, pad, unk;

  const Entry* entry(std::int64_t id) const {
    const auto it = entries.find(id);
    return it == entries.end() ? nullptr : &it->second;
  }

  void pre_tokenize(std::string text, std::vector<std::string>& pieces) const {
    pieces.clear();
    pieces.push_back(std::move(text));
    std::vector<std::string> next;
    std::vector<Span> spans;
    const ByteAlphabet& alphabet = byte_alphabet();
    for (const PreStep& step : pre) {
      next.clear();
      for (std::string& p : pieces) {
        if (p.empty()) continue;
        if (step.kind == PreStep::Kind::kByteLevel) {
          if (step.add_prefix_space && p[0] != ' ') p.insert(p.begin(), ' ');
          std::vector<std::string> parts;
          if (step.pattern) {
            PreStep isolated;
            isolated.pattern = step.pattern;
            split_piece(p, isolated, spans, parts);
          } else {
            parts.push_back(std::move(p));
          }
          for (const std::string& part : parts) {
            std::string mapped;
            mapped.reserve(part.size() * 2);
            for (unsigned char b : part) mapped += alphabet.chars[b];
            next.push_back(std::move(mapped));
          }
        } else {
          split_piece(p, step, spans, next);
        }
      }
      std::swap(pieces, next);
    }
    pieces.erase(std::remove_if(pieces.begin(), pieces.end(), [](const std::string& p) { return p.empty(); }),
                 pieces.end());
  }
};

namespace {

void read_post_processor(const At& p, std::vector<std::int64_t>& tmpl, bool& have_template,
                         const std::function<bool(std::int64_t)>& known) {
  if (p.is_null()) return;
  constexpr const char* kSupported = "ByteLevel, TemplateProcessing or a Sequence of them";
  const std::string type = p.type("post-processor", kSupported);
  if (type == "ByteLevel") return;  // offsets only; ids unchanged
  if (type == "Sequence") {
    const At list = p["processors"];
    for (std::size_t i = 0; i < list.array_size(); ++i) read_post_processor(list[i], tmpl, have_template, known);
    return;
  }
  if (type != "TemplateProcessing") {
    p["type"].fail("unknown post-processor \"{}\"; this tokenizer reads {}", type, kSupported);
  }
  if (have_template) p.fail("a second TemplateProcessing is not supported");
  have_template = true;
  const At single = p["single"];
  const At specials = p["special_tokens"];
  bool has_sequence = false;
  for (std::size_t i = 0; i < single.array_size(); ++i) {
    const At piece = single[i];
    if (!piece["Sequence"].is_null()) {
      const std::string which = piece["Sequence"]["id"].str();
      if (which != "A") piece["Sequence"]["id"].fail("a single-sequence template can only hold sequence A");
      tmpl.push_back(kSequence);
      has_sequence = true;
    } else if (!piece["SpecialToken"].is_null()) {
      const std::string name = piece["SpecialToken"]["id"].str();
      const At entry = specials[name];
      if (entry.is_null()) piece.fail("names \"{}\", which special_tokens does not define", name);
      const At ids = entry["ids"];
      for (std::size_t k = 0; k < ids.array_size(); ++k) {
        const std::int64_t id = ids[k].id();
        if (!known(id)) ids[k].fail("{} is not the id of any token", id);
        tmpl.push_back(id);
      }
    } else {
      piece.wrong("{\"Sequence\": ...} or {\"SpecialToken\": ...}");
    }
  }
  if (!has_sequence) single.fail("has no {{\"Sequence\": {{\"id\": \"A\"}}}}: the text would be dropped");
}

void read_decoder(const At& d, bool& byte_level) {
  if (d.is_null()) return;
  constexpr const char* kSupported = "ByteLevel";
  const std::string type = d.type("decoder", kSupported);
  if (type == "Sequence") {
    const At list = d["decoders"];
    for (std::size_t i = 0; i < list.array_size(); ++i) read_decoder(list[i], byte_level);
    return;
  }
  if (type != "ByteLevel") d["type"].fail("unknown decoder \"{}\"; this tokenizer reads {}", type, kSupported);
  if (byte_level) d.fail("a second ByteLevel decoder is not supported");
  byte_level = true;
}

}  // namespace

BpeTokenizer BpeTokenizer::load(const std::filesystem::path& folder) {
  const std::filesystem::path config = folder / "tokenizer_config.json";
  std::error_code ec;
  return from_files(folder / "tokenizer.json", std::filesystem::is_regular_file(config, ec) ? config : "");
}

BpeTokenizer BpeTokenizer::from_files(const std::filesystem::path& tokenizer_json,
                                      const std::filesystem::path& tokenizer_config) {
  const std::string text = read_file(tokenizer_json, kMaxTokenizerBytes, "tokenizer");
  std::string config;
  if (!tokenizer_config.empty()) config = read_file(tokenizer_config, kMaxTokenizerConfigBytes, "tokenizer config");
  return parse(text, tokenizer_json.string(), config, tokenizer_config.string());
}

BpeTokenizer BpeTokenizer::parse(std::string_view tokenizer_json, const std::string& source,
                                 std::string_view tokenizer_config, const std::string& config_source) {
  auto impl = std::make_shared<Impl>();
  impl->source = source;
  const json root_value = parse_json(tokenizer_json, source);
  const At root(root_value, "", impl->source);
  {
    if (!root_value.is_object()) root.wrong("an object (a tokenizer.json)");
    read_normalizer(root["normalizer"], impl->normalizer);
    read_pre_tokenizer(root["pre_tokenizer"], impl->pre, impl->gpt2);
    read_model(root["model"], impl->model);
    read_decoder(root["decoder"], impl->byte_level_decoder);

    const At added = root["added_tokens"];
    if (!added.is_null()) {
      for (std::size_t i = 0; i < added.array_size(); ++i) {
        const At a = added[i];
        AddedToken t;
        t.id = a["id"].id();
        t.content = a["content"].str();
        t.special = a["special"].boolean(false);
        t.lstrip = a["lstrip"].boolean(false);
        t.rstrip = a["rstrip"].boolean(false);
        t.single_word = a["single_word"].boolean(false);
        t.normalized = a["normalized"].boolean(!t.special);
        if (t.content.empty()) continue;  // the reference skips these too
        impl->added.push_back(std::move(t));
      }
    }
  }
  // Ids and tokens: the model's vocabulary, then the added tokens over it.
  Impl& im = *impl;
  for (const auto& [token, id] : im.model.vocab) {
    auto [it, inserted] = im.entries.try_emplace(id);
    // Two tokens with one id: keep the first alphabetically, so loading is
    // deterministic (the reference's pick depends on its hash map).
    if (inserted || token < it->second.token) it->second.token = token;
  }
  std::unordered_set<std::string> specials;
  for (std::size_t i = 0; i < im.added.size(); ++i) {
    const AddedToken& t = im.added[i];
    if (t.special) specials.insert(t.content);
    im.added_ids[t.content] = t.id;
    im.entries[t.id].token = t.content;
    if (t.normalized) {
      im.normalized_trie.add(im.normalizer.apply(t.content), static_cast<int>(i));
    } else {
      im.raw_trie.add(t.content, static_cast<int>(i));
    }
  }
  for (auto& [id, e] : im.entries) {
    e.special = specials.count(e.token) != 0;
    e.bytes = im.byte_level_decoder ? byte_level_bytes(e.token) : e.token;
  }
  {
    std::unordered_set<std::string_view> extra;
    for (const AddedToken& t : im.added) {
      if (im.model.vocab.count(t.content) == 0) extra.insert(t.content);
    }
    im.vocab_size = im.model.vocab.size() + extra.size();
  }
  // After the ids are known: a template's tokens must be among them.
  bool have_template = false;
  read_post_processor(root["post_processor"], im.post_template, have_template,
                      [&](std::int64_t id) { return im.entry(id) != nullptr; });

  if (!tokenizer_config.empty()) {
    const json config = parse_json(tokenizer_config, config_source);
    const At root(config, "", config_source);
    if (!config.is_object()) root.wrong("an object (a tokenizer_config.json)");
    auto resolve = [&](const char* field, std::optional<std::int64_t>& out) {
      const At v = root[field];
      const auto token = config_token(v);
      if (!token) return;
      const auto it = im.added_ids.find(*token);
      if (it != im.added_ids.end()) {
        out = it->second;
        return;
      }
      const auto m = im.model.vocab.find(*token);
      if (m == im.model.vocab.end()) v.fail("\"{}\" is not a token of {}", *token, source);
      out = m->second;
    };
    resolve("bos_token", im.bos);
    resolve("eos_token", im.eos);
    resolve("pad_token", im.pad);
    resolve("unk_token", im.unk);
  }
  BpeTokenizer t;
  t.impl_ = std::move(impl);
  return t;
}

std::vector<std::int64_t> BpeTokenizer::encode(std::string_view text, const EncodeOptions& options) const {
  const Impl& im = *impl_;
  std::vector<Segment> raw, normalized;
  split_added(lossy_utf8(text), im.raw_trie, im.added, options.parse_special, raw);
  std::vector<std::int64_t> ids;
  std::vector<std::string> pieces;
  for (Segment& seg : raw) {
    if (seg.id >= 0) {
      ids.push_back(seg.id);
      continue;
    }
    normalized.clear();
    split_added(im.normalizer.apply(seg.text), im.normalized_trie, im.added, options.parse_special, normalized);
    for (Segment& part : normalized) {
      if (part.id >= 0) {
        ids.push_back(part.id);
        continue;
      }
      im.pre_tokenize(std::move(part.text), pieces);
      for (const std::string& p : pieces) im.model.tokenize(p, ids);
    }
  }
  if (!options.add_special_tokens || im.post_template.empty()) return ids;
  std::vector<std::int64_t> out;
  out.reserve(ids.size() + im.post_template.size());
  for (std::int64_t t : im.post_template) {
    if (t == kSequence) {
      out.insert(out.end(), ids.begin(), ids.end());
    } else {
      out.push_back(t);
    }
  }
  return out;
}

std::string BpeTokenizer::decode(std::span<const std::int64_t> ids, bool skip_special_tokens) const {
  const Impl& im = *impl_;
  std::string out;
  bool first = true;
  for (std::int64_t id : ids) {
    const Impl::Entry* e = im.entry(id);
    if (e == nullptr || (skip_special_tokens && e->special)) continue;
    if (!im.byte_level_decoder && !first) out += ' ';
    out += e->bytes;
    first = false;
  }
  return im.byte_level_decoder ? lossy_utf8(out) : out;
}

std::optional<std::int64_t> BpeTokenizer::token_to_id(std::string_view token) const {
  const std::string key(token);
  if (const auto it = impl_->added_ids.find(key); it != impl_->added_ids.end()) return it->second;
  if (const auto it = impl_->model.vocab.find(key); it != impl_->model.vocab.end()) return it->second;
  return std::nullopt;
}

std::optional<std::string> BpeTokenizer::id_to_token(std::int64_t id) const {
  const Impl::Entry* e = impl_->entry(id);
  if (e == nullptr) return std::nullopt;
  return e->token;
}

bool BpeTokenizer::is_special(std::int64_t id) const {
  const Impl::Entry* e = impl_->entry(id);
  return e != nullptr && e->special;
}

std::optional<std::int64_t> BpeTokenizer::bos_id() const { return impl_->bos; }
std::optional<std::int64_t> BpeTokenizer::eos_id() const { return impl_->eos; }
std::optional<std::int64_t> BpeTokenizer::pad_id() const { return impl_->pad; }
std::optional<std::int64_t> BpeTokenizer::unk_id() const { return impl_->unk; }
std::size_t BpeTokenizer::vocab_size() const { return impl_->vocab_size; }
const std::string& BpeTokenizer::source() const { return impl_->source; }

// ---------------------------------------------------------------- streaming

StreamDecoder::StreamDecoder(BpeTokenizer tokenizer, bool skip_special_tokens)
    : tokenizer_(std::move(tokenizer)), skip_special_(skip_special_tokens) {}

std::string StreamDecoder::push(std::int64_t id) {
  const BpeTokenizer::Impl& im = *tokenizer_.impl_;
  const BpeTokenizer::Impl::Entry* e = im.entry(id);
  if (e == nullptr || (skip_special_ && e->special)) return {};
  if (!im.byte_level_decoder && started_) pending_ += ' ';
  pending_ += e->bytes;
  started_ = true;
  if (im.byte_level_decoder && ends_mid_character(pending_)) return {};
  std::string out = im.byte_level_decoder ? lossy_utf8(pending_) : std::move(pending_);
  pending_.clear();
  return out;
}

std::string StreamDecoder::flush() {
  std::string out = lossy_utf8(pending_);
  pending_.clear();
  return out;
}

void StreamDecoder::reset() {
  pending_.clear();
  started_ = false;
}

}  // namespace sc::engine
