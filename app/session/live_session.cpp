#include "app/session/live_session.h"

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "base/error.h"
#include "base/log.h"
#include "media/convert.h"
#include "media/source_spec.h"

namespace sc::app {

using Clock = std::chrono::steady_clock;

// The mode's products, delivered where they belong.
class LiveSession::Output final : public ModeOutput {
 public:
  Output(LiveSession& s, media::Scaler& scaler) : s_(s), scaler_(scaler) {}
  void begin(const media::Frame* input) {
    input_ = input;
    frames_ = 0;
  }
  int frames() const { return frames_; }

  void video(media::Frame frame) override {
    ++frames_;
    // A mode without a video input (talking head) shows its own frame as the input too.
    s_.show_and_record(input_ ? *input_ : frame, std::move(frame), scaler_);
  }
  void audio(media::AudioChunk chunk) override {
    if (chunk.sample_rate != kAudioFormat.sample_rate || chunk.channels != kAudioFormat.channels) {
      throw Error("audio of {} Hz x {} is not the session's {} Hz x {}", chunk.sample_rate, chunk.channels,
                  kAudioFormat.sample_rate, kAudioFormat.channels);
    }
    if (chunk.capture_time == Clock::time_point{}) chunk.capture_time = Clock::now();
    s_.record_audio(std::move(chunk));
  }
  void text(TextEvent event) override {
    if (event.capture_time == Clock::time_point{}) event.capture_time = Clock::now();
    std::lock_guard lock(s_.text_mutex_);
    s_.text_out_.push_back(std::move(event));
  }

