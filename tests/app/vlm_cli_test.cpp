// `streamcanvas-cli vlm` end to end on the tiny LLaVA-OneVision folder
// (tests/golden/fixtures/llava_onevision_tiny, tests/golden/gen_llava_onevision.py):
// the folder as LlavaOnevisionProcessor.save_pretrained writes it, a 6-frame
// lossless clip, and transformers' answer to a question with 3 frames
// sampled (cli.json). The answer printed must be transformers' exactly; then
// every bad input a user can give is named.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include <nlohmann/json.hpp>

#include "app/modes/video_qa/vlm_job.h"
#include "base/error.h"
#include "tests/common/subprocess.h"

namespace sc::app {
namespace {

namespace fs = std::filesystem;
using test::run_command;
using test::shell_quote;

const std::string kCli = shell_quote(SC_CLI_PATH);
const fs::path kTiny = fs::path(SC_SOURCE_DIR) / "tests" / "golden" / "fixtures" / "llava_onevision_tiny";
const fs::path kTmp = fs::path(SC_TEST_TMP_DIR) / "vlm_cli";

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

nlohmann::json reference() {
  std::ifstream in(kTiny / "cli.json");
  return nlohmann::json::parse(in);
}

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

struct Answer {
  int exit_code = 0;
  std::string out, err;
};

// stdout and stderr apart: the answer must be alone on stdout.
Answer vlm(const std::string& args, const std::string& stdin_text = "") {
  // ctest runs each test as its own process, in parallel: files per test.
  const fs::path dir = kTmp / ::testing::UnitTest::GetInstance()->current_test_info()->name();
  fs::create_directories(dir);
  const fs::path out = dir / "stdout.txt", err = dir / "stderr.txt";
  std::string cmd =
      kCli + " vlm --device cpu " + args + " >" + shell_quote(out.string()) + " 2>" + shell_quote(err.string());
  if (!stdin_text.empty()) cmd = "printf '%s' " + shell_quote(stdin_text) + " | " + cmd;
  const auto r = run_command("( " + cmd + " )");
  return {r.exit_code, read_file(out), read_file(err)};
}

std::string tiny_args(const std::string& question) {
  const nlohmann::json ref = reference();
  return "--model " + shell_quote(kTiny.string()) + " --video " + shell_quote((kTiny / "clip.mkv").string()) +
         " --frames " + std::to_string(ref["frames"].get<int>()) + " --max-tokens " +
         std::to_string(ref["max_new_tokens"].get<int>()) + " --question " + shell_quote(question);
}

TEST(VlmCli, TheAnswerIsTransformersAnswer) {
  const nlohmann::json ref = reference();
  const Answer a = vlm(tiny_args(ref["question"].get<std::string>()) + " --stats");
  ASSERT_EQ(a.exit_code, 0) << a.err;
  const std::string answer = ref["answer"].get<std::string>();
  ASSERT_TRUE(a.out.starts_with(answer + "\n")) << "got:\n" << a.out << "\nwant:\n" << answer;
  // --stats after the answer: the numbers the issue asks for.
  EXPECT_TRUE(contains(a.out, "ms per frame")) << a.out;
  EXPECT_TRUE(contains(a.out, "prefill") && contains(a.out, "tokens/s")) << a.out;
  EXPECT_TRUE(contains(a.out, "peak memory")) << a.out;
  EXPECT_TRUE(contains(a.out, "3 of 6")) << a.out;  // frames used of the clip's
  // The folder's chat template is the one rendered: no warning.
  EXPECT_FALSE(contains(a.err, "warning")) << a.err;
  EXPECT_TRUE(contains(a.err, "[vlm] answering")) << a.err;
}

TEST(VlmCli, TheQuestionCanComeFromStdin) {
  const nlohmann::json ref = reference();
  const Answer a = vlm(tiny_args("-"), ref["question"].get<std::string>() + "\n");
  ASSERT_EQ(a.exit_code, 0) << a.err;
  EXPECT_EQ(a.out, ref["answer"].get<std::string>() + "\n");
}

TEST(VlmCli, SampledAnswersRepeatWithTheirSeed) {
  const std::string q = reference()["question"].get<std::string>();
  const Answer a = vlm(tiny_args(q) + " --temperature 1.5 --top-p 0.95 --seed 7");
  const Answer b = vlm(tiny_args(q) + " --temperature 1.5 --top-p 0.95 --seed 7");
  const Answer c = vlm(tiny_args(q) + " --temperature 1.5 --top-p 0.95 --seed 8");
  ASSERT_EQ(a.exit_code, 0) << a.err;
  EXPECT_EQ(a.out, b.out);
  EXPECT_NE(a.out, c.out) << "seeds 7 and 8 gave the same sampled answer";
  EXPECT_NE(a.out, reference()["answer"].get<std::string>() + "\n") << "sampling gave the greedy answer";
  // temperature 0 is greedy, whatever the seed.
  const Answer g = vlm(tiny_args(q) + " --temperature 0 --seed 3");
  EXPECT_EQ(g.out, reference()["answer"].get<std::string>() + "\n");
  const Answer bad = vlm(tiny_args(q) + " --temperature 1 --top-p 1.5");
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_TRUE(contains(bad.err, "top_p")) << bad.err;
}

TEST(VlmCli, FramesAreSampledEvenlyOverTheWholeClip) {
  EXPECT_EQ(sample_frame_indices(6, 3), (std::vector<std::int64_t>{0, 3, 5}));  // cli.json's indices
  EXPECT_EQ(reference()["indices"].get<std::vector<std::int64_t>>(), sample_frame_indices(6, 3));
  EXPECT_EQ(sample_frame_indices(100, 5), (std::vector<std::int64_t>{0, 25, 50, 74, 99}));
  EXPECT_EQ(sample_frame_indices(4, 8), (std::vector<std::int64_t>{0, 1, 2, 3}));  // fewer frames than asked
  EXPECT_EQ(sample_frame_indices(9, 1), (std::vector<std::int64_t>{4}));
  EXPECT_THROW(sample_frame_indices(0, 3), Error);
}

TEST(VlmCli, AFolderOfAnotherFamilyIsNamed) {
  const fs::path qwen = fs::path(SC_SOURCE_DIR) / "tests" / "golden" / "fixtures" / "qwen2_tiny";
  const Answer a = vlm("--model " + shell_quote(qwen.string()) + " --video " +
                       shell_quote((kTiny / "clip.mkv").string()) + " --question hi");
  EXPECT_NE(a.exit_code, 0);
  EXPECT_TRUE(contains(a.err, "llava_onevision")) << a.err;
  EXPECT_TRUE(contains(a.err, "config.json")) << a.err;
}

// A copy of the fixture folder with one file replaced (or removed).
fs::path broken_folder(const std::string& name, const std::string& file, const std::string* text) {
  const fs::path dir = kTmp / name;
  fs::remove_all(dir);
  fs::create_directories(dir);
  for (const auto& e : fs::directory_iterator(kTiny)) fs::copy_file(e.path(), dir / e.path().filename());
  fs::remove(dir / file);
  if (text) std::ofstream(dir / file) << *text;
  return dir;
}

TEST(VlmCli, AMissingOrMalformedTokenizerIsNamed) {
  const fs::path none = broken_folder("no_tokenizer", "tokenizer.json", nullptr);
  Answer a = vlm("--model " + shell_quote(none.string()) + " --video " + shell_quote((kTiny / "clip.mkv").string()) +
                 " --question hi");
  EXPECT_NE(a.exit_code, 0);
  EXPECT_TRUE(contains(a.err, "tokenizer.json")) << a.err;
  const std::string garbage = "{\"model\": {\"type\": \"BPE\", \"vocab\": 7";
  const fs::path bad = broken_folder("bad_tokenizer", "tokenizer.json", &garbage);
  a = vlm("--model " + shell_quote(bad.string()) + " --video " + shell_quote((kTiny / "clip.mkv").string()) +
          " --question hi");
  EXPECT_NE(a.exit_code, 0);
  EXPECT_TRUE(contains(a.err, (bad / "tokenizer.json").string())) << a.err;
}

TEST(VlmCli, AClipWithoutFramesIsNamed) {
  fs::create_directories(kTmp);
  const fs::path text = kTmp / "not_a_video.mp4";
  std::ofstream(text) << "this is not a video";
  Answer a =
      vlm("--model " + shell_quote(kTiny.string()) + " --video " + shell_quote(text.string()) + " --question hi");
  EXPECT_NE(a.exit_code, 0);
  EXPECT_TRUE(contains(a.err, "not_a_video.mp4")) << a.err;
  // Sound only: no picture to look at.
  const fs::path wav = kTmp / "tone.wav";
  ASSERT_EQ(run_command("ffmpeg -loglevel error -y -f lavfi -i sine=d=0.2 " + shell_quote(wav.string())).exit_code, 0);
  a = vlm("--model " + shell_quote(kTiny.string()) + " --video " + shell_quote(wav.string()) + " --question hi");
  EXPECT_NE(a.exit_code, 0);
  EXPECT_TRUE(contains(a.err, "tone.wav")) << a.err;
}

TEST(VlmCli, AQuestionThatDoesNotFitTheContextIsRefused) {
  // 200 frames x 4 tokens + 1 > the tiny model's 512 positions.
  const Answer a = vlm("--model " + shell_quote(kTiny.string()) + " --video " +
                       shell_quote((kTiny / "clip.mkv").string()) + " --frames 200 --question hi");
  EXPECT_NE(a.exit_code, 0);
  EXPECT_TRUE(contains(a.err, "context of 512")) << a.err;
  // A long question alone.
  const Answer b = vlm("--model " + shell_quote(kTiny.string()) + " --video " +
                           shell_quote((kTiny / "clip.mkv").string()) + " --question -",
                       std::string(3000, 'x') + " y");
  EXPECT_NE(b.exit_code, 0);
  EXPECT_TRUE(contains(b.err, "context")) << b.err;
}

TEST(VlmCli, AQuestionThatIsNotUtf8IsRefused) {
  const Answer a = vlm("--model " + shell_quote(kTiny.string()) + " --video " +
                       shell_quote((kTiny / "clip.mkv").string()) + " --question \"$(printf 'caf\\351?')\"");
  EXPECT_NE(a.exit_code, 0);
  EXPECT_TRUE(contains(a.err, "UTF-8")) << a.err;
}

}  // namespace
}  // namespace sc::app
