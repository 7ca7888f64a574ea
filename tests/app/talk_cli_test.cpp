// `streamcanvas-cli talk` end to end on the tiny Ditto folder
// (tests/golden/fixtures/ditto_tiny, tests/golden/gen_ditto_tiny.py: every
// network with the published inputs and outputs, tiny random internals, and
// a synthetic portrait and speech clip): a video of 25 frames a second with
// the audio beside it, in sync; bad inputs named.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <unistd.h>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <regex>
#include <thread>
#include <sstream>
#include <string>

#include "app/modes/talking_head/talking_head_mode.h"
#include "app/session/live_session.h"
#include "base/error.h"
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

// Each run gets the registration cache folder `cache` (default: none, so
// runs do not depend on each other or write to the user's cache).
std::string talk(const fs::path& models, const fs::path& portrait, const fs::path& audio, const fs::path& out,
                 const std::string& extra = "", const std::string& cache = "none") {
  return kCli + " talk --device cpu --models " + shell_quote(models.string()) + " --portrait " +
         shell_quote(portrait.string()) + " --audio " + shell_quote(audio.string()) + " -o " +
         shell_quote(out.string()) + " --avatar-cache " + shell_quote(cache) + " " + extra;
}

// The decoded pictures of a video, one MD5 per frame.
std::string frame_md5s(const fs::path& file) {
  const auto r = run_command("ffmpeg -v error -i " + shell_quote(file.string()) + " -map 0:v -f framemd5 -");
  std::string out;
  std::istringstream in(r.output);
  for (std::string line; std::getline(in, line);)
    if (!line.empty() && line[0] != '#') out += line.substr(line.rfind(',') + 1) + "\n";
  return out;
}