 private:
  LiveSession& s_;
  media::Scaler& scaler_;
  const media::Frame* input_ = nullptr;
  int frames_ = 0;
};

LiveSession::LiveSession() = default;

LiveSession::~LiveSession() {
  stop();
  stop_audio();
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

void LiveSession::start_audio(const std::string& source) {
  stop_audio();
  const media::AudioSpec spec = media::parse_audio_spec(source);
  auto reader = std::make_shared<media::AudioReader>(spec, kAudioFormat);
  stop_audio_ = false;
  {
    std::lock_guard lock(recorder_mutex_);
    audio_reader_ = reader;
    audio_name_ = spec.text;
  }
  // A device delivers in real time by itself; a file or the tone would race ahead.
  audio_thread_ =
      std::thread([this, reader, paced = !spec.live, name = spec.text] { audio_loop(reader, paced, name); });
  log::info("audio '{}': {} Hz x {} ({}) -> {} Hz mono", spec.text, reader->info().input_sample_rate,
            reader->info().input_channels, reader->info().codec, kAudioFormat.sample_rate);
}

void LiveSession::stop_audio() {
  stop_audio_ = true;
  std::shared_ptr<media::AudioReader> reader;
  {
    std::lock_guard lock(recorder_mutex_);
    reader = std::move(audio_reader_);
    audio_name_.clear();
  }
  if (reader) reader->interrupt();
  if (audio_thread_.joinable()) audio_thread_.join();
}

void LiveSession::audio_loop(std::shared_ptr<media::AudioReader> reader, bool paced, std::string name) {
  const Clock::time_point start = Clock::now();
  std::int64_t first_pts_us = -1;
  try {
    media::AudioChunk chunk;
    while (!stop_audio_ && reader->read(chunk)) {
      if (first_pts_us < 0) first_pts_us = chunk.pts_us;
      if (paced) {
        // Hand each chunk over when its last sample would have been heard.
        const auto due = start + std::chrono::microseconds(chunk.pts_us - first_pts_us +
                                                           std::int64_t(chunk.frames()) * 1000000 / chunk.sample_rate);
        while (!stop_audio_ && Clock::now() < due)
          std::this_thread::sleep_for(std::min<Clock::duration>(due - Clock::now(), std::chrono::milliseconds(5)));
        chunk.capture_time = Clock::now();
      }
      audio_.tick();
      const std::shared_ptr<Mode> mode = this->mode();
      if (mode && mode->consumes().audio) {
        if (!audio_queue_.push(chunk)) break;
      } else {
        record_audio(chunk);
      }
    }
  } catch (const std::exception& e) {
    if (!stop_audio_) report(fmt::format("audio '{}' stopped: {}", name, e.what()));
  }
}

void LiveSession::drop_mode(const std::shared_ptr<Mode>& mode, const std::exception& e) {
  report(fmt::format("{}: {}; showing the source unchanged", mode->name(), e.what()));
  std::lock_guard lock(mode_mutex_);
  if (mode_ == mode) mode_.reset();
}

void LiveSession::worker_loop() {
  media::Scaler scaler;
  Output out(*this, scaler);
  bool reported_end = false;
  std::int64_t next_audio_pts_us = -1;  // where the mode's audio continues; a later chunk means a gap
  while (!stop_worker_) {
    std::shared_ptr<Mode> mode = this->mode();
    // Text and audio first: they are small, and a question should not wait
    // behind a frame.
    while (auto event = text_in_.pop_for(std::chrono::milliseconds(0))) {
      // The mode as it is now, not as it was at the top of this turn: text sent
      // after set_mode() must reach the mode that was set (popping it happens
      // after the push, which happens after the switch).
      mode = this->mode();
      if (!mode || !mode->consumes().text) {
        report(fmt::format("{} takes no questions or prompts; '{}' was not sent", mode ? mode->name() : "passthrough",
                           event->text));
        continue;
      }
      out.begin(nullptr);
      try {
        mode->on_text(*event, out);
      } catch (const std::exception& e) {
        drop_mode(mode, e);
        mode.reset();
      }
    }
    // At most what was queued when the turn began: a mode slower than real
    // time never drains the queue, and stop() and questions must still get
    // their turn.
    for (std::size_t n = audio_queue_.size() + 1; n > 0 && !stop_worker_ && mode && mode->consumes().audio; --n) {
      auto chunk = audio_queue_.pop_for(std::chrono::milliseconds(0));
      if (!chunk) break;
      const auto t0 = Clock::now();
      out.begin(nullptr);
      try {
        // Chunks the queue dropped (the mode fell behind) are a gap in the
        // stream times: the mode hears silence there, never a jump.
        if (next_audio_pts_us >= 0 && chunk->pts_us - next_audio_pts_us > 1000) {
          ++audio_gaps_;
          media::AudioChunk silence;
          silence.sample_rate = chunk->sample_rate;
          silence.channels = chunk->channels;
          silence.pts_us = next_audio_pts_us;
          silence.capture_time = chunk->capture_time;
          silence.samples.assign(std::size_t((chunk->pts_us - next_audio_pts_us) * chunk->sample_rate / 1000000) *
                                     std::size_t(chunk->channels),
                                 0.0f);
          mode->on_audio(silence, out);
        }
        next_audio_pts_us = chunk->pts_us + std::int64_t(chunk->frames()) * 1000000 / chunk->sample_rate;
        mode->on_audio(*chunk, out);
      } catch (const std::exception& e) {
        drop_mode(mode, e);
        mode.reset();
      }
      if (out.frames() > 0) process_.tick(std::chrono::duration<double>(Clock::now() - t0).count());
    }
    auto frame = input_queue_->pop_for(std::chrono::milliseconds(10));
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
    newest_pts_us_ = frame->pts_us;
    const auto t0 = Clock::now();
    media::Frame input = std::move(*frame);
    if (!mode) {
      // Passthrough: the output is the input itself (shared pixels, no copy).
      process_.tick(std::chrono::duration<double>(Clock::now() - t0).count());
      show_and_record(input, input, scaler);
      continue;
    }
    if (!mode->consumes().video) continue;  // the mode makes the picture (from sound, ...)
    out.begin(&input);
    try {
      mode->on_video(input, out);  // none while warming up; the results are shown and recorded
    } catch (const std::exception& e) {
      drop_mode(mode, e);
      show_and_record(input, input, scaler);
    }
    process_.tick(std::chrono::duration<double>(Clock::now() - t0).count());
  }
}

void LiveSession::show_and_record(media::Frame input, media::Frame output, media::Scaler& scaler) {
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
        if (record_stop_us_ < 0) {
          const Clock::time_point captured = rec.capture_time == Clock::time_point{} ? Clock::now() : rec.capture_time;
          if (record_video_start_ == Clock::time_point{}) record_video_start_ = captured;
          record_last_picture_us_ =
              std::chrono::duration_cast<std::chrono::microseconds>(captured - record_video_start_).count();
          recorder_->push(std::move(rec));
          record_.tick();
        }
      }
    }
  }
  std::lock_guard lock(latest_mutex_);
  latest_.input = std::move(input);
  latest_.output = std::move(output);
  ++latest_.seq;
}

