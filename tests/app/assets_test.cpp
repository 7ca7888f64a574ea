// Where the programs find their bundled assets: the installed layout
// (<prefix>/bin -> <prefix>/share/streamcanvas/assets, as the .deb lays it
// out under /usr) before the source tree, $SC_ASSETS_DIR before both.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>

#include "app/session/assets.h"
#include "base/error.h"
#include "tests/common/subprocess.h"

namespace sc::app {
namespace {
namespace fs = std::filesystem;

fs::path fresh(const std::string& name) {
  fs::path p = fs::path(SC_TEST_TMP_DIR) / ("assets_" + name);
  fs::remove_all(p);
  fs::create_directories(p);
  return p;
}

TEST(AssetSearchPath, InstalledLayoutComesBeforeTheSourceTree) {
  ::unsetenv("SC_ASSETS_DIR");
  const auto roots = asset_search_path("/usr/bin/streamcanvas-cli");
  ASSERT_EQ(roots.size(), 2u);
  EXPECT_EQ(roots[0], fs::path("/usr/share/streamcanvas/assets"));
  EXPECT_EQ(roots[1], fs::path(SC_SOURCE_DIR) / "assets");
}

TEST(AssetSearchPath, EnvironmentComesFirst) {
  ::setenv("SC_ASSETS_DIR", "/somewhere/assets", 1);
  const auto roots = asset_search_path("/opt/sc/bin/streamcanvas");
  ASSERT_EQ(roots.size(), 3u);
  EXPECT_EQ(roots[0], fs::path("/somewhere/assets"));
  EXPECT_EQ(roots[1], fs::path("/opt/sc/share/streamcanvas/assets"));
  ::unsetenv("SC_ASSETS_DIR");
}

TEST(FindAsset, MissingAssetSaysWhereItLooked) {
  ::setenv("SC_ASSETS_DIR", "/nonexistent/assets", 1);
  try {
    find_asset("no/such/file");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/assets/no/such/file"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("SC_ASSETS_DIR"), std::string::npos) << e.what();
  }
  ::unsetenv("SC_ASSETS_DIR");
}

// The real program in an installed layout: a hard link of streamcanvas-cli in
// <prefix>/bin renders <prefix>/share/streamcanvas/assets/volumetric/sample
// when `v3 render` is given no sequence, not the source tree's copy.
TEST(FindAsset, InstalledProgramRendersTheSampleBesideIt) {
  const fs::path prefix = fresh("prefix");
  fs::create_directories(prefix / "bin");
  const fs::path cli = prefix / "bin" / "streamcanvas-cli";
  std::error_code ec;
  fs::create_hard_link(SC_CLI_PATH, cli, ec);
  if (ec) fs::copy_file(SC_CLI_PATH, cli);
  const fs::path sample = prefix / "share" / "streamcanvas" / "assets" / "volumetric" / "sample";
  fs::create_directories(sample.parent_path());
  auto r = test::run_command(test::shell_quote(SC_CLI_PATH) + " v3 sample " + test::shell_quote(sample.string()) +
                             " --frames 2 --gaussians 300");
  ASSERT_EQ(r.exit_code, 0) << r.output;

  const fs::path out = prefix / "out.mp4";
  const std::string render = "env -u SC_ASSETS_DIR " + test::shell_quote(cli.string()) +
                             " v3 render --frames 1 --size 64x48 --output " + test::shell_quote(out.string());
  r = test::run_command(render);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("of " + sample.string()), std::string::npos) << r.output;
  EXPECT_GT(fs::file_size(out), 0u);

  // Without the installed copy, the source tree's sample is found instead.
  fs::remove_all(prefix / "share");
  r = test::run_command(render);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("of " + (fs::path(SC_SOURCE_DIR) / "assets" / "volumetric" / "sample").string()),
            std::string::npos)
      << r.output;
  fs::remove_all(prefix);
}

}  // namespace
}  // namespace sc::app
