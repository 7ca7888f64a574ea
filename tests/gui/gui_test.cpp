// Runs the real GUI under Xvfb with Mesa's software Vulkan (lavapipe).
#include <gtest/gtest.h>

#include <cstdlib>

#include <unistd.h>

#include <QImage>
#include <filesystem>
#include <fstream>
#include <functional>

#include "media/audio.h"
#include "media/source_spec.h"
#include "media/video_reader.h"
#include "render/splat/gaussians.h"

#include "tests/app/hub_test_server.h"
#include "tests/common/img2img_fixture.h"
#include "tests/common/subprocess.h"

namespace {

using sc::test::run_command;
using sc::test::shell_quote;

const std::string kGui = shell_quote(SC_GUI_PATH);
// xvfb-run's own exit status can mask the studio's: it exits 5 when removing
// its temporary directory races the X server's shutdown. So the studio runs
// under sh, which prints its status; run_gui reads it back from the output.
const std::string kXvfb =
    std::string(SC_XVFB_RUN) + " -a -s '-screen 0 1600x1000x24' sh -c '\"$0\" \"$@\"; echo \"[studio exit $?]\"' ";

sc::test::RunResult run_gui(const std::string& command) {
  sc::test::RunResult r = run_command(command);
  const std::string marker = "[studio exit ";
  if (const auto at = r.output.rfind(marker); at != std::string::npos) {
    const int status = std::atoi(r.output.c_str() + at + marker.size());
    r.signaled = status > 128;  // sh reports a signal n as 128 + n
    r.exit_code = status;
  }
  return r;
}

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

// Each GUI run gets its own settings folder, so tests neither read nor write
// the user's (and start from defaults).
std::string gui_env() {
  static int n = 0;
  const std::string dir =
      std::string(SC_TEST_TMP_DIR) + "/gui_config_" + std::to_string(::getpid()) + "_" + std::to_string(n++);
  std::filesystem::remove_all(dir);
  return "XDG_CONFIG_HOME=" + shell_quote(dir) + " SC_VK_VALIDATION=1 ";
}

std::size_t count(const QImage& img, const std::function<bool(int, int, int)>& pred) {
  std::size_t n = 0;
  for (int y = 0; y < img.height(); ++y)
    for (int x = 0; x < img.width(); ++x) {
      QRgb p = img.pixel(x, y);
      n += pred(qRed(p), qGreen(p), qBlue(p));
    }
  return n;
}

// Longest horizontal run of pixels matching pred, over all rows.
int longest_run(const QImage& img, const std::function<bool(int, int, int)>& pred) {
  int best = 0;
  for (int y = 0; y < img.height(); ++y) {
    int run = 0;
    for (int x = 0; x < img.width(); ++x) {
      QRgb p = img.pixel(x, y);
      run = pred(qRed(p), qGreen(p), qBlue(p)) ? run + 1 : 0;
      best = std::max(best, run);
    }
  }
  return best;
}

// The longest run of testsrc2's saturated bar colours: long while the test
// pattern is on screen, short once a mode's picture replaces it.
int test_pattern_bars(const QImage& img) {
  return longest_run(img, [](int r, int g, int b) {
    return (r > 180 && g > 180 && b < 60) || (r < 60 && g > 180 && b > 180) || (r > 180 && g < 60 && b > 180);
  });
}

TEST(Gui, ScreenshotShowsTheTestPatternAndTheHud) {
  const std::string shot = std::string(SC_TEST_TMP_DIR) + "/gui_main.png";
  std::filesystem::remove(shot);
  auto r = run_gui(gui_env() + kXvfb + kGui + " --source test --quit-after 3 --screenshot " + shell_quote(shot));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_FALSE(contains(r.output, "validation:")) << r.output;
  EXPECT_TRUE(contains(r.output, "HUD frames")) << r.output;
  QImage img(QString::fromStdString(shot));
  ASSERT_FALSE(img.isNull()) << "no screenshot at " << shot << "\n" << r.output;
  EXPECT_GE(img.width(), 640);
  EXPECT_GE(img.height(), 400);
  const double total = double(img.width()) * img.height();
  // testsrc2's colour bars: each saturated primary/secondary covers a visible area.
  struct Bar {
    const char* name;
    std::function<bool(int, int, int)> is;
  };
  for (const Bar& bar : {Bar{"red", [](int r, int g, int b) { return r > 200 && g < 50 && b < 50; }},
                         Bar{"green", [](int r, int g, int b) { return r < 50 && g > 200 && b < 50; }},
                         Bar{"blue", [](int r, int g, int b) { return r < 50 && g < 50 && b > 200; }},
                         Bar{"yellow", [](int r, int g, int b) { return r > 200 && g > 200 && b < 50; }},
                         Bar{"magenta", [](int r, int g, int b) { return r > 200 && g < 50 && b > 200; }},
                         Bar{"cyan", [](int r, int g, int b) { return r < 50 && g > 200 && b > 200; }}})
    EXPECT_GT(count(img, bar.is) / total, 0.01) << "the " << bar.name << " bar of the test pattern is missing";
  // The HUD window's title bar (ImGui dark style, active title colour 41,74,122).
  int title = longest_run(img, [](int r, int g, int b) {
    return std::abs(r - 41) <= 8 && std::abs(g - 74) <= 8 && std::abs(b - 122) <= 8;
  });
  EXPECT_GT(title, 150) << "no HUD title bar in the viewport";
}

TEST(Gui, VolumetricModePlaysTheBundledSample) {
  const std::string shot = std::string(SC_TEST_TMP_DIR) + "/gui_volumetric.png";
  std::filesystem::remove(shot);
  auto r = run_gui(gui_env() + kXvfb + kGui + " --volumetric --quit-after 4 --screenshot " + shell_quote(shot));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(contains(r.output, "volumetric:")) << r.output;
  EXPECT_FALSE(contains(r.output, "validation: Validation Error")) << r.output;
  QImage img(QString::fromStdString(shot));
  ASSERT_FALSE(img.isNull()) << r.output;
  // The sample's splats: bright, saturated colours on a near-black background,
  // and none of the test pattern's flat bars.
  const double total = double(img.width()) * img.height();
  auto saturated = count(img, [](int r, int g, int b) {
    int hi = std::max({r, g, b}), lo = std::min({r, g, b});
    return hi > 150 && hi - lo > 100;
  });
  auto dark = count(img, [](int r, int g, int b) { return r < 20 && g < 20 && b < 26; });
  EXPECT_GT(saturated / total, 0.03) << "no splats on screen";
  EXPECT_GT(dark / total, 0.10) << "no dark volumetric background";
  int title = longest_run(img, [](int r, int g, int b) {
    return std::abs(r - 41) <= 8 && std::abs(g - 74) <= 8 && std::abs(b - 122) <= 8;
  });
  EXPECT_GT(title, 150) << "no HUD in the volumetric view";
}

// n saturated red splats spread through the cube [-1, 1]^3 (SH degree 0).
sc::render::GaussianCloud red_scene(std::size_t n) {
  sc::render::GaussianCloud c;
  c.resize(n, 0);
  for (std::size_t i = 0; i < n; ++i) {
    for (int a = 0; a < 3; ++a) c.positions[3 * i + a] = float((i * (7 + 13 * a)) % 101) / 50.0f - 1.0f;
    for (int a = 0; a < 3; ++a) c.scales[3 * i + a] = 0.06f;
    c.rotations[4 * i] = 1;
    c.opacities[i] = 0.95f;
    c.sh[3 * i] = 0.5f / sc::render::kShC0;  // colour (1, 0, 0)
    c.sh[3 * i + 1] = c.sh[3 * i + 2] = -0.5f / sc::render::kShC0;
  }
  return c;
}

TEST(Gui, VolumetricModeShowsAStillPlyScene) {
  // A single .ply (not a V^3 folder) given to --volumetric: a one-frame scene
  // of saturated red splats framed by the default camera.
  const std::string dir = std::string(SC_TEST_TMP_DIR) + "/gui_still";
  std::filesystem::create_directories(dir);
  const std::string scene = dir + "/red.ply", shot = dir + "/shot.png";
  sc::render::save_ply(red_scene(3000), scene);
  std::filesystem::remove(shot);
  auto r = run_gui(gui_env() + kXvfb + kGui + " --volumetric " + shell_quote(scene) + " --quit-after 4 --screenshot " +
                   shell_quote(shot));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(contains(r.output, "volumetric: " + scene + " (1 frames")) << r.output;
  EXPECT_FALSE(contains(r.output, "validation: Validation Error")) << r.output;
  QImage img(QString::fromStdString(shot));
  ASSERT_FALSE(img.isNull()) << r.output;
  const double total = double(img.width()) * img.height();
  auto red = count(img, [](int r, int g, int b) { return r > 150 && g < 60 && b < 60; });
  EXPECT_GT(red / total, 0.02) << "no red splats on screen";
}

// What a user sets stays set: the last source, the window and dock layout and
// View -> VSync come back in the next run (QSettings under XDG_CONFIG_HOME).
TEST(Gui, SettingsAndVsyncComeBackInTheNextRun) {
  const std::string dir = std::string(SC_TEST_TMP_DIR) + "/gui_persist_" + std::to_string(::getpid());
  std::filesystem::remove_all(dir);
  const std::string env = "XDG_CONFIG_HOME=" + shell_quote(dir) + " SC_VK_VALIDATION=1 ";
  auto first = run_gui(env + kXvfb + kGui + " --source test:320x240@25 --close-after 2");
  ASSERT_EQ(first.exit_code, 0) << first.output;
  EXPECT_TRUE(contains(first.output, "present mode FIFO (vsync on)")) << first.output;
  const std::string conf_path = dir + "/StreamCanvas/StreamCanvas.conf";
  std::ifstream in(conf_path);
  std::string conf((std::istreambuf_iterator<char>(in)), {});
  ASSERT_FALSE(conf.empty()) << "no settings were saved at " << conf_path;
  EXPECT_TRUE(contains(conf, "last=test:320x240@25")) << conf;
  EXPECT_TRUE(contains(conf, "state=@ByteArray(")) << "the dock layout was not saved\n" << conf;
  // The user turns VSync off (View menu), which is saved the same way.
  const auto at = conf.find("vsync=true");
  ASSERT_NE(at, std::string::npos) << conf;
  conf.replace(at, 10, "vsync=false");
  std::ofstream(conf_path) << conf;
  auto second = run_gui(env + kXvfb + kGui + " --quit-after 2");
  ASSERT_EQ(second.exit_code, 0) << second.output;
  EXPECT_TRUE(contains(second.output, "source test:320x240@25")) << "not started on the last source\n" << second.output;
  EXPECT_TRUE(contains(second.output, "(vsync off)")) << second.output;
  EXPECT_FALSE(contains(second.output, "present mode FIFO")) << second.output;
  if (!::testing::Test::HasFailure()) std::filesystem::remove_all(dir);
}

// Drag and drop: a still scene opens the volumetric mode, a video file plays
// as the source, and a folder that is neither a sequence nor a model is
// refused in the window while the studio goes on.
TEST(Gui, DroppedFilesAndFoldersOpenWhatTheyAre) {
  const std::string dir = std::string(SC_TEST_TMP_DIR) + "/gui_drop_" + std::to_string(::getpid());
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir + "/not_a_model");
  const std::string scene = dir + "/scene.ply", video = dir + "/clip.mp4";
  sc::render::save_ply(red_scene(200), scene);
  ASSERT_EQ(std::system(("ffmpeg -loglevel error -y -f lavfi -i testsrc2=size=160x120:rate=25 -t 2 -pix_fmt yuv420p " +
                         shell_quote(video))
                            .c_str()),
            0);
  auto r = run_gui(gui_env() + kXvfb + kGui + " --source test:320x240@30 --drop " + shell_quote(scene) + " --drop " +
                   shell_quote(video) + " --drop " + shell_quote(dir + "/not_a_model") + " --quit-after 4");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto scene_at = r.output.find("volumetric: " + scene + " (1 frames");
  const auto video_at = r.output.find("source '" + video + "': 160x120");
#if SC_TEST_HAVE_TALKING_HEAD
  const auto refused_at =
      r.output.find(dir + "/not_a_model is neither a V^3 sequence, a model folder nor a portrait image");
#else
  const auto refused_at = r.output.find(dir + "/not_a_model is neither a V^3 sequence nor a model folder");
#endif
  EXPECT_NE(scene_at, std::string::npos) << r.output;
  EXPECT_NE(video_at, std::string::npos) << r.output;
  EXPECT_NE(refused_at, std::string::npos) << r.output;
  EXPECT_LT(scene_at, video_at) << "drops are handled in order";
  EXPECT_FALSE(contains(r.output, "validation: Validation Error")) << r.output;
  if (!::testing::Test::HasFailure()) std::filesystem::remove_all(dir);
}

