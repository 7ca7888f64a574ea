// CLIP tokenizer against transformers' CLIPTokenizer: the ids of 55 prompts
// (tests/golden/fixtures/diffusion_tokenizer, from gen_diffusion.py), padded
// the SD 1.5 way (eos) and the sd-turbo way ("!"), plus bad-input errors.
#include <gtest/gtest.h>

#include <fstream>
#include <optional>

#include <nlohmann/json.hpp>

#include "base/error.h"
#include "engine/safetensors.h"
#include "engine/tokenizers/clip_tokenizer.h"
#include "model_test_util.h"

namespace sc::engine {
namespace {

using test::fixture_dir;
using test::reference_dir;

ClipTokenizer tokenizer(const std::string& pad) {
  const auto dir = fixture_dir("diffusion_tokenizer");
  return ClipTokenizer::from_files(dir / "vocab.json", dir / "merges.txt", pad);
}

void check_family(const ClipTokenizer& tok, const std::string& key) {
  const SafetensorsFile f = SafetensorsFile::open(fixture_dir("diffusion_tokenizer") / "ids.safetensors");
  const auto prompts = nlohmann::json::parse(f.metadata().at("prompts")).get<std::vector<std::string>>();
  ASSERT_GE(prompts.size(), 50u);
  const Tensor want = f.load(key, {static_cast<std::int64_t>(prompts.size()), 77}, DType::kI64);
  const Tensor got = tok.encode_batch(prompts);
  ASSERT_EQ(got.shape(), want.shape());
  int wrong = 0;
  for (std::size_t i = 0; i < prompts.size(); ++i) {
    const std::int64_t* g = got.data<std::int64_t>() + i * 77;
    const std::int64_t* w = want.data<std::int64_t>() + i * 77;
    if (!std::equal(g, g + 77, w)) {
      ++wrong;
      ADD_FAILURE() << "prompt " << i << " \"" << prompts[i] << "\" differs";
    }
  }
  EXPECT_EQ(wrong, 0);
}

TEST(ClipTokenizer, Sd15IdsMatchTransformers) {
  const ClipTokenizer tok = tokenizer("<|endoftext|>");
  EXPECT_EQ(tok.vocab_size(), 49408u);
  EXPECT_EQ(tok.bos_id(), 49406);
  EXPECT_EQ(tok.eos_id(), 49407);
  EXPECT_EQ(tok.pad_id(), 49407);
  check_family(tok, "sd15_ids");
}

TEST(ClipTokenizer, SdTurboIdsMatchTransformers) {
  const ClipTokenizer tok = tokenizer("!");
  EXPECT_EQ(tok.pad_id(), 0);
  check_family(tok, "sd_turbo_ids");
}

TEST(ClipTokenizer, KnownIds) {
  const ClipTokenizer tok = tokenizer("!");
  EXPECT_EQ(tok.encode("a photo of a cat"), (std::vector<std::int64_t>{320, 1125, 539, 320, 2368}));
  const auto padded = tok.encode_padded("A  Photo");
  ASSERT_EQ(padded.size(), 77u);
  EXPECT_EQ(padded[0], 49406);
  EXPECT_EQ(padded[1], 320);
  EXPECT_EQ(padded[3], 49407);
  EXPECT_EQ(padded[4], 0);
  EXPECT_EQ(padded[76], 0);
  // Invalid UTF-8 does not throw or read past the end.
  EXPECT_FALSE(tok.encode(std::string("bad \xff\xc3", 6)).empty());
}

TEST(ClipTokenizer, DecodesAsTransformers) {
  // Expected strings from transformers 4.57.6's CLIPTokenizerFast on this
  // vocab.json + merges.txt (its default pad token, <|endoftext|>; decode
  // with and without skip_special_tokens).
  const ClipTokenizer tok = tokenizer("<|endoftext|>");
  struct Case {
    std::string text;
    std::vector<std::int64_t> ids;  // bos + ids + eos, as transformers encodes
    std::string decoded, skipped;
  };
  const Case cases[] = {
      {"a photo of a cat",
       {49406, 320, 1125, 539, 320, 2368, 49407},
       "<|startoftext|>a photo of a cat <|endoftext|>",
       "a photo of a cat"},
      {"A Photo, of 3 cats!",
       {49406, 320, 1125, 267, 539, 274, 3989, 256, 49407},
       "<|startoftext|>a photo , of 3 cats ! <|endoftext|>",
       "a photo , of 3 cats !"},
      {"h\u00e9llo w\u00f6rld \u65e5\u672c \U0001F642",
       {49406, 71, 3459, 19293, 86, 31762, 730, 39121, 19277, 361, 14860, 49407},
       "<|startoftext|>h\u00e9llo w\u00f6rld \u65e5\u672c \U0001F642 <|endoftext|>",
       "h\u00e9llo w\u00f6rld \u65e5\u672c \U0001F642"},
      {"it's  don't", {49406, 585, 568, 847, 713, 49407}, "<|startoftext|>it 's don 't <|endoftext|>", "it 's don 't"},
      {"<|startoftext|>x", {49406, 49406, 343, 49407}, "<|startoftext|><|startoftext|>x <|endoftext|>", "x"},
  };
  for (const Case& c : cases) {
    std::vector<std::int64_t> ids = tok.encode(c.text);
    ids.insert(ids.begin(), tok.bos_id());
    ids.push_back(tok.eos_id());
    EXPECT_EQ(ids, c.ids) << c.text;
    EXPECT_EQ(tok.decode(c.ids), c.decoded) << c.text;
    EXPECT_EQ(tok.decode(c.ids, true), c.skipped) << c.text;
  }
  // Lone bytes of a character: one U+FFFD per maximal invalid sequence;
  // unknown ids are skipped.
  EXPECT_EQ(tok.decode(std::vector<std::int64_t>{172, 253}), "\uFFFD");
  EXPECT_EQ(tok.decode(std::vector<std::int64_t>{668, 320}), "\uFFFDa");
  EXPECT_EQ(tok.decode(std::vector<std::int64_t>{320, 99999}), "a");
  EXPECT_EQ(tok.decode(std::vector<std::int64_t>{}), "");
  // A pad token of its own ("!", sd-turbo's) is special too.
  const ClipTokenizer bang = tokenizer("!");
  EXPECT_EQ(bang.decode(std::vector<std::int64_t>{320, 0, 2368}, true), "a cat");
  EXPECT_EQ(bang.decode(std::vector<std::int64_t>{320, 0, 2368}), "a !cat");
  EXPECT_EQ(tok.decode(std::vector<std::int64_t>{320, 0, 2368}, true), "a !cat");
  EXPECT_EQ(tok.id_to_token(2368), "cat</w>");
  EXPECT_EQ(tok.id_to_token(49406), "<|startoftext|>");
  EXPECT_EQ(tok.id_to_token(49408), std::nullopt);
  EXPECT_EQ(tok.id_to_token(-1), std::nullopt);
}

TEST(ClipTokenizer, FolderPadTokenPerFamily) {
  namespace fs = std::filesystem;
  for (const auto& [family, pad] : {std::pair{"sd15", 49407}, std::pair{"sd-turbo", 0}}) {
    const fs::path dir = fs::path(SC_TEST_TMP_DIR) / "tokenizer" / family;
    fs::create_directories(dir);
    for (const char* f : {"vocab.json", "merges.txt"}) {
      fs::copy_file(fixture_dir("diffusion_tokenizer") / f, dir / f, fs::copy_options::overwrite_existing);
    }
    fs::copy_file(reference_dir() / family / "tokenizer_config.json", dir / "tokenizer_config.json",
                  fs::copy_options::overwrite_existing);
    const ClipTokenizer tok = ClipTokenizer::load(dir);
    EXPECT_EQ(tok.pad_id(), pad) << family;
    EXPECT_EQ(tok.max_length(), 77);
  }
}

TEST(ClipTokenizer, BadFilesNameTheProblem) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::path(SC_TEST_TMP_DIR) / "tokenizer_bad";
  fs::create_directories(dir);
  std::ofstream(dir / "vocab.json") << R"({"a</w>": 0})";
  std::ofstream(dir / "merges.txt") << "#version: 0.2\na b c\n";
  try {
    ClipTokenizer::from_files(dir / "vocab.json", dir / "merges.txt", "!");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("merges.txt:2"), std::string::npos) << e.what();
  }
  std::ofstream(dir / "merges.txt") << "#version: 0.2\na b\n";
  try {
    ClipTokenizer::from_files(dir / "vocab.json", dir / "merges.txt", "!");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("<|startoftext|>"), std::string::npos) << e.what();
  }
  EXPECT_THROW(ClipTokenizer::from_files(dir / "missing.json", dir / "merges.txt", "!"), Error);
}

}  // namespace
}  // namespace sc::engine
