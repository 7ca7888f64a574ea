#include "app/session/img2img_job.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <mutex>
#include <optional>
#include <thread>

#include "base/bounded_queue.h"
#include "base/error.h"
#include "base/log.h"
#include "engine/cuda/runtime.h"
#include "engine/device.h"
#include "engine/models/model_folder.h"
#include "engine/models/taesd/taesd.h"
#include "engine/ops.h"
#include "engine/pipelines/stream_diffusion.h"
#include "engine/safetensors.h"
#include "media/recorder.h"
#include "media/source.h"
#include "media/source_spec.h"

namespace sc::app {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

// RGBA8 frame -> [1, 3, H, W] in [-1, 1] at the stream's size (nearest
// neighbour: the model's input is small and this runs once per frame).
engine::Tensor frame_to_tensor(const media::Frame& f, int width, int height) {
  engine::Tensor t = engine::Tensor::empty({1, 3, height, width});
  float* out = t.data<float>();
  const std::size_t plane = static_cast<std::size_t>(width) * static_cast<std::size_t>(height);
  for (int y = 0; y < height; ++y) {
    const int sy = std::min(f.height - 1, static_cast<int>((static_cast<std::int64_t>(y) * f.height) / height));
    const std::uint8_t* row = f.row(sy);
    for (int x = 0; x < width; ++x) {
      const int sx = std::min(f.width - 1, static_cast<int>((static_cast<std::int64_t>(x) * f.width) / width));
      const std::size_t at =
          static_cast<std::size_t>(y) * static_cast<std::size_t>(width) + static_cast<std::size_t>(x);
      for (int c = 0; c < 3; ++c) out[c * plane + at] = row[sx * 4 + c] / 127.5f - 1.0f;
    }
  }
  return t;
}

// [1, 3, H, W] in [0, 1] -> RGBA8.
media::Frame tensor_to_frame(const engine::Tensor& t) {
  const auto height = static_cast<int>(t.shape()[2]);
  const auto width = static_cast<int>(t.shape()[3]);
  media::Frame f = media::Frame::make_rgba(width, height);
  const float* in = t.data<float>();
  const std::size_t plane = static_cast<std::size_t>(width) * static_cast<std::size_t>(height);
  for (int y = 0; y < height; ++y) {
    std::uint8_t* row = f.row(y);
    for (int x = 0; x < width; ++x) {
      const std::size_t at =
          static_cast<std::size_t>(y) * static_cast<std::size_t>(width) + static_cast<std::size_t>(x);
      for (int c = 0; c < 3; ++c) {
        row[x * 4 + c] = static_cast<std::uint8_t>(std::lround(std::clamp(in[c * plane + at], 0.0f, 1.0f) * 255.0f));
      }
      row[x * 4 + 3] = 255;
    }
  }
  return f;
}

struct Models {
  engine::DiffusionPipelineModels pipeline;
  std::optional<engine::Taesd> taesd;
};

// --device / --dtype: where the models run. auto takes CUDA when a GPU
// answers, else the CPU (which computes in fp32 whatever --dtype says).
engine::Placement placement_for(const Img2ImgOptions& o) {
  engine::Placement p;
  bool cuda = false;
  if (o.device == "cuda") {
    engine::cuda::require_available("--device cuda");
    cuda = true;
  } else if (o.device == "auto") {
    cuda = engine::compute_path() == engine::ComputePath::kCuda;
  } else if (o.device != "cpu") {
    throw Error("--device {}: use auto, cpu or cuda", o.device);
  }
  if (o.dtype != "fp16" && o.dtype != "bf16" && o.dtype != "fp32") {
    throw Error("--dtype {}: use fp16, bf16 or fp32", o.dtype);
  }
  if (!cuda) return p;
  p.device = engine::Device::kCuda;
  p.dtype = o.dtype == "fp16" ? engine::DType::kF16 : o.dtype == "bf16" ? engine::DType::kBF16 : engine::DType::kF32;
  return p;
}

Models load_models(const Img2ImgOptions& o) {
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
  Models m{engine::load_diffusers_pipeline(folder, "", placement), std::nullopt};
  const engine::UNetConfig& unet = m.pipeline.unet.config();
  check(unet.in_channels == 4,
        "{}: the UNet takes {} input channels; img2img supports 4-channel latent UNets (SD 1.x, "
        "SD 2.x, sd-turbo)",
        o.model, unet.in_channels);
  check(unet.cross_attention_dim == m.pipeline.text_encoder.config().hidden_size,
        "{}: the text encoder's width ({}) does not match the UNet's cross-attention width ({}); the components come "
        "from different model families",
        o.model, m.pipeline.text_encoder.config().hidden_size, unet.cross_attention_dim);
  if (!o.taesd.empty()) {
    m.taesd = engine::Taesd::load(fs::path(o.taesd), "", placement);
    check(m.taesd->config.latent_channels == 4, "{}: TAESD with {} latent channels does not fit a 4-channel UNet",
          o.taesd, m.taesd->config.latent_channels);
  }
  return m;
}

engine::LcmScheduler load_scheduler(const fs::path& folder) {
  const fs::path file = folder / "scheduler" / "scheduler_config.json";
  if (!fs::exists(file)) return engine::LcmScheduler{};
  return engine::LcmScheduler{engine::LcmSchedulerConfig::from_config(engine::Config::load(file))};
}

std::string join(const std::vector<int>& v) {
  std::string s = "[";
  for (std::size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + std::to_string(v[i]);
  return s + "]";
}

}  // namespace

Img2ImgStats run_img2img(const Img2ImgOptions& o, const std::function<void(const Img2ImgStats&)>& progress,
                         const std::atomic<bool>* cancel) {
  if (o.output.empty()) throw Error("no output file given (use --output FILE.mp4)");
  if (o.prompt.empty()) throw Error("no prompt given (use --prompt TEXT)");
  engine::StreamParams params;
  params.t_index_list = engine::t_index_list_for(o.strength, o.steps);
  params.cfg = engine::parse_cfg_mode(o.cfg);
  params.guidance = o.guidance;
  params.delta = o.delta;
  params.seed = o.seed;
  params.width = o.width;
  params.height = o.height;
  params.similarity_filter = o.similarity_filter;
  params.similarity_threshold = o.similarity_threshold;
  params.max_skip_frames = o.max_skip_frames;
  if (o.width <= 0 || o.height <= 0 || o.width % 8 != 0 || o.height % 8 != 0) {
    throw Error("resolution {}x{} is not a multiple of 8 in both directions; use e.g. {}x{}", o.width, o.height,
                std::max(8, o.width / 8 * 8), std::max(8, o.height / 8 * 8));
  }

  Models models = load_models(o);
  engine::LatentCodec codec;
  if (models.taesd) {
    const engine::Taesd& taesd = *models.taesd;
    codec = {"TAESD",
             [&taesd](const engine::Tensor& x) {
               return engine::scale(taesd.encoder.forward(x), taesd.config.scaling_factor);
             },
             [&taesd](const engine::Tensor& x) {
               return taesd.decoder.forward(engine::scale(x, 1.0f / taesd.config.scaling_factor));
             },
             1 << static_cast<int>(taesd.config.encoder_block_out_channels.size() - 1)};
  } else {
    const engine::AutoencoderKl& vae = models.pipeline.vae;
    codec = {"VAE", [&vae](const engine::Tensor& x) { return vae.encode_scaled(x); },
             [&vae](const engine::Tensor& x) { return vae.decode_scaled(x); },
             1 << static_cast<int>(vae.config().block_out_channels.size() - 1)};
  }
  Img2ImgStats stats;
  stats.family = models.pipeline.family;
  stats.compute = models.pipeline.unet.device() == engine::Device::kCuda ? fmt::format("CUDA {}", o.dtype)
                                                                         : std::string("CPU fp32");
  stats.codec = codec.name;
  stats.cfg = engine::cfg_mode_name(params.cfg);
  stats.t_index_list = join(params.t_index_list);
  stats.output = o.output;

  const engine::PromptEncoder prompts(&models.pipeline.tokenizer, &models.pipeline.text_encoder);
  bool truncated = false;
  engine::Tensor cond = prompts.encode(o.prompt, &truncated);
  if (truncated) {
    log::warn("the prompt is longer than CLIP's {} tokens; its end was dropped",
              models.pipeline.tokenizer.max_length());
  }
  stats.prompt_truncated = truncated;
  bool negative_truncated = false;
  engine::Tensor uncond = prompts.encode(o.negative_prompt, &negative_truncated);
  if (negative_truncated) log::warn("the negative prompt is longer than CLIP's 77 tokens; its end was dropped");
  engine::StreamDiffusion stream(&models.pipeline.unet, codec, load_scheduler(o.model), params);
  stream.set_prompt_embeds(cond, uncond);
  stats.unet_rows_per_frame = stream.unet_rows_per_frame();

  media::SourceSpec spec = media::parse_source_spec(o.source, media::Pacing::kFast);
  const bool live = spec.kind == media::SourceKind::kV4l2 || spec.kind == media::SourceKind::kScreen ||
                    spec.pacing == media::Pacing::kRealtime;
  if (spec.live() && spec.kind != media::SourceKind::kTest && o.max_frames <= 0 && !cancel)
    throw Error("source '{}' never ends: give --frames", spec.text);
  if (spec.kind == media::SourceKind::kTest) {
    spec.url = fmt::format("testsrc2=size={}x{}:rate={}", o.width, o.height, spec.fps);
  }
  media::ReaderOptions ropt;
  if (spec.kind == media::SourceKind::kFile) {
    ropt.width = o.width;
    ropt.height = o.height;
  }
  BoundedQueue<media::Frame> input(live ? 2 : 4, live ? QueuePolicy::kLatestWins : QueuePolicy::kBlocking);
  BoundedQueue<media::Frame> output(4, QueuePolicy::kBlocking);
  media::SourceThread source(
      spec, [&](media::Frame&& f) { return input.push(std::move(f)); }, ropt, live ? 0 : o.max_frames);
  const media::StreamInfo& info = source.info();
  const double fps = info.fps > 0 ? info.fps : 30.0;

  media::WriterOptions wopt;
  wopt.width = o.width;
  wopt.height = o.height;
  wopt.fps = fps;
  wopt.encoder = o.encoder;
  wopt.crf = o.crf;
  wopt.timing = live ? media::FrameTiming::kFramePts : media::FrameTiming::kIndex;
  media::RecorderOptions recorder_options;
  recorder_options.live = live;
  media::Recorder recorder(o.output, wopt, recorder_options);
  log::info("img2img: '{}' -> {} ({}x{}, {} steps {}, cfg {}, {}, UNet rows per frame {})", spec.text, o.output,
            o.width, o.height, params.t_index_list.size(), stats.t_index_list, stats.cfg, codec.name,
            stats.unet_rows_per_frame);

  std::mutex stats_mutex;
  std::exception_ptr worker_failure;
  const auto start = Clock::now();
  // The worker: newest input frame -> pipeline -> output queue.
  std::thread worker([&] {
    try {
      std::int64_t taken = 0;
      while (o.max_frames <= 0 || taken < o.max_frames) {
        if (cancel && *cancel) break;
        auto wait = Clock::now();
        auto f = input.pop_for(std::chrono::milliseconds(100));
        const double waited = seconds_since(wait);
        if (!f) {
          if (input.closed() || source.status().end != media::SourceEnd::kRunning) {
            if (input.size() == 0) break;
          }
          continue;
        }
        ++taken;
        auto t0 = Clock::now();
        const engine::Tensor image = frame_to_tensor(*f, o.width, o.height);
        const double pre = seconds_since(t0);
        const engine::StreamDiffusion::Result r = stream.process(image);
        std::optional<media::Frame> out;
        double post = 0;
        if (!r.warming_up) {
          t0 = Clock::now();
          out = tensor_to_frame(r.image);
          out->pts_us = f->pts_us;
          out->capture_time = f->capture_time;
          post = seconds_since(t0);
        }
        {
          std::lock_guard lock(stats_mutex);
          stats.decode_s += waited;
          stats.preprocess_s += pre;
          stats.postprocess_s += post;
          stats.frames_in = taken;
          if (r.warming_up) ++stats.warmup;
        }
        if (out && !output.push(std::move(*out))) break;
      }
    } catch (...) {
      worker_failure = std::current_exception();
    }
    output.close();
  });

  std::exception_ptr failure;
  try {
    while (true) {
      auto f = output.pop();
      if (!f) break;
      if (!recorder.push(std::move(*f))) break;
      std::lock_guard lock(stats_mutex);
      ++stats.frames_out;
      if (progress) progress(stats);
    }
  } catch (...) {
    failure = std::current_exception();
  }
  output.close();
  input.close();
  source.stop();
  worker.join();
  recorder.stop();
  if (failure) std::rethrow_exception(failure);
  if (worker_failure) std::rethrow_exception(worker_failure);
  const media::SourceStatus source_status = source.status();
  if (source_status.end == media::SourceEnd::kFailed && stats.frames_in == 0) {
    throw Error("{}", source_status.message);
  }
  const engine::StreamDiffusion::Counters& c = stream.counters();
  stats.skipped = c.skipped;
  stats.unet_calls = c.unet_calls;
  stats.unet_rows = c.unet_rows;
  stats.vae_encode_s = c.encode_s;
  stats.unet_s = c.unet_s;
  stats.vae_decode_s = c.decode_s;
  stats.dropped = input.dropped() + recorder.stats().dropped;
  stats.elapsed_s = seconds_since(start);
  stats.fps = stats.elapsed_s > 0 ? static_cast<double>(stats.frames_in) / stats.elapsed_s : 0;
  return stats;
}

std::string format_img2img_stats(const Img2ImgStats& s) {
  const double n = std::max<std::int64_t>(1, s.frames_in);
  auto ms = [&](double seconds) { return seconds * 1000.0 / n; };
  std::string text;
  text += fmt::format("model: {} ({}) on {}, cfg {}, t_index_list {}\n", s.family, s.codec, s.compute, s.cfg,
                      s.t_index_list);
  text += fmt::format("frames: {} in, {} out, {} warm-up (latent buffer fill, not shown), {} dropped\n", s.frames_in,
                      s.frames_out, s.warmup, s.dropped);
  text += fmt::format(
      "per frame (ms): decode {:.2f}  preprocess {:.2f}  VAE encode {:.2f}  UNet {:.2f}  VAE decode {:.2f}  "
      "postprocess {:.2f}\n",
      ms(s.decode_s), ms(s.preprocess_s), ms(s.vae_encode_s), ms(s.unet_s), ms(s.vae_decode_s), ms(s.postprocess_s));
  const double processed = static_cast<double>(std::max<std::int64_t>(1, s.frames_in - s.skipped));
  text += fmt::format("UNet: {} calls, {} rows per frame ({:.2f} measured)\n", s.unet_calls, s.unet_rows_per_frame,
                      static_cast<double>(s.unet_rows) / processed);
  text += fmt::format("SSF skips: {} of {} ({:.1f}%)\n", s.skipped, s.frames_in,
                      s.frames_in ? 100.0 * static_cast<double>(s.skipped) / static_cast<double>(s.frames_in) : 0.0);
  text += fmt::format("fps: {:.2f} ({:.2f} s)\n", s.fps, s.elapsed_s);
  if (s.prompt_truncated) text += "prompt: truncated to CLIP's 77 tokens\n";
  return text;
}

}  // namespace sc::app