// The keyboard shortcuts, typed as real X key events (xdotool) into the
// window: S snapshot, R record / stop, H HUD, F full-screen viewport and
// back, Space stops the source, Ctrl+Q quits. Snapshots and recordings go to
// $HOME when there is no ~/Videos.
TEST(Gui, KeyboardShortcutsDoWhatTheySay) {
  ASSERT_EQ(std::system("command -v xdotool >/dev/null"), 0) << "xdotool is missing: run packaging/bootstrap.sh";
  const std::string home = std::string(SC_TEST_TMP_DIR) + "/gui_keys_" + std::to_string(::getpid());
  std::filesystem::remove_all(home);
  std::filesystem::create_directories(home);
  const std::string script = home + "/keys.sh";
  // k KEY: focus the window first (full screen without a window manager
  // can move the focus; bounded, so a lost window cannot hang the test), then
  // type the key. S is repeated until the snapshot exists: a busy machine may
  // not have shown the first frame yet ("Nothing to snapshot yet").
  std::ofstream(script)
      << "\"$1\" --source test:320x240@30 & pid=$!\n"
         "w=$(xdotool search --sync --onlyvisible --name StreamCanvas | head -1)\n"
         "k() { timeout 5 xdotool windowfocus --sync $w; xdotool key $1; sleep $2; }\n"
         "sleep 1\n"
         "for i in $(seq 20); do ls \"$HOME\"/snapshot-*.png >/dev/null 2>&1 && break; k s 0.5; done\n"
         "k r 1.5; k r 0.5; k h 0.3; k f 0.5; k f 0.5; k space 0.5; k ctrl+q 0\n"
         "wait $pid; echo \"[studio exit $?]\"\n";
  const std::string xvfb = std::string(SC_XVFB_RUN) + " -a -s '-screen 0 1600x1000x24' sh " + shell_quote(script) + " ";
  auto r = run_gui("HOME=" + shell_quote(home) + " XDG_CONFIG_HOME=" + shell_quote(home + "/config") +
                   " SC_VK_VALIDATION=1 timeout 60 " + xvfb + kGui);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  std::size_t last = 0;
  for (const std::string& step :
       {"snapshot: " + home + "/snapshot-", "recording to " + home + "/streamcanvas-", std::string("recorded "),
        std::string("view: HUD hidden"), std::string("view: full-screen viewport on"),
        std::string("view: full-screen viewport off"), std::string("source stopped")}) {
    const auto at = r.output.find(step, last);
    ASSERT_NE(at, std::string::npos) << "missing, or out of order: " << step << "\n" << r.output;
    last = at;
  }
  int pngs = 0, videos = 0;
  for (const auto& e : std::filesystem::directory_iterator(home)) {
    const std::string name = e.path().filename().string();
    if (name.rfind("snapshot-", 0) == 0 && e.path().extension() == ".png") {
      ++pngs;
      EXPECT_EQ(QImage(QString::fromStdString(e.path().string())).width(), 320) << name;
    }
    if (name.rfind("streamcanvas-", 0) == 0 && e.path().extension() == ".mp4") {
      ++videos;
      sc::media::VideoReader reader(sc::media::parse_source_spec(e.path().string()));
      sc::media::Frame f;
      int n = 0;
      while (reader.read(f)) ++n;
      EXPECT_GE(n, 15) << name << ": about 1.5 s at 30 fps";
    }
  }
  EXPECT_EQ(pngs, 1);
  EXPECT_EQ(videos, 1);
  if (!::testing::Test::HasFailure()) std::filesystem::remove_all(home);
}