void LiveSession::record_audio(media::AudioChunk chunk) {
  std::lock_guard lock(recorder_mutex_);
  if (!recorder_ || !record_has_audio_ || record_video_start_ == Clock::time_point{}) return;
  // Audio heard before the recording's first picture was captured is not
  // part of the take: the writer lines the rest up by capture time.
  const auto chunk_start = chunk.capture_time - std::chrono::microseconds(std::int64_t(chunk.frames()) * 1000000 /
                                                                          std::max(chunk.sample_rate, 1));
  if (chunk.capture_time <= record_video_start_) return;
  if (chunk_start < record_video_start_) {
    // Keep only the samples after the first picture.
    const auto keep = std::chrono::duration<double>(chunk.capture_time - record_video_start_).count();
    const std::size_t frames = std::min(chunk.frames(), std::size_t(keep * chunk.sample_rate));
    chunk.samples.erase(chunk.samples.begin(), chunk.samples.end() - std::ptrdiff_t(frames) * chunk.channels);
  }
  if (chunk.samples.empty()) return;
  if (record_audio_start_us_ < 0) {
    // Where the writer puts the first sample (VideoWriter::write_audio).
    const auto start = chunk.capture_time - std::chrono::microseconds(std::int64_t(chunk.frames()) * 1000000 /
                                                                      std::max(chunk.sample_rate, 1));
    record_audio_start_us_ = std::max<std::int64_t>(
        0, std::chrono::duration_cast<std::chrono::microseconds>(start - record_video_start_).count());
  }
  if (record_stop_us_ >= 0) {
    // Stopping: nothing past the last picture's end.
    const auto room = std::int64_t(double(record_stop_us_ - record_audio_start_us_) * chunk.sample_rate / 1e6) -
                      record_audio_samples_;
    if (room <= 0) return;
    if (std::size_t(room) < chunk.frames()) chunk.samples.resize(std::size_t(room) * std::size_t(chunk.channels));
  }
  record_audio_samples_ += std::int64_t(chunk.frames());
  recorder_->push_audio(std::move(chunk));
}

void LiveSession::set_mode(std::shared_ptr<Mode> mode) {
  std::lock_guard lock(mode_mutex_);
  mode_ = std::move(mode);
  log::info("mode: {}", mode_ ? mode_->name() : std::string("passthrough"));
}

std::shared_ptr<Mode> LiveSession::mode() const {
  std::lock_guard lock(mode_mutex_);
  return mode_;
}

void LiveSession::send_text(TextEvent event) {
  if (event.pts_us == 0) event.pts_us = newest_pts_us_;
  if (event.capture_time == Clock::time_point{}) event.capture_time = Clock::now();
  if (!worker_.joinable()) {
    report(fmt::format("no source is running; '{}' was not sent", event.text));
    return;
  }
  text_in_.push(std::move(event));
}

