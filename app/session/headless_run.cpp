#include "app/session/headless_run.h"

#include <chrono>
#include <cmath>
#include <exception>
#include <thread>

#include "app/session/bounded_queue.h"
#include "base/error.h"
#include "media/source_spec.h"
#include "media/video_reader.h"
#include "media/video_writer.h"

namespace sc::app {

HeadlessResult run_headless(const HeadlessOptions& options,
                            const std::function<void(const HeadlessProgress&)>& progress) {
  if (options.output.empty()) throw Error("no output file given (use --output FILE.mp4)");
  media::SourceSpec spec = media::parse_source_spec(options.source, media::Pacing::kFast);
  if (spec.kind != media::SourceKind::kFile) spec.pacing = media::Pacing::kFast;  // offline render: no waiting
  if (spec.live() && spec.kind != media::SourceKind::kTest && options.max_frames <= 0 && options.max_seconds <= 0)
    throw Error("source '{}' never ends: give --frames or --duration", spec.text);

  media::VideoReader reader(spec);
  const media::StreamInfo& info = reader.info();
  double fps = info.fps > 0 ? info.fps : 30.0;
  std::int64_t limit = options.max_frames;
  if (options.max_seconds > 0) {
    auto by_time = static_cast<std::int64_t>(std::llround(options.max_seconds * fps));
    limit = limit > 0 ? std::min(limit, by_time) : by_time;
  }
  if (limit <= 0 && spec.kind == media::SourceKind::kTest) limit = static_cast<std::int64_t>(std::llround(5 * fps));
  std::int64_t total =
      limit > 0 ? (info.frame_count > 0 ? std::min(limit, info.frame_count) : limit) : info.frame_count;

  media::WriterOptions wopt;
  wopt.width = info.width & ~1;
  wopt.height = info.height & ~1;
  wopt.fps = fps;
  media::VideoWriter writer(options.output, wopt);

  // Reader on its own thread; a blocking queue keeps the render frame-exact.
  BoundedQueue<media::Frame> queue(4, QueuePolicy::kBlocking);
  std::exception_ptr reader_error;
  std::thread reader_thread([&] {
    try {
      std::int64_t n = 0;
      while (limit <= 0 || n < limit) {
        media::Frame f;
        if (!reader.read(f)) break;
        if (!queue.push(std::move(f))) break;
        ++n;
      }
    } catch (...) {
      reader_error = std::current_exception();
    }
    queue.close();
  });

  auto start = std::chrono::steady_clock::now();
  HeadlessResult result;
  std::exception_ptr writer_error;
  try {
    while (auto f = queue.pop()) {
      if (f->width != wopt.width || f->height != wopt.height) {
        // Odd-sized sources: crop to the even size the encoder needs.
        media::Frame c = media::Frame::make_rgba(wopt.width, wopt.height);
        for (int y = 0; y < c.height; ++y) std::copy_n(f->row(y), c.pitch_bytes, c.row(y));
        f = std::move(c);
      }
      writer.write(*f);
      ++result.frames;
      HeadlessProgress p;
      p.frames = result.frames;
      p.total_frames = total;
      p.elapsed_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      p.fps = p.elapsed_s > 0 ? p.frames / p.elapsed_s : 0;
      if (progress) progress(p);
    }
  } catch (...) {
    writer_error = std::current_exception();
  }
  queue.close();
  reader_thread.join();
  // Finish the file even when the source failed: keep what was recorded.
  if (writer_error) {
    try {
      writer.close();
    } catch (...) {  // the first error is the one worth reporting
    }
    std::rethrow_exception(writer_error);
  }
  writer.close();
  if (reader_error) std::rethrow_exception(reader_error);
  result.elapsed_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  result.width = wopt.width;
  result.height = wopt.height;
  result.fps = fps;
  result.output = options.output;
  return result;
}

}  // namespace sc::app
