// The img2img mode's subcommand: `img2img`, live StreamDiffusion from a
// source to a video file.
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <memory>

#include "app/modes/img2img/img2img_job.h"
#include "app/session/model_arg.h"
#include "app/session/cli_support.h"
#include "app/session/mode_registry.h"
#include "base/error.h"
#include "engine/device.h"

namespace sc::app {
namespace {

struct Img2ImgCommand {
  Img2ImgOptions options;
  std::string size;
  bool stats = false;

  int run() {
    Img2ImgOptions o = options;
    if (!size.empty() && !cli::parse_size(size, &o.live.width, &o.live.height))
      throw Error("--size '{}' must look like 512x512", size);
    engine::compute_path();  // says once which path this machine uses
    cli::catch_interrupts();
    const Img2ImgStats r = run_img2img(o, nullptr, cli::cancel_flag());
    fmt::print("wrote {} frames ({}x{}) to {} in {:.2f} s; {} warm-up frame(s) filled the latent buffer", r.frames_out,
               o.live.width, o.live.height, r.output, r.elapsed_s, r.warmup);
    fmt::print("{}\n", r.flushed > 0 ? " and were flushed at the end" : "");
    if (r.prompt_truncated) fmt::print("  note: the prompt was longer than 77 CLIP tokens; its end was dropped\n");
    if (stats) fmt::print("{}", format_img2img_stats(r));
    return 0;
  }
};

std::vector<CliCommand> add_img2img_command(CLI::App& app) {
  auto c = std::make_shared<Img2ImgCommand>();
  Img2ImgOptions& i2i = c->options;
  auto* img2img = app.add_subcommand("img2img", "Live img2img (StreamDiffusion) from a source to a video file");
  img2img
      ->add_option("--model", i2i.models.model,
                   "Diffusers pipeline folder, or an installed model's name (sd-turbo, sd-1.5; see `models list`)")
      ->required()
      ->transform(cli::model_folder_or_name());
  img2img->add_option("--taesd", i2i.models.taesd, "TAESD folder or name (taesd); else the pipeline's full VAE")
      ->transform(cli::model_folder_or_name());
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
  img2img->add_option("--size", c->size, "Model resolution WxH, multiples of 8 (default 512x512)");
  img2img
      ->add_option("--frame-buffer", i2i.live.frame_buffer_size,
                   "Frames per UNet call (Stream Batch): more throughput, more latency")
      ->check(CLI::Range(1, 16))
      ->capture_default_str();
  img2img->add_flag("--ssf", i2i.live.similarity_filter, "Stochastic similarity filter: skip near-identical frames");
  img2img->add_option("--ssf-threshold", i2i.live.similarity_threshold, "SSF cosine threshold")
      ->check(CLI::Range(0.0, 1.0));
  img2img->add_flag("--stats", c->stats, "Print per-stage timing, fps, UNet calls per frame and SSF skips");
  return {{img2img, [c] { return c->run(); }}};
}

}  // namespace

void register_img2img_mode(ModeRegistry& registry) {
  registry.add({"img2img", "Img2Img (StreamDiffusion)",
                "Restyles each incoming frame with a 1-4 step diffusion model (sd-turbo, SD 1.5 + LCM)",
                add_img2img_command});
}

}  // namespace sc::app
