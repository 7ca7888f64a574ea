// Media throughput on this machine: 1080p H.264 decode (to RGBA, what the
// studio consumes) and 720p recording (RGBA -> H.264 MP4), frames per second
// and CPU cores used. Run: build/release/tests/bench/media/bench_media
// (tests/bench/media/run.sh adds FFmpeg's own command line as the baseline).
#include <benchmark/benchmark.h>
#include <sys/resource.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "media/source_spec.h"
#include "media/video_reader.h"
#include "media/video_writer.h"

namespace {

using sc::media::Frame;

double cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_utime.tv_sec + u.ru_utime.tv_usec * 1e-6 + u.ru_stime.tv_sec + u.ru_stime.tv_usec * 1e-6;
}

std::string clip_path() {
  const char* dir = std::getenv("SC_BENCH_DIR");
  return std::string(dir ? dir : "/tmp") + "/streamcanvas_bench_1080p.mp4";
}

// 120 frames of the 1080p test pattern, made once.
const std::string& clip_1080p() {
  static const std::string path = [] {
    std::string p = clip_path();
    if (!std::filesystem::exists(p)) {
      sc::media::VideoReader src(sc::media::parse_source_spec("test:1920x1080@30?pacing=fast"));
      sc::media::WriterOptions o;
      o.width = 1920;
      o.height = 1080;
      o.fps = 30;
      sc::media::VideoWriter w(p, o);
      Frame f;
      for (int i = 0; i < 120 && src.read(f); ++i) w.write(f);
      w.close();
    }
    return p;
  }();
  return path;
}

void BM_Decode1080pH264ToRgba(benchmark::State& state) {
  const std::string& path = clip_1080p();
  std::int64_t frames = 0;
  double cpu0 = cpu_seconds();
  auto t0 = std::chrono::steady_clock::now();
  for (auto _ : state) {
    sc::media::VideoReader r(sc::media::parse_source_spec(path));
    Frame f;
    while (r.read(f)) ++frames;
    benchmark::DoNotOptimize(f.planes[0]);
  }
  double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  state.SetItemsProcessed(frames);
  state.counters["fps"] = benchmark::Counter(double(frames), benchmark::Counter::kIsRate);
  state.counters["cpu_cores"] = (cpu_seconds() - cpu0) / wall;
}
BENCHMARK(BM_Decode1080pH264ToRgba)->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(3.0);

void BM_Record720pRgbaToH264(benchmark::State& state) {
  // Frames from the test pattern, prepared up front so only recording is timed.
  std::vector<Frame> frames;
  {
    sc::media::VideoReader src(sc::media::parse_source_spec("test:1280x720@30?pacing=fast"));
    for (int i = 0; i < 60; ++i) {
      Frame f;
      src.read(f);
      frames.push_back(f);
    }
  }
  const std::string out = clip_path() + ".record.mp4";
  std::int64_t written = 0;
  double cpu0 = cpu_seconds();
  auto t0 = std::chrono::steady_clock::now();
  for (auto _ : state) {
    sc::media::WriterOptions o;
    o.width = 1280;
    o.height = 720;
    o.fps = 30;
    sc::media::VideoWriter w(out, o);
    for (int i = 0; i < 120; ++i) w.write(frames[i % frames.size()]);
    w.close();
    written += 120;
  }
  double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  state.SetItemsProcessed(written);
  state.counters["fps"] = benchmark::Counter(double(written), benchmark::Counter::kIsRate);
  state.counters["cpu_cores"] = (cpu_seconds() - cpu0) / wall;
  std::filesystem::remove(out);
}
BENCHMARK(BM_Record720pRgbaToH264)->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(3.0);

}  // namespace

BENCHMARK_MAIN();