TEST(Gui, BadSequenceIsShownInTheWindowAndTheStudioGoesOn) {
  const std::string shot = std::string(SC_TEST_TMP_DIR) + "/gui_bad_sequence.png";
  auto r = run_gui(gui_env() + kXvfb + kGui + " --volumetric /nonexistent/seq --quit-after 2 --screenshot " +
                   shell_quote(shot));
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(contains(r.output, "/nonexistent/seq")) << r.output;
  EXPECT_FALSE(r.signaled);
  QImage img(QString::fromStdString(shot));
  ASSERT_FALSE(img.isNull());
  // The error is in the window: the status bar turns red (#e04040).
  auto red = count(img, [](int r, int g, int b) { return r > 200 && g < 90 && b < 90; });
  EXPECT_GT(red, 50u) << "no error text in the status bar";
}

TEST(Gui, Img2ImgModeRestylesTheLiveSource) {
  const std::string shot = std::string(SC_TEST_TMP_DIR) + "/gui_img2img.png";
  std::filesystem::remove(shot);
  // The tiny seeded pipeline of the golden tests: its "style" is noise, which
  // is the point: the viewport must show the model's output, not the source.
  const std::string model = sc::test::tiny_img2img_pipeline("gui_img2img_model").string();
  auto r = run_gui(gui_env() + kXvfb + kGui + " --source 'test:96x64@20' --img2img " + shell_quote(model) +
                   " --taesd " + shell_quote(sc::test::tiny_taesd().string()) +
                   " --prompt 'a watercolor city' --size 64x64 --frame-buffer 2 --quit-after 6 --screenshot " +
                   shell_quote(shot));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(contains(r.output, "(TAESD) on CPU fp32 loaded")) << r.output;
  EXPECT_TRUE(contains(r.output, "mode: img2img")) << r.output;
  EXPECT_FALSE(contains(r.output, "[error]")) << r.output;
  EXPECT_FALSE(contains(r.output, "validation: Validation Error")) << r.output;
  QImage img(QString::fromStdString(shot));
  ASSERT_FALSE(img.isNull()) << r.output;
  // testsrc2's flat colour bars are gone: no long run of one saturated colour.
  EXPECT_LT(test_pattern_bars(img), 100) << "the test pattern is still on screen";
}

