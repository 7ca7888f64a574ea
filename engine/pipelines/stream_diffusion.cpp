#include "engine/pipelines/stream_diffusion.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <memory>

#include "base/error.h"
#include "engine/graph.h"
#include "engine/ops.h"

namespace sc::engine {

namespace {

Tensor repeat_rows(const Tensor& x, std::int64_t times) {
  return concat(std::vector<Tensor>(static_cast<std::size_t>(times), x), 0);
}

// Standard normal values by Box-Muller over mt19937_64: the same numbers on
// every platform and standard library (std::normal_distribution is not).
Tensor seeded_normal(const Shape& shape, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<float> values(static_cast<std::size_t>(shape.numel()));
  const double two_pi = 6.283185307179586;
  for (std::size_t i = 0; i < values.size(); i += 2) {
    const double u1 = (static_cast<double>(rng() >> 11) + 1.0) * 0x1.0p-53;  // (0, 1]
    const double u2 = static_cast<double>(rng() >> 11) * 0x1.0p-53;
    const double r = std::sqrt(-2.0 * std::log(u1));
    values[i] = static_cast<float>(r * std::cos(two_pi * u2));
    if (i + 1 < values.size()) values[i + 1] = static_cast<float>(r * std::sin(two_pi * u2));
  }
  return Tensor::from_vector(shape, values);
}

// An f32 host copy (the tensor itself when it already is one).
Tensor host_f32(const Tensor& x) {
  if (x.device() == Device::kCpu && x.dtype() == DType::kF32) return x;
  // Narrow or widen on the device, then copy: the CPU backend computes in f32.
  return to_dtype(x, DType::kF32).to(Device::kCpu);
}

}  // namespace

CfgMode parse_cfg_mode(std::string_view name) {
  if (name == "none") return CfgMode::kNone;
  if (name == "full") return CfgMode::kFull;
  if (name == "self") return CfgMode::kSelf;
  if (name == "initialize") return CfgMode::kInitialize;
  throw Error("cfg mode '{}' is not known; use none, full, self or initialize", name);
}

const char* cfg_mode_name(CfgMode mode) {
  switch (mode) {
    case CfgMode::kNone:
      return "none";
    case CfgMode::kFull:
      return "full";
    case CfgMode::kSelf:
      return "self";
    case CfgMode::kInitialize:
      return "initialize";
  }
  return "?";
}

std::vector<int> t_index_list_for(float strength, int steps, int num_inference_steps) {
  check(steps >= 1 && steps <= 4, "steps is {}; use 1 to 4 denoising steps", steps);
  check(std::isfinite(strength) && strength >= 0.0f && strength <= 1.0f, "strength is {}; use a value from 0 to 1",
        strength);
  check(num_inference_steps >= steps, "a {}-step schedule cannot hold {} steps", num_inference_steps, steps);
  const int last = num_inference_steps - 1;
  // Strength 1 starts at the first (noisiest) timestep, strength 0 at the
  // last (the least change the schedule can make); the remaining steps share
  // what is left evenly, and each index must be above the previous one.
  int first = static_cast<int>(std::lround((1.0 - strength) * last));
  first = std::min(first, last - (steps - 1));
  std::vector<int> list;
  for (int i = 0; i < steps; ++i) {
    const double at = first + (static_cast<double>(last - first) * i) / steps;
    int index = static_cast<int>(std::lround(at));
    if (!list.empty()) index = std::max(index, list.back() + 1);
    list.push_back(index);
  }
  return list;
}

SimilarityFilter::SimilarityFilter(float threshold, int max_skip_frames, std::uint64_t seed)
    : threshold_(threshold), max_skip_frames_(max_skip_frames), rng_(seed) {
  check(threshold > 0.0f && threshold < 1.0f, "similarity threshold is {}; use a value between 0 and 1", threshold);
  check(max_skip_frames >= 0, "max skip frames is {}; use 0 or more", max_skip_frames);
}

double SimilarityFilter::skip_probability(double cosine, double threshold) {
  if (cosine <= threshold) return 0.0;
  return std::max(0.0, 1.0 - (1.0 - cosine) / (1.0 - threshold));
}

bool SimilarityFilter::should_skip(const Tensor& frame) {
  ++frames_;
  if (!previous_.defined() || previous_.numel() != frame.numel()) {
    previous_ = frame.clone();
    return false;
  }
  const float* a = previous_.data<float>();
  const float* b = frame.data<float>();
  double dot = 0, na = 0, nb = 0;
  for (std::int64_t i = 0; i < frame.numel(); ++i) {
    dot += static_cast<double>(a[i]) * b[i];
    na += static_cast<double>(a[i]) * a[i];
    nb += static_cast<double>(b[i]) * b[i];
  }
  // torch.nn.CosineSimilarity's eps (1e-8) on each norm.
  last_similarity_ = dot / (std::max(std::sqrt(na), 1e-8) * std::max(std::sqrt(nb), 1e-8));
  const double sample = std::uniform_real_distribution<double>(0.0, 1.0)(rng_);
  const bool skip = skip_probability(last_similarity_, threshold_) > sample && consecutive_ < max_skip_frames_;
  if (skip) {
    ++consecutive_;
    ++skipped_;
    return true;
  }
  consecutive_ = 0;
  previous_ = frame.clone();
  return false;
}

void SimilarityFilter::reset() {
  previous_ = Tensor();
  consecutive_ = 0;
}

Tensor PromptEncoder::encode(std::string_view prompt, bool* truncated) const {
  const std::size_t body = tokenizer_->encode(prompt).size();
  if (truncated) *truncated = static_cast<std::int64_t>(body) + 2 > tokenizer_->max_length();
  const std::vector<std::int64_t> ids = tokenizer_->encode_padded(prompt);
  return text_encoder_->forward(Tensor::from_vector_i64({1, static_cast<std::int64_t>(ids.size())}, ids));
}

StreamDiffusion::StreamDiffusion(const UNet2DCondition* unet, LatentCodec codec, LcmScheduler scheduler,
                                 StreamParams params)
    : unet_(unet),
      device_(unet->device()),
      dtype_(unet->dtype()),
      codec_(std::move(codec)),
      scheduler_(std::move(scheduler)),
      params_(std::move(params)),
      preprocess_timer_(std::make_unique<StageTimer>(device_)),
      encode_timer_(std::make_unique<StageTimer>(device_)),
      unet_timer_(std::make_unique<StageTimer>(device_)),
      decode_timer_(std::make_unique<StageTimer>(device_)),
      postprocess_timer_(std::make_unique<StageTimer>(device_)) {
  prepare();
}

// A call (the UNet, the encoder, the decoder) as a recorded Graph
// (engine/graph.h: a CUDA graph where the stream runs on CUDA): the first call
// with a set of input shapes runs eagerly (plans, workspaces and algorithm
// choices are made outside any capture), the second copies its inputs into
// static buffers and captures, every later one copies and replays. The result
// is cloned out of the graph's memory, which the next replay overwrites.
class StreamDiffusion::GraphedCall {
 public:
  explicit GraphedCall(Device device) : device_(device) {}

