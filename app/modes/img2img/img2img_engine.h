#pragma once
// Live img2img as a reusable piece: the models of a diffusers pipeline folder
// (+ optional TAESD), a StreamDiffusion stream, and RGBA frames in and out.
// `streamcanvas-cli img2img` drives it from a source to a file; the studio's
// Img2Img mode drives it from the live session's worker thread while the user
// edits the prompt and parameters. update() may be called from any thread: it
// checks the values at once (throwing sc::Error for a bad one, which leaves
// the stream as it was) and the next frame applies them.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "app/session/gpu_frame_link.h"
#include "app/session/mode.h"
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
  // Encode and decode with the TAESD loaded beside the pipeline (when there
  // is one) rather than the pipeline's full VAE: much faster, a little less
  // detail. Switches from the next frame; the frames in flight carry on.
  bool taesd = true;
  // Frames per UNet call (Stream Batch's frame buffer, 1..16): more frames use
  // the GPU better and add frame_buffer_size - 1 frames of latency.
  int frame_buffer_size = 1;
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

class Img2ImgEngine : public Mode {
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

  // One frame in (RGBA, any size: resized to the stream's), at most one out
  // (RGBA at the stream's size, with its own input's pts and capture time).
  // Outputs lag the inputs: by steps - 1 frames (the latent buffer) and, with
  // a frame buffer, until frame_buffer_size frames have come in; nothing
  // comes out until then. A restart (new steps, strength, seed, size or frame
  // buffer size) drops the frames in flight. Call from one thread at a time.
  std::optional<media::Frame> process(const media::Frame& input, Timing* timing = nullptr, bool filter = true);
  // At the end of a file: pushes the frames still in flight out (feeding
  // `last` as padding, filter off) and returns their outputs, so every input
  // frame has its output. Padding frames' outputs are not returned.
  std::vector<media::Frame> flush(const media::Frame& last);
  // Zero-copy display: each returned frame is also published, from GPU
  // memory, into the viewport's link (when the stream runs on CUDA). Any
  // thread; null detaches.
  void set_display_link(std::shared_ptr<GpuFrameLink> link);
  // The live session's mode: video in, restyled video out.
  std::string name() const override { return "img2img"; }
  Streams consumes() const override { return {.video = true}; }
  void on_video(const media::Frame& input, ModeOutput& out) override {
    if (auto frame = process(input)) out.video(std::move(*frame));
  }

  const engine::StreamDiffusion::Counters& counters() const;
  std::int64_t unet_rows_per_frame() const;
  const std::string& family() const { return family_; }
  std::string codec_name() const;  // "TAESD" or "VAE": what the next frame is coded with
  bool has_taesd() const;
  bool has_vae() const;  // false: the pipeline folder has no vae/ (a TAESD codes the frames)
  // Whether frames are coded with the TAESD under these settings (it is asked
  // for, or there is no VAE).
  bool uses_taesd(const Img2ImgSettings& settings) const;
  const std::string& compute() const { return compute_; }  // "CUDA fp16", "CPU fp32"
  bool prompt_truncated() const { return prompt_truncated_; }

 private:
  void apply_pending();
  struct FrameMeta {
    std::int64_t pts_us = 0;
    std::chrono::steady_clock::time_point capture_time{};
    bool real = true;     // false: flush padding, whose output is dropped
    bool repeat = false;  // skipped by the similarity filter: the last output again, in order
  };
  std::optional<media::Frame> run(engine::Tensor pixels, const FrameMeta& meta, Timing* timing, bool filter);
  std::int64_t frames_owed() const;

  struct Loaded;
  std::unique_ptr<Loaded> loaded_;
  std::string family_, compute_, model_;
  std::atomic<bool> coding_with_taesd_{false};  // what the stream codes with now (read from any thread)
  bool prompt_truncated_ = false;
  bool prompts_encoded_ = false;  // current_'s prompts are in the stream

  std::deque<std::pair<engine::Tensor, FrameMeta>> waiting_;  // the next call's frames
  std::deque<FrameMeta> in_flight_;                           // in the latent buffer, oldest first
  struct Ready {
    media::Frame frame;
    engine::Tensor device_pixels;  // u8 [1, H, W, 4] on the stream's device
  };
  std::deque<Ready> ready_;  // outputs not yet returned
  Ready last_;               // the newest output (what a skip repeats)
  void push_ready(const Ready& r, const FrameMeta& m);
  std::shared_ptr<GpuFrameLink> link_;  // guarded by mutex_
  std::uint64_t restarts_seen_ = 0;

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
