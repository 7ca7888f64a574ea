// streamcanvas: the Qt studio. Checks for a display and a Vulkan driver before
// Qt starts, so a missing one is a sentence and an exit code, not an abort.
#include <vulkan/vulkan.h>  // before Qt: see PLATFORM notes in docs/design.md

#include <unistd.h>

#include <QApplication>
#include <QDropEvent>
#include <QElapsedTimer>
#include <QMimeData>
#include <QSettings>
#include <QGuiApplication>
#include <QScreen>
#include <QTimer>
#include <QUrl>
#include <QVulkanInstance>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "app/gui/main_window.h"
#include "app/gui/panels/img2img_panel.h"
#if SC_HAVE_TALKING_HEAD
#include "app/gui/panels/talking_head_panel.h"
#endif
#include "app/session/model_store.h"
#include "app/gui/panels/volumetric_panel.h"
#include "app/gui/viewport_window.h"
#include "base/environment.h"
#include "base/error.h"
#include "base/log.h"
#include "engine/device.h"
#include "render/context.h"
#include "sc/version.h"

namespace {

// The man page (packaging/man/) is made from this text by help2man: keep the
// "Usage:" and "Options:" lines, one option a line.
constexpr const char* kUsage =
    "Usage: streamcanvas [OPTIONS]\n"
    "The StreamCanvas studio: a live source in a Vulkan viewport, restyled by AI models, played and recorded.\n"
    "\n"
    "Options:\n"
    "  --source SRC           start on this source (test, v4l2:/dev/video0, screen, FILE); default: the last one\n"
    "  --audio SRC            audio beside the picture: mic, pulse[:SRC], alsa[:DEV], tone[:HZ] or a file\n"
    "  --record FILE          start recording to FILE (.mp4 or .mkv) as soon as there is a picture\n"
    "  --volumetric [PATH]    start in the volumetric mode on a V^3 sequence folder or a still .ply/.splat\n"
    "                         scene (default: the bundled sample)\n"
    "  --img2img MODEL_DIR    start in the img2img mode on a diffusers pipeline folder, or an installed\n"
    "                         model's name (sd-turbo, ...; see `streamcanvas-cli models list`)\n"
    "  --talk MODELS          start in the talking-head mode: Ditto's ditto_onnx folder, or `ditto`\n"
    "  --portrait IMAGE       with --talk: the portrait that speaks (the speech: --audio)\n"
    "  --download NAME        download an img2img model (sd-turbo, sd-1.5, taesd) and use it when it is\n"
    "                         there (the Download… dialog); may be repeated\n"
    "  --taesd DIR            with --img2img: the TAESD decoder folder (fast)\n"
    "  --prompt TEXT          with --img2img: the prompt\n"
    "  --size WxH             with --img2img: the model resolution (multiples of 8)\n"
    "  --frame-buffer N       with --img2img: frames per UNet call, 1 to 16 (throughput vs latency)\n"
    "  --quit-after SECONDS   quit after this many seconds (for automation)\n"
    "  --screenshot PATH.png  with --quit-after: save a screenshot of the main window first\n"
    "  --close-after SECONDS  close the window after this many seconds, as its close button does\n"
    "  --self-test resize     resize the window 50 times, minimise and restore it, then quit\n"
    "  --drop PATH            (repeatable) drop PATH on the window once it shows, as a file manager would\n"
    "  --help                 show this help\n"
    "  --version              show the version\n"
    "\n"
    "Without a display, use streamcanvas-cli (see `streamcanvas-cli --help`).\n";

struct GuiArgs {
  std::string source;  // empty: the last one used (settings), else test
  std::optional<double> quit_after_s;
  std::optional<double> close_after_s;
  std::string screenshot;
  std::string record;
  std::string self_test;
  std::vector<std::string> drops;  // --drop: files or folders dropped on the window, in order
  bool volumetric = false;
  std::string sequence;
  std::string img2img, taesd, prompt;
  std::string talk, portrait;          // --talk MODELS --portrait IMAGE: the talking-head mode
  std::vector<std::string> downloads;  // --download: models pulled (in order) and used as they arrive
  std::string audio;                   // --audio: an audio source beside the picture
  int width = 0, height = 0;
  int frame_buffer = 0;  // 0: the dock's value
};

[[noreturn]] void usage_error(const std::string& msg) {
  std::fprintf(stderr, "streamcanvas: error: %s\n\n%s", msg.c_str(), kUsage);
  std::exit(2);
}

double parse_seconds(const std::string& flag, const std::string& v) {
  char* end = nullptr;
  double s = std::strtod(v.c_str(), &end);
  if (v.empty() || *end || !(s >= 0)) usage_error(flag + " needs a number of seconds, got '" + v + "'");
  return s;
}

// Our flags are --long; single-dash arguments (-platform, -style) are Qt's.
GuiArgs parse_args(int argc, char** argv) {
  GuiArgs a;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    auto value = [&](std::string_view name) -> std::string {
      if (i + 1 >= argc) usage_error(std::string(name) + " needs a value");
      return argv[++i];
    };
    if (arg == "--help" || arg == "-h") {
      std::fputs(kUsage, stdout);
      std::exit(0);
    } else if (arg == "--version") {
      std::printf("streamcanvas %s (%s)\n", sc::kVersion, sc::kGitRevision);
      std::exit(0);
    } else if (arg == "--source") {
      a.source = value(arg);
    } else if (arg == "--quit-after") {
      a.quit_after_s = parse_seconds("--quit-after", value(arg));
    } else if (arg == "--close-after") {
      a.close_after_s = parse_seconds("--close-after", value(arg));
    } else if (arg == "--volumetric") {
      a.volumetric = true;
      if (i + 1 < argc && argv[i + 1][0] != '-') a.sequence = argv[++i];
    } else if (arg == "--img2img") {
      a.img2img = value(arg);
    } else if (arg == "--talk") {
      a.talk = value(arg);
    } else if (arg == "--portrait") {
      a.portrait = value(arg);
    } else if (arg == "--download") {
      a.downloads.push_back(value(arg));
    } else if (arg == "--taesd") {
      a.taesd = value(arg);
    } else if (arg == "--prompt") {
      a.prompt = value(arg);
    } else if (arg == "--size") {
      const std::string v = value(arg);
      if (std::sscanf(v.c_str(), "%dx%d", &a.width, &a.height) != 2 || a.width <= 0 || a.height <= 0)
        usage_error("--size needs WxH, e.g. 512x512; got '" + v + "'");
    } else if (arg == "--frame-buffer") {
      const std::string v = value(arg);
      if (std::sscanf(v.c_str(), "%d", &a.frame_buffer) != 1 || a.frame_buffer < 1 || a.frame_buffer > 16)
        usage_error("--frame-buffer needs 1 to 16 frames; got '" + v + "'");
    } else if (arg == "--audio") {
      a.audio = value(arg);
    } else if (arg == "--record") {
      a.record = value(arg);
    } else if (arg == "--self-test") {
      a.self_test = value(arg);
      if (a.self_test != "resize") usage_error("--self-test knows: resize");
    } else if (arg == "--screenshot") {
      a.screenshot = value(arg);
    } else if (arg == "--drop") {
      a.drops.push_back(value(arg));
    } else if (arg.substr(0, 2) == "--") {
      usage_error("unknown option '" + std::string(arg) + "'");
    } else if (arg.substr(0, 1) == "-") {
      if (i + 1 < argc && argv[i + 1][0] != '-') ++i;  // Qt option with its value
    } else {
      usage_error("unexpected argument '" + std::string(arg) + "'");
    }
  }
  if (!a.screenshot.empty() && !a.quit_after_s) usage_error("--screenshot needs --quit-after SECONDS");
  if (a.img2img.empty() && a.downloads.empty() &&
      (!a.taesd.empty() || !a.prompt.empty() || a.width > 0 || a.frame_buffer > 0))
    usage_error("--taesd, --prompt, --size and --frame-buffer go with --img2img MODEL_DIR (or --download)");
  if (a.talk.empty() != a.portrait.empty()) usage_error("--talk MODELS and --portrait IMAGE go together");
  if (!a.talk.empty() && (a.volumetric || !a.img2img.empty()))
    usage_error("--talk is its own mode: not with --img2img or --volumetric");
  for (const std::string& d : a.downloads) {
    const sc::app::CatalogEntry* e = sc::app::find_catalog_entry(d);
    if (!e || e->mode != "img2img") usage_error("--download knows the img2img models: sd-turbo, sd-1.5, taesd");
  }
  if (!a.img2img.empty() && a.volumetric) usage_error("--img2img and --volumetric are different modes; pick one");
  return a;
}

