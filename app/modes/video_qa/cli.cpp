// The video Q&A mode's subcommand: `vlm`, one question about a whole clip.
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <cstdio>
#include <iostream>
#include <iterator>
#include <memory>

#include "app/modes/video_qa/vlm_job.h"
#include "app/session/cli_support.h"
#include "app/session/model_arg.h"
#include "app/session/mode_registry.h"
#include "base/error.h"

namespace sc::app {
namespace {

struct VlmCommand {
  VlmOptions options;
  bool stats = false;

  int run() {
    if (options.question == "-") {
      options.question.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
      while (!options.question.empty() && (options.question.back() == '\n' || options.question.back() == '\r'))
        options.question.pop_back();
    }
    cli::catch_interrupts();
    // Progress on stderr, the answer alone on stdout (so it can be piped).
    const VlmResult r = run_vlm(
        options,
        [](const std::string& text) {
          std::fwrite(text.data(), 1, text.size(), stdout);
          std::fflush(stdout);
        },
        [](const std::string& stage) { fmt::print(stderr, "[vlm] {}\n", stage); }, cli::cancel_flag());
    std::fputc('\n', stdout);
    if (!r.warning.empty()) fmt::print(stderr, "warning: {}\n", r.warning);
    if (r.stop == "token limit") {
      fmt::print(stderr, "note: the answer stopped at --max-tokens {}\n", options.max_tokens);
    } else if (r.stop == "cancelled") {
      fmt::print(stderr, "note: stopped (Ctrl-C)\n");
    }
    if (stats) fmt::print("{}", format_vlm_stats(r));
    return 0;
  }
};

std::vector<CliCommand> add_vlm_command(CLI::App& app) {
  auto c = std::make_shared<VlmCommand>();
  VlmOptions& o = c->options;
  auto* vlm = app.add_subcommand("vlm", "Answer a question about a video clip (LLaVA-OneVision)");
  vlm->add_option("--model", o.model,
                  "A LLaVA-OneVision folder as downloaded (llava-hf/llava-onevision-qwen2-*-hf), or an installed "
                  "model's name (llava-onevision-0.5b)")
      ->required()
      ->transform(cli::model_folder_or_name());
  vlm->add_option("--video", o.video, "The clip (any file FFmpeg decodes)")->required();
  vlm->add_option("--question,-q", o.question, "The question (UTF-8); - reads it from stdin")->required();
  vlm->add_option("--frames", o.frames, "Frames sampled evenly over the whole clip")
      ->check(CLI::Range(1, 256))
      ->capture_default_str();
  vlm->add_option("--max-tokens", o.max_tokens, "Most tokens in the answer")
      ->check(CLI::Range(1, 32768))
      ->capture_default_str();
  vlm->add_option("--device", o.device, "auto (CUDA when a GPU answers), cpu or cuda")
      ->check(CLI::IsMember({"auto", "cpu", "cuda"}))
      ->capture_default_str();
  vlm->add_option("--temperature", o.temperature, "Sampling temperature; 0 answers greedily")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  vlm->add_option("--top-p", o.top_p, "Nucleus sampling: the smallest set of tokens with this much probability")
      ->capture_default_str();
  vlm->add_option("--top-k", o.top_k, "Sample among the k likeliest tokens (0: all)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  vlm->add_option("--repetition-penalty", o.repetition_penalty, "Above 1 discourages repeating the prompt and answer")
      ->capture_default_str();
  vlm->add_option("--seed", o.seed, "Sampling seed: the same seed gives the same answer")->capture_default_str();
  vlm->add_flag("--stats", c->stats, "Print vision ms per frame, prefill and decode tokens/s and peak memory");
  return {{vlm, [c] { return c->run(); }}};
}

}  // namespace

void register_video_qa_mode(ModeRegistry& registry) {
  registry.add({"video_qa", "Video Q&A (LLaVA-OneVision)",
                "Answers questions about video: SigLIP frames, a Qwen2 language model, the answer streamed",
                add_vlm_command});
}

}  // namespace sc::app
