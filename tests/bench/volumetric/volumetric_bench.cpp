// V^3 playback without a GPU decoder: decode (one thread per stream) and
// de-quantise a 150k-Gaussian sequence, frames per second; and the player's
// load step (decode + de-quantise + upload) on the present Vulkan device.
// Run: build/release/tests/bench/volumetric/bench_volumetric
#include <benchmark/benchmark.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <random>

#include "app/modes/volumetric/v3_player.h"
#include "app/modes/volumetric/v3_sequence.h"
#include "render/context.h"
#include "render/splat/splat_renderer.h"

namespace {

sc::render::VulkanContext& context() {
  static sc::render::VulkanContext ctx(sc::render::ContextOptions{});
  return ctx;
}

const std::filesystem::path& sequence_150k() {
  static const std::filesystem::path dir = [] {
    const char* base = std::getenv("SC_BENCH_DIR");
    std::filesystem::path d = std::filesystem::path(base ? base : "/tmp") / "streamcanvas_bench_v3_150k";
    if (!std::filesystem::exists(d / "viewer_min_max.json")) {
      constexpr int kFrames = 40;
      sc::app::V3EncodeOptions o;  // V^3's defaults: groups of 20, qp 25
      sc::app::v3_encode(
          kFrames, [](int i) { return sc::app::v3_sample_frame(i, kFrames, 150000); }, d, o);
    }
    return d;
  }();
  return dir;
}

void BM_V3DecodeDequantiseCpu150k(benchmark::State& state) {
  auto seq = sc::app::V3Sequence::open(sequence_150k());
  std::int64_t frames = 0;
  for (auto _ : state) {
    sc::app::V3Decoder decoder(seq);
    sc::render::GaussianCloud cloud;  // reused frame to frame, as playback does
    for (int f = 0; f < seq.frame_count(); ++f) {
      const sc::app::V3Frame& q = decoder.decode(f);
      if (state.range(0)) {
        sc::app::v3_dequantize(q, cloud);
        benchmark::DoNotOptimize(cloud.positions.data());
      }
      ++frames;
    }
  }
  state.counters["fps"] = benchmark::Counter(double(frames), benchmark::Counter::kIsRate);
  state.SetLabel(state.range(0) ? "decode + CPU de-quantise" : "decode only");
}
BENCHMARK(BM_V3DecodeDequantiseCpu150k)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(2);

void BM_V3PlayerLoad150k(benchmark::State& state) {
  // What the player does per frame: decode + GPU de-quantise.
  sc::app::V3Player player(context(), sequence_150k());
  const int frames = player.sequence().frame_count();
  std::int64_t n = 0;
  for (auto _ : state) {
    for (int f = 0; f < frames; ++f) player.load(f);
    n += frames;
    player.load(frames - 1 > 0 ? 0 : 0);
  }
  state.counters["fps"] = benchmark::Counter(double(n), benchmark::Counter::kIsRate);
  state.SetLabel(context().device_info().name);
}
BENCHMARK(BM_V3PlayerLoad150k)->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(2);

}  // namespace

BENCHMARK_MAIN();
