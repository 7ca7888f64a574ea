// streamcanvas-cli: the headless studio. Git-style subcommands; every capability
// of the GUI is scriptable from here.
#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <optional>
#include <nlohmann/json.hpp>

#include "app/session/doctor.h"
#include "app/session/img2img_job.h"
#include "app/session/model_inspect.h"
#include "app/session/record_job.h"
#include "app/session/v3_player.h"
#include "app/session/v3_sequence.h"
#include "base/error.h"
#include "base/log.h"
#include "engine/device.h"
#include "media/devices.h"
#include "media/video_writer.h"
#include "render/context.h"
#include "sc/version.h"

namespace {

constexpr int kUsageError = 2;

std::atomic<bool> g_cancel{false};

void on_sigint(int) {
  // First Ctrl-C: stop and finish the file. Second: the default (quit now).
  g_cancel = true;
  std::signal(SIGINT, SIG_DFL);
  std::signal(SIGTERM, SIG_DFL);
}

std::string version_line() {
  return fmt::format("streamcanvas-cli {} ({}, CUDA {})", sc::kVersion, sc::kGitRevision,
                     sc::kBuiltWithCuda ? "compiled in" : "not compiled");
}

std::string human_bytes(std::int64_t b) {
  if (b >= (1 << 30)) return fmt::format("{:.2f} GiB", b / double(1 << 30));
  if (b >= (1 << 20)) return fmt::format("{:.1f} MiB", b / double(1 << 20));
  return fmt::format("{:.0f} KiB", b / 1024.0);
}

// A one-line progress display on a terminal; nothing when stderr is a file.
class ProgressLine {
 public:
  ProgressLine() : tty_(isatty(fileno(stderr))) {}
  void update(const sc::app::RecordProgress& p) {
    if (!tty_) return;
    auto now = std::chrono::steady_clock::now();
    if (shown_ && now - last_ < std::chrono::milliseconds(100)) return;
    last_ = now;
    std::string total = p.total_frames > 0 ? fmt::format("/{}", p.total_frames) : "";
    std::string eta;
    if (p.total_frames > 0 && p.fps > 0) eta = fmt::format("  ETA {:.1f}s", (p.total_frames - p.frames) / p.fps);
    std::string drops = p.dropped ? fmt::format("  dropped {}", p.dropped) : "";
    fmt::print(stderr, "\r  frame {}{}  {:.1f} fps  {:.1f}s{}  {}{}   ", p.frames, total, p.fps, p.elapsed_s, eta,
               human_bytes(p.bytes), drops);
    std::fflush(stderr);
    shown_ = true;
  }
  void finish() {
    if (shown_) fmt::print(stderr, "\n");
  }

