// One forward of a full-size UNet (the config and tensor manifest of a real
// checkpoint, random weights) at one image size; prints one JSON line with
// the best time of the repeats and the process's peak resident memory. One
// size per process, so each peak is that size's alone. compare_unet.py runs
// it next to diffusers on PyTorch with the same threads.
//   bench_unet CONFIG.json MANIFEST.txt IMAGE_SIZE [REPEATS]
#include <sys/resource.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "base/error.h"
#include "base/thread_pool.h"
#include "engine/models/unet/unet.h"
#include "tests/bench/common/random_models.h"

namespace {

using namespace sc::engine;

double peak_rss_mib() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_maxrss) / 1024.0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4) {
    std::fprintf(stderr, "usage: %s CONFIG.json MANIFEST.txt IMAGE_SIZE [REPEATS]\n", argv[0]);
    return 2;
  }
  try {
    const UNetConfig config = UNetConfig::from_config(Config::load(argv[1]));
    const int size = std::stoi(argv[3]);
    const int repeats = argc > 4 ? std::stoi(argv[4]) : 2;
    // Weights scaled by 1/sqrt(fan-in) so activations stay in range
    // (tests/bench/common/random_models.h).
    WeightSource w = sc::bench::random_weights(argv[2], 1234, Placement{});
    const UNet2DCondition unet = UNet2DCondition::load(w, config);
    const std::int64_t latent = size / 8;
    sc::bench::Rng rng(5);
    const Tensor sample = sc::bench::host_random({1, config.in_channels, latent, latent}, 1.0f, 0.0f, rng);
    const Tensor context = sc::bench::host_random({1, 77, config.cross_attention_dim}, 1.0f, 0.0f, rng);
    const std::vector<float> t{999.0f};
    double best = INFINITY;
    double checksum = 0;
    for (int r = 0; r < repeats; ++r) {
      const auto start = std::chrono::steady_clock::now();
      const Tensor out = unet.forward(sample, t, context);
      const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      best = std::min(best, s);
      checksum = 0;
      for (float v : out.to_vector<float>()) checksum += std::fabs(v);
    }
    std::printf(
        "{\"impl\": \"streamcanvas\", \"size\": %d, \"threads\": %d, \"seconds\": %.3f, \"peak_rss_mib\": %.0f, "
        "\"mean_abs_out\": %.4g}\n",
        size, sc::thread_pool().size(), best, peak_rss_mib(),
        checksum / static_cast<double>(latent * latent * config.out_channels));
    return 0;
  } catch (const sc::Error& e) {
    std::fprintf(stderr, "bench_unet: %s\n", e.what());
    return 1;
  }
}
