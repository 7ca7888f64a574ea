// `streamcanvas-cli tokenize` end to end through the binary: Qwen2-style
// tokenizer.json ids, tokens and decodes against the `tokenizers` library's
// (tests/golden/fixtures/qwen2_tokenizer/ids.json), CLIP's against
// transformers' CLIPTokenizer (fixtures/diffusion_tokenizer), the text and
// JSON outputs, stdin, and every refusal: exit code 1 with the file named,
// never a crash.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "engine/safetensors.h"
#include "tests/common/subprocess.h"

namespace sc::app {
namespace {

namespace fs = std::filesystem;
using test::run_command;
using test::RunResult;
using test::shell_quote;

const std::string kCli = shell_quote(SC_CLI_PATH);
const fs::path kFixtures = fs::path(SC_SOURCE_DIR) / "tests" / "golden" / "fixtures";
const fs::path kQwen = kFixtures / "qwen2_tokenizer";
const fs::path kClip = kFixtures / "diffusion_tokenizer";

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

fs::path tmp(const std::string& name) {
  const fs::path dir = fs::path(SC_TEST_TMP_DIR) / "tokenize_cli" / name;
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

void write(const fs::path& file, const std::string& bytes) { std::ofstream(file, std::ios::binary) << bytes; }

RunResult tokenize(const fs::path& tokenizer, const std::string& args) {
  return run_command(kCli + " tokenize --tokenizer " + shell_quote(tokenizer.string()) + " " + args);
}

// The JSON the command printed (stdout and stderr together: nothing else is
// printed on success).
nlohmann::json json_of(const RunResult& r) {
  EXPECT_EQ(r.exit_code, 0) << r.output;
  return nlohmann::json::parse(r.output);
}

TEST(TokenizeCli, QwenIdsTokensAndDecodesMatchTokenizers) {
  const auto golden = nlohmann::json::parse(std::ifstream(kQwen / "ids.json"));
  const auto& cases = golden.at("cases");
  ASSERT_GE(cases.size(), 60u);
  const fs::path dir = tmp("qwen");
  int checked = 0;
  // Every third case (each run loads the tokenizer): scripts, emoji,
  // whitespace runs, newlines, special tokens, added tokens with rstrip and
  // the chat layout among them.
  for (std::size_t i = 0; i < cases.size(); i += 3) {
    const auto& c = cases[i];
    const std::string text = c.at("text").get<std::string>();
    SCOPED_TRACE(text);
    // Through stdin, byte for byte (newlines included).
    write(dir / "text.txt", text);
    const nlohmann::json got = json_of(tokenize(kQwen, "--json - < " + shell_quote((dir / "text.txt").string())));
    EXPECT_EQ(got.at("ids"), c.at("ids"));
    // The vocabulary's token of each id (tokenizers' id_to_token). Its
    // Encoding.tokens differ only for added tokens with lstrip / rstrip,
    // which carry the whitespace they took ("[SEP]   ").
    const auto& want_tokens = c.at("tokens");
    ASSERT_EQ(got.at("tokens").size(), want_tokens.size());
    for (std::size_t k = 0; k < want_tokens.size(); ++k) {
      const std::string g = got["tokens"][k].get<std::string>(), w = want_tokens[k].get<std::string>();
      if (g == w) continue;
      const std::size_t b = w.find_first_not_of(" \t\n"), e = w.find_last_not_of(" \t\n");
      EXPECT_EQ(g, b == std::string::npos ? "" : w.substr(b, e - b + 1)) << "token " << k;
    }
    std::string ids;
    for (const auto& id : c.at("ids")) ids += std::to_string(id.get<std::int64_t>()) + " ";
    const nlohmann::json decoded = json_of(tokenize(kQwen, "--decode --json " + shell_quote(ids)));
    EXPECT_EQ(decoded.at("text"), c.at("decoded"));
    ++checked;
  }
  EXPECT_GE(checked, 20);
  // The same file named directly, and the text as an argument.
  const auto& first = cases[0];
  const nlohmann::json direct =
      json_of(tokenize(kQwen / "tokenizer.json", "--json " + shell_quote(first.at("text").get<std::string>())));
  EXPECT_EQ(direct.at("ids"), first.at("ids"));
}

TEST(TokenizeCli, TextOutputListsIdsAndTokens) {
  const RunResult r = tokenize(kQwen, shell_quote("Hello world"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(r.output,
            "7 tokens: 39 1627 559 1089 1191 75 67\n"
            "      39  \"H\"\n"
            "    1627  \"el\"\n"
            "     559  \"lo\"\n"
            "    1089  \"Ġw\"\n"
            "    1191  \"or\"\n"
            "      75  \"l\"\n"
            "      67  \"d\"\n");
  // Decoding prints the text and a newline; commas, brackets and newlines
  // separate ids too.
  const RunResult d = tokenize(kQwen, "--decode " + shell_quote("[39, 1627,559\n1089 1191,75 67]"));
  EXPECT_EQ(d.exit_code, 0) << d.output;
  EXPECT_EQ(d.output, "Hello world\n");
  const RunResult empty = tokenize(kQwen, "--json ''");
  EXPECT_EQ(empty.output, "{\"ids\":[],\"tokens\":[]}\n");
}

TEST(TokenizeCli, ClipMatchesTransformers) {
  // transformers' CLIPTokenizer ids padded to 77 with eos (SD 1.5): bos, the
  // ids, eos, then eos padding; the command prints bos + ids + eos.
  const engine::SafetensorsFile f = engine::SafetensorsFile::open(kClip / "ids.safetensors");
  const auto prompts = nlohmann::json::parse(f.metadata().at("prompts")).get<std::vector<std::string>>();
  const engine::Tensor padded = f.load("sd15_ids");
  int checked = 0;
  for (std::size_t i = 0; i < prompts.size() && checked < 3; i += 7) {
    const std::int64_t* row = padded.data<std::int64_t>() + i * 77;
    std::vector<std::int64_t> want;
    for (int k = 0; k < 77; ++k) {
      want.push_back(row[k]);
      if (k > 0 && row[k] == 49407) break;
    }
    if (want.back() != 49407 || want.size() == 77) continue;  // truncated: the command does not truncate
    SCOPED_TRACE(prompts[i]);
    const nlohmann::json got = json_of(tokenize(kClip, "--json " + shell_quote(prompts[i])));
    EXPECT_EQ(got.at("ids").get<std::vector<std::int64_t>>(), want);
    ++checked;
  }
  EXPECT_EQ(checked, 3);
  // Pieces keep CLIP's end-of-word mark; decode follows CLIPTokenizerFast.
  const nlohmann::json cat = json_of(tokenize(kClip, "--json 'A photo of a cat'"));
  EXPECT_EQ(cat.at("ids"), nlohmann::json::parse("[49406, 320, 1125, 539, 320, 2368, 49407]"));
  EXPECT_EQ(cat.at("tokens"), nlohmann::json::parse(R"(["<|startoftext|>", "a</w>", "photo</w>", "of</w>", "a</w>",
                                                    "cat</w>", "<|endoftext|>"])"));
  const RunResult d = tokenize(kClip, "--decode '49406 320 1125 267 539 274 3989 256 49407'");
  EXPECT_EQ(d.exit_code, 0) << d.output;
  EXPECT_EQ(d.output, "<|startoftext|>a photo , of 3 cats ! <|endoftext|>\n");
  // vocab.json named on its own means its folder, and a diffusers pipeline
  // folder means its tokenizer/.
  EXPECT_EQ(json_of(tokenize(kClip / "vocab.json", "--json 'a cat'")).at("ids"),
            nlohmann::json::parse("[49406, 320, 2368, 49407]"));
  const fs::path pipeline = tmp("pipeline");
  fs::create_directories(pipeline / "tokenizer");
  for (const char* file : {"vocab.json", "merges.txt"}) fs::copy_file(kClip / file, pipeline / "tokenizer" / file);
  EXPECT_EQ(json_of(tokenize(pipeline, "--decode --json '320 2368'")).at("text"), "a cat");
}

TEST(TokenizeCli, BadInputIsRefusedNamingWhatIsWrong) {
  auto refused = [](const RunResult& r, const std::vector<std::string>& parts) {
    EXPECT_EQ(r.exit_code, 1) << r.output;
    EXPECT_FALSE(r.signaled) << r.output;
    for (const std::string& p : parts) EXPECT_TRUE(contains(r.output, p)) << p << " not in:\n" << r.output;
  };
  const std::string qwen_json = (kQwen / "tokenizer.json").string();
  // Text that is not UTF-8, as an argument and on stdin.
  refused(tokenize(kQwen, "\"$(printf 'ok \\377 no')\""), {"not valid UTF-8", "byte 3 is 0xFF", qwen_json});
  const fs::path dir = tmp("bad");
  write(dir / "latin1.txt", "caf\xe9");
  refused(tokenize(kClip, "- < " + shell_quote((dir / "latin1.txt").string())),
          {"text on stdin is not valid UTF-8", "byte 3 is 0xE9", kClip.string()});
  // Ids the tokenizer does not have, or that are not ids.
  refused(tokenize(kQwen, "--decode '39 4013'"), {"id 4013 is not in", qwen_json, "4013 tokens"});
  refused(tokenize(kClip, "--decode '320 49408'"), {"id 49408 is not in", kClip.string()});
  refused(tokenize(kQwen, "--decode '39 -2'"), {"'-2' is not a token id"});
  refused(tokenize(kQwen, "--decode '39 x7'"), {"'x7' is not a token id"});
  refused(tokenize(kQwen, "--decode '99999999999999999999'"), {"is not a token id"});
  // Missing and malformed files.
  refused(tokenize(dir / "nowhere", "x"), {(dir / "nowhere").string(), "does not exist"});
  fs::create_directories(dir / "empty");
  refused(tokenize(dir / "empty", "x"), {(dir / "empty").string(), "neither tokenizer.json nor"});
  write(dir / "broken.json", "{\"model\": ");
  refused(tokenize(dir / "broken.json", "x"), {(dir / "broken.json").string(), "not valid JSON"});
  write(dir / "truncated.json", std::string(R"({"version": "1.0", "model": {"type": "BPE", "vocab": {"a": 0}})"));
  refused(tokenize(dir / "truncated.json", "x"), {(dir / "truncated.json").string()});
  fs::create_directories(dir / "clip");
  write(dir / "clip" / "vocab.json", R"({"a</w>": 0})");
  write(dir / "clip" / "merges.txt", "#version: 0.2\na b c\n");
  refused(tokenize(dir / "clip", "x"), {(dir / "clip" / "merges.txt").string() + ":2"});
  fs::remove(dir / "clip" / "merges.txt");
  refused(tokenize(dir / "clip" / "vocab.json", "x"), {"merges.txt"});
  // No --tokenizer: a usage error.
  const RunResult usage = run_command(kCli + " tokenize hello");
  EXPECT_EQ(usage.exit_code, 2) << usage.output;
  EXPECT_TRUE(contains(usage.output, "--tokenizer is required")) << usage.output;
}

}  // namespace
}  // namespace sc::app