 private:
  bool tty_;
  bool shown_ = false;
  std::chrono::steady_clock::time_point last_{};
};

bool parse_size(const std::string& text, int* w, int* h) {
  return std::sscanf(text.c_str(), "%dx%d", w, h) == 2 && *w > 0 && *h > 0 && *w <= 16384 && *h <= 16384;
}

int run_record_command(sc::app::RecordOptions opt, const std::string& size) {
  if (!size.empty() && !parse_size(size, &opt.width, &opt.height))
    throw sc::Error("--size '{}' must look like 1280x720", size);
  sc::engine::compute_path();  // says once which path this machine uses
  std::signal(SIGINT, on_sigint);
  std::signal(SIGTERM, on_sigint);
  ProgressLine line;
  auto r = sc::app::run_record(
      opt, [&](const sc::app::RecordProgress& p) { line.update(p); }, &g_cancel);
  line.finish();
  fmt::print("{} {} frames ({:.2f} s of {}x{} @ {:.2f} fps, {}) to {} in {:.2f} s\n",
             r.cancelled ? "stopped; kept" : "wrote", r.frames, r.duration_s, r.width, r.height, r.fps,
             human_bytes(r.bytes), r.output, r.elapsed_s);
  fmt::print("  decoder {}, encoder {}\n", r.decoder, r.encoder);
  if (r.dropped) fmt::print("  warning: {} frame(s) dropped because the encoder fell behind the source\n", r.dropped);
  if (!r.source_end.empty()) fmt::print("  note: the source ended early: {}\n", r.source_end);
  return 0;
}

// `img2img`: live img2img (StreamDiffusion) from a source to a video file.
int run_img2img_command(const sc::app::Img2ImgOptions& opt, const std::string& size, bool stats) {
  sc::app::Img2ImgOptions o = opt;
  if (!size.empty() && !parse_size(size, &o.live.width, &o.live.height))
    throw sc::Error("--size '{}' must look like 512x512", size);
  sc::engine::compute_path();
  std::signal(SIGINT, on_sigint);
  std::signal(SIGTERM, on_sigint);
  const sc::app::Img2ImgStats r = sc::app::run_img2img(o, nullptr, &g_cancel);
  fmt::print("wrote {} frames ({}x{}) to {} in {:.2f} s; {} warm-up frame(s) filled the latent buffer", r.frames_out,
             o.live.width, o.live.height, r.output, r.elapsed_s, r.warmup);
  fmt::print("{}\n", r.flushed > 0 ? " and were flushed at the end" : "");
  if (r.prompt_truncated) fmt::print("  note: the prompt was longer than 77 CLIP tokens; its end was dropped\n");
  if (stats) fmt::print("{}", sc::app::format_img2img_stats(r));
  return 0;
}

int list_sources(bool json) {
  auto cams = sc::media::list_cameras();
  auto screens = sc::media::list_screens();
  auto mics = sc::media::list_microphones();
  if (json) {
    nlohmann::json j;
    j["test"] = "test";
    j["cameras"] = nlohmann::json::array();
    for (auto& c : cams) {
      nlohmann::json modes = nlohmann::json::array();
      for (auto& m : c.modes)
        modes.push_back({{"format", m.format}, {"width", m.width}, {"height", m.height}, {"fps", m.fps}});
      j["cameras"].push_back({{"source", c.source()}, {"name", c.name}, {"modes", modes}});
    }
    j["screens"] = nlohmann::json::array();
    for (auto& s : screens) j["screens"].push_back({{"source", s.source()}, {"width", s.width}, {"height", s.height}});
    j["microphones"] = nlohmann::json::array();
    for (auto& m : mics) j["microphones"].push_back({{"source", m.source}, {"description", m.description}});
    fmt::print("{}\n", j.dump(2));
    return 0;
  }
  fmt::print("Test pattern\n  test                 (also test:WxH@FPS)\n");
  fmt::print("Cameras\n");
  if (cams.empty()) fmt::print("  none found (no /dev/video* capture device)\n");
  for (auto& c : cams) {
    fmt::print("  {:<20} {}\n", c.source(), c.name);
    for (auto& m : c.modes) {
      std::string rates;
      for (double f : m.fps) rates += fmt::format("{}{:g}", rates.empty() ? "" : " ", f);
      fmt::print("      {:<6} {}x{}  {}\n", m.format, m.width, m.height, rates.empty() ? "" : rates + " fps");
    }
  }
  fmt::print("Screens\n");
  if (screens.empty()) fmt::print("  none (needs an X11 display)\n");
  for (auto& s : screens) fmt::print("  {:<20} {}x{}\n", s.source(), s.width, s.height);
  fmt::print("Microphones (for --audio)\n");
  if (mics.empty()) fmt::print("  none found (no PulseAudio or ALSA capture device); `tone` is a test tone\n");
  for (auto& m : mics) fmt::print("  {:<20} {}\n", m.source, m.description);
  return 0;
}

struct V3RenderOptions {
  std::string sequence;
  std::string output;
  std::int64_t frames = 0;  // 0 = the whole sequence once (one frame of a still scene)
  std::string camera = "orbit";
  std::string size = "1280x720";
  bool stats = false;
};

int v3_render(const V3RenderOptions& o) {
  int w = 0, h = 0;
  if (!parse_size(o.size, &w, &h) || w % 2 || h % 2) throw sc::Error("--size '{}' must be even, like 1280x720", o.size);
  // The camera path first: a typo in it should not wait for the GPU to start.
  std::optional<sc::app::CameraPath> path;
  if (o.camera != "orbit") path = sc::app::CameraPath::load(o.camera);
  sc::render::VulkanContext ctx(sc::render::ContextOptions{});
  sc::app::V3Player player(ctx, o.sequence);
  const std::int64_t frames = o.frames > 0 ? o.frames : player.frame_count();
  sc::app::OrbitCamera orbit = player.default_camera();
  sc::media::WriterOptions wo;
  wo.width = w;
  wo.height = h;
  wo.fps = player.fps();
  sc::media::VideoWriter writer(o.output, wo);
  std::signal(SIGINT, on_sigint);
  ProgressLine line;
  const auto start = std::chrono::steady_clock::now();
  std::int64_t i = 0;
  double load_ms = 0, project_ms = 0, sort_ms = 0, raster_ms = 0, write_ms = 0;
  std::uint64_t intersections = 0;
  using Clock = std::chrono::steady_clock;
  auto ms = [](Clock::time_point t) { return std::chrono::duration<double, std::milli>(Clock::now() - t).count(); };
  for (; i < frames && !g_cancel; ++i) {
    auto t = Clock::now();
    player.load(int(i % player.frame_count()));
    load_ms += ms(t);
    sc::render::SplatCamera cam;
    if (path) {
      cam = path->camera(double(i), std::uint32_t(w), std::uint32_t(h));
    } else {
      orbit.yaw_degrees = float(90.0 * double(i) / player.fps());  // a quarter turn per second
      cam = orbit.camera(std::uint32_t(w), std::uint32_t(h));
    }
    sc::render::SplatStats st = player.renderer().render(cam, {0.05f, 0.05f, 0.07f});
    project_ms += st.project_ms;
    sort_ms += st.sort_ms;
    raster_ms += st.raster_ms;
    intersections += st.intersections;
    t = Clock::now();
    auto rgba = player.renderer().read_rgba8();
    sc::media::Frame f = sc::media::Frame::make_rgba(w, h);
    for (int y = 0; y < h; ++y) std::memcpy(f.row(y), &rgba[std::size_t(y) * w * 4], std::size_t(w) * 4);
    writer.write(f);
    write_ms += ms(t);
    sc::app::RecordProgress p;
    p.frames = i + 1;
    p.total_frames = frames;
    p.elapsed_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    p.fps = p.elapsed_s > 0 ? p.frames / p.elapsed_s : 0;
    p.bytes = writer.stats().bytes;
    line.update(p);
  }
  line.finish();
  writer.close();
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  fmt::print("{} {} frames of {} ({} Gaussians max, SH degree {}) at {}x{} to {} in {:.2f} s ({:.1f} fps) on {}\n",
             g_cancel ? "stopped; kept" : "rendered", i, o.sequence, player.max_gaussians(), player.sh_degree(), w, h,
             o.output, s, s > 0 ? i / s : 0, ctx.device_info().name);
  if (o.stats && i > 0) {
    const double n = double(i);
    fmt::print(
        "  per frame: decode+dequantise {:.1f} ms, project {:.1f} ms, sort {:.1f} ms, blend {:.1f} ms, "
        "readback+encode {:.1f} ms; {:.0f} tile intersections\n",
        load_ms / n, project_ms / n, sort_ms / n, raster_ms / n, write_ms / n, double(intersections) / n);
  }
  if (ctx.validation_errors() > 0) {
    // The video is written; the renderer broke a Vulkan rule (validation is on
    // in debug builds and with SC_VK_VALIDATION=1), which tests must see.
    fmt::print(stderr, "streamcanvas-cli: {} Vulkan validation error(s) were reported\n", ctx.validation_errors());
    return 3;
  }
  return 0;
}

int v3_encode_command(const std::string& ply_dir, const std::string& out_dir, const sc::app::V3EncodeOptions& opt) {
  auto files = sc::app::list_ply_frames(ply_dir);
  ProgressLine line;
  const auto start = std::chrono::steady_clock::now();
  sc::app::v3_encode(
      int(files.size()), [&](int i) { return sc::render::load_ply(files[std::size_t(i)].string()); }, out_dir, opt,
      [&](int i) {
        sc::app::RecordProgress p;
        p.frames = i + 1;
        p.total_frames = std::int64_t(files.size());
        p.elapsed_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        p.fps = p.elapsed_s > 0 ? p.frames / p.elapsed_s : 0;
        line.update(p);
      });
  line.finish();
  fmt::print("encoded {} frames from {} into the V^3 layout at {} (groups of {}, qp {})\n", files.size(), ply_dir,
             out_dir, opt.group_size, opt.qp);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"StreamCanvas headless studio: render, record and inspect without a window.", "streamcanvas-cli"};
  app.set_version_flag("--version", version_line());
  app.require_subcommand(0, 1);
  app.footer("Run `streamcanvas-cli COMMAND --help` for a command's options.");