  Tensor run(const std::vector<Tensor>& inputs, const std::function<Tensor(const std::vector<Tensor>&)>& fn) {
    if (!same_shapes(inputs)) {
      out_ = Tensor();
      graph_.reset();
      static_in_.clear();
      shapes_.clear();
      for (const Tensor& t : inputs) shapes_.emplace_back(t.shape(), t.dtype());
      warmed_up_ = false;
    }
    if (!warmed_up_) {
      warmed_up_ = true;
      return fn(inputs);
    }
    if (!graph_) {
      try {
        for (const Tensor& t : inputs) static_in_.push_back(t.clone());
        graph_ = std::make_unique<Graph>(device_);
        graph_->capture([&] { out_ = fn(static_in_); });
      } catch (...) {
        // Start over with the next call (eager, then a new capture) rather
        // than replaying a graph that does not exist.
        out_ = Tensor();
        graph_.reset();
        static_in_.clear();
        warmed_up_ = false;
        throw;
      }
    } else {
      for (std::size_t i = 0; i < inputs.size(); ++i) copy_into(static_in_[i], inputs[i]);
    }
    graph_->replay();
    return out_.clone();
  }

 private:
  bool same_shapes(const std::vector<Tensor>& inputs) const {
    if (inputs.size() != shapes_.size()) return false;
    for (std::size_t i = 0; i < inputs.size(); ++i) {
      if (!(inputs[i].shape() == shapes_[i].first) || inputs[i].dtype() != shapes_[i].second) return false;
    }
    return true;
  }