// A folder's files as a hub repository (every file large, so through the CDN redirect).
sc::test::HubTestServer::Repo repo_of(const std::string& name, const std::filesystem::path& dir) {
  sc::test::HubTestServer::Repo r;
  r.name = name;
  r.commit = "00112233445566778899aabbccddeeff00112233";
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir)) {
    if (!e.is_regular_file()) continue;
    std::ifstream in(e.path(), std::ios::binary);
    std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    r.files.push_back({std::filesystem::relative(e.path(), dir).string(), content, true});
  }
  return r;
}

TEST(Gui, DownloadedModelsAreUsedWithoutARestart) {
  // The Download… dialog pulls TAESD and a pipeline from a hub on the
  // loopback address; the panel loads each as it arrives and the viewport
  // shows the model's output, all in one run of the studio.
  sc::test::HubTestServer hub;
  hub.set_repo(repo_of("stabilityai/sd-turbo", sc::test::tiny_img2img_pipeline("gui_download_model")));
  hub.set_repo(repo_of("madebyollin/taesd", sc::test::tiny_taesd()));
  const std::string models = std::string(SC_TEST_TMP_DIR) + "/gui_models_" + std::to_string(::getpid());
  std::filesystem::remove_all(models);
  const std::string shot = std::string(SC_TEST_TMP_DIR) + "/gui_download.png";
  std::filesystem::remove(shot);
  auto r =
      run_gui(gui_env() + "HF_ENDPOINT=" + hub.endpoint() + " SC_MODELS=" + shell_quote(models) + " " + kXvfb + kGui +
              " --source 'test:96x64@20' --download taesd --download sd-turbo --prompt 'a watercolor city'"
              " --size 64x64 --quit-after 14 --screenshot " +
              shell_quote(shot));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(contains(r.output, "download: pulled taesd")) << r.output;
  EXPECT_TRUE(contains(r.output, "download: pulled sd-turbo")) << r.output;
  EXPECT_TRUE(contains(r.output, "(TAESD) on CPU fp32 loaded")) << r.output;
  EXPECT_TRUE(contains(r.output, "mode: img2img")) << r.output;
  EXPECT_FALSE(contains(r.output, "[error]")) << r.output;
  EXPECT_TRUE(std::filesystem::exists(models + "/sd-turbo/.streamcanvas-model.json"));
  EXPECT_TRUE(std::filesystem::exists(models + "/taesd/.streamcanvas-model.json"));
  QImage img(QString::fromStdString(shot));
  ASSERT_FALSE(img.isNull()) << r.output;
  EXPECT_LT(test_pattern_bars(img), 100) << "the test pattern is still on screen";
  std::filesystem::remove_all(models);
}

