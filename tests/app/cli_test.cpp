// Runs the real streamcanvas-cli binary.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>

#include "media/source_spec.h"
#include "media/video_reader.h"
#include "tests/common/subprocess.h"

namespace sc::app {
namespace {

using test::run_command;
using test::shell_quote;

const std::string kCli = shell_quote(SC_CLI_PATH);

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

TEST(Cli, HelpListsTheCommands) {
  auto r = run_command(kCli + " --help");
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_TRUE(contains(r.output, "doctor")) << r.output;
  EXPECT_TRUE(contains(r.output, "record")) << r.output;
  EXPECT_TRUE(contains(r.output, "transcode")) << r.output;
  EXPECT_TRUE(contains(r.output, "sources")) << r.output;
}

TEST(Cli, VersionPrintsTheVersion) {
  auto r = run_command(kCli + " --version");
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_TRUE(contains(r.output, "streamcanvas-cli 0.")) << r.output;
}

TEST(Cli, UnknownCommandIsUsageErrorTwo) {
  auto r = run_command(kCli + " frobnicate");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_TRUE(contains(r.output, "error:")) << r.output;
  EXPECT_TRUE(contains(r.output, "frobnicate")) << r.output;
  EXPECT_TRUE(contains(r.output, "Usage")) << r.output;
}

TEST(Cli, UnknownFlagIsUsageErrorTwo) {
  auto r = run_command(kCli + " doctor --bogus");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_TRUE(contains(r.output, "--bogus")) << r.output;
  EXPECT_TRUE(contains(r.output, "Usage")) << r.output;
}

TEST(Cli, NoCommandIsUsageErrorTwo) {
  auto r = run_command(kCli);
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_TRUE(contains(r.output, "no command")) << r.output;
}

TEST(Cli, BadOptionValueIsUsageErrorTwo) {
  auto r = run_command(kCli + " record --output x.mp4 --frames -3");
  EXPECT_EQ(r.exit_code, 2) << r.output;
}

TEST(Doctor, ReportsEverySectionAndExitsZero) {
  auto r = run_command(kCli + " doctor");
  EXPECT_FALSE(r.signaled);
  EXPECT_EQ(r.exit_code, 0) << r.output;
  for (const char* s : {"CUDA", "Vulkan", "FFmpeg", "Display and Qt", "Summary", "libx264", "h264_nvenc", "v4l2",
                        "x11grab", "lavfi", "compute path"})
    EXPECT_TRUE(contains(r.output, s)) << "missing '" << s << "' in:\n" << r.output;
  // A build without the GUI (the tsan preset) says so instead of listing Qt's plugins.
  EXPECT_TRUE(contains(r.output, SC_TEST_HAVE_GUI ? "Qt platform plugins" : "not built (SC_BUILD_GUI=OFF)"))
      << r.output;
  // On this project's machines Vulkan comes from lavapipe at least.
  EXPECT_TRUE(contains(r.output, "llvmpipe") || contains(r.output, "GPU")) << r.output;
}

TEST(Doctor, WithoutADisplaySaysWhy) {
  auto r = run_command("env -u DISPLAY -u WAYLAND_DISPLAY " + kCli + " doctor");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(contains(r.output, "neither DISPLAY nor WAYLAND_DISPLAY is set")) << r.output;
  EXPECT_TRUE(contains(r.output, "GUI (streamcanvas)")) << r.output;
  EXPECT_TRUE(contains(r.output, "not ready")) << r.output;
}

TEST(Doctor, WithoutAVulkanDriverSaysWhatToInstall) {
  auto r = run_command("env VK_DRIVER_FILES=/nonexistent.json VK_ICD_FILENAMES=/nonexistent.json " + kCli + " doctor");
  EXPECT_FALSE(r.signaled);
  EXPECT_EQ(r.exit_code, 0) << "headless work needs no Vulkan:\n" << r.output;
  EXPECT_TRUE(contains(r.output, "mesa-vulkan-drivers")) << r.output;
}

TEST(Doctor, JsonIsValidAndAgreesWithText) {
  auto r = run_command(kCli + " doctor --json 2>/dev/null");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  auto j = nlohmann::json::parse(r.output);
  EXPECT_TRUE(j.at("headless_ready").get<bool>());
  EXPECT_GE(j.at("sections").size(), 5u);
}

int count_frames(const std::string& path) {
  media::VideoReader reader(media::parse_source_spec(path));
  media::Frame f;
  int n = 0;
  while (reader.read(f)) ++n;
  return n;
}

std::string tmp(const std::string& name) { return std::string(SC_TEST_TMP_DIR) + "/cli_" + name; }

TEST(Record, WritesAVideoOfTheRequestedLength) {
  const std::string out = tmp("record.mp4");
  std::filesystem::remove(out);
  auto r = run_command(kCli + " record --source 'test:96x64@30?pacing=fast' --frames 15 --output " + shell_quote(out));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(contains(r.output, "wrote 15 frames")) << r.output;
  EXPECT_TRUE(contains(r.output, out)) << r.output;
  EXPECT_TRUE(contains(r.output, "encoder libx264")) << r.output;
  media::VideoReader reader(media::parse_source_spec(out));
  EXPECT_EQ(reader.info().width, 96);
  EXPECT_EQ(count_frames(out), 15);
}

TEST(Record, SizeFpsAndAudioOptions) {
  const std::string out = tmp("record_opts.mkv");
  std::filesystem::remove(out);
  auto r = run_command(
      kCli + " record --source 'test?pacing=fast' --size 160x90 --fps 50 --duration 1 --audio tone:300 --output " +
      shell_quote(out));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  media::VideoReader reader(media::parse_source_spec(out));
  EXPECT_EQ(reader.info().width, 160);
  EXPECT_EQ(reader.info().height, 90);
  EXPECT_NEAR(reader.info().fps, 50, 0.01);
  EXPECT_TRUE(reader.info().has_audio);
  EXPECT_NEAR(count_frames(out), 50, 2);
}

TEST(Record, SigkillMidRecordingKeepsTheFirstSeconds) {
  // A 5 s real-time recording killed 3 s after it started writing (timed from
  // the file's appearance, so a slow start under load or sanitizers does not
  // count): the crash-safe file must still hold at least 2 s of frames.
  const std::string out = tmp("killed.mp4");
  std::filesystem::remove(out);
  const std::string script = kCli + " record --source test:320x240@30 --duration 5 --output " + shell_quote(out) +
                             " & pid=$!; for i in $(seq 200); do [ -s " + shell_quote(out) +
                             " ] && break; sleep 0.05; done; sleep 3; kill -9 $pid; wait $pid; echo \"exit=$?\"";
  auto r = run_command("bash -c " + shell_quote(script));
  EXPECT_TRUE(contains(r.output, "exit=137")) << "the recorder should have been killed:\n" << r.output;
  int n = 0;
  try {
    media::VideoReader reader(media::parse_source_spec(out));
    media::Frame f;
    while (reader.read(f)) ++n;
  } catch (const std::exception&) {
  }
  EXPECT_GE(n, 60) << "at least 2 s at 30 fps decode from the killed recording";
}

TEST(Record, CtrlCStopsAndKeepsAFinishedFile) {
  const std::string out = tmp("interrupted.mp4");
  std::filesystem::remove(out);
  // SIGINT 1.5 s after the file appears, to the recorder alone (as a terminal's Ctrl-C).
  const std::string script = kCli + " record --source test:160x120@30 --output " + shell_quote(out) +
                             " & pid=$!; for i in $(seq 200); do [ -s " + shell_quote(out) +
                             " ] && break; sleep 0.05; done; sleep 1.5; kill -INT $pid; wait $pid; echo \"exit=$?\"";
  auto r = run_command("bash -c " + shell_quote(script));
  EXPECT_TRUE(contains(r.output, "exit=0")) << r.output;
  EXPECT_TRUE(contains(r.output, "stopped; kept")) << r.output;
  EXPECT_GE(count_frames(out), 20);
}

TEST(Record, LiveSourcesNeedALimitOrCtrlC) {
  auto r = run_command(kCli + " record --source /nonexistent/in.mp4 --output " + shell_quote(tmp("x.mp4")));
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_TRUE(contains(r.output, "/nonexistent/in.mp4")) << r.output;
}

TEST(Record, UnwritableOutputIsAClearError) {
  auto r = run_command(kCli + " record --source test --frames 3 --output /nonexistent/dir/out.mp4");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_TRUE(contains(r.output, "/nonexistent/dir/out.mp4")) << r.output;
}

TEST(Record, MissingOutputIsAUsageError) {
  auto r = run_command(kCli + " record --source test");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_TRUE(contains(r.output, "--output")) << r.output;
}

TEST(Transcode, ConvertsVideoAndKeepsAudio) {
  const std::string in = tmp("tc_in.mkv"), out = tmp("tc_out.mp4");
  std::filesystem::remove(out);
  auto r = run_command(kCli + " record --source 'test:128x96@25?pacing=fast' --frames 50 --audio tone --output " +
                       shell_quote(in));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  r = run_command(kCli + " transcode " + shell_quote(in) + " " + shell_quote(out) + " --size 64x48");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(contains(r.output, "wrote 50 frames")) << r.output;
  media::VideoReader reader(media::parse_source_spec(out));
  EXPECT_EQ(reader.info().width, 64);
  EXPECT_TRUE(reader.info().has_audio);
  EXPECT_NEAR(reader.info().duration_s, 2.0, 0.1);
  EXPECT_EQ(count_frames(out), 50);
}

TEST(Transcode, RetimesToANewFrameRate) {
  const std::string in = tmp("rt_in.mp4"), out = tmp("rt_out.mp4");
  auto r = run_command(kCli + " record --source 'test:64x48@30?pacing=fast' --frames 60 --output " + shell_quote(in));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  r = run_command(kCli + " transcode " + shell_quote(in) + " " + shell_quote(out) + " --fps 15");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NEAR(count_frames(out), 30, 1);
}

TEST(Transcode, GarbageInputIsAClearError) {
  const std::string in = tmp("garbage.mp4");
  {
    std::FILE* f = std::fopen(in.c_str(), "wb");
    for (int i = 0; i < 3000; ++i) std::fputc((i * 131) & 255, f);
    std::fclose(f);
  }
  auto r = run_command(kCli + " transcode " + shell_quote(in) + " " + shell_quote(tmp("garbage_out.mp4")));
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_TRUE(contains(r.output, in)) << r.output;
  EXPECT_FALSE(r.signaled);
}

TEST(Sources, ListsTheTestPatternAndEachKind) {
  auto r = run_command(kCli + " sources");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  for (const char* s : {"Test pattern", "Cameras", "Screens", "Microphones"})
    EXPECT_TRUE(contains(r.output, s)) << r.output;
  auto j = run_command(kCli + " sources --json 2>/dev/null");
  ASSERT_EQ(j.exit_code, 0);
  auto parsed = nlohmann::json::parse(j.output);
  EXPECT_EQ(parsed.at("test"), "test");
  EXPECT_TRUE(parsed.at("cameras").is_array());
}

}  // namespace
}  // namespace sc::app
