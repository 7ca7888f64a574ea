// Splat rendering at 1920x1080 for 100k and 1M Gaussians, on whatever Vulkan
// device is present (lavapipe on a CPU machine, the NVIDIA driver in
// tests/device/run.sh). Time: wall clock per frame (render() records, submits
// and waits). Counters: GPU ms per pass from timestamps, p1..p7 in frame
// order (they add up to gpu_ms), fps from the wall clock, tile hits, and the
// cold first frame (first_frame_ms: buffers sized, the frame drawn again,
// first-use costs), which warm-up keeps out of the rest. Render-only: no
// FFmpeg, so it travels light to the GPU machine.
// Run: build/dev/tests/bench/volumetric/bench_splat (SC_VK_VALIDATION=0 in a
// debug build)
#include <benchmark/benchmark.h>

#include <cmath>
#include <map>
#include <memory>
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

sc::render::SplatCamera camera() {
  return sc::render::look_at_camera({0, 0, -3.2f}, {0, 0, 0}, {0, -1, 0}, 50, 1920, 1080);
}

// One renderer per size, with its scene uploaded and warmed up, kept across
// the benchmark's runs (the library calls the function again with more
// iterations until min time is reached).
struct Warm {
  std::unique_ptr<sc::render::SplatRenderer> renderer;
  double first_frame_ms = 0;  // cold: buffers sized, the frame drawn again, first-use costs
};

Warm& warm_renderer(std::size_t n) {
  sc::render::VulkanContext& ctx = context();  // made first, so it outlives the renderers
  static std::map<std::size_t, Warm> warm;
  Warm& w = warm[n];
  if (!w.renderer) {
    w.renderer = std::make_unique<sc::render::SplatRenderer>(ctx);
    w.renderer->set_scene(cloud(n));
    w.first_frame_ms = w.renderer->render(camera()).frame_ms;
    // A software device takes seconds a frame: the one above will do.
    const int more = ctx.device_info().software ? 0 : 4;
    for (int i = 0; i < more; ++i) w.renderer->render(camera());
  }
  return w;
}

void BM_Splat1080p(benchmark::State& state) {
  Warm& warm = warm_renderer(std::size_t(state.range(0)));
  sc::render::SplatRenderer& renderer = *warm.renderer;
  const auto cam = camera();
  sc::render::SplatPassTimes sum;
  double gpu = 0, wall = 0, hits = 0, attempts = 0;
  for (auto _ : state) {
    const sc::render::SplatStats st = renderer.render(cam);
    const sc::render::SplatPassTimes& p = st.passes;
    sum.preprocess_ms += p.preprocess_ms;
    sum.depth_sort_ms += p.depth_sort_ms;
    sum.scan_ms += p.scan_ms;
    sum.keys_ms += p.keys_ms;
    sum.tile_sort_ms += p.tile_sort_ms;
    sum.ranges_ms += p.ranges_ms;
    sum.blend_ms += p.blend_ms;
    gpu += st.gpu_ms;
    wall += st.frame_ms;
    hits += st.intersections;
    attempts += st.attempts;
  }
  const double n = double(state.iterations());
  state.counters["gpu_ms"] = gpu / n;
  state.counters["fps"] = 1000.0 * n / wall;
  state.counters["p1_preprocess"] = sum.preprocess_ms / n;
  state.counters["p2_depth_sort"] = sum.depth_sort_ms / n;
  state.counters["p3_scan"] = sum.scan_ms / n;
  state.counters["p4_keys"] = sum.keys_ms / n;
  state.counters["p5_tile_sort"] = sum.tile_sort_ms / n;
  state.counters["p6_ranges"] = sum.ranges_ms / n;
  state.counters["p7_blend"] = sum.blend_ms / n;
  state.counters["tile_hits"] = hits / n;
  state.counters["first_frame_ms"] = warm.first_frame_ms;
  if (attempts > n) state.counters["redraws"] = attempts - n;  // should not happen once warm
  state.SetLabel(context().device_info().name);
}
// Iterations until a second of frames: hundreds on a GPU, one on lavapipe.
BENCHMARK(BM_Splat1080p)->Arg(100000)->Arg(1000000)->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(1.0);

}  // namespace

BENCHMARK_MAIN();
