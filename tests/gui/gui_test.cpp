// Runs the real GUI under Xvfb with Mesa's software Vulkan (lavapipe).
#include <gtest/gtest.h>

#include <QImage>
#include <filesystem>

#include "tests/common/subprocess.h"

namespace {

using sc::test::run_command;
using sc::test::shell_quote;

const std::string kGui = shell_quote(SC_GUI_PATH);
const std::string kXvfb = std::string(SC_XVFB_RUN) + " -a -s '-screen 0 1600x1000x24' ";

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

// The viewport's empty-state background is a dark blue-grey gradient.
bool is_background(QRgb p) {
  int r = qRed(p), g = qGreen(p), b = qBlue(p);
  return r >= 14 && r <= 50 && g >= r && b >= r + 6 && b <= 66;
}

TEST(Gui, ScreenshotShowsTheMainWindowWithAVulkanViewport) {
  const std::string shot = std::string(SC_TEST_TMP_DIR) + "/gui_main.png";
  std::filesystem::remove(shot);
  auto r = run_command("SC_VK_VALIDATION=1 " + kXvfb + kGui + " --quit-after 2 --screenshot " + shell_quote(shot));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_FALSE(contains(r.output, "validation:")) << r.output;
  QImage img(QString::fromStdString(shot));
  ASSERT_FALSE(img.isNull()) << "no screenshot at " << shot << "\n" << r.output;
  EXPECT_GE(img.width(), 640);
  EXPECT_GE(img.height(), 400);
  long background = 0;
  for (int y = 0; y < img.height(); ++y)
    for (int x = 0; x < img.width(); ++x) background += is_background(img.pixel(x, y));
  double fraction = double(background) / (img.width() * img.height());
  EXPECT_GT(fraction, 0.25) << "the Vulkan viewport should fill much of the window; got " << fraction;
  // The rest is Qt's widgets (menu bar, log dock, status bar): not all viewport.
  EXPECT_LT(fraction, 0.95) << "expected the Qt chrome around the viewport";
}

TEST(Gui, NoDisplayIsASentenceNotACrash) {
  auto r = run_command("env -u DISPLAY -u WAYLAND_DISPLAY " + kGui);
  EXPECT_FALSE(r.signaled);
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_TRUE(contains(r.output, "no display")) << r.output;
  EXPECT_TRUE(contains(r.output, "xvfb-run")) << r.output;
}

TEST(Gui, NoVulkanDriverSaysWhatToInstall) {
  auto r = run_command("VK_DRIVER_FILES=/nonexistent.json VK_ICD_FILENAMES=/nonexistent.json " + kXvfb + kGui +
                       " --quit-after 1");
  EXPECT_FALSE(r.signaled);
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_TRUE(contains(r.output, "mesa-vulkan-drivers")) << r.output;
}

TEST(Gui, BadFlagsAreUsageErrors) {
  auto r = run_command(kGui + " --bogus");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_TRUE(contains(r.output, "usage:")) << r.output;
  r = run_command(kGui + " --quit-after soon");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  r = run_command(kGui + " --screenshot x.png");
  EXPECT_EQ(r.exit_code, 2) << r.output;
}

}  // namespace
