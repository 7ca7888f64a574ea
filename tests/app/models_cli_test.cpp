// `streamcanvas-cli models inspect` on the tiny golden model folders.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "tests/common/subprocess.h"

namespace sc::app {
namespace {

using test::run_command;
using test::shell_quote;

const std::string kCli = shell_quote(SC_CLI_PATH);
const std::filesystem::path kFixtures = std::filesystem::path(SC_SOURCE_DIR) / "tests" / "golden" / "fixtures";

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

TEST(ModelsCli, InspectTaesdFolder) {
  auto r = run_command(kCli + " models inspect " + shell_quote((kFixtures / "diffusion_taesd").string()));
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(contains(r.output, "family: TAESD")) << r.output;
  EXPECT_TRUE(contains(r.output, "AutoencoderTiny")) << r.output;
  EXPECT_TRUE(contains(r.output, "F32 x")) << r.output;
  EXPECT_TRUE(contains(r.output, "status: complete")) << r.output;
}

TEST(ModelsCli, InspectJsonCountsParameters) {
  auto r = run_command(kCli + " models inspect --json " + shell_quote((kFixtures / "diffusion_vae").string()));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto j = nlohmann::json::parse(r.output);
  EXPECT_TRUE(j.at("ok").get<bool>());
  ASSERT_EQ(j.at("components").size(), 1u);
  EXPECT_EQ(j["components"][0].at("class"), "AutoencoderKL");
  EXPECT_GT(j["components"][0].at("parameters").get<long>(), 100000);
  EXPECT_TRUE(j["components"][0].at("unused").empty());
}

TEST(ModelsCli, InspectFp16Variant) {
  auto r = run_command(kCli + " models inspect --variant fp16 " +
                       shell_quote((kFixtures / "diffusion_taesd_fp16").string()));
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(contains(r.output, "F16 x")) << r.output;
}

TEST(ModelsCli, NotAModelFolderFails) {
  auto r = run_command(kCli + " models inspect " + shell_quote((kFixtures / "no_such_folder").string()));
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_TRUE(contains(r.output, "no_such_folder")) << r.output;
  auto usage = run_command(kCli + " models inspect");
  EXPECT_EQ(usage.exit_code, 2) << usage.output;
}

}  // namespace
}  // namespace sc::app
