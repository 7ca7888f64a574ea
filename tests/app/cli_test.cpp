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
  EXPECT_TRUE(contains(r.output, "run")) << r.output;
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
  auto r = run_command(kCli + " run --frames -3");
  EXPECT_EQ(r.exit_code, 2) << r.output;
}

TEST(Doctor, ReportsEverySectionAndExitsZero) {
  auto r = run_command(kCli + " doctor");
  EXPECT_FALSE(r.signaled);
  EXPECT_EQ(r.exit_code, 0) << r.output;
  for (const char* s : {"CUDA", "Vulkan", "FFmpeg", "Display and Qt", "Summary", "libx264", "h264_nvenc", "v4l2",
                        "x11grab", "lavfi", "Qt platform plugins", "compute path"})
    EXPECT_TRUE(contains(r.output, s)) << "missing '" << s << "' in:\n" << r.output;
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

TEST(Run, WritesAVideoOfTheRequestedLength) {
  const std::string out = std::string(SC_TEST_TMP_DIR) + "/cli_run.mp4";
  std::filesystem::remove(out);
  auto r = run_command(kCli + " run --source test:96x64@30 --frames 15 --output " + shell_quote(out));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(contains(r.output, "wrote 15 frames")) << r.output;
  EXPECT_TRUE(contains(r.output, out)) << r.output;
  media::VideoReader reader(media::parse_source_spec(out));
  EXPECT_EQ(reader.info().width, 96);
  media::Frame f;
  int n = 0;
  while (reader.read(f)) ++n;
  EXPECT_EQ(n, 15);
}

TEST(Run, BadSourceIsAClearError) {
  auto r = run_command(kCli + " run --source /nonexistent/in.mp4 --output /tmp/x.mp4");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_TRUE(contains(r.output, "/nonexistent/in.mp4")) << r.output;
}

}  // namespace
}  // namespace sc::app
