#include "app/modes/img2img/img2img_job.h"

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

std::string join(const std::vector<int>& v) {
  std::string s = "[";
  for (std::size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + std::to_string(v[i]);
  return s + "]";
}

}  // namespace

Img2ImgStats run_img2img(const Img2ImgOptions& o, const std::function<void(const Img2ImgStats&)>& progress,
                         const std::atomic<bool>* cancel) {
  if (o.output.empty()) throw Error("no output file given (use --output FILE.mp4)");
  if (o.live.prompt.empty()) throw Error("no prompt given (use --prompt TEXT)");
  const engine::StreamParams params = stream_params(o.live);
  Img2ImgEngine img2img(o.models, o.live);
  Img2ImgStats stats;
  stats.family = img2img.family();
  stats.compute = img2img.compute();
  stats.codec = img2img.codec_name();
  stats.cfg = engine::cfg_mode_name(params.cfg);
  stats.t_index_list = join(params.t_index_list);
  stats.output = o.output;
  stats.prompt_truncated = img2img.prompt_truncated();
  stats.unet_rows_per_frame = img2img.unet_rows_per_frame();
  const int width = o.live.width, height = o.live.height;

  media::SourceSpec spec = media::parse_source_spec(o.source, media::Pacing::kFast);
  const bool live = spec.kind == media::SourceKind::kV4l2 || spec.kind == media::SourceKind::kScreen ||
                    spec.pacing == media::Pacing::kRealtime;
  if (spec.live() && spec.kind != media::SourceKind::kTest && o.max_frames <= 0 && !cancel)
    throw Error("source '{}' never ends: give --frames", spec.text);
  if (spec.kind == media::SourceKind::kTest) {
    spec.url = fmt::format("testsrc2=size={}x{}:rate={}", width, height, spec.fps);
  }
  media::ReaderOptions ropt;
  if (spec.kind == media::SourceKind::kFile) {
    ropt.width = width;
    ropt.height = height;
  }
  BoundedQueue<media::Frame> input(live ? 2 : 4, live ? QueuePolicy::kLatestWins : QueuePolicy::kBlocking);
  BoundedQueue<media::Frame> output(4, QueuePolicy::kBlocking);
  // The source thread's time per frame, from one delivery to the next (a
  // blocked push to a full queue is not counted; the first frame, which
  // also carries opening the source, is not timed).
  std::atomic<double> source_s{0};
  std::atomic<std::int64_t> source_frames{0};
  std::optional<Clock::time_point> delivered;  // source thread only
  media::SourceThread source(
      spec,
      [&](media::Frame&& f) {
        if (delivered) {
          source_s.store(source_s.load() + seconds_since(*delivered));
          source_frames.fetch_add(1);
        }
        const bool more = input.push(std::move(f));
        delivered = Clock::now();
        return more;
      },
      ropt, live ? 0 : o.max_frames);
  const media::StreamInfo& info = source.info();
  const double fps = info.fps > 0 ? info.fps : 30.0;

  media::WriterOptions wopt;
  wopt.width = width;
  wopt.height = height;
  wopt.fps = fps;
  wopt.encoder = o.encoder;
  wopt.crf = o.crf;
  wopt.timing = live ? media::FrameTiming::kFramePts : media::FrameTiming::kIndex;
  media::RecorderOptions recorder_options;
  recorder_options.live = live;
  media::Recorder recorder(o.output, wopt, recorder_options);
  log::info("img2img: '{}' -> {} ({}x{}, {} steps {}, cfg {}, {}, UNet rows per frame {})", spec.text, o.output, width,
            height, params.t_index_list.size(), stats.t_index_list, stats.cfg, stats.codec, stats.unet_rows_per_frame);

  std::mutex stats_mutex;
  std::exception_ptr worker_failure;
  const auto start = Clock::now();
  auto note_latency = [&](const media::Frame& out) {  // under stats_mutex
    const double s = std::chrono::duration<double>(Clock::now() - out.capture_time).count();
    stats.latency_sum_s += s;
    stats.latency_max_s = std::max(stats.latency_max_s, s);
    ++stats.latency_frames;
  };
  // The worker: newest input frame -> pipeline -> output queue.
  std::thread worker([&] {
    try {
      std::int64_t taken = 0;
      std::optional<media::Frame> last;
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
        Img2ImgEngine::Timing timing;
        std::optional<media::Frame> out = img2img.process(*f, &timing);
        {
          std::lock_guard lock(stats_mutex);
          stats.input_wait_s += waited;
          stats.preprocess_s += timing.preprocess_s;
          stats.postprocess_s += timing.postprocess_s;
          stats.frames_in = taken;
          if (out) {
            note_latency(*out);
          } else {
            ++stats.warmup;
          }
        }
        if (out && !output.push(std::move(*out))) break;
        last = std::move(*f);
      }
      // A file has an end: push the frames still in flight (the latent
      // buffer, a part-filled frame buffer) out, so every input frame has its
      // output. (A live source just stops; its last frames are the inherent lag.)
      if (!live && !(cancel && *cancel) && last) {
        for (media::Frame& out : img2img.flush(*last)) {
          {
            std::lock_guard lock(stats_mutex);
            ++stats.flushed;
            note_latency(out);
          }
          if (!output.push(std::move(out))) break;
        }
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
  const engine::StreamDiffusion::Counters& c = img2img.counters();
  stats.skipped = c.skipped;
  stats.pipeline_frames = c.frames;
  stats.unet_calls = c.unet_calls;
  stats.unet_rows = c.unet_rows;
  stats.vae_encode_s = c.encode_s;
  stats.unet_s = c.unet_s;
  stats.vae_decode_s = c.decode_s;
  stats.decode_s = source_s.load();
  stats.source_frames = source_frames.load();
  stats.live_source = live;
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
  text += fmt::format(
      "frames: {} in, {} out, {} warm-up (latent buffer fill, not shown), {} flushed at the end, {} dropped\n",
      s.frames_in, s.frames_out, s.warmup, s.flushed, s.dropped);
  text += fmt::format(
      "per frame (ms): source {} {:.2f}  preprocess {:.2f}  VAE encode {:.2f}  UNet {:.2f}  VAE decode {:.2f}  "
      "postprocess {:.2f}  (worker waiting for input {:.2f})\n",
      s.live_source ? "(decode + frame interval)" : "decode",
      s.source_frames > 0 ? s.decode_s * 1000.0 / static_cast<double>(s.source_frames) : 0.0, ms(s.preprocess_s),
      ms(s.vae_encode_s), ms(s.unet_s), ms(s.vae_decode_s), ms(s.postprocess_s), ms(s.input_wait_s));
  if (s.latency_frames > 0) {
    text += fmt::format("latency, capture -> output (ms): mean {:.1f}, max {:.1f} over {} frames\n",
                        s.latency_sum_s * 1000.0 / static_cast<double>(s.latency_frames), s.latency_max_s * 1000.0,
                        s.latency_frames);
  }
  // The pipeline ran once per input frame and once per flush repeat; SSF skips
  // ran no UNet.
  const double processed = static_cast<double>(std::max<std::int64_t>(1, s.pipeline_frames - s.skipped));
  text += fmt::format("UNet: {} calls, {} rows per frame ({:.2f} measured)\n", s.unet_calls, s.unet_rows_per_frame,
                      static_cast<double>(s.unet_rows) / processed);
  text += fmt::format("SSF skips: {} of {} ({:.1f}%)\n", s.skipped, s.frames_in,
                      s.frames_in ? 100.0 * static_cast<double>(s.skipped) / static_cast<double>(s.frames_in) : 0.0);
  text += fmt::format("fps: {:.2f} ({:.2f} s)\n", s.fps, s.elapsed_s);
  if (s.prompt_truncated) text += "prompt: truncated to CLIP's 77 tokens\n";
  return text;
}

}  // namespace sc::app
