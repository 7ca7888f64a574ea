// Splat rendering at 1920x1080 for 100k and 1M Gaussians: ms per frame and per
// stage, on whatever Vulkan device is present (lavapipe on a CPU machine, the
// NVIDIA driver in tests/device/run.sh). Render-only: no FFmpeg, so it travels
// light to the GPU machine.
// Run: build/release/tests/bench/volumetric/bench_splat
#include <benchmark/benchmark.h>

#include <cmath>
#include <random>

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

}  // namespace

BENCHMARK_MAIN();
