// `streamcanvas-cli talk` end to end on the tiny Ditto folder
// (tests/golden/fixtures/ditto_tiny, tests/golden/gen_ditto_tiny.py: every
// network with the published inputs and outputs, tiny random internals, and
// a synthetic portrait and speech clip): a video of 25 frames a second with
// the audio beside it, in sync; bad inputs named.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <regex>
#include <string>

#include "tests/common/subprocess.h"

namespace sc::app {
namespace {

namespace fs = std::filesystem;
using test::run_command;
using test::shell_quote;

const std::string kCli = shell_quote(SC_CLI_PATH);
const fs::path kTiny = fs::path(SC_SOURCE_DIR) / "tests" / "golden" / "fixtures" / "ditto_tiny";
const fs::path kTmp = fs::path(SC_TEST_TMP_DIR) / "talk_cli";

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

std::string talk(const fs::path& models, const fs::path& portrait, const fs::path& audio, const fs::path& out,
                 const std::string& extra = "") {
  return kCli + " talk --device cpu --models " + shell_quote(models.string()) + " --portrait " +
         shell_quote(portrait.string()) + " --audio " + shell_quote(audio.string()) + " -o " +
         shell_quote(out.string()) + " " + extra;
}

// A stream's value of an ffprobe field ("start_time", "duration", "nb_read_frames").
double probe(const fs::path& file, const char* stream, const char* field) {
  const auto r = run_command("ffprobe -v error -count_frames -select_streams " + std::string(stream) +
                             " -show_entries stream=" + field + " -of default=nw=1:nk=1 " + shell_quote(file.string()));
  return r.exit_code == 0 ? std::atof(r.output.c_str()) : -1.0;
}

TEST(TalkCli, APortraitSpeaksIntoAVideoWithItsAudioInSync) {
  fs::create_directories(kTmp);
  const fs::path out = kTmp / "talk.mp4";
  fs::remove(out);
  const auto r = run_command(talk(kTiny, kTiny / "portrait.png", kTiny / "speech.wav", out, "--steps 2 --stats"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  std::smatch m;
  ASSERT_TRUE(std::regex_search(r.output, m, std::regex("wrote (\\d+) frames"))) << r.output;
  const int frames = std::stoi(m[1]);
  // 2 s of speech: 50 frames, and the last window's padded frames past the end (up to 20).
  EXPECT_GE(frames, 50) << r.output;
  EXPECT_LE(frames, 75) << r.output;
  EXPECT_TRUE(contains(r.output, "ms per frame: hubert")) << r.output;
  EXPECT_EQ(static_cast<int>(probe(out, "v:0", "nb_read_frames")), frames);
  // Audio and video start together (within one frame, 40 ms) and the audio is all there.
  const double v0 = probe(out, "v:0", "start_time"), a0 = probe(out, "a:0", "start_time");
  ASSERT_GE(v0, 0.0);
  ASSERT_GE(a0, 0.0);
  EXPECT_LE(std::fabs(v0 - a0), 0.04) << "video starts at " << v0 << " s, audio at " << a0 << " s";
  // AAC at 16 kHz ends on a 1024-sample frame and carries its priming: up to ~0.13 s more.
  EXPECT_NEAR(probe(out, "a:0", "duration"), 2.0, 0.15);
}

TEST(TalkCli, BadInputsAreNamed) {
  fs::create_directories(kTmp);
  const fs::path out = kTmp / "bad.mp4";
  // Not an image.
  auto r = run_command(talk(kTiny, kTiny / "lmdm_v0.4_hubert.onnx", kTiny / "speech.wav", out));
  EXPECT_NE(r.exit_code, 0);
  EXPECT_TRUE(contains(r.output, "lmdm_v0.4_hubert.onnx")) << r.output;
  // An audio file without an audio stream.
  r = run_command(talk(kTiny, kTiny / "portrait.png", kTiny / "portrait.png", out));
  EXPECT_NE(r.exit_code, 0);
  EXPECT_TRUE(contains(r.output, "portrait.png")) << r.output;
  // A models folder missing a network.
  const fs::path partial = kTmp / "partial";
  fs::remove_all(partial);
  fs::copy(kTiny, partial);
  fs::remove(partial / "decoder.onnx");
  r = run_command(talk(partial, kTiny / "portrait.png", kTiny / "speech.wav", out));
  EXPECT_NE(r.exit_code, 0);
  EXPECT_TRUE(contains(r.output, "decoder")) << r.output;
  EXPECT_TRUE(contains(r.output, "digital-avatar/ditto-talkinghead")) << r.output;
}

}  // namespace
}  // namespace sc::app