std::size_t files_in(const fs::path& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return 0;
  return static_cast<std::size_t>(std::distance(fs::directory_iterator(dir), fs::directory_iterator()));
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

TEST(TalkCli, TheRegistrationCacheSkipsRegisteringThePortraitAgain) {
  const fs::path dir = kTmp / ("cache_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  const std::string cache = (dir / "avatars").string();
  const fs::path a = dir / "a.mp4", b = dir / "b.mp4";
  // First run: registered, and cached.
  auto r = run_command(talk(kTiny, kTiny / "portrait.png", kTiny / "speech.wav", a, "--steps 1 --stats", cache));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(contains(r.output, "ms once, cached as " + cache + "/")) << r.output;
  ASSERT_EQ(files_in(cache), 1u);
  // Again: from the cache, and the same pictures.
  r = run_command(talk(kTiny, kTiny / "portrait.png", kTiny / "speech.wav", b, "--steps 1 --stats", cache));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(contains(r.output, "portrait: registered before")) << r.output;
  EXPECT_TRUE(contains(r.output, "registration: from the cache")) << r.output;
  const std::string want = frame_md5s(a);
  ASSERT_FALSE(want.empty());
  EXPECT_EQ(frame_md5s(b), want);
  EXPECT_EQ(files_in(cache), 1u);

  // The same pixels in other bytes (another PNG encoding): a new entry.
  const fs::path other = dir / "portrait_other.png";
  ASSERT_EQ(run_command("ffmpeg -v error -y -i " + shell_quote((kTiny / "portrait.png").string()) +
                        " -compression_level 0 " + shell_quote(other.string()))
                .exit_code,
            0);
  r = run_command(talk(kTiny, other, kTiny / "speech.wav", b, "--steps 1", cache));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_FALSE(contains(r.output, "registered before")) << r.output;
  EXPECT_EQ(files_in(cache), 2u);
  // A model folder whose files changed: registered again.
  const fs::path models = dir / "models";
  fs::copy(kTiny, models);
  r = run_command(talk(models, kTiny / "portrait.png", kTiny / "speech.wav", b, "--steps 1", cache));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_FALSE(contains(r.output, "registered before")) << r.output;
  EXPECT_EQ(files_in(cache), 3u);
  fs::last_write_time(models / "appearance_extractor.onnx",
                      fs::last_write_time(models / "appearance_extractor.onnx") + std::chrono::seconds(5));
  r = run_command(talk(models, kTiny / "portrait.png", kTiny / "speech.wav", b, "--steps 1", cache));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_FALSE(contains(r.output, "registered before")) << r.output;
  EXPECT_EQ(files_in(cache), 4u);

  // A damaged cache file: said, registered again, replaced; the video is made.
  for (const auto& e : fs::directory_iterator(cache)) fs::resize_file(e.path(), 100);
  r = run_command(talk(kTiny, kTiny / "portrait.png", kTiny / "speech.wav", b, "--steps 1", cache));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(contains(r.output, "ignoring the cached registration")) << r.output;
  EXPECT_EQ(frame_md5s(b), want);
  r = run_command(talk(kTiny, kTiny / "portrait.png", kTiny / "speech.wav", b, "--steps 1", cache));
  EXPECT_TRUE(contains(r.output, "portrait: registered before")) << r.output;
  // A cache folder that cannot be made: a warning, and the video is made.
  std::ofstream(dir / "file") << "x";
  r = run_command(
      talk(kTiny, kTiny / "portrait.png", kTiny / "speech.wav", b, "--steps 1", (dir / "file/sub").string()));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(contains(r.output, "warning: the registration was not cached")) << r.output;
  fs::remove_all(dir);
}

// The talking head as the live session's mode: the session's audio in, the
// portrait's pictures at 25 fps out, recorded with the sound in sync.
TEST(TalkingHeadMode, TheSessionsAudioMakesThePortraitSpeakAndTheRecordingStaysInSync) {
  fs::create_directories(kTmp);
  const fs::path out = kTmp / ("mode_" + std::to_string(::getpid()) + ".mp4");
  TalkingHeadModeOptions o;
  o.models = kTiny.string();
  o.portrait = (kTiny / "portrait.png").string();
  o.device = "cpu";
  o.steps = 1;
  o.avatar_cache = "none";
  const auto mode = TalkingHeadMode::load(o);
  EXPECT_EQ(mode->consumes().audio, true);
  EXPECT_EQ(mode->consumes().video, false);
  EXPECT_THROW(mode->set_emotion(9), sc::Error);
  EXPECT_THROW(mode->set_head_motion(-1), sc::Error);

  LiveSession s;
  s.set_mode(mode);
  s.start("test:64x48@30");  // the camera runs; the mode makes the picture
  s.start_audio("tone:440");
  using namespace std::chrono_literals;
  auto wait_frames = [&](std::int64_t n) {
    const auto until = std::chrono::steady_clock::now() + 180s;
    while (mode->frames() < n && std::chrono::steady_clock::now() < until) std::this_thread::sleep_for(20ms);
    return mode->frames() >= n;
  };
  ASSERT_TRUE(wait_frames(1)) << "no picture came";
  DisplayFrames f;
  std::uint64_t seq = 0;
  const auto until = std::chrono::steady_clock::now() + 30s;
  while (!s.latest(f, &seq) && std::chrono::steady_clock::now() < until) std::this_thread::sleep_for(10ms);
  EXPECT_EQ(f.output.width, mode->width());  // the portrait, not the camera's 64x48
  EXPECT_EQ(f.output.height, mode->height());
  mode->set_emotion(3);  // live: taken by the next window, the stream goes on
  s.start_recording({out.string(), 23, "libx264"});
  const std::int64_t at_start = mode->frames();
  ASSERT_TRUE(wait_frames(at_start + 30)) << mode->frames() << " pictures";
  const RecordingStatus st = s.stop_recording();
  s.stop_audio();
  s.stop();
  const auto errors = s.take_errors();
  EXPECT_TRUE(errors.empty()) << errors.front();
  EXPECT_GE(st.frames, 25);
  // Picture and sound start together and last as long (within a frame, plus AAC's padding).
  const double v0 = probe(out, "v:0", "start_time"), a0 = probe(out, "a:0", "start_time");
  const double vd = probe(out, "v:0", "duration"), ad = probe(out, "a:0", "duration");
  ASSERT_GE(v0, 0.0);
  ASSERT_GE(a0, 0.0);
  EXPECT_LE(std::fabs(v0 - a0), 0.045) << "video starts at " << v0 << " s, audio at " << a0 << " s";
  EXPECT_LE(std::fabs((v0 + vd) - (a0 + ad)), 0.15) << "video ends at " << v0 + vd << " s, audio at " << a0 + ad;
  fs::remove(out);
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
