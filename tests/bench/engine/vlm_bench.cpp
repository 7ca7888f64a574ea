// LLaVA-OneVision at the shapes of a real checkpoint (its config and tensor
// manifest, random weights): vision ms per frame, prefill tokens/s and
// decode tokens/s of a prompt with FRAMES frames of video, on the CPU or
// (--device cuda) the GPU; prints one JSON line. compare_vlm.py runs it next
// to transformers with the same threads and inputs' shapes.
//   bench_vlm CONFIG.json MANIFEST.txt FRAMES TEXT_TOKENS NEW_TOKENS [REPEATS] [--device cuda]
#include <sys/resource.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "base/error.h"
#include "engine/cuda/runtime.h"
#include "engine/device.h"
#include "engine/models/llava_onevision/llava_onevision.h"
#include "tests/bench/common/random_models.h"

namespace {

using namespace sc::engine;
using Clock = std::chrono::steady_clock;

double peak_rss_mib() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_maxrss) / 1024.0;
}

double seconds(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// Waits for the device (nothing on the CPU).
void sync(const Tensor&) { cuda::synchronize(); }

}  // namespace

int main(int argc, char** argv) {
  if (argc < 6) {
    std::fprintf(stderr, "usage: %s CONFIG.json MANIFEST.txt FRAMES TEXT_TOKENS NEW_TOKENS [REPEATS] [--device cuda]\n",
                 argv[0]);
    return 2;
  }
  try {
    const LlavaOnevisionConfig config = LlavaOnevisionConfig::from_config(Config::load(argv[1]));
    const int frames = std::stoi(argv[3]), text_tokens = std::stoi(argv[4]), new_tokens = std::stoi(argv[5]);
    int repeats = 2;
    Placement placement;
    for (int i = 6; i < argc; ++i) {
      const std::string a = argv[i];
      if (a == "--device" && i + 1 < argc && std::string(argv[i + 1]) == "cuda") {
        placement = {Device::kCuda, DType::kF16};
        ++i;
      } else {
        repeats = std::stoi(a);
      }
    }
    WeightSource w = sc::bench::random_weights(argv[2], 4321, placement);
    const LlavaOnevisionModel model = LlavaOnevisionModel::load(w, config);
    sc::bench::Rng rng(9);
    const std::int64_t side = config.vision.image_size;
    const Tensor pixels = sc::bench::host_random({frames, 3, side, side}, 0.5f, 0.0f, rng);

    double vision = INFINITY;
    Tensor video;
    for (int r = 0; r < repeats; ++r) {
      const auto t = Clock::now();
      video = model.video_features(pixels);
      sync(video);
      vision = std::min(vision, seconds(t));
    }
    // The prompt: text around the video placeholders, as the chat template
    // lays it out (a few tokens before, the question after).
    std::vector<std::int64_t> ids;
    for (int i = 0; i < 5; ++i) ids.push_back(1000 + i);
    ids.insert(ids.end(), static_cast<std::size_t>(config.video_tokens(frames)), config.video_token_index);
    for (int i = 5; i < text_tokens; ++i) ids.push_back(2000 + 7 * i);
    const auto prompt = static_cast<std::int64_t>(ids.size());

    double prefill = INFINITY, decode = INFINITY;
    std::int64_t decoded = 0;
    for (int r = 0; r < repeats; ++r) {
      KvCache cache = model.make_cache(prompt + new_tokens + 1);
      auto t = Clock::now();
      const Tensor logits = model.prefill(ids, video, cache);
      sync(logits);
      prefill = std::min(prefill, seconds(t));
      GreedyOptions options;
      options.max_new_tokens = new_tokens;
      t = Clock::now();
      const GreedyResult g = decode_greedy(model.language_model().step(), cache, logits, options);
      // The first id comes from the prefill's logits: new_tokens - 1 steps.
      decode = std::min(decode, seconds(t) - g.first_token_s);
      decoded = static_cast<std::int64_t>(g.ids.size());
    }
    std::printf(
        "{\"device\": \"%s\", \"frames\": %d, \"vision_ms_per_frame\": %.2f, \"prefill_tokens\": %lld, "
        "\"prefill_tokens_per_s\": %.1f, \"decode_tokens\": %lld, \"decode_tokens_per_s\": %.2f, "
        "\"peak_rss_mib\": %.0f}\n",
        placement.device == Device::kCuda ? "cuda" : "cpu", frames, vision * 1e3 / frames,
        static_cast<long long>(prompt), static_cast<double>(prompt) / prefill, static_cast<long long>(decoded),
        decoded > 1 ? static_cast<double>(decoded - 1) / decode : 0.0, peak_rss_mib());
    return 0;
  } catch (const sc::Error& e) {
    std::fprintf(stderr, "bench_vlm: %s\n", e.what());
    return 1;
  }
}