#if SC_TEST_HAVE_TALKING_HEAD
TEST(Gui, TalkingHeadModeMakesThePortraitSpeakTheAudio) {
  // The tiny Ditto folder and its portrait; the tone as the speech.
  const std::filesystem::path tiny = std::filesystem::path(SC_SOURCE_DIR) / "tests/golden/fixtures/ditto_tiny";
  const std::string shot = std::string(SC_TEST_TMP_DIR) + "/gui_talking_head.png";
  std::filesystem::remove(shot);
  auto r = run_gui(gui_env() + "XDG_CACHE_HOME=" + shell_quote(std::string(SC_TEST_TMP_DIR) + "/gui_cache") + " " +
                   kXvfb + kGui + " --source 'test:96x64@20' --audio tone:440 --talk " + shell_quote(tiny.string()) +
                   " --portrait " + shell_quote((tiny / "portrait.png").string()) + " --quit-after 14 --screenshot " +
                   shell_quote(shot));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(contains(r.output, "talking head: ready (256x320")) << r.output;
  EXPECT_TRUE(contains(r.output, "mode: talking head")) << r.output;
  EXPECT_FALSE(contains(r.output, "[error]")) << r.output;
  QImage img(QString::fromStdString(shot));
  ASSERT_FALSE(img.isNull()) << r.output;
  EXPECT_LT(test_pattern_bars(img), 100) << "the test pattern is still on screen";
}
#endif

