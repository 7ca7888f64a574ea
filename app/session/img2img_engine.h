#pragma once
// Live img2img as a reusable piece: the models of a diffusers pipeline folder
// (+ optional TAESD), a StreamDiffusion stream, and RGBA frames in and out.
// `streamcanvas-cli img2img` drives it from a source to a file; the studio's
// Img2Img mode drives it from the live session's worker thread while the user
// edits the prompt and parameters. update() may be called from any thread: it
// checks the values at once (throwing sc::Error for a bad one, which leaves
// the stream as it was) and the next frame applies them.
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "app/session/frame_processor.h"
#include "engine/pipelines/stream_diffusion.h"
#include "media/frame.h"

namespace sc::app {

// What the user can change while frames flow.
struct Img2ImgSettings {
  std::string prompt;
  std::string negative_prompt;
  int steps = 2;             // 1..4
  float strength = 0.5f;     // 0..1, mapped to the t_index_list
  std::string cfg = "self";  // none, full, self, initialize
  float guidance = 1.2f;
  float delta = 1.0f;
  std::uint64_t seed = 2;
  int width = 512, height = 512;  // multiples of 8
  bool similarity_filter = false;
  float similarity_threshold = 0.98f;
  int max_skip_frames = 10;
};

// What is loaded once.
struct Img2ImgModels {
  std::string model;            // diffusers pipeline folder (unet/ text_encoder/ tokenizer/ vae/)
  std::string taesd;            // TAESD folder; "" = the pipeline's full VAE
  std::string device = "auto";  // auto (CUDA when usable), cpu, cuda
  std::string dtype = "fp16";   // CUDA storage: fp16, bf16 or fp32 (the CPU computes in fp32)
};

// Settings -> StreamDiffusion parameters; throws sc::Error naming a bad value.
engine::StreamParams stream_params(const Img2ImgSettings& s);

class Img2ImgEngine : public FrameProcessor {
 public:
  struct Timing {
    double preprocess_s = 0, postprocess_s = 0;
  };

  // Loads the models (seconds on a GPU, longer on a CPU) and prepares the
  // stream; throws sc::Error naming the folder, file or value at fault.
  Img2ImgEngine(const Img2ImgModels& models, const Img2ImgSettings& settings);
  ~Img2ImgEngine() override;
  Img2ImgEngine(const Img2ImgEngine&) = delete;
  Img2ImgEngine& operator=(const Img2ImgEngine&) = delete;

  // Thread-safe; applied at the next process().
  void update(const Img2ImgSettings& settings);
  Img2ImgSettings settings() const;

  // One frame (RGBA, any size: resized to the stream's). The result is RGBA
  // at the stream's size, or nothing while the latent buffer fills (the
  // first steps - 1 frames after a start or a restart). Keeps pts and
  // capture time. Call from one thread at a time.
  std::optional<media::Frame> process(const media::Frame& input, Timing* timing, bool filter = true);
  // The frames still in the latent buffer (steps - 1 of them once warm): at the
  // end of a file, feed the last frame this many more times (filter off) and
  // every input frame has its output.
  int buffered_frames() const;
  std::optional<media::Frame> process(const media::Frame& input) override { return process(input, nullptr); }
  std::string name() const override { return "img2img"; }

  const engine::StreamDiffusion::Counters& counters() const;
  std::int64_t unet_rows_per_frame() const;
  const std::string& family() const { return family_; }
  const std::string& codec_name() const { return codec_name_; }
  const std::string& compute() const { return compute_; }  // "CUDA fp16", "CPU fp32"
  bool prompt_truncated() const { return prompt_truncated_; }

 private:
  void apply_pending();

  struct Loaded;
  std::unique_ptr<Loaded> loaded_;
  std::string family_, codec_name_, compute_;
  bool prompt_truncated_ = false;
  bool prompts_encoded_ = false;  // current_'s prompts are in the stream

  mutable std::mutex mutex_;
  Img2ImgSettings current_;                 // applied (worker thread)
  std::optional<Img2ImgSettings> pending_;  // from update()
  Img2ImgSettings latest_;                  // what settings() reports
};

// An RGBA8 frame's pixels as a packed host u8 [H, W, 4] tensor (what
// StreamDiffusion::process_rgba8 takes), and back.
engine::Tensor frame_pixels(const media::Frame& f);
media::Frame pixels_to_frame(const engine::Tensor& rgba);

}  // namespace sc::app
