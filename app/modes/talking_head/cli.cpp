// The talking head's subcommand: `talk`, a portrait speaking an audio file.
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <chrono>
#include <memory>

#include "app/modes/talking_head/talk_job.h"
#include "app/session/model_arg.h"
#include "app/session/cli_support.h"
#include "app/session/mode_registry.h"

namespace sc::app {
namespace {

struct TalkCommand {
  TalkOptions options;
  bool stats = false;

  int run() {
    cli::catch_interrupts();
    cli::ProgressLine line;
    const auto start = std::chrono::steady_clock::now();
    // Progress in output frames: 25 per second of audio taken.
    const TalkResult r = run_talk(
        options,
        [&](double done, double total) {
          line.update_frames(static_cast<std::int64_t>(done * 25), static_cast<std::int64_t>(total * 25), start);
        },
        cli::cancel_flag());
    line.finish();
    fmt::print("wrote {} frames ({}x{}, 25 fps) with the audio to {} in {:.2f} s\n", r.frames, r.width, r.height,
               r.output, r.elapsed_s);
    if (r.stats.faces_found > 1)
      fmt::print("  note: {} faces in the portrait; the largest speaks\n", r.stats.faces_found);
    if (!r.avatar_cache_warning.empty()) fmt::print("  warning: {}\n", r.avatar_cache_warning);
    if (r.avatar_from_cache) fmt::print("  portrait: registered before (the registration cache)\n");
    if (stats) fmt::print("{}", format_talk_stats(r));
    return 0;
  }
};

std::vector<CliCommand> add_talk_command(CLI::App& app) {
  auto c = std::make_shared<TalkCommand>();
  TalkOptions& o = c->options;
  auto* talk = app.add_subcommand("talk", "Animate a portrait from speech (Ditto) into a video file");
  talk->add_option("--models", o.models, "Ditto's ditto_onnx folder as downloaded, or `ditto` once pulled")
      ->required()
      ->transform(cli::model_folder_or_name());
  talk->add_option("--portrait", o.portrait, "The portrait image")->required();
  talk->add_option("--audio", o.audio, "An audio (or video) file with speech")->required();
  talk->add_option("--output,-o", o.output, "Output video (.mp4 or .mkv)")->required();
  talk->add_option("--emotion", o.emotion,
                   "0 angry, 1 disgust, 2 fear, 3 happy, 4 neutral, 5 sad, 6 surprise, 7 contempt")
      ->check(CLI::Range(0, 7))
      ->capture_default_str();
  talk->add_option("--steps", o.steps, "Diffusion steps per motion window (fewer = faster)")
      ->check(CLI::Range(1, 50))
      ->capture_default_str();
  talk->add_option("--head-motion", o.head_motion, "Head motion, 0 (still) to 2")
      ->check(CLI::Range(0.0, 2.0))
      ->capture_default_str();
  talk->add_option("--seed", o.seed, "Noise seed")->capture_default_str();
  talk->add_option("--device", o.device, "auto (CUDA when a GPU answers), cpu or cuda")
      ->check(CLI::IsMember({"auto", "cpu", "cuda"}))
      ->capture_default_str();
  talk->add_option("--avatar-cache", o.avatar_cache,
                   "Where registered portraits are kept (default ~/.cache/streamcanvas/avatars); none: no cache");
  talk->add_flag("--stats", c->stats, "Print the per-stage breakdown");
  return {{talk, [c] { return c->run(); }}};
}

}  // namespace

void register_talking_head_mode(ModeRegistry& registry) {
  registry.add({"talking_head", "Talking head (Ditto)",
                "Animates a portrait from speech: HuBERT features, motion diffusion, LivePortrait rendering",
                add_talk_command});
}

}  // namespace sc::app