  bool json = false;
  auto* doctor = app.add_subcommand("doctor", "Report what this machine offers (GPU, Vulkan, FFmpeg, display)");
  doctor->add_flag("--json", json, "Print the report as JSON");

  bool sources_json = false;
  auto* sources = app.add_subcommand("sources", "List the cameras, screens and microphones that can be captured");
  sources->add_flag("--json", sources_json, "Print the list as JSON");

  sc::app::RecordOptions rec;
  std::string rec_size;
  auto* record = app.add_subcommand("record", "Record a source to a video file (Ctrl-C stops and keeps the file)");
  record->add_option("--source,-s", rec.source, "test, test:WxH@FPS, v4l2:/dev/videoN, screen, or a file")
      ->capture_default_str();
  record->add_option("--output,-o", rec.output, "Output video (.mp4 or .mkv)")->required();
  record->add_option("--duration,-d", rec.max_seconds, "Stop after SECONDS")->check(CLI::PositiveNumber);
  record->add_option("--frames,-n", rec.max_frames, "Stop after N frames")->check(CLI::PositiveNumber);
  record->add_option("--size", rec_size, "Capture or scale to WxH");
  record->add_option("--fps", rec.fps, "Capture or retime to N frames per second")->check(CLI::Range(1.0, 1000.0));
  record->add_option("--audio", rec.audio, "Audio track from: mic, pulse[:SRC], alsa[:DEV], tone[:HZ], a file");
  record->add_option("--encoder", rec.encoder, "auto, libx264 or h264_nvenc")
      ->check(CLI::IsMember({"auto", "libx264", "h264_nvenc"}))
      ->capture_default_str();
  record->add_option("--quality", rec.crf, "Constant quality, 0 (best) to 51")->check(CLI::Range(0, 51));