std::vector<TextEvent> LiveSession::take_text() {
  std::lock_guard lock(text_mutex_);
  return std::exchange(text_out_, {});
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

std::size_t live_record_queue_frames(int width, int height, double fps) {
  // A second of frames, so a busy machine's encoder stall (seen in the soak:
  // a quarter second was not enough at a load of 4-8 on 2 cores) costs no
  // frames; but never more than 256 MiB of RGBA, nor fewer than 8 frames.
  constexpr double kBudgetBytes = 256.0 * (1 << 20);
  const double frame_bytes = std::max(1.0, 4.0 * width * height);
  const double by_memory = std::floor(kBudgetBytes / frame_bytes);
  const double wanted = std::min(std::ceil(fps > 0 ? fps : 30), by_memory);
  return static_cast<std::size_t>(std::max(8.0, wanted));
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
  const std::shared_ptr<Mode> m = mode();
  if (m && m->output_fps() > 0)
    w.fps = m->output_fps();
  else
    w.fps = source_ && source_->info().fps > 0 ? source_->info().fps : 30;
  w.crf = settings.quality;
  w.encoder = settings.encoder;
  w.timing = media::FrameTiming::kFramePts;
  // A track for the microphone (or the mode's own audio) when there is one.
  const bool audio = audio_reader_ != nullptr || (m && m->consumes().audio);
  if (audio) {
    w.audio_sample_rate = kAudioFormat.sample_rate;
    w.audio_channels = kAudioFormat.channels;
  }
  recorder_ = std::make_unique<media::Recorder>(
      settings.path, w, media::RecorderOptions{live_record_queue_frames(w.width, w.height, w.fps), true});
  record_settings_ = settings;
  record_size_ = {w.width, w.height};
  record_video_start_ = {};
  record_has_audio_ = audio;
  record_fps_ = w.fps;
  record_last_picture_us_ = record_audio_start_us_ = -1;
  record_audio_samples_ = 0;
  record_stop_us_ = -1;
  log::info("recording to {} ({}x{}, {}{})", settings.path, w.width, w.height, recorder_->stats().encoder,
            audio ? ", with audio" : "");
}

void LiveSession::align_audio_end(std::unique_lock<std::mutex>& lock) {
  // The tracks end together: no picture from now on, and the audio is brought
  // to the last picture's end. The audio thread is paced, so under load it
  // can be a chunk or two behind: wait for it a little (it keeps delivering
  // meanwhile), then fill what is still missing with silence, at most a
  // second (more is a source that stopped delivering, not one that is late).
  record_stop_us_ = record_last_picture_us_ + std::llround(1e6 / record_fps_);
  const auto samples_to = [&](std::int64_t us) {
    return std::int64_t(double(us - record_audio_start_us_) * kAudioFormat.sample_rate / 1e6);
  };
  const auto deadline = Clock::now() + std::chrono::milliseconds(250);
  while (audio_reader_ && recorder_ && Clock::now() < deadline &&
         (record_audio_start_us_ < 0 || record_audio_samples_ < samples_to(record_stop_us_))) {
    lock.unlock();
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    lock.lock();
  }
  if (!recorder_) return;
  if (record_audio_start_us_ < 0) record_audio_start_us_ = std::max<std::int64_t>(0, record_stop_us_ - 1000000);
  const std::int64_t missing =
      std::min<std::int64_t>(samples_to(record_stop_us_) - record_audio_samples_, kAudioFormat.sample_rate);
  if (missing <= 0) return;
  media::AudioChunk silence;
  silence.sample_rate = kAudioFormat.sample_rate;
  silence.channels = kAudioFormat.channels;
  silence.samples.assign(std::size_t(missing) * std::size_t(silence.channels), 0.0f);
  silence.capture_time =
      record_video_start_ + std::chrono::microseconds(record_audio_start_us_ + (record_audio_samples_ + missing) *
                                                                                   1000000 / kAudioFormat.sample_rate);
  record_audio_samples_ += missing;
  recorder_->push_audio(std::move(silence));
  if (missing * 1000 / kAudioFormat.sample_rate > 5) {
    log::info("recording: the audio was {} ms short of the last picture; filled with silence",
              missing * 1000 / kAudioFormat.sample_rate);
  }
}

RecordingStatus LiveSession::stop_recording() {
  std::unique_ptr<media::Recorder> rec;
  {
    std::unique_lock lock(recorder_mutex_);
    if (recorder_ && record_has_audio_ && record_last_picture_us_ >= 0) {
      try {
        align_audio_end(lock);
      } catch (const std::exception& e) {
        log::error("recording: the audio could not be brought to the last picture: {}", e.what());
      }
    }
    rec = std::move(recorder_);
    record_stop_us_ = -1;
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
  for (const StageMeter* m : {&capture_, &audio_, &process_, &display_, &record_})
    if (m->total() > 0) s.stages.push_back({m->name(), {m->fps(), m->mean_busy_ms()}});
  if (input_queue_) {
    s.queues.push_back({"input", input_queue_->size()});
    s.dropped = input_queue_->dropped();
  }
  if (const std::shared_ptr<Mode> m = mode(); m && m->consumes().audio)
    s.queues.push_back({"audio", audio_queue_.size()});
  {
    std::lock_guard lock(recorder_mutex_);
    if (recorder_) {
      auto r = recorder_->stats();
      s.queues.push_back({"record", r.queued});
      s.dropped += r.dropped;
    }
    if (audio_reader_) s.audio = audio_name_;
  }
  s.latency_ms = latency_ms_.value();
  s.source = source_name_;
  s.decoder = source_ ? source_->info().decoder : "";
  s.running = running();
  s.audio_gaps = audio_gaps_;
  if (const auto m = mode()) s.mode = m->name();
  return s;
}

}  // namespace sc::app