TEST(Gui, Img2ImgWithABadModelFolderSaysSoAndTheSourceGoesOn) {
  const std::string shot = std::string(SC_TEST_TMP_DIR) + "/gui_img2img_bad.png";
  auto r = run_gui(gui_env() + kXvfb + kGui +
                   " --source test --img2img /nonexistent/model --quit-after 3 --screenshot " + shell_quote(shot));
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(contains(r.output, "/nonexistent/model")) << r.output;
  EXPECT_FALSE(r.signaled);
  QImage img(QString::fromStdString(shot));
  ASSERT_FALSE(img.isNull());
  auto red = count(img, [](int r, int g, int b) { return r > 200 && g < 90 && b < 90; });
  EXPECT_GT(red, 50u) << "no error text in the status bar";
}

TEST(Gui, ResizeStormAndMinimiseRestoreStayClean) {
  auto r = run_gui(gui_env() + kXvfb + kGui + " --source test:320x240@30 --self-test resize");
  ASSERT_EQ(r.exit_code, 0) << "3 means Vulkan validation errors:\n" << r.output;
  EXPECT_FALSE(contains(r.output, "validation:")) << r.output;
  ASSERT_TRUE(contains(r.output, "self-test resize")) << r.output;
  // The heap as its allocator counts it (the same under ASan, whose RSS
  // holds shadow memory and a quarantine of freed blocks).
  auto pos = r.output.find("heap ");
  ASSERT_NE(pos, std::string::npos) << r.output;
  long growth_kib = std::stol(r.output.substr(pos + 5));
  EXPECT_LT(growth_kib, 64 * 1024) << "the heap grew by " << growth_kib << " KiB over 50 resizes";
  // The resizes rebuilt the swapchain; a minimised window draws nothing and
  // a restored one draws again.
  auto number_before = [&](const std::string& label) {
    const auto at = r.output.find(" " + label);
    if (at == std::string::npos) return -1L;
    const auto start = r.output.rfind(' ', at - 1);
    return std::stol(r.output.substr(start + 1, at - start - 1));
  };
  EXPECT_GT(number_before("swapchain builds"), 1) << r.output;
  EXPECT_EQ(number_before("frames while minimised"), 0) << r.output;
  EXPECT_GT(number_before("after restore"), 0) << r.output;
}

