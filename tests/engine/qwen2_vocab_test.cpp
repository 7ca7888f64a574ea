// The byte-level BPE tokenizer with a real vocabulary: Qwen2's 151,643 tokens
// and 151,387 merges (Qwen's qwen.tiktoken as PyPI's dashscope 2.0.2 ships it,
// Apache-2.0) plus its three added tokens, built into tokenizer.json by
// transformers' Qwen2 path (tests/golden/gen_qwen2_vocab.py), committed as
// tests/golden/fixtures/qwen2_vocab/qwen2_vocab.tar.xz and unpacked into the
// build tree at configure time (SC_QWEN2_VOCAB_DIR). On every corpus string
// (mixed scripts, emoji sequences, code, numbers, whitespace runs, NFC / NFD,
// special tokens in text) the ids with special tokens parsed and read as text,
// the decodes and tokenizers' DecodeStream pieces must equal the reference's
// (`tokenizers`, which the generator checked against transformers' fast and
// slow tokenizers and tiktoken); and the ids published in transformers' and
// others' tests must come out.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/tokenizers/bpe_tokenizer.h"
#include "model_test_util.h"
#include "tokenizer_golden_util.h"

namespace sc::engine {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

std::filesystem::path unpacked() { return std::filesystem::path(SC_QWEN2_VOCAB_DIR); }

std::string slurp(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

const json& golden() {
  static const json j = json::parse(slurp(test::fixture_dir("qwen2_vocab") / "ids.json"));
  return j;
}

double ms_since(Clock::time_point t0) { return std::chrono::duration<double, std::milli>(Clock::now() - t0).count(); }

// Loaded once per process; how long the load took.
double g_load_ms = 0;

const BpeTokenizer& qwen() {
  static const BpeTokenizer t = [] {
    const auto t0 = Clock::now();
    BpeTokenizer loaded = BpeTokenizer::load(unpacked());
    g_load_ms = ms_since(t0);
    std::printf("[qwen2 vocab] loaded %s (%zu tokens) in %.0f ms\n", loaded.source().c_str(), loaded.vocab_size(),
                g_load_ms);
    return loaded;
  }();
  return t;
}

std::vector<std::int64_t> ids_of(const json& v) { return v.get<std::vector<std::int64_t>>(); }

std::string shown(const std::string& s) { return json(s).dump(); }

TEST(Qwen2Vocab, UnpackedFileIsTheOneTheGoldensWereMadeWith) {
  const auto file = unpacked() / "tokenizer.json";
  ASSERT_TRUE(std::filesystem::is_regular_file(file))
      << file << " is missing: re-run cmake to unpack " << golden()["archive"].get<std::string>();
  EXPECT_EQ(std::filesystem::file_size(file), golden()["tokenizer_json_bytes"].get<std::uintmax_t>())
      << file << " is not the file ids.json was made from: re-run cmake";
}

TEST(Qwen2Vocab, LoadsTheRealVocabulary) {
  const BpeTokenizer& t = qwen();
  const json& g = golden();
  RecordProperty("load_ms", static_cast<int>(g_load_ms));
  EXPECT_EQ(t.vocab_size(), g["vocab_size"].get<std::size_t>());
  EXPECT_EQ(t.vocab_size(), 151646u);
  EXPECT_EQ(t.eos_id(), 151645);  // <|im_end|>, Qwen2-Instruct's
  EXPECT_EQ(t.pad_id(), 151643);  // <|endoftext|>
  EXPECT_FALSE(t.bos_id().has_value());
  EXPECT_FALSE(t.unk_id().has_value());
  for (const auto& [content, id] : g["added_tokens"].items()) {
    EXPECT_EQ(t.token_to_id(content), id.get<std::int64_t>()) << content;
    EXPECT_EQ(t.id_to_token(id.get<std::int64_t>()), content);
    EXPECT_TRUE(t.is_special(id.get<std::int64_t>())) << content;
  }
  // Byte stand-ins and whole words of the model's vocabulary.
  EXPECT_EQ(t.token_to_id("\xC4\xA0"), 220);  // "Ġ", the space
  EXPECT_EQ(t.token_to_id("\xC4\x8A"), 198);  // "Ċ", the newline
  EXPECT_EQ(t.token_to_id("!"), 0);
  EXPECT_EQ(t.token_to_id("Hello"), 9707);
  EXPECT_EQ(t.id_to_token(151642), "\xC3\xA2\xC2\xBD\xC4\xB9");  // the last rank: bytes E2 BD 97 ("4r2X")
  EXPECT_FALSE(t.is_special(9707));
  EXPECT_FALSE(t.id_to_token(151646).has_value());
}

TEST(Qwen2Vocab, IdsMatchTheReference) {
  const json& cases = golden()["cases"];
  ASSERT_GE(cases.size(), 100u);
  std::vector<std::string> texts;
  for (const json& c : cases) texts.push_back(c["text"].get<std::string>());
  (void)qwen();

  // The whole corpus, specials parsed: the best of five passes.
  double best_ms = 1e30;
  std::size_t tokens = 0;
  for (int pass = 0; pass < 5; ++pass) {
    const auto t0 = Clock::now();
    std::size_t n = 0;
    for (const std::string& s : texts) n += qwen().encode(s).size();
    best_ms = std::min(best_ms, ms_since(t0));
    tokens = n;
  }

  int wrong = 0;
  std::size_t tokens_as_text = 0;
  for (const json& c : cases) {
    const std::string text = c["text"].get<std::string>();
    const auto got = qwen().encode(text);
    if (got != ids_of(c["ids"])) {
      ++wrong;
      ADD_FAILURE() << shown(text) << ": got " << json(got).dump() << "\n want " << c["ids"].dump() << "\n tokens "
                    << c["tokens"].dump();
    }
    const auto plain = qwen().encode(text, {.parse_special = false});
    tokens_as_text += plain.size();
    if (plain != ids_of(c["ids_no_special"])) {
      ++wrong;
      ADD_FAILURE() << shown(text) << " (specials as text): got " << json(plain).dump() << "\n want "
                    << c["ids_no_special"].dump();
    }
  }
  EXPECT_EQ(wrong, 0);
  EXPECT_EQ(tokens, golden()["tokens"].get<std::size_t>());
  RecordProperty("strings", static_cast<int>(cases.size()));
  RecordProperty("tokens", static_cast<int>(tokens));
  RecordProperty("encode_corpus_us", static_cast<int>(best_ms * 1000));
  std::printf(
      "[qwen2 vocab] checked %zu strings: %zu tokens with special tokens parsed, %zu with them read as text; "
      "encode of the corpus %.2f ms (%.0f tokens/s, %zu bytes)\n",
      cases.size(), tokens, tokens_as_text, best_ms, tokens / (best_ms / 1000), [&] {
        std::size_t bytes = 0;
        for (const std::string& s : texts) bytes += s.size();
        return bytes;
      }());
}

TEST(Qwen2Vocab, PublishedIds) {
  // From transformers' Qwen2 tokenizer tests and others' (ids.json names each
  // source): independent of the generator's encoders.
  const json& published = golden()["published"];
  ASSERT_GE(published.size(), 20u);
  std::size_t tokens = 0;
  for (const json& p : published) {
    const std::string text = p["text"].get<std::string>();
    const auto want = ids_of(p["ids"]);
    tokens += want.size();
    EXPECT_EQ(qwen().encode(text), want) << shown(text) << " from " << p["source"].get<std::string>();
    EXPECT_EQ(qwen().decode(want), text) << p["ids"].dump();
  }
  std::printf("[qwen2 vocab] %zu published id lists (%zu tokens) reproduced\n", published.size(), tokens);
}

TEST(Qwen2Vocab, DecodingMatchesTheReference) {
  for (const json& c : golden()["cases"]) {
    const auto ids = ids_of(c["ids"]);
    EXPECT_EQ(qwen().decode(ids), c["decoded"].get<std::string>()) << c["text"].dump();
    EXPECT_EQ(qwen().decode(ids, true), c["decoded_skip_special"].get<std::string>()) << c["text"].dump();
    EXPECT_EQ(qwen().decode(ids_of(c["ids_no_special"])), c["decoded_no_special"].get<std::string>())
        << c["text"].dump();
  }
  // Every id prefix of a few emoji / CJK / Thai strings (often ending inside
  // a character), lone byte tokens, a special token inside a character,
  // unknown ids: U+FFFD per maximal invalid sequence, as the reference.
  const json& odd = golden()["odd_decodes"];
  ASSERT_GE(odd.size(), 100u);
  for (const json& c : odd) {
    const auto ids = ids_of(c["ids"]);
    EXPECT_EQ(qwen().decode(ids), c["decoded"].get<std::string>()) << c["ids"].dump();
    EXPECT_EQ(qwen().decode(ids, true), c["decoded_skip_special"].get<std::string>()) << c["ids"].dump();
  }
}

TEST(Qwen2Vocab, StreamDecodingMatchesDecodeStream) {
  const test::StreamDecodeCounts n = test::expect_stream_decodes_match(qwen(), golden()["cases"]);
  const std::size_t steps_checked = n.steps, held = n.held;
  EXPECT_GT(held, 0u) << "no string in the corpus splits a character across tokens";
  std::printf("[qwen2 vocab] %zu stream steps checked, %zu of them held a partial character\n", steps_checked, held);
}

}  // namespace
}  // namespace sc::engine
