#pragma once
// StreamDiffusion img2img (Kodaira et al. 2023) on the engine's models:
//
// - Stream Batch: one latent per denoising step, all steps of consecutive
//   frames in one UNet call. Row 0 is the new frame noised to the first
//   timestep; rows 1.. are the previous frame's x0 estimates re-noised to the
//   next timestep (the latent buffer), so a frame leaves the batch after
//   len(t_index_list) calls: the output lags the input by n - 1 frames. Until
//   the buffer has been filled by real frames the output is the denoising of
//   an all-zero latent (a brown frame), so process() reports those frames as
//   warming up and the caller does not show them.
// - Residual CFG: none; full (an unconditional row per row: 2n UNet rows);
//   self (Self-Negative: the unconditional prediction is delta times the
//   residual noise kept from the previous step, n rows); initialize
//   (Onetime-Negative: one unconditional row for the new frame, n + 1 rows).
// - Stochastic Similarity Filter: a frame too similar to the last processed
//   one is skipped with probability max(0, 1 - (1 - cos) / (1 - threshold)),
//   never more than max_skip_frames in a row; a skip repeats the last output.
//
// - Frame buffer (StreamParams::frame_buffer_size f): f frames per call, so
//   every row above becomes f rows (step-major) and the buffer shifts by f;
//   n x f UNet rows per call (2nf, nf + f with cfg full / initialize).
//
// Everything runs through engine/ops.h.
#include <cstdint>
#include <functional>
#include <optional>
#include <random>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "engine/graph.h"
#include "engine/models/clip_text/clip_text.h"
#include "engine/models/unet/unet.h"
#include "engine/schedulers/lcm_scheduler.h"
#include "engine/tensor.h"
#include "engine/tokenizers/clip_tokenizer.h"

namespace sc::engine {

enum class CfgMode { kNone, kFull, kSelf, kInitialize };
// "none", "full", "self", "initialize"; throws naming the valid values.
CfgMode parse_cfg_mode(std::string_view name);
const char* cfg_mode_name(CfgMode mode);

// The user's strength (0..1: how far from the input the output may go) and
// step count (1..4) as a t_index_list into the num_inference_steps schedule:
// the first index is (1 - strength) * (num_inference_steps - 1), the others
// spread evenly from there towards the end of the schedule.
std::vector<int> t_index_list_for(float strength, int steps, int num_inference_steps = 50);

// Image <-> latents: TAESD or the full VAE, already in the UNet's scaled
// latent space. Images are [N, 3, H, W] in [-1, 1].
struct LatentCodec {
  std::string name;  // "TAESD", "VAE"
  std::function<Tensor(const Tensor&)> encode;
  std::function<Tensor(const Tensor&)> decode;
  // Image pixels per latent pixel: 8 for every released SD VAE and TAESD;
  // diffusers' 2^(len(block_out_channels) - 1) for other VAE configs.
  int downscale = 8;
};

class SimilarityFilter {
 public:
  SimilarityFilter(float threshold, int max_skip_frames, std::uint64_t seed);
  // True when `frame` should be skipped (and the last output repeated).
  bool should_skip(const Tensor& frame);
  void reset();
  std::int64_t frames() const { return frames_; }
  std::int64_t skipped() const { return skipped_; }
  double last_similarity() const { return last_similarity_; }
  // max(0, 1 - (1 - cos) / (1 - threshold)).
  static double skip_probability(double cosine, double threshold);

 private:
  float threshold_;
  int max_skip_frames_;
  std::mt19937_64 rng_;
  Tensor previous_;
  int consecutive_ = 0;
  std::int64_t frames_ = 0, skipped_ = 0;
  double last_similarity_ = 0;
};

struct StreamParams {
  std::vector<int> t_index_list{32, 45};
  int num_inference_steps = 50;
  CfgMode cfg = CfgMode::kSelf;
  float guidance = 1.2f;  // cfg applies only above 1
  float delta = 1.0f;     // Self-Negative's residual noise scale
  std::uint64_t seed = 2;
  int height = 512, width = 512;  // multiples of 8
  // Frames per call (Stream Batch's frame buffer): the UNet batch is
  // t_index_list.size() x this, rows step-major (row s * f + j is frame j at
  // step s). More frames per call use the GPU better (throughput) and wait
  // for more frames (latency: f - 1 more frames). 1 to 16.
  int frame_buffer_size = 1;
  // On CUDA: the UNet and the codec run as CUDA graphs, captured once per
  // shape (their second call) and replayed; the same kernels, without the
  // per-op launch cost. Off: every call eager.
  bool cuda_graphs = true;
  bool similarity_filter = false;
  float similarity_threshold = 0.98f;
  int max_skip_frames = 10;
};

// The text side: tokenizer + CLIP text model, prompts to embeddings.
class PromptEncoder {
 public:
  PromptEncoder(const ClipTokenizer* tokenizer, const ClipTextModel* text_encoder)
      : tokenizer_(tokenizer), text_encoder_(text_encoder) {}
  // [1, 77, D]. `truncated` (if given) says whether the prompt was longer
  // than the tokenizer's 77 tokens and lost its end.
  Tensor encode(std::string_view prompt, bool* truncated = nullptr) const;

