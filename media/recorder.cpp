#include "media/recorder.h"

#include <atomic>
#include <deque>
#include <mutex>
#include <thread>

#include "base/bounded_queue.h"
#include "base/error.h"
#include "base/log.h"

namespace sc::media {

struct Recorder::Impl {
  std::unique_ptr<VideoWriter> writer;
  BoundedQueue<Frame> frames;
  std::mutex audio_mutex;
  std::deque<AudioChunk> audio;
  mutable std::mutex stats_mutex;
  WriterStats written;
  std::string error;
  std::atomic<bool> failed{false};
  std::atomic<bool> stopped{false};
  std::thread thread;

  Impl(std::size_t capacity, bool live) : frames(capacity, live ? QueuePolicy::kLatestWins : QueuePolicy::kBlocking) {}

  void write_pending_audio() {
    std::deque<AudioChunk> pending;
    {
      std::lock_guard lock(audio_mutex);
      pending.swap(audio);
    }
    for (auto& chunk : pending) writer->write_audio(chunk);
  }

  void run() {
    try {
      for (;;) {
        auto frame = frames.pop_for(std::chrono::milliseconds(50));
        // The frame first: a live writer lines the audio up against the first
        // frame's capture time, so audio must not start the file.
        if (frame) writer->write(*frame);
        write_pending_audio();
        if (frame) {
          std::lock_guard lock(stats_mutex);
          written = writer->stats();
        } else if (frames.closed()) {
          break;
        }
      }
      write_pending_audio();
    } catch (const std::exception& e) {
      std::lock_guard lock(stats_mutex);
      error = e.what();
      failed = true;
      frames.close();  // refuse further frames; what is queued is dropped
      log::error("recording stopped: {}", e.what());
    }
  }
};

Recorder::Recorder(const std::string& path, const WriterOptions& writer, const RecorderOptions& options)
    : impl_(std::make_unique<Impl>(options.queue_frames, options.live)) {
  impl_->writer = std::make_unique<VideoWriter>(path, writer);
  impl_->thread = std::thread([this] { impl_->run(); });
}

Recorder::~Recorder() {
  try {
    stop();
  } catch (const std::exception& e) {
    log::error("{}", e.what());
  }
}

bool Recorder::push(Frame frame) {
  if (impl_->failed || impl_->stopped) return false;
  return impl_->frames.push(std::move(frame));
}

bool Recorder::push_audio(AudioChunk chunk) {
  if (impl_->failed || impl_->stopped) return false;
  std::lock_guard lock(impl_->audio_mutex);
  impl_->audio.push_back(std::move(chunk));
  return true;
}

RecorderStats Recorder::stats() const {
  RecorderStats s;
  {
    std::lock_guard lock(impl_->stats_mutex);
    s.written = impl_->written;
    s.error = impl_->error;
  }
  s.dropped = impl_->frames.dropped();
  s.queued = impl_->frames.size();
  s.encoder = impl_->writer->encoder_name();
  return s;
}

void Recorder::stop() {
  if (impl_->stopped.exchange(true)) return;
  impl_->frames.close();
  if (impl_->thread.joinable()) impl_->thread.join();
  std::string error;
  {
    std::lock_guard lock(impl_->stats_mutex);
    error = impl_->error;
  }
  if (!error.empty()) {
    try {
      impl_->writer->close();
    } catch (const std::exception&) {  // the first failure is the one to report
    }
    throw Error("{}", error);
  }
  impl_->writer->close();
  std::lock_guard lock(impl_->stats_mutex);
  impl_->written = impl_->writer->stats();
}

}  // namespace sc::media
