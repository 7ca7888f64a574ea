#pragma once
// Byte-level BPE from a Hugging Face tokenizer.json (Qwen2's; GPT-2's and the
// other byte-level models' too), following the `tokenizers` library:
//   added tokens are cut out of the raw text first (leftmost, longest first;
//   lstrip / rstrip / single_word as the reference applies them), special ones
//   only when parsing specials; the rest is normalised (NFC, NFD, NFKC, NFKD
//   or a Sequence of them, through ICU) and the `normalized` added tokens are
//   cut out of that; the pre-tokenizer splits it (Split on a PCRE2 regex or a
//   literal string, every behaviour, invert; ByteLevel, with GPT-2's regex or
//   without, add_prefix_space; a Sequence of those); each piece becomes GPT-2's
//   printable byte alphabet and is merged by rank, lowest rank then leftmost
//   first (ignore_merges, byte_fallback, unk_token / fuse_unk as in the
//   reference); a TemplateProcessing post-processor adds its tokens.
// Decoding: the ByteLevel decoder back to bytes, invalid UTF-8 shown as
//   U+FFFD, one per maximal invalid subsequence (Rust's from_utf8_lossy, which
//   the reference uses); without a decoder, tokens joined by spaces.
//   StreamDecoder holds a token that ends inside a character until the
//   character is whole.
// Refused when loading, by file and JSON path: any other normalizer,
//   pre-tokenizer, model, post-processor or decoder type; BPE dropout;
//   continuing_subword_prefix / end_of_word_suffix (byte-level files leave
//   them null or ""); a merge whose tokens or result are not in model.vocab.
// Known differences, all outside what Qwen2-style files and typed text reach:
//   regexes run with PCRE2 (UTF + UCP, ^ and $ at line ends) where the
//   reference uses Oniguruma, so Oniguruma-only syntax is not translated and
//   \s also takes U+180E; `truncation` and `padding` are not applied (the
//   caller chooses lengths); text that is not UTF-8 is read with U+FFFD for
//   each invalid sequence (Python's errors="replace"; the reference takes only
//   valid strings).
// A tokenizer is immutable once loaded: copies share it and every const
// member may be called from any thread.
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace sc::engine {

class BpeTokenizer {
 public:
  struct EncodeOptions {
    // Special added tokens written in the text become their ids. False reads
    // them as text (tokenizers' encode_special_tokens, transformers'
    // split_special_tokens): for text from users, so "<|im_end|>" typed in a
    // question cannot end a turn. Non-special added tokens match either way.
    bool parse_special = true;
    // The post-processor's tokens (a TemplateProcessing's bos, say); Qwen2's
    // ByteLevel post-processor adds none.
    bool add_special_tokens = true;
  };

  // A folder holding tokenizer.json and, when present, tokenizer_config.json
  // (bos / eos / pad / unk tokens).
  static BpeTokenizer load(const std::filesystem::path& folder);
  // tokenizer_config may be empty (no bos / eos / pad / unk known).
  static BpeTokenizer from_files(const std::filesystem::path& tokenizer_json,
                                 const std::filesystem::path& tokenizer_config = {});
  // From text; `source` and `config_source` name them in errors.
  static BpeTokenizer parse(std::string_view tokenizer_json, const std::string& source,
                            std::string_view tokenizer_config = {}, const std::string& config_source = {});

  std::vector<std::int64_t> encode(std::string_view text) const { return encode(text, EncodeOptions{}); }
  std::vector<std::int64_t> encode(std::string_view text, const EncodeOptions& options) const;
  // Ids the tokenizer does not know are skipped, as in the reference.
  std::string decode(std::span<const std::int64_t> ids, bool skip_special_tokens = false) const;

  // Added tokens first, then the model's vocabulary.
  std::optional<std::int64_t> token_to_id(std::string_view token) const;
  std::optional<std::string> id_to_token(std::int64_t id) const;
  // An added token marked special (what skip_special_tokens drops).
  bool is_special(std::int64_t id) const;

  // From tokenizer_config.json; empty where it names none (Qwen2 has no bos).
  std::optional<std::int64_t> bos_id() const;
  std::optional<std::int64_t> eos_id() const;
  std::optional<std::int64_t> pad_id() const;
  std::optional<std::int64_t> unk_id() const;
  // Distinct tokens, added ones included (tokenizers' get_vocab_size(true)).
  std::size_t vocab_size() const;
  // The tokenizer.json it was read from.
  const std::string& source() const;

 private:
  friend class StreamDecoder;
  struct Impl;
  std::shared_ptr<const Impl> impl_;
};

// Decodes ids one at a time, for streaming a model's answer: push() returns
// the text this id completes, holding a token back while the text ends inside
// a UTF-8 character (a CJK character or an emoji is often split over two or
// three byte tokens) and returning it with the token that completes it, as
// tokenizers' DecodeStream does. Invalid bytes are returned at once as
// U+FFFD. The concatenation of every push() and flush() is decode() of all
// the ids.
class StreamDecoder {
 public:
  explicit StreamDecoder(BpeTokenizer tokenizer, bool skip_special_tokens = false);

  std::string push(std::int64_t id);
  // What is still held (an unfinished character becomes U+FFFD); then empty.
  std::string flush();
  bool holding() const { return !pending_.empty(); }
  void reset();

 private:
  BpeTokenizer tokenizer_;
  bool skip_special_;
  bool started_ = false;  // without a decoder, tokens after the first get a space
  std::string pending_;
};

}  // namespace sc::engine
