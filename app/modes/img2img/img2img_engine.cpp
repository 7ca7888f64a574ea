#include "app/modes/img2img/img2img_engine.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>

#include "base/error.h"
#include "base/log.h"
#include "engine/cuda/runtime.h"
#include "engine/device.h"
#include "engine/models/model_folder.h"
#include "engine/models/taesd/taesd.h"
#include "engine/ops.h"
#include "engine/schedulers/lcm_scheduler.h"

namespace sc::app {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

// Engines share the GPU's one engine stream. Loading a model (uploads,
// conversions) and running frames (which may capture CUDA graphs on that
// stream) must not interleave: a capture would record the other thread's work.
// The studio loads a new model on a background thread while the old one
// runs, so both take this lock; frames wait while weights upload.
std::mutex& gpu_work_mutex() {
  static std::mutex m;
  return m;
}

// --device / --dtype: where the models run. auto takes CUDA when a GPU
// answers, else the CPU (which computes in fp32 whatever --dtype says).
engine::Placement placement_for(const Img2ImgModels& o) {
  if (o.dtype != "fp16" && o.dtype != "bf16" && o.dtype != "fp32") {
    throw Error("--dtype {}: use fp16, bf16 or fp32", o.dtype);
  }
  bool cuda = false;
  if (o.device == "cuda") {
    engine::cuda::require_available("--device cuda");
    cuda = true;
  } else if (o.device == "auto") {
    cuda = engine::compute_path() == engine::ComputePath::kCuda;
  } else if (o.device != "cpu") {
    throw Error("--device {}: use auto, cpu or cuda", o.device);
  }
  engine::Placement p;
  if (!cuda) return p;
  p.device = engine::Device::kCuda;
  p.dtype = o.dtype == "fp16" ? engine::DType::kF16 : o.dtype == "bf16" ? engine::DType::kBF16 : engine::DType::kF32;
  return p;
}

engine::LcmScheduler load_scheduler(const fs::path& folder) {
  const fs::path file = folder / "scheduler" / "scheduler_config.json";
  if (!fs::exists(file)) return engine::LcmScheduler{};
  return engine::LcmScheduler{engine::LcmSchedulerConfig::from_config(engine::Config::load(file))};
}

}  // namespace

engine::StreamParams stream_params(const Img2ImgSettings& s) {
  engine::StreamParams params;
  params.t_index_list = engine::t_index_list_for(s.strength, s.steps);
  params.cfg = engine::parse_cfg_mode(s.cfg);
  check(std::isfinite(s.guidance) && s.guidance >= 0.0f, "guidance is {}; use a value of 0 or more", s.guidance);
  check(std::isfinite(s.delta), "delta is {}; use a finite value", s.delta);
  params.guidance = s.guidance;
  params.delta = s.delta;
  params.seed = s.seed;
  if (s.width <= 0 || s.height <= 0 || s.width % 8 != 0 || s.height % 8 != 0) {
    throw Error("resolution {}x{} is not a multiple of 8 in both directions; use e.g. {}x{}", s.width, s.height,
                std::max(8, s.width / 8 * 8), std::max(8, s.height / 8 * 8));
  }
  params.width = s.width;
  params.height = s.height;
  params.similarity_filter = s.similarity_filter;
  params.similarity_threshold = s.similarity_threshold;
  params.max_skip_frames = s.max_skip_frames;
  check(s.frame_buffer_size >= 1 && s.frame_buffer_size <= 16, "frame buffer size is {}; use 1 to 16 frames",
        s.frame_buffer_size);
  params.frame_buffer_size = s.frame_buffer_size;
  if (s.similarity_filter) {
    check(s.similarity_threshold > 0.0f && s.similarity_threshold < 1.0f,
          "similarity threshold is {}; use a value between 0 and 1", s.similarity_threshold);
    check(s.max_skip_frames >= 0, "max skip frames is {}; use 0 or more", s.max_skip_frames);
  }
  return params;
}

struct Img2ImgEngine::Loaded {
  engine::DiffusionPipelineModels pipeline;
  std::optional<engine::Taesd> taesd;
  std::optional<engine::PromptEncoder> prompts;
  std::optional<engine::StreamDiffusion> stream;
  engine::LatentCodec vae_codec, taesd_codec;  // each only with its model
};

