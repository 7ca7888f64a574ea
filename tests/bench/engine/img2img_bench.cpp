// End-to-end StreamDiffusion img2img with sd-turbo-shaped models (random
// weights, tests/golden/manifests): RGBA8 frames in, RGBA8 frames out on the
// host, as the studio runs it (StreamDiffusion::process_rgba8); prints fps, the capture -> output latency and the
// per-stage breakdown. The same program times the CPU path here and the GPU path on a GPU machine (the device suite
// runs the GPU variant inside bench_engine_cuda).
//   bench_img2img [--device cpu|cuda] [--size 512] [--steps 1] [--frames 4] [--frame-buffer 1]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "base/error.h"
#include "base/thread_pool.h"
#include "engine/ops.h"
#include "engine/pipelines/stream_diffusion.h"
#include "tests/bench/common/random_models.h"

using namespace sc;
using namespace sc::engine;

int main(int argc, char** argv) {
  std::string device = "cpu";
  int size = 512, steps = 1, frames = 4, fb = 1;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i], value = argv[i + 1];
    if (flag == "--device") {
      device = value;
    } else if (flag == "--size") {
      size = std::stoi(value);
    } else if (flag == "--steps") {
      steps = std::stoi(value);
    } else if (flag == "--frames") {
      frames = std::stoi(value);
    } else if (flag == "--frame-buffer") {
      fb = std::stoi(value);
    } else {
      std::fprintf(stderr, "usage: %s [--device cpu|cuda] [--size N] [--steps 1-4] [--frames N] [--frame-buffer N]\n",
                   argv[0]);
      return 2;
    }
  }
  try {
    const Placement placement =
        device == "cuda" ? Placement{Device::kCuda, DType::kF16} : Placement{Device::kCpu, DType::kF32};
    const UNet2DCondition unet = bench::random_sd_turbo_unet(placement);
    const Taesd taesd = bench::random_taesd(placement);
    const LatentCodec codec = bench::taesd_codec(taesd);
    StreamParams p;
    p.t_index_list = t_index_list_for(0.5f, steps);
    p.cfg = CfgMode::kNone;
    p.guidance = 0.0f;
    p.width = p.height = size;
    p.frame_buffer_size = fb;
    StreamDiffusion stream(&unet, codec, LcmScheduler{}, p);
    bench::Rng rng(7);
    stream.set_prompt_embeds(bench::host_random({1, 77, unet.config().cross_attention_dim}, 1.0f, 0.0f, rng), Tensor());
    const std::vector<Tensor> frame(static_cast<std::size_t>(fb), bench::random_rgba8(size, size, rng));
    // Warm-up: the latent buffer fills (steps - 1 frames), plans and graphs are made.
    for (int i = 0; i < steps + 2; ++i) stream.process_rgba8(frame);
    const StreamDiffusion::Counters before = stream.counters();
    std::vector<double> ms;
    for (int i = 0; i < frames; ++i) {
      const auto t0 = std::chrono::steady_clock::now();
      const StreamDiffusion::PixelResult r = stream.process_rgba8(frame);
      ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count() / fb);
      if (!r.rgba.defined()) throw Error("no image after warm-up");
    }
    const StreamDiffusion::Counters& after = stream.counters();
    std::sort(ms.begin(), ms.end());
    const double median = ms[ms.size() / 2];
    const double n = static_cast<double>(frames) * fb;
    std::printf(
        "{\"device\": \"%s\", \"size\": %d, \"steps\": %d, \"frame_buffer\": %d, \"threads\": %d, \"ms_per_frame\": "
        "%.1f, "
        "\"fps\": %.3f, "
        "\"latency_ms\": %.1f, \"preprocess_ms\": %.2f, \"encode_ms\": %.1f, \"unet_ms\": %.1f, \"decode_ms\": %.1f, "
        "\"postprocess_ms\": %.2f}\n",
        device.c_str(), size, steps, fb, thread_pool().size(), median, 1000.0 / median,
        median * fb * steps + median * (fb - 1), (after.preprocess_s - before.preprocess_s) * 1e3 / n,
        (after.encode_s - before.encode_s) * 1e3 / n, (after.unet_s - before.unet_s) * 1e3 / n,
        (after.decode_s - before.decode_s) * 1e3 / n, (after.postprocess_s - before.postprocess_s) * 1e3 / n);
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_img2img: %s\n", e.what());
    return 1;
  }
}
