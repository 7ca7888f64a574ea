#pragma once
// CLIP's byte-level BPE tokenizer, reading a tokenizer/ folder as published
// (vocab.json + merges.txt, and tokenizer_config.json / special_tokens_map.json
// for the pad token and the maximum length). Follows transformers'
// CLIPTokenizer (the tokenizers backend; no ftfy):
//   normalise: runs of Unicode whitespace -> one space, lower-case;
//   special tokens (bos, eos, and the pad token) are cut out first;
//   split: 's 't 're 've 'm 'll 'd, letter
//          runs, single digits, runs of anything else but whitespace;
//   bytes -> GPT-2's printable alphabet, BPE by merge rank with "</w>" on the
//   last symbol of each piece; bos + ids[:max - 2] + eos, padded to max.
// Known differences, all outside what people type: no NFC composition (text
// is taken as already composed), single-code-point lower-casing, and letters
// and digits are classified by the C library's C.UTF-8 tables, where digits
// of other scripts count as letters. Invalid UTF-8 becomes U+FFFD.
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "engine/tensor.h"

namespace sc::engine {

class ClipTokenizer {
 public:
  // A tokenizer/ folder. The pad token is the folder's (tokenizer_config.json,
  // else special_tokens_map.json, else the eos token): SD 1.5 pads with
  // <|endoftext|>, SD 2.x / sd-turbo with "!".
  static ClipTokenizer load(const std::filesystem::path& folder);
  static ClipTokenizer from_files(const std::filesystem::path& vocab_json, const std::filesystem::path& merges_txt,
                                  const std::string& pad_token, std::int64_t max_length = 77);

  // The BPE ids of text, without bos/eos, padding or truncation.
  std::vector<std::int64_t> encode(std::string_view text) const;
  // bos + ids (truncated) + eos, padded to max_length().
  std::vector<std::int64_t> encode_padded(std::string_view text) const;
  // i64 [texts, max_length()].
  Tensor encode_batch(std::span<const std::string> texts) const;

  // vocab.json's token for an id ("cat</w>", in GPT-2's byte alphabet), or
  // none when vocab.json has no such id.
  std::optional<std::string> id_to_token(std::int64_t id) const;
  // The text of ids as transformers' CLIPTokenizerFast decodes it: the
  // tokens joined, the byte alphabet back to bytes (invalid UTF-8 as U+FFFD,
  // one per maximal invalid subsequence), each "</w>" a space, leading and
  // trailing whitespace stripped (Python's str.strip). skip_special_tokens
  // drops bos, eos and the pad token; ids vocab.json lacks are skipped, as
  // there. No clean_up_tokenization_spaces (CLIP's folders leave it off), so
  // "a photo , of" stays as it is.
  std::string decode(std::span<const std::int64_t> ids, bool skip_special_tokens = false) const;

  std::int64_t bos_id() const { return bos_id_; }
  std::int64_t eos_id() const { return eos_id_; }
  std::int64_t pad_id() const { return pad_id_; }
  std::int64_t max_length() const { return max_length_; }
  std::size_t vocab_size() const { return vocab_.size(); }
  // The folder (or vocab.json's folder) it was read from.
  const std::string& source() const { return source_; }

 private:
  void bpe(const std::string& piece, std::vector<std::int64_t>& out) const;
  std::int64_t id_of(const std::string& token, const std::string& what) const;

  std::unordered_map<std::string, std::int64_t> vocab_;
  std::unordered_map<std::int64_t, std::string> tokens_;  // vocab_ inverted
  std::map<std::pair<std::string, std::string>, std::int64_t> ranks_;
  std::vector<std::pair<std::u32string, std::int64_t>> specials_;
  std::vector<std::string> byte_chars_;  // byte -> its printable stand-in (UTF-8)
  std::int64_t bos_id_ = 0, eos_id_ = 0, pad_id_ = 0, max_length_ = 77;
  std::string source_;
};

}  // namespace sc::engine