Img2ImgEngine::Img2ImgEngine(const Img2ImgModels& o, const Img2ImgSettings& settings) {
  const engine::StreamParams params = stream_params(settings);  // bad values fail before the slow load
  if (o.model.empty()) throw Error("no model given (use --model DIR, a diffusers pipeline folder such as sd-turbo)");
  const fs::path folder(o.model);
  if (fs::is_directory(folder) && !fs::exists(folder / "model_index.json") &&
      (fs::exists(folder / "config.json") || fs::exists(folder / "taesd_decoder.safetensors"))) {
    throw Error(
        "{} is a single model component, not a diffusers pipeline folder; img2img needs a folder with "
        "model_index.json, unet/, text_encoder/, tokenizer/ and vae/ (a TAESD folder goes to --taesd)",
        o.model);
  }
  const engine::Placement placement = placement_for(o);
  const auto t0 = Clock::now();
  std::lock_guard gpu(gpu_work_mutex());
  loaded_ = std::make_unique<Loaded>(
      Loaded{engine::load_diffusers_pipeline(folder, "", placement,
                                             o.taesd.empty() ? engine::VaeNeed::kRequired : engine::VaeNeed::kOptional),
             std::nullopt,
             std::nullopt,
             std::nullopt,
             {},
             {}});
  model_ = o.model;
  Loaded& m = *loaded_;
  const engine::UNetConfig& unet = m.pipeline.unet.config();
  check(unet.in_channels == 4,
        "{}: the UNet takes {} input channels; img2img supports 4-channel latent UNets (SD 1.x, SD 2.x, sd-turbo)",
        o.model, unet.in_channels);
  check(unet.cross_attention_dim == m.pipeline.text_encoder.config().hidden_size,
        "{}: the text encoder's width ({}) does not match the UNet's cross-attention width ({}); the components come "
        "from different model families",
        o.model, m.pipeline.text_encoder.config().hidden_size, unet.cross_attention_dim);
  if (m.pipeline.vae) {
    const engine::AutoencoderKl& vae = *m.pipeline.vae;
    m.vae_codec = {"VAE", [&vae](const engine::Tensor& x) { return vae.encode_scaled(x); },
                   [&vae](const engine::Tensor& x) { return vae.decode_scaled(x); },
                   1 << static_cast<int>(vae.config().block_out_channels.size() - 1)};
  }
  if (!o.taesd.empty()) {
    m.taesd = engine::Taesd::load(fs::path(o.taesd), "", placement);
    check(m.taesd->config.latent_channels == 4, "{}: TAESD with {} latent channels does not fit a 4-channel UNet",
          o.taesd, m.taesd->config.latent_channels);
    const engine::Taesd& taesd = *m.taesd;
    m.taesd_codec = {"TAESD",
                     [&taesd](const engine::Tensor& x) {
                       return engine::scale(taesd.encoder.forward(x), taesd.config.scaling_factor);
                     },
                     [&taesd](const engine::Tensor& x) {
                       return taesd.decoder.forward(engine::scale(x, 1.0f / taesd.config.scaling_factor));
                     },
                     1 << static_cast<int>(taesd.config.encoder_block_out_channels.size() - 1)};
  }
  // With a TAESD the pipeline's VAE is optional (a folder downloaded without
  // vae/ still runs; asking for the VAE live is then refused).
  coding_with_taesd_ = uses_taesd(settings);
  if (!settings.taesd && !m.pipeline.vae) {
    log::warn("{}: the vae/ folder is missing; frames are coded with the TAESD", o.model);
  }
  const engine::LatentCodec& codec = coding_with_taesd_ ? m.taesd_codec : m.vae_codec;
  family_ = m.pipeline.family;
  compute_ = placement.device == engine::Device::kCuda ? fmt::format("CUDA {}", o.dtype) : std::string("CPU fp32");
  m.prompts.emplace(&m.pipeline.tokenizer, &m.pipeline.text_encoder);
  m.stream.emplace(&m.pipeline.unet, codec, load_scheduler(folder), params);
  latest_ = settings;
  pending_ = settings;
  apply_pending();  // encodes the prompts and sets the stream's parameters
  log::info("img2img: {} ({}) on {} loaded in {:.1f} s", family_, codec_name(), compute_, seconds_since(t0));
}

Img2ImgEngine::~Img2ImgEngine() = default;

void Img2ImgEngine::update(const Img2ImgSettings& settings) {
  stream_params(settings);  // throws for a bad value; the stream keeps what it had
  if (!settings.taesd && loaded_->taesd && !loaded_->pipeline.vae) {
    throw Error("{}: the vae/ folder is missing, so frames can only be coded with the TAESD", model_);
  }
  std::lock_guard lock(mutex_);
  pending_ = settings;
  latest_ = settings;
}

Img2ImgSettings Img2ImgEngine::settings() const {
  std::lock_guard lock(mutex_);
  return latest_;
}