  sc::app::RecordOptions tc;
  std::string tc_size;
  auto* transcode = app.add_subcommand("transcode", "Convert a video file to H.264 (audio kept as AAC)");
  transcode->add_option("input", tc.source, "Input video")->required();
  transcode->add_option("output", tc.output, "Output video (.mp4 or .mkv)")->required();
  transcode->add_option("--size", tc_size, "Scale to WxH");
  transcode->add_option("--fps", tc.fps, "Retime to N frames per second")->check(CLI::Range(1.0, 1000.0));
  transcode->add_option("--encoder", tc.encoder, "auto, libx264 or h264_nvenc")
      ->check(CLI::IsMember({"auto", "libx264", "h264_nvenc"}))
      ->capture_default_str();
  transcode->add_option("--quality", tc.crf, "Constant quality, 0 (best) to 51")->check(CLI::Range(0, 51));

  auto* v3 = app.add_subcommand("v3", "Volumetric video in the V^3 layout: encode, render, sample");
  v3->require_subcommand(1);
  std::string v3_ply_dir, v3_out_dir;
  sc::app::V3EncodeOptions v3_opt;
  auto* v3_encode = v3->add_subcommand("encode", "Convert a folder of .ply frames into a V^3 sequence");
  v3_encode->add_option("ply_dir", v3_ply_dir, "Folder with one 3DGS .ply per frame")->required();
  v3_encode->add_option("out_dir", v3_out_dir, "Output folder for the V^3 sequence")->required();
  v3_encode->add_option("--group-size", v3_opt.group_size, "Frames per group")
      ->check(CLI::Range(1, 1000))
      ->capture_default_str();
  v3_encode->add_option("--qp", v3_opt.qp, "Quantiser of the attribute videos (0 = lossless)")
      ->check(CLI::Range(0, 51))
      ->capture_default_str();
  v3_encode->add_option("--fps", v3_opt.fps, "Frame rate of the sequence")
      ->check(CLI::Range(1.0, 240.0))
      ->capture_default_str();
  V3RenderOptions v3_render_opt;
  auto* v3_render_cmd = v3->add_subcommand(
      "render", "Render a V^3 sequence (or a still .ply / .splat scene) to a video with a free camera");
  v3_render_cmd->add_option("sequence", v3_render_opt.sequence, "V^3 sequence folder, or a .ply / .splat scene")
      ->required();
  v3_render_cmd->add_option("--output,-o", v3_render_opt.output, "Output video (.mp4 or .mkv)")->required();
  v3_render_cmd
      ->add_option("--frames,-n", v3_render_opt.frames, "Frames to render (default: the sequence once; more loops it)")
      ->check(CLI::PositiveNumber);
  v3_render_cmd->add_option("--camera", v3_render_opt.camera, "orbit, or a camera path .json")->capture_default_str();
  v3_render_cmd->add_option("--size", v3_render_opt.size, "Output size WxH")->capture_default_str();
  v3_render_cmd->add_flag("--stats", v3_render_opt.stats, "Print the time per stage");
  std::string sample_dir;
  int sample_frames = 60, sample_gaussians = 16000;
  auto* v3_sample = v3->add_subcommand("sample", "Generate the procedural sample clip (as bundled in assets/)");
  v3_sample->add_option("out_dir", sample_dir, "Output folder")->required();
  v3_sample->add_option("--frames", sample_frames, "Frames")->check(CLI::Range(1, 10000))->capture_default_str();
  v3_sample->add_option("--gaussians", sample_gaussians, "Gaussians per frame")
      ->check(CLI::Range(1, 10000000))
      ->capture_default_str();

