#include "app/session/record_job.h"

#include <chrono>
#include <cmath>
#include <filesystem>
#include <thread>

#include "base/bounded_queue.h"
#include "base/error.h"
#include "base/log.h"
#include "media/audio.h"
#include "media/recorder.h"
#include "media/source.h"
#include "media/source_spec.h"

namespace sc::app {
namespace {

using Clock = std::chrono::steady_clock;

// Applies --size/--fps to sources that can produce them natively.
void apply_capture_mode(media::SourceSpec& spec, const RecordOptions& o) {
  if (spec.kind == media::SourceKind::kTest) {
    if (o.width > 0) spec.width = o.width, spec.height = o.height;
    if (o.fps > 0) spec.fps = o.fps;
    spec.url = fmt::format("testsrc2=size={}x{}:rate={}", spec.width, spec.height, spec.fps);
  } else if (spec.kind == media::SourceKind::kV4l2) {
    if (o.width > 0) spec.options["video_size"] = fmt::format("{}x{}", o.width, o.height);
    if (o.fps > 0) spec.options["framerate"] = fmt::format("{}", o.fps);
  } else if (spec.kind == media::SourceKind::kScreen) {
    if (o.fps > 0) spec.options["framerate"] = fmt::format("{}", o.fps);
  }
}

}  // namespace

RecordResult run_record(const RecordOptions& o, const std::function<void(const RecordProgress&)>& progress,
                        const std::atomic<bool>* cancel) {
  if (o.output.empty()) throw Error("no output file given (use --output FILE.mp4)");
  if ((o.width > 0) != (o.height > 0)) throw Error("give both width and height for --size");
  media::SourceSpec spec = media::parse_source_spec(o.source, media::Pacing::kFast);
  apply_capture_mode(spec, o);
  // Live: frames arrive in real time and must never wait for the encoder.
  const bool live = spec.kind == media::SourceKind::kV4l2 || spec.kind == media::SourceKind::kScreen ||
                    spec.pacing == media::Pacing::kRealtime;
  if (spec.live() && spec.kind != media::SourceKind::kTest && o.max_frames <= 0 && o.max_seconds <= 0 && !cancel)
    throw Error("source '{}' never ends: give --frames or --duration", spec.text);

  media::ReaderOptions ropt;
  if (spec.kind == media::SourceKind::kFile || spec.kind == media::SourceKind::kScreen) {
    ropt.width = o.width;
    ropt.height = o.height;
  }
  // The source thread feeds a queue: latest-wins for live sources (latency
  // stays flat), blocking for files (frame-exact).
  BoundedQueue<media::Frame> queue(live ? 4 : 8, live ? QueuePolicy::kLatestWins : QueuePolicy::kBlocking);
  std::int64_t limit = o.max_frames;
  media::SourceThread source(
      spec, [&](media::Frame&& f) { return queue.push(std::move(f)); }, ropt, 0);
  const media::StreamInfo& info = source.info();
  const double in_fps = info.fps > 0 ? info.fps : 30.0;
  const double out_fps = o.fps > 0 ? o.fps : in_fps;
  if (o.max_seconds > 0) {
    auto by_time = static_cast<std::int64_t>(std::llround(o.max_seconds * out_fps));
    limit = limit > 0 ? std::min(limit, by_time) : by_time;
  }
  std::int64_t total = limit > 0 ? limit : 0;
  if (!live && info.frame_count > 0) {
    std::int64_t n = o.fps > 0 ? std::int64_t(info.frame_count * out_fps / in_fps) : info.frame_count;
    total = total > 0 ? std::min(total, n) : n;
  }

  media::WriterOptions wopt;
  wopt.width = info.width & ~1;
  wopt.height = info.height & ~1;
  wopt.fps = out_fps;
  wopt.encoder = o.encoder;
  wopt.crf = o.crf;
  // Live: time by capture pts, so a dropped frame is a gap, not a speed-up.
  wopt.timing = live || o.fps > 0 ? media::FrameTiming::kFramePts : media::FrameTiming::kIndex;
  std::unique_ptr<media::AudioReader> audio;
  bool audio_from_device = false;
  std::string audio_spec = o.audio;
  if (o.audio == "same" || (o.audio == "auto" && info.has_audio && spec.kind == media::SourceKind::kFile))
    audio_spec = spec.url;
  else if (o.audio == "auto")
    audio_spec.clear();
  if (!audio_spec.empty()) {
    media::AudioFormat af{48000, 2};
    media::AudioSpec aspec = media::parse_audio_spec(audio_spec);
    audio_from_device = aspec.live;
    audio = std::make_unique<media::AudioReader>(aspec, af);
    wopt.audio_sample_rate = af.sample_rate;
    wopt.audio_channels = af.channels;
  }
  media::RecorderOptions ropts;
  ropts.live = live;
  media::Recorder recorder(o.output, wopt, ropts);
  log::info("recording '{}' ({}x{} @ {:.2f} fps, decoder {}) to {} with {}", spec.text, wopt.width, wopt.height,
            out_fps, info.decoder, o.output, recorder.stats().encoder);

  // Audio runs on its own thread. A device delivers in real time by itself; a
  // file or test tone would race ahead, so it is held at most a second ahead
  // of the video (both clocks start at the stream's zero).
  std::atomic<std::int64_t> video_pts_us{0};
  std::atomic<bool> audio_done{false};
  std::thread audio_thread;
  if (audio) {
    audio_thread = std::thread([&] {
      try {
        media::AudioChunk chunk;
        while (!audio_done && audio->read(chunk)) {
          while (!audio_done && !audio_from_device && chunk.pts_us > video_pts_us + 1000000)
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
          if (audio_done || !recorder.push_audio(chunk)) break;
        }
      } catch (const std::exception& e) {
        log::warn("audio stopped: {}", e.what());
      }
    });
  }

  RecordResult result;
  const auto start = Clock::now();
  std::int64_t first_pts_us = -1, last_slot = -1;
  std::exception_ptr failure;
  try {
    while (limit <= 0 || result.frames < limit) {
      if (cancel && *cancel) {
        result.cancelled = true;
        break;
      }
      auto f = queue.pop_for(std::chrono::milliseconds(100));
      if (!f) {
        if (queue.closed() || source.status().end != media::SourceEnd::kRunning) {
          if (queue.size() == 0) break;
        }
        continue;
      }
      if (first_pts_us < 0) first_pts_us = f->pts_us;
      if (o.fps > 0 && !live) {
        // Retiming a file: keep one frame per output slot.
        std::int64_t slot = std::llround(double(f->pts_us - first_pts_us) * out_fps / 1e6);
        if (slot <= last_slot) continue;
        last_slot = slot;
      }
      if (f->width != wopt.width || f->height != wopt.height) {
        media::Frame c = media::Frame::make_rgba(wopt.width, wopt.height);  // odd sizes: crop to even
        for (int y = 0; y < c.height; ++y) std::copy_n(f->row(y), c.width * 4, c.row(y));
        c.pts_us = f->pts_us;
        c.capture_time = f->capture_time;
        f = std::move(c);
      }
      video_pts_us = f->pts_us;
      if (!recorder.push(std::move(*f))) break;  // the recording failed; stop() reports why
      ++result.frames;
      if (progress) {
        auto st = recorder.stats();
        RecordProgress p;
        p.frames = result.frames;
        p.total_frames = total;
        p.elapsed_s = std::chrono::duration<double>(Clock::now() - start).count();
        p.fps = p.elapsed_s > 0 ? p.frames / p.elapsed_s : 0;
        p.dropped = st.dropped + queue.dropped();
        p.bytes = st.written.bytes;
        progress(p);
      }
    }
  } catch (...) {
    failure = std::current_exception();
  }
  queue.close();
  source.stop();
  audio_done = true;
  if (audio) audio->interrupt();
  if (audio_thread.joinable()) audio_thread.join();
  const media::SourceStatus source_status = source.status();
  // Finish the file in every case: what was recorded is kept.
  auto stats = recorder.stats();
  recorder.stop();  // throws the recording's own failure, if any
  if (failure) std::rethrow_exception(failure);
  if (source_status.end == media::SourceEnd::kFailed && result.frames == 0) throw Error("{}", source_status.message);
  stats = recorder.stats();
  result.dropped = stats.dropped + queue.dropped();
  result.elapsed_s = std::chrono::duration<double>(Clock::now() - start).count();
  result.duration_s = stats.written.duration_s;
  std::error_code ec;
  auto size = std::filesystem::file_size(o.output, ec);  // after the fast-start remux
  result.bytes = ec ? stats.written.bytes : static_cast<std::int64_t>(size);
  result.width = wopt.width;
  result.height = wopt.height;
  result.fps = out_fps;
  result.decoder = info.decoder;
  result.encoder = stats.encoder;
  result.output = o.output;
  result.source_end = source_status.end == media::SourceEnd::kFailed ? source_status.message : "";
  return result;
}

}  // namespace sc::app