// The Record dock's container: a file name with an extension chooses it (and
// it is remembered), a name without one gets it.
// A passthrough source recorded from the window with its microphone (the
// test tone stands in for one): the file has both tracks, and they start and
// end together (within a frame). At stop the session brings the audio to the
// last picture's end (waiting for a paced audio thread that is behind, then
// filling with silence): under load the audio once ended a frame and 0.07 ms
// early.
TEST(Gui, RecordingTheLiveSourceWithItsMicrophoneKeepsThemInSync) {
  const std::string dir = std::string(SC_TEST_TMP_DIR) + "/gui_mic_" + std::to_string(::getpid());
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const std::string file = dir + "/take.mp4";
  auto r = run_gui(gui_env() + kXvfb + kGui + " --source test:160x120@25 --audio tone --record " + shell_quote(file) +
                   " --close-after 3");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(contains(r.output, "with audio")) << r.output;
  double video_start = -1, video_end = 0, audio_start = -1, audio_end = 0;
  {
    sc::media::VideoReader reader(sc::media::parse_source_spec(file));
    sc::media::Frame f;
    while (reader.read(f)) {
      if (video_start < 0) video_start = f.pts_us / 1e6;
      video_end = f.pts_us / 1e6 + 1.0 / 25;
    }
  }
  sc::media::AudioReader audio(sc::media::parse_audio_spec(file), {48000, 1});  // throws without an audio track
  sc::media::AudioChunk c;
  while (audio.read(c)) {
    if (audio_start < 0) audio_start = c.pts_us / 1e6;
    audio_end = c.pts_us / 1e6 + double(c.frames()) / c.sample_rate;
  }
  std::printf("video %.4f..%.4f s, audio %.4f..%.4f s\n", video_start, video_end, audio_start, audio_end);
  EXPECT_GT(video_end - video_start, 1.0) << r.output;
  EXPECT_LE(std::abs(audio_start - video_start), 1.0 / 25) << audio_start << " vs " << video_start;
  EXPECT_LE(std::abs(audio_end - video_end), 1.0 / 25) << audio_end << " vs " << video_end;
  if (!::testing::Test::HasFailure()) std::filesystem::remove_all(dir);
}

