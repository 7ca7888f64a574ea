// The volumetric mode's subcommands: `v3 encode`, `v3 render`, `v3 sample`.
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <chrono>
#include <cstring>
#include <memory>
#include <optional>

#include "app/modes/volumetric/camera_path.h"
#include "app/session/mode_registry.h"
#include "app/modes/volumetric/v3_player.h"
#include "app/modes/volumetric/v3_sequence.h"
#include "app/session/assets.h"
#include "app/session/cli_support.h"
#include "base/error.h"
#include "media/video_writer.h"
#include "render/context.h"

namespace sc::app {
namespace {

struct V3RenderOptions {
  std::string sequence;  // empty: the bundled sample
  std::string output;
  std::int64_t frames = 0;  // 0 = the whole sequence once (one frame of a still scene)
  std::string camera = "orbit";
  std::string size = "1280x720";
  bool stats = false;
};

int v3_render(const V3RenderOptions& o) {
  int w = 0, h = 0;
  if (!cli::parse_size(o.size, &w, &h) || w % 2 || h % 2)
    throw Error("--size '{}' must be even, like 1280x720", o.size);
  // The camera path first: a typo in it should not wait for the GPU to start.
  std::optional<CameraPath> path;
  if (o.camera != "orbit") path = CameraPath::load(o.camera);
  const std::string sequence = o.sequence.empty() ? find_asset("volumetric/sample").string() : o.sequence;
  render::VulkanContext ctx(render::ContextOptions{});
  V3Player player(ctx, sequence);
  const std::int64_t frames = o.frames > 0 ? o.frames : player.frame_count();
  OrbitCamera orbit = player.default_camera();
  media::WriterOptions wo;
  wo.width = w;
  wo.height = h;
  wo.fps = player.fps();
  media::VideoWriter writer(o.output, wo);
  cli::catch_interrupts();
  cli::ProgressLine line;
  using Clock = std::chrono::steady_clock;
  const auto start = Clock::now();
  std::int64_t i = 0;
  double load_ms = 0, project_ms = 0, sort_ms = 0, raster_ms = 0, write_ms = 0;
  std::uint64_t intersections = 0;
  auto ms = [](Clock::time_point t) { return std::chrono::duration<double, std::milli>(Clock::now() - t).count(); };
  for (; i < frames && !cli::cancelled(); ++i) {
    auto t = Clock::now();
    player.load(int(i % player.frame_count()));
    load_ms += ms(t);
    render::SplatCamera cam;
    if (path) {
      cam = path->camera(double(i), std::uint32_t(w), std::uint32_t(h));
    } else {
      orbit.yaw_degrees = float(90.0 * double(i) / player.fps());  // a quarter turn per second
      cam = orbit.camera(std::uint32_t(w), std::uint32_t(h));
    }
    render::SplatStats st = player.renderer().render(cam, {0.05f, 0.05f, 0.07f});
    project_ms += st.project_ms;
    sort_ms += st.sort_ms;
    raster_ms += st.raster_ms;
    intersections += st.intersections;
    t = Clock::now();
    auto rgba = player.renderer().read_rgba8();
    media::Frame f = media::Frame::make_rgba(w, h);
    for (int y = 0; y < h; ++y) std::memcpy(f.row(y), &rgba[std::size_t(y) * w * 4], std::size_t(w) * 4);
    writer.write(f);
    write_ms += ms(t);
    line.update_frames(i + 1, frames, start, writer.stats().bytes);
  }
  line.finish();
  writer.close();
  const double s = std::chrono::duration<double>(Clock::now() - start).count();
  fmt::print("{} {} frames of {} ({} Gaussians max, SH degree {}) at {}x{} to {} in {:.2f} s ({:.1f} fps) on {}\n",
             cli::cancelled() ? "stopped; kept" : "rendered", i, sequence, player.max_gaussians(), player.sh_degree(),
             w, h, o.output, s, s > 0 ? i / s : 0, ctx.device_info().name);
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

int v3_encode_command(const std::string& ply_dir, const std::string& out_dir, const V3EncodeOptions& opt) {
  auto files = list_ply_frames(ply_dir);
  cli::ProgressLine line;
  const auto start = std::chrono::steady_clock::now();
  v3_encode(
      int(files.size()), [&](int i) { return render::load_ply(files[std::size_t(i)].string()); }, out_dir, opt,
      [&](int i) { line.update_frames(i + 1, std::int64_t(files.size()), start); });
  line.finish();
  fmt::print("encoded {} frames from {} into the V^3 layout at {} (groups of {}, qp {})\n", files.size(), ply_dir,
             out_dir, opt.group_size, opt.qp);
  return 0;
}

std::vector<CliCommand> add_v3_commands(CLI::App& app) {
  auto* v3 = app.add_subcommand("v3", "Volumetric video in the V^3 layout: encode, render, sample");
  v3->require_subcommand(1);

  struct Encode {
    std::string ply_dir, out_dir;
    V3EncodeOptions opt;
  };
  auto enc = std::make_shared<Encode>();
  auto* encode = v3->add_subcommand("encode", "Convert a folder of .ply frames into a V^3 sequence");
  encode->add_option("ply_dir", enc->ply_dir, "Folder with one 3DGS .ply per frame")->required();
  encode->add_option("out_dir", enc->out_dir, "Output folder for the V^3 sequence")->required();
  encode->add_option("--group-size", enc->opt.group_size, "Frames per group")
      ->check(CLI::Range(1, 1000))
      ->capture_default_str();
  encode->add_option("--qp", enc->opt.qp, "Quantiser of the attribute videos (0 = lossless)")
      ->check(CLI::Range(0, 51))
      ->capture_default_str();
  encode->add_option("--fps", enc->opt.fps, "Frame rate of the sequence")
      ->check(CLI::Range(1.0, 240.0))
      ->capture_default_str();

  auto ren = std::make_shared<V3RenderOptions>();
  auto* render_cmd = v3->add_subcommand(
      "render", "Render a V^3 sequence (or a still .ply / .splat scene) to a video with a free camera");
  render_cmd->add_option("sequence", ren->sequence,
                         "V^3 sequence folder, or a .ply / .splat scene (default: the bundled sample clip)");
  render_cmd->add_option("--output,-o", ren->output, "Output video (.mp4 or .mkv)")->required();
  render_cmd->add_option("--frames,-n", ren->frames, "Frames to render (default: the sequence once; more loops it)")
      ->check(CLI::PositiveNumber);
  render_cmd->add_option("--camera", ren->camera, "orbit, or a camera path .json")->capture_default_str();
  render_cmd->add_option("--size", ren->size, "Output size WxH")->capture_default_str();
  render_cmd->add_flag("--stats", ren->stats, "Print the time per stage");

  struct Sample {
    std::string dir;
    int frames = 60, gaussians = 16000;
  };
  auto smp = std::make_shared<Sample>();
  auto* sample = v3->add_subcommand("sample", "Generate the procedural sample clip (as bundled in assets/)");
  sample->add_option("out_dir", smp->dir, "Output folder")->required();
  sample->add_option("--frames", smp->frames, "Frames")->check(CLI::Range(1, 10000))->capture_default_str();
  sample->add_option("--gaussians", smp->gaussians, "Gaussians per frame")
      ->check(CLI::Range(1, 10000000))
      ->capture_default_str();

  return {
      {encode, [enc] { return v3_encode_command(enc->ply_dir, enc->out_dir, enc->opt); }},
      {render_cmd, [ren] { return v3_render(*ren); }},
      {sample,
       [smp] {
         V3EncodeOptions o;
         v3_encode(
             smp->frames, [&](int i) { return v3_sample_frame(i, smp->frames, smp->gaussians); }, smp->dir, o);
         fmt::print("wrote the sample clip ({} frames, {} Gaussians) to {}\n", smp->frames, smp->gaussians, smp->dir);
         return 0;
       }},
  };
}

}  // namespace

void register_volumetric_mode(ModeRegistry& registry) {
  registry.add({"volumetric", "Volumetric (V^3)",
                "Plays a V^3 sequence or a still .ply / .splat scene with a free camera", add_v3_commands});
}

}  // namespace sc::app