void Img2ImgEngine::apply_pending() {
  std::optional<Img2ImgSettings> next;
  {
    std::lock_guard lock(mutex_);
    next.swap(pending_);
  }
  if (!next) return;
  Loaded& m = *loaded_;
  if (!prompts_encoded_ || next->prompt != current_.prompt || next->negative_prompt != current_.negative_prompt) {
    bool truncated = false, negative_truncated = false;
    engine::Tensor cond = m.prompts->encode(next->prompt, &truncated);
    engine::Tensor uncond = m.prompts->encode(next->negative_prompt, &negative_truncated);
    if (truncated) {
      log::warn("the prompt is longer than CLIP's {} tokens; its end was dropped", m.pipeline.tokenizer.max_length());
    }
    if (negative_truncated) log::warn("the negative prompt is longer than CLIP's 77 tokens; its end was dropped");
    prompt_truncated_ = truncated;
    prompts_encoded_ = true;
    m.stream->set_prompt_embeds(cond, uncond);
  }
  m.stream->set_params(stream_params(*next));
  const bool taesd = uses_taesd(*next);
  if (taesd != coding_with_taesd_) {
    // Released TAESDs and VAEs share the latent space and its 1/8 scale: the
    // latent buffer carries on, only the frames' way in and out changes (a
    // codec of another scale restarts the stream).
    m.stream->set_codec(taesd ? m.taesd_codec : m.vae_codec);
    coding_with_taesd_ = taesd;
    log::info("img2img: frames are now encoded and decoded with {}", taesd ? "TAESD" : "the pipeline's VAE");
  }
  current_ = *next;
}

std::string Img2ImgEngine::codec_name() const { return coding_with_taesd_ ? "TAESD" : "VAE"; }

bool Img2ImgEngine::has_taesd() const { return loaded_->taesd.has_value(); }
bool Img2ImgEngine::has_vae() const { return loaded_->pipeline.vae.has_value(); }
bool Img2ImgEngine::uses_taesd(const Img2ImgSettings& s) const { return has_taesd() && (s.taesd || !has_vae()); }

std::optional<media::Frame> Img2ImgEngine::process(const media::Frame& input, Timing* timing, bool filter) {
  return run(frame_pixels(input), FrameMeta{input.pts_us, input.capture_time, true}, timing, filter);
}

std::optional<media::Frame> Img2ImgEngine::run(engine::Tensor pixels, const FrameMeta& meta, Timing* timing,
                                               bool filter) {
  std::lock_guard gpu(gpu_work_mutex());
  apply_pending();
  engine::StreamDiffusion& stream = *loaded_->stream;
  if (stream.restarts() != restarts_seen_) {
    // A restarted stream forgot its buffer: the frames in it have no output.
    restarts_seen_ = stream.restarts();
    waiting_.clear();
    in_flight_.clear();
  }
  waiting_.emplace_back(std::move(pixels), meta);
  const auto f = static_cast<std::size_t>(stream.params().frame_buffer_size);
  if (waiting_.size() >= f) {
    std::vector<engine::Tensor> frames;
    std::vector<FrameMeta> metas;
    for (std::size_t j = 0; j < f; ++j) {
      frames.push_back(std::move(waiting_.front().first));
      metas.push_back(waiting_.front().second);
      waiting_.pop_front();
    }
    const engine::StreamDiffusion::Counters before = stream.counters();
    const engine::StreamDiffusion::PixelResult r = stream.process_rgba8(frames, filter);
    if (timing) {
      // Stage times of a warm-up call are collected with the next shown one.
      const engine::StreamDiffusion::Counters& after = stream.counters();
      timing->preprocess_s += after.preprocess_s - before.preprocess_s;
      timing->postprocess_s += after.postprocess_s - before.postprocess_s;
    }
    auto emit = [&](std::size_t j, const FrameMeta& m) {
      const auto at = static_cast<std::int64_t>(j);
      const engine::Tensor one = r.rgba.slice(0, at, at + 1);
      last_ = Ready{pixels_to_frame(one.reshape({one.dim(1), one.dim(2), 4})), r.device_rgba.slice(0, at, at + 1)};
      if (m.real) push_ready(last_, m);
    };
    // A similarity-filter skip repeats the last output for frames that never
    // enter the latent buffer. They queue behind the frames still in it, so
    // outputs keep their inputs' order (and timestamps never go back).
    auto emit_repeats = [&] {
      while (!in_flight_.empty() && in_flight_.front().repeat) {
        if (last_.frame.empty()) break;  // nothing shown yet to repeat
        if (in_flight_.front().real) push_ready(last_, in_flight_.front());
        in_flight_.pop_front();
      }
    };
    if (r.skipped) {
      for (FrameMeta m : metas) {
        m.repeat = true;
        in_flight_.push_back(m);
      }
      emit_repeats();
    } else {
      in_flight_.insert(in_flight_.end(), metas.begin(), metas.end());
      if (!r.warming_up) {
        // This call's outputs belong to the oldest f frames that entered the
        // buffer; repeats queued between them come out in their places.
        std::size_t j = 0;
        while (j < f && !in_flight_.empty()) {
          emit_repeats();
          if (in_flight_.empty() || in_flight_.front().repeat) break;
          emit(j++, in_flight_.front());
          in_flight_.pop_front();
        }
        emit_repeats();
      }
    }
  }
  if (ready_.empty()) return std::nullopt;
  Ready out = std::move(ready_.front());
  ready_.pop_front();
  std::shared_ptr<GpuFrameLink> link;
  {
    std::lock_guard lock(mutex_);
    link = link_;
  }
  // The same pixels straight from GPU memory to the viewport (engine stream,
  // under the GPU lock held here); a frame the link turns down still has its
  // host copy.
  if (link && out.device_pixels.device() == engine::Device::kCuda) {
    try {
      link->publish(out.device_pixels, out.frame.pts_us);
    } catch (const std::exception& e) {
      // The display path failed, not img2img: the host copies go on.
      log::warn("zero-copy display off: {}", e.what());
      std::lock_guard lock(mutex_);
      if (link_ == link) link_.reset();
    }
  }
  return std::move(out.frame);
}