  sc::app::Img2ImgOptions i2i;
  std::string i2i_size;
  bool i2i_stats = false;
  auto* img2img = app.add_subcommand("img2img", "Live img2img (StreamDiffusion) from a source to a video file");
  img2img->add_option("--model", i2i.models.model, "Diffusers pipeline folder (sd-turbo, SD 1.5 + LCM)")->required();
  img2img->add_option("--taesd", i2i.models.taesd, "TAESD folder (else the pipeline's full VAE)");
  img2img->add_option("--source,-s", i2i.source, "test, v4l2:/dev/videoN, screen, or a file")->capture_default_str();
  img2img->add_option("--prompt,-p", i2i.live.prompt, "What the output should show")->required();
  img2img->add_option("--negative-prompt", i2i.live.negative_prompt, "What it should not show (cfg full / initialize)");
  img2img->add_option("--output,-o", i2i.output, "Output video (.mp4 or .mkv)")->required();
  img2img->add_option("--frames,-n", i2i.max_frames, "Stop after N input frames")->check(CLI::PositiveNumber);
  img2img->add_option("--steps", i2i.live.steps, "Denoising steps, 1 to 4")
      ->check(CLI::Range(1, 4))
      ->capture_default_str();
  img2img->add_option("--strength", i2i.live.strength, "How far from the input, 0 to 1")
      ->check(CLI::Range(0.0, 1.0))
      ->capture_default_str();
  img2img->add_option("--cfg", i2i.live.cfg, "Guidance: none, full, self or initialize")
      ->check(CLI::IsMember({"none", "full", "self", "initialize"}))
      ->capture_default_str();
  img2img->add_option("--guidance", i2i.live.guidance, "Guidance scale (applies above 1)")->capture_default_str();
  img2img->add_option("--delta", i2i.live.delta, "Residual noise scale for cfg self / initialize")
      ->capture_default_str();
  img2img->add_option("--seed", i2i.live.seed, "Noise seed")->capture_default_str();
  img2img->add_option("--device", i2i.models.device, "auto (CUDA when a GPU answers), cpu or cuda")
      ->check(CLI::IsMember({"auto", "cpu", "cuda"}))
      ->capture_default_str();
  img2img->add_option("--dtype", i2i.models.dtype, "Weight and activation storage on CUDA: fp16, bf16 or fp32")
      ->check(CLI::IsMember({"fp16", "bf16", "fp32"}))
      ->capture_default_str();
  img2img->add_option("--size", i2i_size, "Model resolution WxH, multiples of 8 (default 512x512)");
  img2img
      ->add_option("--frame-buffer", i2i.live.frame_buffer_size,
                   "Frames per UNet call (Stream Batch): more throughput, more latency")
      ->check(CLI::Range(1, 16))
      ->capture_default_str();
  img2img->add_flag("--ssf", i2i.live.similarity_filter, "Stochastic similarity filter: skip near-identical frames");
  img2img->add_option("--ssf-threshold", i2i.live.similarity_threshold, "SSF cosine threshold")
      ->check(CLI::Range(0.0, 1.0));
  img2img->add_flag("--stats", i2i_stats, "Print per-stage timing, fps, UNet calls per frame and SSF skips");