  Device device_;
  std::vector<std::pair<Shape, DType>> shapes_;
  bool warmed_up_ = false;
  std::unique_ptr<Graph> graph_;
  std::vector<Tensor> static_in_;
  Tensor out_;  // in the graph's pool
};

StreamDiffusion::~StreamDiffusion() = default;
StreamDiffusion::StreamDiffusion(StreamDiffusion&&) noexcept = default;
StreamDiffusion& StreamDiffusion::operator=(StreamDiffusion&&) noexcept = default;

Tensor StreamDiffusion::graphed(std::unique_ptr<GraphedCall>& slot, const std::vector<Tensor>& inputs,
                                const std::function<Tensor(const std::vector<Tensor>&)>& fn) {
  if (!Graph::supported(device_) || !params_.cuda_graphs) {
    slot.reset();
    return fn(inputs);
  }
  if (!slot) slot = std::make_unique<GraphedCall>(device_);
  return slot->run(inputs, fn);
}

void StreamDiffusion::collect_model_timings() {
  encode_timer_->collect(&counters_.encode_s);
  unet_timer_->collect(&counters_.unet_s);
  decode_timer_->collect(&counters_.decode_s);
}

void StreamDiffusion::collect_timings() {
  preprocess_timer_->collect(&counters_.preprocess_s);
  collect_model_timings();
  postprocess_timer_->collect(&counters_.postprocess_s);
}

Tensor StreamDiffusion::Result::host_image() const {
  if (!decoded.defined()) return Tensor();
  Tensor image = host_f32(decoded).clone();
  float* v = image.data<float>();
  for (std::int64_t i = 0; i < image.numel(); ++i) v[i] = std::clamp(v[i] * 0.5f + 0.5f, 0.0f, 1.0f);
  return image;
}

Tensor StreamDiffusion::place(const Tensor& x) const {
  if (x.device() == device_ && x.dtype() == dtype_) return x;
  return to_dtype(x.to(device_), dtype_);
}

void StreamDiffusion::prepare() {
  const StreamParams& p = params_;
  check(p.height > 0 && p.width > 0 && p.height % 8 == 0 && p.width % 8 == 0,
        "resolution {}x{} is not a multiple of 8 in both directions; use e.g. {}x{}", p.width, p.height,
        std::max(8, p.width / 8 * 8), std::max(8, p.height / 8 * 8));
  check(p.guidance >= 0.0f && std::isfinite(p.guidance), "guidance is {}; use a value of 0 or more", p.guidance);
  check(p.frame_buffer_size >= 1 && p.frame_buffer_size <= 16, "frame buffer size is {}; use 1 to 16 frames",
        p.frame_buffer_size);
  steps_ = scheduler_.stream_steps(p.t_index_list, p.num_inference_steps);
  row_steps_.clear();
  timesteps_.clear();
  for (const LcmStep& s : steps_) {
    for (int j = 0; j < p.frame_buffer_size; ++j) {
      row_steps_.push_back(s);
      timesteps_.push_back(static_cast<float>(s.timestep));
    }
  }
  const auto rows = static_cast<std::int64_t>(row_steps_.size());
  const std::int64_t f = p.frame_buffer_size;
  const int d = codec_.downscale;
  check(d > 0 && p.height % d == 0 && p.width % d == 0, "resolution {}x{} does not divide by the {}'s downscale {}",
        p.width, p.height, codec_.name, d);
  const Shape latent{rows, 4, p.height / d, p.width / d};
  // The noise is drawn on the host (the same numbers on every machine), then
  // stored like the UNet's weights.
  init_noise_ = place(seeded_normal(latent, p.seed));
  stock_noise_ = Tensor::zeros(latent, dtype_, device_);
  buffer_ = rows > f ? Tensor::zeros({rows - f, 4, p.height / d, p.width / d}, dtype_, device_) : Tensor();
  frames_in_buffer_ = 0;
  ++restarts_;
  last_decoded_ = Tensor();
  if (p.similarity_filter) {
    filter_.emplace(p.similarity_threshold, p.max_skip_frames, p.seed);
  } else {
    filter_.reset();
  }
}

void StreamDiffusion::set_prompt_embeds(Tensor cond, Tensor uncond) {
  check(cond.defined() && cond.shape().rank() == 3 && cond.shape()[0] == 1,
        "prompt embeddings must be [1, tokens, width]; got {}", cond.defined() ? cond.describe() : "nothing");
  check(!uncond.defined() || uncond.shape() == cond.shape(),
        "negative prompt embeddings {} do not match the prompt's {}", uncond.defined() ? uncond.describe() : "",
        cond.describe());
  cond_ = place(cond);
  uncond_ = uncond.defined() ? place(uncond) : Tensor();
}

void StreamDiffusion::set_params(const StreamParams& params) {
  const bool restart =
      params.t_index_list != params_.t_index_list || params.num_inference_steps != params_.num_inference_steps ||
      params.seed != params_.seed || params.height != params_.height || params.width != params_.width ||
      params.frame_buffer_size != params_.frame_buffer_size || params.similarity_filter != params_.similarity_filter ||
      params.similarity_threshold != params_.similarity_threshold || params.max_skip_frames != params_.max_skip_frames;
  const StreamParams old = params_;
  params_ = params;
  if (!restart) {
    check(params_.guidance >= 0.0f && std::isfinite(params_.guidance), "guidance is {}; use a value of 0 or more",
          params_.guidance);
    return;
  }
  try {
    prepare();
  } catch (...) {
    // A bad live value leaves the stream running as it was.
    params_ = old;
    prepare();
    throw;
  }
}

void StreamDiffusion::set_codec(LatentCodec codec) {
  const bool restart = codec.downscale != codec_.downscale;
  LatentCodec old = std::move(codec_);
  codec_ = std::move(codec);
  encode_graph_.reset();  // captured with the old codec's kernels
  decode_graph_.reset();
  if (!restart) return;
  try {
    prepare();
  } catch (...) {
    // A codec the stream's size does not fit leaves the stream as it was.
    codec_ = std::move(old);
    prepare();
    throw;
  }
}

void StreamDiffusion::set_init_noise(Tensor noise) {
  check(noise.shape() == init_noise_.shape(), "initial noise {} does not match the stream's {}", noise.describe(),
        init_noise_.describe());
  init_noise_ = noise.device() == device_ && noise.dtype() == dtype_ ? noise.clone() : place(noise);
}

std::int64_t StreamDiffusion::unet_rows_per_frame() const {
  // Per frame: a call's rows over its frame_buffer_size frames.
  const auto n = static_cast<std::int64_t>(steps_.size());
  if (params_.guidance <= 1.0f) return n;
  switch (params_.cfg) {
    case CfgMode::kFull:
      return 2 * n;
    case CfgMode::kInitialize:
      return n + 1;
    default:
      return n;
  }
}

double StreamDiffusion::skip_rate() const {
  return counters_.frames > 0 ? static_cast<double>(counters_.skipped) / static_cast<double>(counters_.frames) : 0.0;
}

Tensor StreamDiffusion::unet_step(const Tensor& x) {
  // rows = n x f, step-major; f rows per step.
  const auto rows = static_cast<std::int64_t>(row_steps_.size());
  const std::int64_t f = params_.frame_buffer_size;
  const CfgMode cfg = params_.guidance > 1.0f ? params_.cfg : CfgMode::kNone;
  check(cond_.defined(), "no prompt: set the prompt before processing frames");
  check(uncond_.defined() || (cfg != CfgMode::kFull && cfg != CfgMode::kInitialize),
        "cfg mode {} needs negative prompt embeddings", cfg_mode_name(cfg));
  Tensor input = x;
  Tensor context = repeat_rows(cond_, rows);
  std::vector<float> t = timesteps_;
  if (cfg == CfgMode::kFull) {
    input = concat({x, x}, 0);
    context = concat({repeat_rows(uncond_, rows), context}, 0);
    t.insert(t.end(), timesteps_.begin(), timesteps_.end());
  } else if (cfg == CfgMode::kInitialize) {
    // One unconditional row per new frame (the first step's rows).
    input = concat({x.slice(0, 0, f), x}, 0);
    context = concat({repeat_rows(uncond_, f), context}, 0);
    t.insert(t.begin(), timesteps_.begin(), timesteps_.begin() + f);
  }
  // The sinusoidal embedding is made on the host (diffusers' f32 formula) and
  // uploaded, outside any graph, once per set of timesteps (they change only
  // with the parameters); the UNet itself may be a replayed graph.
  if (t != t_emb_steps_ || !t_emb_.defined()) {
    const UNetConfig& uc = unet_->config();
    t_emb_ = place(timestep_embedding(t, uc.block_out_channels[0], uc.flip_sin_to_cos, uc.freq_shift));
    t_emb_steps_ = t;
  }
  unet_timer_->start();
  const Tensor pred = graphed(unet_graph_, {input, t_emb_, context}, [this](const std::vector<Tensor>& in) {
    return unet_->forward_embedded(in[0], in[1], in[2]);
  });
  unet_timer_->stop();
  counters_.unet_calls += 1;
  counters_.unet_rows += input.shape()[0];

  Tensor text = pred;
  Tensor uncond_pred;
  if (cfg == CfgMode::kFull) {
    uncond_pred = pred.slice(0, 0, rows);
    text = pred.slice(0, rows, 2 * rows);
  } else if (cfg == CfgMode::kInitialize) {
    text = pred.slice(0, f, rows + f);
    // The unconditional predictions replace the new frames' residuals.
    stock_noise_ =
        rows > f ? concat({pred.slice(0, 0, f), stock_noise_.slice(0, f, rows)}, 0) : pred.slice(0, 0, f).clone();
  }
  if (cfg == CfgMode::kSelf || cfg == CfgMode::kInitialize) uncond_pred = scale(stock_noise_, params_.delta);
  const Tensor eps = cfg == CfgMode::kNone ? text : add(uncond_pred, scale(sub(text, uncond_pred), params_.guidance));
  Tensor denoised = scheduler_.denoise(eps, x, row_steps_);
  // The residual modes carry their noise whatever the guidance (as
  // StreamDiffusion's unet_step), so raising the guidance live from 1 finds
  // it where the reference has it.
  if (params_.cfg == CfgMode::kSelf || params_.cfg == CfgMode::kInitialize) {
    // The residual noise each latent carries into its next step: the step
    // applied to the scaled stock noise, brought to the next timestep's
    // noise level (the last step's rows leave the stream: factors of 1).
    std::vector<float> beta, to_next;
    for (std::int64_t i = 0; i < rows; ++i) {
      beta.push_back(row_steps_[static_cast<std::size_t>(i)].beta_sqrt);
      const bool last = i + f >= rows;
      const LcmStep& next = row_steps_[static_cast<std::size_t>(last ? i : i + f)];
      to_next.push_back(last ? 1.0f : next.alpha_sqrt / next.beta_sqrt);
    }
    const Tensor delta_x = scale_rows(scheduler_.denoise(eps, scale_rows(stock_noise_, beta), row_steps_), to_next);
    const Tensor rolled =
        rows > f ? concat({init_noise_.slice(0, f, rows), init_noise_.slice(0, 0, f)}, 0) : init_noise_;
    stock_noise_ = add(rolled, delta_x);
  }
  return denoised;
}

StreamDiffusion::Result StreamDiffusion::process(const Tensor& image, bool filter) {
  const StreamParams& p = params_;
  const std::int64_t f = p.frame_buffer_size;
  check(image.defined() && image.shape() == Shape({f, 3, p.height, p.width}),
        "frames {} do not match the stream's [{}, 3, {}, {}]; resize them first", image.describe(), f, p.height,
        p.width);
  collect_model_timings();  // the previous call's, long done when frames are shown one by one
  counters_.frames += f;
  Result result;
  // The similarity filter compares frames on the host in f32 (with the filter
  // on, frames on the GPU wait for their copy to the host).
  if (filter && filter_ && filter_->should_skip(host_f32(image)) && last_decoded_.defined()) {
    counters_.skipped += f;
    result.decoded = last_decoded_;
    result.skipped = true;
    return result;
  }
  const auto rows = static_cast<std::int64_t>(row_steps_.size());
  const Tensor input = place(image);
  encode_timer_->start();
  const Tensor latent =
      graphed(encode_graph_, {input}, [this](const std::vector<Tensor>& in) { return codec_.encode(in[0]); });
  encode_timer_->stop();
  const std::span<const LcmStep> first(row_steps_.data(), static_cast<std::size_t>(f));
  Tensor x = LcmScheduler::add_noise(latent, init_noise_.slice(0, 0, f), first);
  if (rows > f) {
    x = concat({x, buffer_}, 0);
    stock_noise_ = concat({init_noise_.slice(0, 0, f), stock_noise_.slice(0, 0, rows - f)}, 0);
  }
  const Tensor x0 = unet_step(x);
  Tensor out = x0;
  if (rows > f) {
    out = x0.slice(0, rows - f, rows).clone();
    const std::span<const LcmStep> next(row_steps_.data() + f, row_steps_.size() - static_cast<std::size_t>(f));
    buffer_ = LcmScheduler::add_noise(x0.slice(0, 0, rows - f), init_noise_.slice(0, f, rows), next);
  }
  const auto calls_to_fill = static_cast<int>(steps_.size()) - 1;
  result.latent = out;
  result.warming_up = frames_in_buffer_ < calls_to_fill;
  if (frames_in_buffer_ < calls_to_fill) ++frames_in_buffer_;
  if (result.warming_up) return result;  // nothing to show: don't spend a decode on it
  decode_timer_->start();
  result.decoded =
      graphed(decode_graph_, {out}, [this](const std::vector<Tensor>& in) { return codec_.decode(in[0]); });
  decode_timer_->stop();
  last_decoded_ = result.decoded;
  return result;
}

StreamDiffusion::PixelResult StreamDiffusion::process_rgba8(std::span<const Tensor> frames, bool filter) {
  const std::int64_t f = params_.frame_buffer_size;
  check(static_cast<std::int64_t>(frames.size()) == f,
        "process_rgba8: {} frame(s) given; the stream takes {} per call (its frame buffer size)", frames.size(), f);
  for (const Tensor& px : frames) {
    check(px.defined() && px.device() == Device::kCpu, "process_rgba8 takes the frames' pixels on the host; got {}",
          px.defined() ? px.describe() : "nothing");
  }
  preprocess_timer_->start();
  std::vector<Tensor> images;
  for (const Tensor& px : frames)
    images.push_back(rgba8_to_image(px.to(device_), params_.height, params_.width, dtype_));
  const Tensor image = f == 1 ? images.front() : concat(images, 0);
  preprocess_timer_->stop();
  const Result r = process(image, filter);
  PixelResult out;
  out.warming_up = r.warming_up;
  out.skipped = r.skipped;
  if (r.warming_up) {
    collect_timings();  // the preprocess of a warm-up call (the next call restarts its timer)
    return out;
  }
  postprocess_timer_->start();
  std::vector<Tensor> pixels;
  for (std::int64_t j = 0; j < f; ++j) {
    const Tensor px = image_to_rgba8(r.decoded.slice(0, j, j + 1));
    pixels.push_back(px.reshape({1, px.dim(0), px.dim(1), 4}));
  }
  const Tensor all = f == 1 ? pixels.front() : concat(pixels, 0);
  postprocess_timer_->stop();
  out.device_rgba = all;
  out.rgba = all.to(Device::kCpu);  // waits for this call's GPU work
  collect_timings();
  return out;
}

}  // namespace sc::engine
