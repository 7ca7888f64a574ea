#include "app/session/live_session.h"

#include <filesystem>

#include "base/error.h"
#include "base/log.h"
#include "media/convert.h"
#include "media/source_spec.h"

namespace sc::app {

using Clock = std::chrono::steady_clock;

LiveSession::LiveSession() = default;

LiveSession::~LiveSession() {
  stop();
  try {
    if (recording().active) stop_recording();
  } catch (const std::exception& e) {
    log::error("{}", e.what());
  }
}

void LiveSession::report(const std::string& error) {
  log::error("{}", error);
  std::lock_guard lock(errors_mutex_);
  errors_.push_back(error);
}

std::vector<std::string> LiveSession::take_errors() {
  std::lock_guard lock(errors_mutex_);
  return std::exchange(errors_, {});
}

void LiveSession::start(const std::string& source) {
  stop();
  // The GUI is live: files play at their own rate unless the spec says otherwise.
  media::SourceSpec spec = media::parse_source_spec(source, media::Pacing::kRealtime);
  auto queue = std::make_unique<BoundedQueue<media::Frame>>(2, QueuePolicy::kLatestWins);
  auto* q = queue.get();
  auto src = std::make_unique<media::SourceThread>(spec, [this, q](media::Frame&& f) {
    capture_.tick();
    return q->push(std::move(f));
  });
  input_queue_ = std::move(queue);
  source_ = std::move(src);
  source_name_ = spec.text;
  stop_worker_ = false;
  worker_ = std::thread([this] { worker_loop(); });
  log::info("source '{}': {}x{} @ {:.2f} fps ({})", spec.text, source_->info().width, source_->info().height,
            source_->info().fps, source_->info().decoder);
}

void LiveSession::stop() {
  if (source_) source_->stop();
  if (input_queue_) input_queue_->close();
  stop_worker_ = true;
  if (worker_.joinable()) worker_.join();  // the worker has reported a failed source
  source_.reset();
  input_queue_.reset();
}

bool LiveSession::running() const { return source_ != nullptr && source_->status().end == media::SourceEnd::kRunning; }

void LiveSession::worker_loop() {
  media::Scaler scaler;
  bool reported_end = false;
  while (!stop_worker_) {
    auto frame = input_queue_->pop_for(std::chrono::milliseconds(50));
    if (!frame) {
      if (!reported_end && source_) {
        auto st = source_->status();
        if (st.end == media::SourceEnd::kFailed) {
          report(st.message);
          reported_end = true;
        } else if (st.end == media::SourceEnd::kFinished) {
          log::info("source '{}' finished", source_name_);
          reported_end = true;
        }
      }
      continue;
    }
    const auto t0 = Clock::now();
    // The active mode runs here. Passthrough: the output is the input itself
    // (shared pixels, no copy); a processor (img2img, ...) replaces it.
    media::Frame input = std::move(*frame);
    media::Frame output = input;
    const std::shared_ptr<FrameProcessor> processor = this->processor();
    if (processor) {
      std::optional<media::Frame> result;
      try {
        result = processor->process(input);
      } catch (const std::exception& e) {
        report(fmt::format("{}: {}; showing the source unchanged", processor->name(), e.what()));
        std::lock_guard lock(processor_mutex_);
        if (processor_ == processor) processor_.reset();
        result = input;
      }
      process_.tick(std::chrono::duration<double>(Clock::now() - t0).count());
      if (!result) continue;  // warming up: nothing to show or record yet
      output = std::move(*result);
    } else {
      process_.tick(std::chrono::duration<double>(Clock::now() - t0).count());
    }
    {
      std::lock_guard lock(recorder_mutex_);
      if (recorder_) {
        auto st = recorder_->stats();
        if (!st.error.empty()) {
          // The recorder stopped itself (disk full, ...); finish and tell the user.
          std::string error = st.error;
          try {
            recorder_->stop();
          } catch (const std::exception&) {
          }
          recorder_.reset();
          report(error);
        } else {
          media::Frame rec = output;
          if (rec.width != record_size_.first || rec.height != record_size_.second) {
            // The source changed size mid-recording: scale to the file's size.
            media::Frame scaled;
            scaler.to_rgba(rec, record_size_.first, record_size_.second, scaled);
            rec = std::move(scaled);
          }
          recorder_->push(std::move(rec));
          record_.tick();
        }
      }
    }
    std::lock_guard lock(latest_mutex_);
    latest_.input = std::move(input);
    latest_.output = std::move(output);
    ++latest_.seq;
  }
}

void LiveSession::set_processor(std::shared_ptr<FrameProcessor> processor) {
  std::lock_guard lock(processor_mutex_);
  processor_ = std::move(processor);
  log::info("mode: {}", processor_ ? processor_->name() : std::string("passthrough"));
}

std::shared_ptr<FrameProcessor> LiveSession::processor() const {
  std::lock_guard lock(processor_mutex_);
  return processor_;
}

bool LiveSession::latest(DisplayFrames& out, std::uint64_t* seq) {
  std::lock_guard lock(latest_mutex_);
  if (latest_.seq == *seq || latest_.output.empty()) return false;
  out = latest_;
  *seq = latest_.seq;
  return true;
}

void LiveSession::displayed(const media::Frame& frame) {
  display_.tick();
  if (frame.capture_time != Clock::time_point{})
    latency_ms_.add(std::chrono::duration<double, std::milli>(Clock::now() - frame.capture_time).count());
}

void LiveSession::start_recording(const RecordSettings& settings) {
  media::Frame current;
  {
    std::lock_guard lock(latest_mutex_);
    current = latest_.output;
  }
  if (current.empty()) throw Error("nothing to record yet: start a source first");
  std::lock_guard lock(recorder_mutex_);
  if (recorder_) throw Error("already recording to {}", record_settings_.path);
  media::WriterOptions w;
  w.width = current.width & ~1;
  w.height = current.height & ~1;
  w.fps = source_ && source_->info().fps > 0 ? source_->info().fps : 30;
  w.crf = settings.quality;
  w.encoder = settings.encoder;
  w.timing = media::FrameTiming::kFramePts;
  recorder_ = std::make_unique<media::Recorder>(settings.path, w, media::RecorderOptions{8, true});
  record_settings_ = settings;
  record_size_ = {w.width, w.height};
  log::info("recording to {} ({}x{}, {})", settings.path, w.width, w.height, recorder_->stats().encoder);
}

RecordingStatus LiveSession::stop_recording() {
  std::unique_ptr<media::Recorder> rec;
  {
    std::lock_guard lock(recorder_mutex_);
    rec = std::move(recorder_);
  }
  RecordingStatus st;
  if (!rec) return st;
  st.path = record_settings_.path;
  rec->stop();  // finishes the file (fast-start remux); throws the recording's failure
  auto s = rec->stats();
  st.seconds = s.written.duration_s;
  st.frames = s.written.frames;
  st.dropped = s.dropped;
  std::error_code ec;
  auto size = std::filesystem::file_size(st.path, ec);
  st.bytes = ec ? s.written.bytes : std::int64_t(size);
  log::info("recorded {} frames ({:.1f} s) to {}", st.frames, st.seconds, st.path);
  return st;
}

RecordingStatus LiveSession::recording() const {
  std::lock_guard lock(recorder_mutex_);
  RecordingStatus st;
  if (!recorder_) return st;
  auto s = recorder_->stats();
  st.active = true;
  st.path = record_settings_.path;
  st.seconds = s.written.duration_s;
  st.bytes = s.written.bytes;
  st.frames = s.written.frames;
  st.dropped = s.dropped;
  return st;
}

SessionStats LiveSession::stats() const {
  SessionStats s;
  for (const StageMeter* m : {&capture_, &process_, &display_, &record_})
    if (m->total() > 0) s.stages.push_back({m->name(), {m->fps(), m->mean_busy_ms()}});
  if (input_queue_) {
    s.queues.push_back({"input", input_queue_->size()});
    s.dropped = input_queue_->dropped();
  }
  {
    std::lock_guard lock(recorder_mutex_);
    if (recorder_) {
      auto r = recorder_->stats();
      s.queues.push_back({"record", r.queued});
      s.dropped += r.dropped;
    }
  }
  s.latency_ms = latency_ms_.value();
  s.source = source_name_;
  s.decoder = source_ ? source_->info().decoder : "";
  s.running = running();
  if (const auto p = processor()) s.mode = p->name();
  return s;
}

}  // namespace sc::app