  std::string models_dir, models_variant;
  bool models_json = false;
  auto* models = app.add_subcommand("models", "Model folders as downloaded (diffusers layout, TAESD)");
  models->require_subcommand(1);
  auto* models_inspect = models->add_subcommand(
      "inspect", "Family, components, parameters, dtypes, and missing or unused tensors of a model folder");
  models_inspect->add_option("dir", models_dir, "A diffusers pipeline folder or one component's folder")->required();
  models_inspect->add_option("--variant", models_variant, "Prefer weights of this variant (e.g. fp16)");
  models_inspect->add_flag("--json", models_json, "Print the report as JSON");

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    // One line that says what is wrong, then the usage, exit 2.
    fmt::print(stderr, "streamcanvas-cli: error: {}\n\n", e.what());
    const CLI::App* failing = &app;
    for (const CLI::App* sub = &app;;) {  // the deepest command that was given
      const CLI::App* next = nullptr;
      for (const CLI::App* c : sub->get_subcommands())
        if (c->parsed()) next = c;
      if (!next) break;
      failing = sub = next;
    }
    std::cerr << failing->help();
    return kUsageError;
  }

  try {
    if (doctor->parsed()) {
      sc::app::DoctorReport report = sc::app::run_doctor();
      if (json)
        fmt::print("{}\n", report.to_json());
      else
        fmt::print("{}\n{}", version_line(), report.to_text());
      return report.can_run() ? 0 : 1;
    }
    if (sources->parsed()) return list_sources(sources_json);
    if (models_inspect->parsed()) {
      const auto r = sc::app::inspect_model_folder(models_dir, models_variant, models_json);
      fmt::print("{}", r.text);
      return r.ok ? 0 : 1;
    }
    if (record->parsed()) return run_record_command(rec, rec_size);
    if (img2img->parsed()) return run_img2img_command(i2i, i2i_size, i2i_stats);
    if (v3_encode->parsed()) return v3_encode_command(v3_ply_dir, v3_out_dir, v3_opt);
    if (v3_render_cmd->parsed()) return v3_render(v3_render_opt);
    if (v3_sample->parsed()) {
      sc::app::V3EncodeOptions o;
      sc::app::v3_encode(
          sample_frames, [&](int i) { return sc::app::v3_sample_frame(i, sample_frames, sample_gaussians); },
          sample_dir, o);
      fmt::print("wrote the sample clip ({} frames, {} Gaussians) to {}\n", sample_frames, sample_gaussians,
                 sample_dir);
      return 0;
    }
    if (transcode->parsed()) {
      tc.source = "file:" + tc.source;
      tc.audio = "auto";
      return run_record_command(tc, tc_size);
    }
    fmt::print(stderr, "streamcanvas-cli: error: no command given\n\n");
    std::cerr << app.help();
    return kUsageError;
  } catch (const sc::Error& e) {
    fmt::print(stderr, "streamcanvas-cli: error: {}\n", e.what());
    return 1;
  } catch (const std::exception& e) {
    fmt::print(stderr, "streamcanvas-cli: internal error: {}\n", e.what());
    return 1;
  }
}
