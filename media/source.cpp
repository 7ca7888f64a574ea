#include "media/source.h"

#include <atomic>
#include <mutex>
#include <thread>

#include "base/log.h"

namespace sc::media {

struct SourceThread::Impl {
  std::unique_ptr<VideoReader> reader;
  Sink sink;
  std::int64_t max_frames = 0;
  std::atomic<bool> stop_requested{false};
  mutable std::mutex mutex;
  SourceStatus status;
  std::thread thread;

  void finish(SourceEnd end, std::string message) {
    std::lock_guard lock(mutex);
    status.end = end;
    status.message = std::move(message);
  }

  void run() {
    const std::string& name = reader->spec().text;
    try {
      Frame frame;
      for (;;) {
        if (stop_requested) return finish(SourceEnd::kStopped, "stopped");
        if (max_frames > 0 && status.frames >= max_frames) return finish(SourceEnd::kFinished, "frame limit reached");
        if (!reader->read(frame)) {
          if (stop_requested) return finish(SourceEnd::kStopped, "stopped");
          log::debug("source '{}' ended after {} frames", name, status.frames);
          return finish(SourceEnd::kFinished, "the source ended");
        }
        {
          std::lock_guard lock(mutex);
          ++status.frames;
        }
        // The sink gets this frame's pixels; the next read allocates anew.
        if (!sink(std::move(frame))) return finish(SourceEnd::kStopped, "the consumer stopped");
        frame = Frame{};
      }
    } catch (const std::exception& e) {
      log::error("{}", e.what());
      finish(SourceEnd::kFailed, e.what());
    }
  }
};

SourceThread::SourceThread(const SourceSpec& spec, Sink sink, const ReaderOptions& options, std::int64_t max_frames)
    : impl_(std::make_unique<Impl>()) {
  impl_->reader = std::make_unique<VideoReader>(spec, options);
  impl_->sink = std::move(sink);
  impl_->max_frames = max_frames;
  impl_->thread = std::thread([this] { impl_->run(); });
}

SourceThread::~SourceThread() { stop(); }

const StreamInfo& SourceThread::info() const { return impl_->reader->info(); }

void SourceThread::stop() {
  impl_->stop_requested = true;
  impl_->reader->interrupt();
  if (impl_->thread.joinable()) impl_->thread.join();
}

SourceStatus SourceThread::wait() {
  if (impl_->thread.joinable()) impl_->thread.join();
  return status();
}

SourceStatus SourceThread::status() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->status;
}

}  // namespace sc::media