std::vector<std::string> surface_extensions(QVulkanInstance& qvk) {
  std::vector<std::string> want = {"VK_KHR_surface"};
  const QString platform = QGuiApplication::platformName();
  if (platform == QLatin1String("xcb")) want.push_back("VK_KHR_xcb_surface");
  if (platform.startsWith(QLatin1String("wayland"))) want.push_back("VK_KHR_wayland_surface");
  auto supported = qvk.supportedExtensions();
  for (auto& e : want)
    if (!supported.contains(QByteArray::fromStdString(e)))
      throw sc::Error(
          "the Vulkan driver lacks {} for the '{}' window system; install mesa-vulkan-drivers or the "
          "NVIDIA driver",
          e, platform.toStdString());
  return want;
}

}  // namespace

int main(int argc, char** argv) {
  GuiArgs args = parse_args(argc, argv);

  const char* qpa = std::getenv("QT_QPA_PLATFORM");
  const bool offscreen_qpa = qpa && std::string_view(qpa).find("offscreen") != std::string_view::npos;
  if (!offscreen_qpa) {
    sc::DisplayInfo display = sc::probe_display();
    if (!display.available) {
      std::fprintf(stderr,
                   "streamcanvas: no display: %s.\n"
                   "Start it from a desktop session, run it under a virtual display (xvfb-run streamcanvas; "
                   "apt-get install xvfb), or use the headless streamcanvas-cli.\n",
                   display.reason.c_str());
      return 1;
    }
  }
  sc::render::DeviceList vk = sc::render::enumerate_vulkan_devices();
  if (vk.devices.empty()) {
    std::fprintf(stderr, "streamcanvas: %s.\n", vk.error.c_str());
    return 1;
  }

  QApplication app(argc, argv);
  QApplication::setApplicationName(QStringLiteral("StreamCanvas"));
  QApplication::setOrganizationName(QStringLiteral("StreamCanvas"));
  QApplication::setApplicationVersion(QString::fromUtf8(sc::kVersion));

  try {
    sc::render::ContextOptions opt;
    {
      QVulkanInstance probe;
      opt.instance_extensions = surface_extensions(probe);
    }
    opt.swapchain = true;
    // Declared before Qt's wrapper and the window, so it is destroyed after them.
    sc::render::VulkanContext ctx(opt);
    QVulkanInstance qvk;
    qvk.setVkInstance(ctx.instance());
    if (!qvk.create()) throw sc::Error("Qt could not adopt the Vulkan instance (error {})", int(qvk.errorCode()));

    const char* path = sc::engine::to_string(sc::engine::compute_path());
    sc::gui::MainWindow window(ctx, QString::fromUtf8(path));
    window.viewport()->setVulkanInstance(&qvk);
    window.show();
    QSettings settings;
    const std::string source =
        !args.source.empty()
            ? args.source
            : settings.value(QStringLiteral("source/last"), QStringLiteral("test")).toString().toStdString();
    sc::log::info("StreamCanvas {} on '{}' ({}); source {}", sc::kVersion, ctx.device_info().name,
                  ctx.device_info().type, source);
    if (!args.audio.empty()) window.startAudio(QString::fromStdString(args.audio));
    if (args.volumetric) {
      if (auto* p = qobject_cast<sc::gui::VolumetricPanel*>(window.panel("volumetric")))
        p->load(QString::fromStdString(args.sequence));
    } else {
      window.startSource(QString::fromStdString(source));
      auto* img2img = qobject_cast<sc::gui::Img2ImgPanel*>(window.panel("img2img"));
      if (img2img && !args.img2img.empty())
        img2img->start(QString::fromStdString(args.img2img), QString::fromStdString(args.taesd),
                       QString::fromStdString(args.prompt), args.width, args.height, args.frame_buffer);
      if (!args.talk.empty()) {
#if SC_HAVE_TALKING_HEAD
        if (auto* p = qobject_cast<sc::gui::TalkingHeadPanel*>(window.panel("talking_head")))
          p->start(QString::fromStdString(args.talk), QString::fromStdString(args.portrait));
#else
        sc::log::error("this build has no talking-head mode (it needs Debian's libonnx)");
#endif
      }
      if (img2img && !args.downloads.empty()) {
        if (args.img2img.empty())  // the settings the pulled pipeline starts with
          img2img->prepare(QString::fromStdString(args.taesd), QString::fromStdString(args.prompt), args.width,
                           args.height, args.frame_buffer);
        for (const std::string& d : args.downloads) img2img->download(QString::fromStdString(d));
      }
    }

    if (!args.record.empty()) {
      // Start as soon as the first picture is there (the recorder takes its size).
      auto* poll = new QTimer(&window);
      QObject::connect(poll, &QTimer::timeout, &window, [&window, poll, path = args.record] {
        sc::app::DisplayFrames f;
        std::uint64_t seq = 0;
        if (!window.session().latest(f, &seq)) return;
        poll->stop();
        window.startRecording(QString::fromStdString(path));
      });
      poll->start(20);
    }

    int exit_code = 0;
    if (args.quit_after_s) {
      QTimer::singleShot(static_cast<int>(*args.quit_after_s * 1000), &app, [&] {
        if (!args.screenshot.empty()) {
          QScreen* screen = window.screen() ? window.screen() : QGuiApplication::primaryScreen();
          // grabWindow reads the X server, so the Vulkan-presented viewport is in it.
          QPixmap shot = screen->grabWindow(window.winId());
          if (shot.isNull() || !shot.save(QString::fromStdString(args.screenshot))) {
            sc::log::error("could not write the screenshot to {}", args.screenshot);
            exit_code = 1;
          } else {
            sc::log::info("screenshot: {} ({}x{}, {} viewport frames, {} HUD frames)", args.screenshot, shot.width(),
                          shot.height(), window.viewport()->frames_presented(), window.viewport()->hud_frames());
          }
        }
        app.quit();
      });
    }
    if (args.close_after_s) {
      QTimer::singleShot(static_cast<int>(*args.close_after_s * 1000), &window, [&] { window.close(); });
    }
    // --drop: the window receives the paths exactly as from a drag and drop,
    // one a second apart so each takes effect before the next.
    for (std::size_t i = 0; i < args.drops.size(); ++i) {
      QTimer::singleShot(static_cast<int>(500 + 1000 * i), &window, [&window, path = args.drops[i]] {
        QMimeData mime;
        mime.setUrls({QUrl::fromLocalFile(QString::fromStdString(path))});
        const QPointF at(window.width() / 2.0, window.height() / 2.0);
        sc::log::info("drop: {}", path);
        // Qt hands a drop to the widget that accepted the drag's entry.
        QDragEnterEvent enter(at.toPoint(), Qt::CopyAction, &mime, Qt::LeftButton, Qt::NoModifier);
        QCoreApplication::sendEvent(&window, &enter);
        if (!enter.isAccepted()) {
          sc::log::warn("drop: the window refuses {}", path);
          return;
        }
        QDropEvent drop(at, Qt::CopyAction, &mime, Qt::LeftButton, Qt::NoModifier);
        QCoreApplication::sendEvent(&window, &drop);
      });
    }
    if (args.self_test == "resize") {
      QTimer::singleShot(500, &window, [&] {
        const long rss_before = sc::resident_memory_kib();
        const long long heap_before = sc::heap_bytes_in_use();
        for (int i = 0; i < 50; ++i) {
          window.resize(640 + (i * 97) % 700, 400 + (i * 61) % 400);
          for (int k = 0; k < 3; ++k) QCoreApplication::processEvents(QEventLoop::AllEvents, 5);
        }
        auto pump = [](int ms) {
          QElapsedTimer t;
          t.start();
          while (t.elapsed() < ms) QCoreApplication::processEvents(QEventLoop::AllEvents, 10);
        };
        window.showMinimized();
        pump(300);
        // Without a window manager (Xvfb) a minimise request changes nothing;
        // unmap the window as a window manager's minimise does.
        const bool wm_minimised = !window.viewport()->isExposed();
        if (!wm_minimised) window.hide();
        pump(200);
        const std::uint64_t at_minimise = window.viewport()->frames_presented();
        pump(300);
        const std::uint64_t while_minimised = window.viewport()->frames_presented() - at_minimise;
        window.showNormal();
        pump(500);
        const std::uint64_t after_restore = window.viewport()->frames_presented() - at_minimise - while_minimised;
        sc::log::info(
            "self-test resize: 50 resizes + minimise/restore ({}), {} swapchain builds, {} frames, {} frames while "
            "minimised, {} after restore, heap {:+} KiB, RSS {:+} KiB",
            wm_minimised ? "by the window manager" : "unmapped", window.viewport()->swapchain_rebuilds(),
            window.viewport()->frames_presented(), while_minimised, after_restore,
            (sc::heap_bytes_in_use() - heap_before) / 1024, sc::resident_memory_kib() - rss_before);
        app.quit();
      });
    }
    int rc = app.exec();
    if (ctx.validation_errors() > 0) {
      sc::log::error("{} Vulkan validation error(s) were reported", ctx.validation_errors());
      return 3;
    }
    return rc != 0 ? rc : exit_code;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "streamcanvas: %s\n", e.what());
    return 1;
  }
}