void Img2ImgEngine::push_ready(const Ready& r, const FrameMeta& m) {
  Ready out = r;  // shares the (never modified) pixels; the timestamps are the frame's own
  out.frame.pts_us = m.pts_us;
  out.frame.capture_time = m.capture_time;
  ready_.push_back(std::move(out));
}

void Img2ImgEngine::set_display_link(std::shared_ptr<GpuFrameLink> link) {
  std::lock_guard lock(mutex_);
  link_ = std::move(link);
}

std::int64_t Img2ImgEngine::frames_owed() const {
  std::int64_t n = 0;
  for (const auto& w : waiting_) n += w.second.real;
  for (const FrameMeta& m : in_flight_) n += m.real;
  return n;
}

std::vector<media::Frame> Img2ImgEngine::flush(const media::Frame& last) {
  std::vector<media::Frame> out;
  const engine::StreamParams p = loaded_->stream->params();
  // Every owed frame is out after at most steps calls of f padding frames.
  std::int64_t guard = static_cast<std::int64_t>(p.t_index_list.size() + 1) * p.frame_buffer_size;
  const engine::Tensor pixels = frame_pixels(last);
  while (frames_owed() > 0 && guard-- > 0) {
    if (std::optional<media::Frame> f = run(pixels, FrameMeta{last.pts_us, last.capture_time, false}, nullptr, false))
      out.push_back(std::move(*f));
  }
  while (!ready_.empty()) {
    out.push_back(std::move(ready_.front().frame));
    ready_.pop_front();
  }
  return out;
}

const engine::StreamDiffusion::Counters& Img2ImgEngine::counters() const { return loaded_->stream->counters(); }
std::int64_t Img2ImgEngine::unet_rows_per_frame() const { return loaded_->stream->unet_rows_per_frame(); }

engine::Tensor frame_pixels(const media::Frame& f) {
  check(f.format == media::PixelFormat::kRgba8 && !f.empty(), "img2img needs RGBA frames; got {}x{} {}", f.width,
        f.height, media::to_string(f.format));
  engine::Tensor t = engine::Tensor::empty({f.height, f.width, 4}, engine::DType::kU8);
  const auto row_bytes = static_cast<std::size_t>(f.width) * 4;
  for (int y = 0; y < f.height; ++y) {
    std::memcpy(t.data<std::uint8_t>() + static_cast<std::size_t>(y) * row_bytes, f.row(y), row_bytes);
  }
  return t;
}

media::Frame pixels_to_frame(const engine::Tensor& rgba) {
  check(rgba.dtype() == engine::DType::kU8 && rgba.rank() == 3 && rgba.dim(2) == 4 &&
            rgba.device() == engine::Device::kCpu,
        "pixels_to_frame takes host u8 [H, W, 4]; got {}", rgba.describe());
  media::Frame f = media::Frame::make_rgba(static_cast<int>(rgba.dim(1)), static_cast<int>(rgba.dim(0)));
  const auto row_bytes = static_cast<std::size_t>(f.width) * 4;
  for (int y = 0; y < f.height; ++y) {
    std::memcpy(f.row(y), rgba.data<std::uint8_t>() + static_cast<std::size_t>(y) * row_bytes, row_bytes);
  }
  return f;
}

}  // namespace sc::app
