// Byte-level BPE from tokenizer.json against the `tokenizers` library (and
// transformers, which the generator checks agree): tests/golden/fixtures/
// qwen2_tokenizer, made by tests/golden/gen_bpe_tokenizer.py. The ids of 63
// strings with specials parsed and not, decoding with and without specials,
// tokenizers' DecodeStream step by step, 11 variants of the file (GPT-2's
// ByteLevel regex, every Split behaviour, invert, a literal pattern, NFD /
// NFKC, ignore_merges, TemplateProcessing) and the legacy "a b" merges; then
// every bad file the reader must refuse by file and JSON path.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/error.h"
#include "engine/tokenizers/bpe_tokenizer.h"
#include "model_test_util.h"
#include "tokenizer_golden_util.h"

namespace sc::engine {
namespace {

using nlohmann::json;
using test::fixture_dir;

std::filesystem::path fixture() { return fixture_dir("qwen2_tokenizer"); }

std::string slurp(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

const json& golden() {
  static const json j = json::parse(slurp(fixture() / "ids.json"));
  return j;
}

const json& tokenizer_json() {
  static const json j = json::parse(slurp(fixture() / "tokenizer.json"));
  return j;
}

const BpeTokenizer& qwen() {
  static const BpeTokenizer t = BpeTokenizer::load(fixture());
  return t;
}

// The generator's patch rule: objects merge key by key, anything else
// (null included) replaces.
json merged(const json& base, const json& patch) {
  if (!base.is_object() || !patch.is_object()) return patch;
  json out = base;
  for (const auto& [k, v] : patch.items()) out[k] = v.is_object() && base.contains(k) ? merged(base[k], v) : v;
  return out;
}

std::vector<std::int64_t> ids_of(const json& v) { return v.get<std::vector<std::int64_t>>(); }

std::string shown(const std::string& s) { return json(s).dump(); }

// Text that is not cut inside a UTF-8 character and holds no U+FFFD.
bool whole_utf8(const std::string& s) {
  for (std::size_t i = 0; i < s.size();) {
    const auto b = static_cast<unsigned char>(s[i]);
    const std::size_t n = b < 0x80 ? 1 : b >= 0xF0 ? 4 : b >= 0xE0 ? 3 : b >= 0xC0 ? 2 : 0;
    if (n == 0 || i + n > s.size()) return false;
    for (std::size_t k = 1; k < n; ++k) {
      if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return false;
    }
    i += n;
  }
  return s.find("\xEF\xBF\xBD") == std::string::npos;
}

TEST(BpeTokenizer, LoadsTheFixtureLikeTheReference) {
  const BpeTokenizer& t = qwen();
  const json& g = golden();
  EXPECT_EQ(t.vocab_size(), g["vocab_size"].get<std::size_t>());
  EXPECT_EQ(t.eos_id(), g["special"]["eos"].get<std::int64_t>());
  EXPECT_EQ(t.pad_id(), g["special"]["pad"].get<std::int64_t>());
  EXPECT_FALSE(t.bos_id().has_value());  // Qwen2 has none
  EXPECT_FALSE(t.unk_id().has_value());
  for (const auto& [content, id] : g["added_tokens"].items()) {
    EXPECT_EQ(t.token_to_id(content), id.get<std::int64_t>()) << content;
    EXPECT_EQ(t.id_to_token(id.get<std::int64_t>()), content);
  }
  EXPECT_TRUE(t.is_special(*t.token_to_id("<|im_end|>")));
  EXPECT_TRUE(t.is_special(*t.token_to_id("<image>")));
  EXPECT_FALSE(t.is_special(*t.token_to_id("<tool_call>")));
  EXPECT_FALSE(t.is_special(*t.token_to_id("a")));
  // The model's vocabulary, byte stand-ins included ("Ġ" is the space).
  EXPECT_EQ(t.id_to_token(*t.token_to_id("\xC4\xA0")), "\xC4\xA0");
  EXPECT_FALSE(t.token_to_id("not a token").has_value());
  EXPECT_FALSE(t.id_to_token(1 << 30).has_value());
  EXPECT_FALSE(t.id_to_token(-1).has_value());
  EXPECT_EQ(t.source(), (fixture() / "tokenizer.json").string());
}

TEST(BpeTokenizer, IdsMatchTheReference) {
  const json& cases = golden()["cases"];
  ASSERT_GE(cases.size(), 60u);
  int wrong = 0;
  for (const json& c : cases) {
    const std::string text = c["text"].get<std::string>();
    const auto got = qwen().encode(text);
    if (got != ids_of(c["ids"])) {
      ++wrong;
      ADD_FAILURE() << shown(text) << ": got " << json(got).dump() << "\n want " << c["ids"].dump() << "\n tokens "
                    << c["tokens"].dump();
    }
    const auto plain = qwen().encode(text, {.parse_special = false});
    if (plain != ids_of(c["ids_no_special"])) {
      ++wrong;
      ADD_FAILURE() << shown(text) << " (specials as text): got " << json(plain).dump() << "\n want "
                    << c["ids_no_special"].dump();
    }
  }
  EXPECT_EQ(wrong, 0);
}

TEST(BpeTokenizer, ComposedAndDecomposedTextGiveTheSameIds) {
  // "é" as one code point and as e + U+0301: NFC makes them one.
  EXPECT_EQ(qwen().encode("caf\xC3\xA9 na\xC3\xAFve"), qwen().encode("cafe\xCC\x81 nai\xCC\x88ve"));
  EXPECT_EQ(qwen().encode("\xE1\x84\x80\xE1\x85\xA1\xE1\x86\xA8"), qwen().encode("\xEA\xB0\x81"));  // jamo -> 각
}

TEST(BpeTokenizer, DecodingMatchesTheReference) {
  for (const json& c : golden()["cases"]) {
    const auto ids = ids_of(c["ids"]);
    EXPECT_EQ(qwen().decode(ids), c["decoded"].get<std::string>()) << c["text"].dump();
    EXPECT_EQ(qwen().decode(ids, true), c["decoded_skip_special"].get<std::string>()) << c["text"].dump();
  }
  // Lone bytes of multi-byte characters, a special token between them, an
  // unknown id: U+FFFD per maximal invalid sequence, unknown ids skipped.
  for (const json& c : golden()["odd_decodes"]) {
    const auto ids = ids_of(c["ids"]);
    EXPECT_EQ(qwen().decode(ids), c["decoded"].get<std::string>()) << c["ids"].dump();
    EXPECT_EQ(qwen().decode(ids, true), c["decoded_skip_special"].get<std::string>()) << c["ids"].dump();
  }
}

TEST(BpeTokenizer, RoundTripsText) {
  // Text that NFC leaves alone and that no lstrip / rstrip token eats.
  for (const char* s : {"Hello world", "你好，世界！", "I love \xF0\x9F\x8D\x95!", "<|im_start|>user\nhi<|im_end|>\n",
                        "tabs\tand\nnewlines\r\n  ", "\xD9\x85\xD8\xB1\xD8\xAD\xD8\xA8\xD8\xA7 123"}) {
    EXPECT_EQ(qwen().decode(qwen().encode(s)), s);
  }
}

TEST(BpeTokenizer, StreamDecodingMatchesDecodeStream) {
  EXPECT_GT(test::expect_stream_decodes_match(qwen(), golden()["cases"]).steps, 0u);
}

TEST(BpeTokenizer, StreamingHoldsMultiByteCharactersSplitAcrossTokens) {
  // Each of these is split into byte tokens somewhere in this small vocabulary.
  const std::string text =
      "你好，世界！\xF0\x9F\x8D\x95\xF0\x9F\x91\xA8\xE2\x80\x8D\xF0\x9F\x91\xA9 \xD8\xB3\xD9\x84\xD8\xA7\xD9\x85";
  const auto ids = qwen().encode(text);
  StreamDecoder d(qwen());
  std::string all;
  int held = 0;
  for (std::int64_t id : ids) {
    const std::string piece = d.push(id);
    if (piece.empty()) {
      ++held;
      EXPECT_TRUE(d.holding());
    }
    EXPECT_TRUE(whole_utf8(piece)) << shown(piece);
    all += piece;
  }
  EXPECT_GT(held, 0) << "the test text no longer splits a character across tokens";
  EXPECT_EQ(all + d.flush(), text);

  // An unfinished character at the end comes out of flush() as U+FFFD; the
  // decoder can then be reused.
  const auto first_byte = qwen().token_to_id("\xC3\xA4");  // the stand-in of byte 0xE4
  ASSERT_TRUE(first_byte.has_value());
  EXPECT_EQ(d.push(*first_byte), "");
  EXPECT_TRUE(d.holding());
  EXPECT_EQ(d.flush(), "\xEF\xBF\xBD");
  EXPECT_FALSE(d.holding());
  d.reset();
  EXPECT_EQ(d.push(*qwen().token_to_id("<|im_end|>")), "<|im_end|>");
  StreamDecoder skipping(qwen(), true);
  EXPECT_EQ(skipping.push(*qwen().token_to_id("<|im_end|>")), "");
  EXPECT_EQ(skipping.push(12345678), "");  // unknown ids are skipped
}

TEST(BpeTokenizer, VariantsMatchTheReference) {
  const json& variants = golden()["variants"];
  ASSERT_GE(variants.size(), 10u);
  for (const auto& [name, patch] : variants.items()) {
    const BpeTokenizer t = BpeTokenizer::parse(merged(tokenizer_json(), patch).dump(), name);
    int wrong = 0;
    for (const json& c : golden()["cases"]) {
      const std::string text = c["text"].get<std::string>();
      const auto got = t.encode(text);
      const auto want = ids_of(c["variants"][name]);
      if (got != want && ++wrong <= 5) {
        ADD_FAILURE() << name << ": " << shown(text) << ": got " << json(got).dump() << "\n want " << json(want).dump();
      }
    }
    EXPECT_EQ(wrong, 0) << name;
  }
}

TEST(BpeTokenizer, TemplateTokensOnlyWhenAsked) {
  const BpeTokenizer t = BpeTokenizer::parse(merged(tokenizer_json(), golden()["variants"]["template"]).dump(), "t");
  const auto plain = qwen().encode("Hello world");
  auto wrapped = plain;
  wrapped.insert(wrapped.begin(), *qwen().token_to_id("<|im_start|>"));
  wrapped.push_back(*qwen().token_to_id("<|im_end|>"));
  EXPECT_EQ(t.encode("Hello world"), wrapped);
  EXPECT_EQ(t.encode("Hello world", {.add_special_tokens = false}), plain);
}

TEST(BpeTokenizer, LegacyMergeStringsReadTheSame) {
  json j = tokenizer_json();
  for (json& m : j["model"]["merges"]) m = m[0].get<std::string>() + " " + m[1].get<std::string>();
  const BpeTokenizer t = BpeTokenizer::parse(j.dump(), "legacy");
  for (const json& c : golden()["cases"]) {
    EXPECT_EQ(t.encode(c["text"].get<std::string>()), ids_of(c["ids"])) << c["text"].dump();
  }
}

TEST(BpeTokenizer, InvalidUtf8IsReadAsReplacementCharacters) {
  EXPECT_EQ(qwen().encode("a\xFF"
                          "b"),
            qwen().encode("a\xEF\xBF\xBD"
                          "b"));
  // A truncated sequence is one U+FFFD, as Python's errors="replace" reads it.
  EXPECT_EQ(qwen().encode("x\xE4\xBD"), qwen().encode("x\xEF\xBF\xBD"));
  EXPECT_EQ(qwen().encode(std::string("nul\0inside", 10)).size(), qwen().encode("nul?inside").size());
  EXPECT_TRUE(qwen().encode("").empty());
}

TEST(BpeTokenizer, CopiesShareOneTokenizer) {
  const BpeTokenizer a = qwen();
  const BpeTokenizer b = a;
  EXPECT_EQ(a.encode("shared"), b.encode("shared"));
}

// ---------------------------------------------------------------- refusals

// The message of the sc::Error that parsing `text` throws ("" when none).
std::string error_of(const std::string& text, const std::string& config = {}) {
  try {
    (void)BpeTokenizer::parse(text, "bad/tokenizer.json", config, "bad/tokenizer_config.json");
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

std::string error_of_patch(const json& patch) { return error_of(merged(tokenizer_json(), patch).dump()); }

void expect_error(const std::string& message, std::initializer_list<const char*> parts) {
  ASSERT_FALSE(message.empty()) << "no error";
  for (const char* p : parts) EXPECT_NE(message.find(p), std::string::npos) << "'" << p << "' not in: " << message;
}

TEST(BpeTokenizerErrors, MissingAndUnreadableFiles) {
  const auto tmp = std::filesystem::path(SC_TEST_TMP_DIR) / "bpe_tokenizer";
  std::filesystem::create_directories(tmp);
  try {
    (void)BpeTokenizer::load(tmp / "nowhere");
    FAIL();
  } catch (const Error& e) {
    expect_error(e.what(), {"nowhere/tokenizer.json", "not found"});
  }
  try {
    (void)BpeTokenizer::from_files(fixture() / "tokenizer.json", tmp / "missing_config.json");
    FAIL();
  } catch (const Error& e) {
    expect_error(e.what(), {"missing_config.json", "not found"});
  }
  // A folder where the file should be.
  std::filesystem::create_directories(tmp / "dir" / "tokenizer.json");
  EXPECT_THROW((void)BpeTokenizer::load(tmp / "dir"), Error);
}

TEST(BpeTokenizerErrors, CorruptJson) {
  expect_error(error_of(""), {"bad/tokenizer.json", "not valid JSON"});
  expect_error(error_of("{\"model\": "), {"bad/tokenizer.json", "not valid JSON"});
  expect_error(error_of("[1, 2]"), {"bad/tokenizer.json", "expected an object"});
  expect_error(error_of("{}"), {"bad/tokenizer.json", "model", "missing"});
  expect_error(error_of(std::string(100000, '[')), {"bad/tokenizer.json", "not valid JSON"});
  // Truncated anywhere: an error, never a crash.
  const std::string text = slurp(fixture() / "tokenizer.json");
  for (std::size_t cut = 0; cut < text.size(); cut += cut < 400 ? 1 : text.size() / 25) {
    EXPECT_FALSE(error_of(text.substr(0, cut)).empty()) << cut;
  }
  expect_error(error_of(text, "{\"eos_token\": "), {"bad/tokenizer_config.json", "not valid JSON"});
}

TEST(BpeTokenizerErrors, UnknownComponentsNameTheirPath) {
  expect_error(error_of_patch({{"normalizer", {{"type", "Lowercase"}}}}),
               {"bad/tokenizer.json", "normalizer.type", "Lowercase", "NFC"});
  expect_error(error_of_patch(
                   {{"normalizer", {{"type", "Sequence"}, {"normalizers", {{{"type", "NFC"}}, {{"type", "Strip"}}}}}}}),
               {"normalizer.normalizers[1].type", "Strip"});
  json j = tokenizer_json();
  j["normalizer"] = {{"normalizers", 3}};
  expect_error(error_of(j.dump()), {"normalizer", "has no \"type\""});
  j["normalizer"] = "NFC";
  expect_error(error_of(j.dump()), {"normalizer", "expected an object"});
  json pre = tokenizer_json()["pre_tokenizer"];
  pre["pretokenizers"][1] = {{"type", "Whitespace"}};
  expect_error(error_of_patch({{"pre_tokenizer", pre}}), {"pre_tokenizer.pretokenizers[1].type", "Whitespace"});
  pre = tokenizer_json()["pre_tokenizer"];
  pre["pretokenizers"][0]["behavior"] = "Sideways";
  expect_error(error_of_patch({{"pre_tokenizer", pre}}), {"pre_tokenizer.pretokenizers[0].behavior", "Sideways"});
  pre = tokenizer_json()["pre_tokenizer"];
  pre["pretokenizers"][0]["pattern"] = {{"Regex", "(\\p{L}+"}};
  expect_error(error_of_patch({{"pre_tokenizer", pre}}),
               {"pre_tokenizer.pretokenizers[0].pattern.Regex", "does not compile"});
  pre["pretokenizers"][0]["pattern"] = {{"Glob", "*"}};
  expect_error(error_of_patch({{"pre_tokenizer", pre}}), {"pre_tokenizer.pretokenizers[0].pattern"});
  expect_error(error_of_patch({{"model", {{"type", "WordPiece"}}}}), {"model.type", "WordPiece"});
  expect_error(error_of_patch({{"decoder", {{"type", "Metaspace"}}}}), {"decoder.type", "Metaspace"});
  expect_error(error_of_patch({{"post_processor", {{"type", "RobertaProcessing"}}}}),
               {"post_processor.type", "RobertaProcessing"});
  json tmpl = golden()["variants"]["template"];
  tmpl["post_processor"]["processors"][1]["special_tokens"]["<|im_end|>"]["ids"] = {99999};
  expect_error(error_of_patch(tmpl),
               {"post_processor.processors[1].special_tokens.<|im_end|>.ids[0]", "99999", "not the id of any token"});
  tmpl["post_processor"]["processors"][1]["single"][1] = {{"Sequence", {{"id", "B"}, {"type_id", 0}}}};
  expect_error(error_of_patch(tmpl), {"post_processor.processors[1].single[1].Sequence.id", "sequence A"});
  expect_error(error_of_patch({{"model", {{"dropout", 0.1}}}}), {"model.dropout", "not supported"});
  expect_error(error_of_patch({{"model", {{"continuing_subword_prefix", "##"}}}}),
               {"model.continuing_subword_prefix", "not supported"});
  expect_error(error_of_patch({{"model", {{"unk_token", "<unk>"}}}}), {"model.unk_token", "<unk>"});
}

TEST(BpeTokenizerErrors, BadVocabMergesAndAddedTokens) {
  json j = tokenizer_json();
  j["model"]["merges"][3] = {"\xC4\xA0", "not-a-token"};
  expect_error(error_of(j.dump()), {"bad/tokenizer.json", "model.merges[3]", "not-a-token", "not in model.vocab"});
  j = tokenizer_json();
  j["model"]["merges"][5] = "nospace";
  expect_error(error_of(j.dump()), {"model.merges[5]", "nospace"});
  j = tokenizer_json();
  j["model"]["merges"][7] = {1, 2};
  expect_error(error_of(j.dump()), {"model.merges[7][0]", "expected a string"});
  j = tokenizer_json();
  j["model"]["merges"][2] = {"a", "b", "c"};
  expect_error(error_of(j.dump()), {"model.merges[2]"});
  j = tokenizer_json();
  // Both halves known, the result not.
  j["model"]["vocab"]["zz_left"] = 9000;
  j["model"]["merges"].push_back({"zz_left", "zz_left"});
  expect_error(error_of(j.dump()), {"result", "zz_leftzz_left"});
  j = tokenizer_json();
  j["model"]["vocab"]["a"] = -4;
  expect_error(error_of(j.dump()), {"model.vocab", "token id"});
  j = tokenizer_json();
  j["model"]["vocab"]["a"] = "one";
  expect_error(error_of(j.dump()), {"model.vocab", "\"a\"", "a string"});
  j = tokenizer_json();
  j["model"]["vocab"] = json::array();
  expect_error(error_of(j.dump()), {"model.vocab", "an object"});
  j = tokenizer_json();
  j["added_tokens"][2]["id"] = 1e40;
  expect_error(error_of(j.dump()), {"added_tokens[2].id"});
  j = tokenizer_json();
  j["added_tokens"][1].erase("content");
  expect_error(error_of(j.dump()), {"added_tokens[1].content", "expected a string"});
  j = tokenizer_json();
  j["added_tokens"][0]["special"] = "yes";
  expect_error(error_of(j.dump()), {"added_tokens[0].special", "true or false"});
}

TEST(BpeTokenizerErrors, TokenizerConfigTokensMustExist) {
  const std::string text = slurp(fixture() / "tokenizer.json");
  expect_error(error_of(text, R"({"eos_token": "<|not_here|>"})"),
               {"bad/tokenizer_config.json", "eos_token", "<|not_here|>"});
  expect_error(error_of(text, R"({"pad_token": 7})"), {"bad/tokenizer_config.json", "pad_token"});
  expect_error(error_of(text, "[]"), {"bad/tokenizer_config.json", "an object"});
  // {"content": ...} objects, as older configs write them, and the model's own tokens.
  const BpeTokenizer t = BpeTokenizer::parse(
      text, "t", R"({"bos_token": {"content": "<|im_start|>"}, "unk_token": "a", "eos_token": null})", "c");
  EXPECT_EQ(t.bos_id(), t.token_to_id("<|im_start|>"));
  EXPECT_EQ(t.unk_id(), t.token_to_id("a"));
  EXPECT_FALSE(t.eos_id().has_value());
}

TEST(BpeTokenizerErrors, HostileRegexesFailCleanly) {
  json pre = tokenizer_json()["pre_tokenizer"];
  // Catastrophic backtracking hits PCRE2's match limit: an error, not a hang.
  pre["pretokenizers"][0]["pattern"] = {{"Regex", "(a|aa)+$|(a+)+b"}};
  const BpeTokenizer t = BpeTokenizer::parse(merged(tokenizer_json(), {{"pre_tokenizer", pre}}).dump(), "x");
  try {
    (void)t.encode(std::string(5000, 'a') + "c");
    ADD_FAILURE() << "expected PCRE2's match limit";
  } catch (const Error& e) {
    expect_error(e.what(), {"regex", "match limit"});
  }
  // Patterns that can match nothing do not loop.
  pre["pretokenizers"][0]["pattern"] = {{"Regex", "x*"}};
  const BpeTokenizer empty = BpeTokenizer::parse(merged(tokenizer_json(), {{"pre_tokenizer", pre}}).dump(), "y");
  EXPECT_EQ(empty.decode(empty.encode("abxxc")), "abxxc");
  pre["pretokenizers"][0]["pattern"] = {{"String", ""}};
  const BpeTokenizer literal = BpeTokenizer::parse(merged(tokenizer_json(), {{"pre_tokenizer", pre}}).dump(), "z");
  EXPECT_EQ(literal.decode(literal.encode("a b")), "a b");
}

}  // namespace
}  // namespace sc::engine
