// Volumetric playback on this machine:
//  - splat rendering at 1920x1080 for 100k and 1M Gaussians (ms per frame and
//    per stage) on whatever Vulkan device is present (lavapipe on a CPU box);
//  - V^3 playback without a GPU decoder: decode (one thread per stream) +
//    de-quantise of a 150k-Gaussian sequence, frames per second.
// Run: build/release/tests/bench/volumetric/bench_volumetric [--benchmark_filter=...]
#include <benchmark/benchmark.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <random>

#include "app/session/v3_player.h"
#include "app/session/v3_sequence.h"
#include "render/context.h"
#include "render/splat/splat_renderer.h"

namespace {

sc::render::VulkanContext& context() {
  static sc::render::VulkanContext ctx(sc::render::ContextOptions{});
  return ctx;
}

// n Gaussians in a 2x2x2 box in front of the camera, sizes like a real capture.
sc::render::GaussianCloud cloud(std::size_t n) {
  std::mt19937 rng(42);
  std::uniform_real_distribution<float> u(-1, 1);
  sc::render::GaussianCloud c;
  c.resize(n, 0);
  for (auto& v : c.positions) v = u(rng);
  const float base = 0.02f * std::cbrt(100000.0f / float(n));  // denser clouds, smaller splats
  for (auto& v : c.scales) v = base * std::exp(u(rng));
  for (auto& v : c.sh) v = u(rng);
  for (auto& v : c.opacities) v = 0.6f + 0.35f * u(rng);
  for (std::size_t i = 0; i < n; ++i) c.rotations[4 * i] = 1;
  return c;
}

void BM_Splat1080p(benchmark::State& state) {
  sc::render::SplatRenderer renderer(context());
  renderer.set_scene(cloud(std::size_t(state.range(0))));
  auto cam = sc::render::look_at_camera({0, 0, -3.2f}, {0, 0, 0}, {0, -1, 0}, 50, 1920, 1080);
  double project = 0, sort = 0, blend = 0, hits = 0;
  for (auto _ : state) {
    auto st = renderer.render(cam);
    project += st.project_ms;
    sort += st.sort_ms;
    blend += st.raster_ms;
    hits += st.intersections;
  }
  const double n = double(state.iterations());
  state.counters["project_ms"] = project / n;
  state.counters["sort_ms"] = sort / n;
  state.counters["blend_ms"] = blend / n;
  state.counters["tile_hits"] = hits / n;
  state.SetLabel(context().device_info().name);
}
BENCHMARK(BM_Splat1080p)->Arg(100000)->Arg(1000000)->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(3);

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
    for (int f = 0; f < seq.frame_count(); ++f) {
      const sc::app::V3Frame& q = decoder.decode(f);
      if (state.range(0)) benchmark::DoNotOptimize(sc::app::v3_dequantize(q).positions.data());
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