TEST(Gui, ARecordingNameWithoutExtensionTakesTheContainer) {
  const std::string dir = std::string(SC_TEST_TMP_DIR) + "/gui_container_" + std::to_string(::getpid());
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const std::string env = "XDG_CONFIG_HOME=" + shell_quote(dir + "/config") + " SC_VK_VALIDATION=1 ";
  auto first = run_gui(env + kXvfb + kGui + " --source test:160x120@30 --record " + shell_quote(dir + "/one.mkv") +
                       " --close-after 1.5");
  ASSERT_EQ(first.exit_code, 0) << first.output;
  auto second = run_gui(env + kXvfb + kGui + " --source test:160x120@30 --record " + shell_quote(dir + "/two") +
                        " --close-after 1.5");
  ASSERT_EQ(second.exit_code, 0) << second.output;
  EXPECT_TRUE(std::filesystem::exists(dir + "/one.mkv"));
  ASSERT_TRUE(std::filesystem::exists(dir + "/two.mkv")) << second.output;
  EXPECT_FALSE(std::filesystem::exists(dir + "/two"));
  {
    sc::media::VideoReader reader(sc::media::parse_source_spec(dir + "/two.mkv"));
    EXPECT_EQ(reader.info().width, 160);
  }
  // "take.v2" is not a container: the dock's is added.
  auto third = run_gui(env + kXvfb + kGui + " --source test:160x120@30 --record " + shell_quote(dir + "/take.v2") +
                       " --close-after 1.5");
  ASSERT_EQ(third.exit_code, 0) << third.output;
  EXPECT_TRUE(std::filesystem::exists(dir + "/take.v2.mkv")) << third.output;
  if (!::testing::Test::HasFailure()) std::filesystem::remove_all(dir);
}

TEST(Gui, ClosingTheWindowFinishesTheRecording) {
  const std::string out = std::string(SC_TEST_TMP_DIR) + "/gui_record.mp4";
  std::filesystem::remove(out);
  auto r = run_gui(gui_env() + kXvfb + kGui + " --source test:320x240@30 --record " + shell_quote(out) +
                   " --close-after 2.5");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(contains(r.output, "saved " + out + " on exit")) << r.output;
  std::ifstream in(out, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), {});
  auto moov = bytes.find("moov"), mdat = bytes.find("mdat");
  ASSERT_NE(moov, std::string::npos) << "no index: the file was not finished";
  EXPECT_LT(moov, mdat) << "a finished recording is fast-start";
  sc::media::VideoReader reader(sc::media::parse_source_spec(out));
  EXPECT_EQ(reader.info().width, 320);
  sc::media::Frame f;
  int n = 0;
  while (reader.read(f)) ++n;
  EXPECT_GE(n, 30) << "about 2 s of 30 fps were recorded";
}

TEST(Gui, NoDisplayIsASentenceNotACrash) {
  auto r = run_command("env -u DISPLAY -u WAYLAND_DISPLAY " + kGui);
  EXPECT_FALSE(r.signaled);
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_TRUE(contains(r.output, "no display")) << r.output;
  EXPECT_TRUE(contains(r.output, "xvfb-run")) << r.output;
}

TEST(Gui, NoVulkanDriverSaysWhatToInstall) {
  auto r = run_gui(gui_env() + "VK_DRIVER_FILES=/nonexistent.json VK_ICD_FILENAMES=/nonexistent.json " + kXvfb + kGui +
                   " --quit-after 1");
  EXPECT_FALSE(r.signaled);
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_TRUE(contains(r.output, "mesa-vulkan-drivers")) << r.output;
}

TEST(Gui, BadFlagsAreUsageErrors) {
  auto r = run_command(kGui + " --bogus");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_TRUE(contains(r.output, "Usage: streamcanvas")) << r.output;
  r = run_command(kGui + " --quit-after soon");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  r = run_command(kGui + " --screenshot x.png");
  EXPECT_EQ(r.exit_code, 2) << r.output;
}

}  // namespace