 private:
  const ClipTokenizer* tokenizer_;
  const ClipTextModel* text_encoder_;
};

class StreamDiffusion {
 public:
  struct Result {
    // The codec's output, [f, 3, H, W] in [-1, 1] on the stream's device and
    // dtype (the GPU work behind it may still be running); undefined while
    // warming up. image_to_rgba8 makes display pixels of it on the device.
    Tensor decoded;
    Tensor latent;            // the denoised latent the image was decoded from
    bool warming_up = false;  // the latent buffer still holds zeros: don't show
    bool skipped = false;     // SSF: the previous output repeated
    // decoded as StreamDiffusion's postprocess gives it: f32 on the host,
    // x / 2 + 1/2 clamped to [0, 1] (waits for the GPU).
    Tensor host_image() const;
  };
  struct Counters {
    std::int64_t frames = 0, unet_calls = 0, unet_rows = 0, skipped = 0;
    // Stage times: GPU time on CUDA (events), wall-clock on the CPU.
    double preprocess_s = 0, encode_s = 0, unet_s = 0, decode_s = 0, postprocess_s = 0;
  };
  struct PixelResult {
    Tensor rgba;              // u8 [f, H, W, 4] on the host; undefined while warming up
    Tensor device_rgba;       // the same on the stream's device (a zero-copy display reads it there)
    bool warming_up = false;  // as Result
    bool skipped = false;
  };

  StreamDiffusion(const UNet2DCondition* unet, LatentCodec codec, LcmScheduler scheduler, StreamParams params);
  ~StreamDiffusion();
  StreamDiffusion(StreamDiffusion&&) noexcept;
  StreamDiffusion& operator=(StreamDiffusion&&) noexcept;

  // cond / uncond: [1, L, D] text embeddings (uncond is used by full and
  // initialize). Changing them keeps the stream running.
  void set_prompt_embeds(Tensor cond, Tensor uncond);
  // Live parameters. Changes of steps, strength (t_index_list), seed or
  // resolution restart the latent buffer (and its warm-up); guidance, delta,
  // cfg and SSF settings apply from the next frame.
  void set_params(const StreamParams& params);
  const StreamParams& params() const { return params_; }
  // TAESD <-> VAE while running; a different downscale restarts the buffer.
  void set_codec(LatentCodec codec);
  // Replaces the seeded initial noise ([n, 4, H/d, W/d], d the codec's downscale); golden tests use
  // the reference's noise.
  void set_init_noise(Tensor noise);

  // image: [f, 3, H, W] (f = frame_buffer_size) in [-1, 1] at params().height x width, on any device
  // and dtype (rgba8_to_image makes it on the UNet's device from a frame's
  // pixels). The stream runs on the UNet's device and dtype and queues its
  // GPU work without waiting for it (stage times come from GPU events).
  // filter = false bypasses the similarity filter (the end-of-file flush
  // repeats the last frame to push the buffered ones out).
  Result process(const Tensor& image, bool filter = true);
  // Frames as the studio runs them: frame_buffer_size frames of packed RGBA8
  // pixels (u8 [H0, W0, 4] each, any size, on the host) in, RGBA8 pixels
  // [f, H, W, 4] at the stream's size out, on the host.
  // On CUDA only bytes cross the bus: the resize to the stream's size and the
  // [-1, 1] mapping (rgba8_to_image) and the way back (image_to_rgba8) run on
  // the GPU, and the only wait is for the finished pixels.
  PixelResult process_rgba8(std::span<const Tensor> frames, bool filter = true);
  PixelResult process_rgba8(const Tensor& frame, bool filter = true) {  // frame_buffer_size 1
    return process_rgba8(std::span<const Tensor>(&frame, 1), filter);
  }

  // UNet rows per processed frame in the current mode: n, 2n, n or n + 1.
  std::int64_t unet_rows_per_frame() const;
  const Counters& counters() const { return counters_; }
  // Bumped by every restart of the latent buffer (steps, strength, seed,
  // size, frame buffer size or a codec of another downscale).
  std::uint64_t restarts() const { return restarts_; }
  // Adds the GPU stage times of frames already queued to counters(), waiting
  // for the GPU if it is still on them (process() does it for the frame
  // before; call it after a frame's result has come back to the host).
  void collect_timings();
  double skip_rate() const;

 private:
  void prepare();                       // steps, noise, buffers from params_
  Tensor place(const Tensor& x) const;  // onto the UNet's device and dtype
  Tensor unet_step(const Tensor& x);

  // One captured call (UNet, encode or decode); defined in the .cpp.
  class GraphedCall;
  Tensor graphed(std::unique_ptr<GraphedCall>& slot, const std::vector<Tensor>& inputs,
                 const std::function<Tensor(const std::vector<Tensor>&)>& fn);
  std::unique_ptr<GraphedCall> unet_graph_, encode_graph_, decode_graph_;
  std::vector<float> t_emb_steps_;  // the timesteps t_emb_ was made for
  Tensor t_emb_;

  const UNet2DCondition* unet_;
  Device device_ = Device::kCpu;  // where the UNet's weights live: the whole stream runs there
  DType dtype_ = DType::kF32;
  LatentCodec codec_;
  LcmScheduler scheduler_;
  StreamParams params_;
  std::vector<LcmStep> steps_;      // one per denoising step
  std::vector<LcmStep> row_steps_;  // one per UNet row: steps_ with each repeated frame_buffer_size times
  std::vector<float> timesteps_;    // per row
  Tensor cond_, uncond_;
  Tensor init_noise_, stock_noise_, buffer_;
  int frames_in_buffer_ = 0;  // calls since the restart, up to steps - 1
  std::uint64_t restarts_ = 0;
  std::optional<SimilarityFilter> filter_;
  Tensor last_decoded_;
  Counters counters_;
  // Encode, UNet and decode times (GPU events on CUDA).
  std::unique_ptr<StageTimer> preprocess_timer_, encode_timer_, unet_timer_, decode_timer_, postprocess_timer_;
  void collect_model_timings();  // encode, UNet, decode
};

}  // namespace sc::engine
