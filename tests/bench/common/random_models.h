#pragma once
// Full-size models with random weights for benchmarks: the real checkpoints'
// tensor names and shapes (tests/golden/manifests), seeded uniform values
// scaled by 1/sqrt(fan-in) (norm gains around 1) so activations stay in range:
// a forward full of overflow or denormals would time something else. Weights
// go where `placement` says (f32 CPU, or f16 CUDA, ...).
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

#include "engine/config.h"
#include "engine/models/taesd/taesd.h"
#include "engine/models/unet/unet.h"
#include "engine/models/weights.h"
#include "engine/ops.h"
#include "engine/pipelines/stream_diffusion.h"

namespace sc::bench {

// xorshift: fast enough for the UNet's 865M weights (std::normal_distribution
// takes tens of seconds there).
struct Rng {
  std::uint64_t s;
  explicit Rng(std::uint64_t seed) : s(seed * 0x9E3779B97F4A7C15ull + 1) {}
  float uniform() {  // [-1, 1)
    s ^= s << 13;
    s ^= s >> 7;
    s ^= s << 17;
    return static_cast<float>(static_cast<double>(s >> 11) * (2.0 / 9007199254740992.0) - 1.0);
  }
};

// Uniform with the given mean and standard deviation, f32 on the CPU.
inline engine::Tensor host_random(const engine::Shape& shape, float stddev, float mean, Rng& rng) {
  engine::Tensor t = engine::Tensor::empty(shape);
  float* p = t.data<float>();
  const float a = stddev * std::sqrt(3.0f);
  for (std::int64_t i = 0; i < t.numel(); ++i) p[i] = mean + a * rng.uniform();
  return t;
}

// A frame's packed RGBA8 pixels (u8 [height, width, 4] on the CPU), what
// StreamDiffusion::process_rgba8 takes.
inline engine::Tensor random_rgba8(int width, int height, Rng& rng) {
  engine::Tensor t = engine::Tensor::empty({height, width, 4}, engine::DType::kU8);
  std::uint8_t* p = t.data<std::uint8_t>();
  for (std::int64_t i = 0; i < t.numel(); ++i) p[i] = static_cast<std::uint8_t>(127.5f + 127.5f * rng.uniform());
  return t;
}

// SC_<NAME> overrides the path; else it is relative to the source tree.
inline std::filesystem::path source_path(const char* env, const char* relative) {
  if (const char* p = std::getenv(env); p && *p) return p;
  return std::filesystem::path(SC_SOURCE_DIR) / relative;
}

inline engine::WeightSource random_weights(const std::filesystem::path& manifest, std::uint64_t seed,
                                           const engine::Placement& placement) {
  auto rng = std::make_shared<Rng>(seed);
  engine::WeightSource w = engine::WeightSource::from_maker(
      engine::load_manifest(manifest), manifest.string(), [rng](const engine::ManifestEntry& e) {
        const engine::Shape shape(e.shape);
        if (e.shape.size() == 1) {
          const bool gain = e.name.ends_with("norm.weight") || e.name.find("norm1.weight") != std::string::npos ||
                            e.name.find("norm2.weight") != std::string::npos ||
                            e.name.find("norm3.weight") != std::string::npos;
          return host_random(shape, 0.02f, gain ? 1.0f : 0.0f, *rng);
        }
        const float fan_in = static_cast<float>(shape.numel() / shape[0]);
        return host_random(shape, 1.0f / std::sqrt(fan_in), 0.0f, *rng);
      });
  w.set_placement(placement);
  return w;
}

// sd-turbo's UNet (the SD 2.1 architecture, cross-attention 1024).
inline engine::UNet2DCondition random_sd_turbo_unet(const engine::Placement& placement) {
  const auto config = source_path("SC_UNET_CONFIG", "tests/golden/manifests/config/sd-turbo/unet.config.json");
  const auto manifest = source_path("SC_UNET_MANIFEST", "tests/golden/manifests/sd-turbo_unet.txt");
  engine::WeightSource w = random_weights(manifest, 1234, placement);
  return engine::UNet2DCondition::load(w, engine::UNetConfig::from_config(engine::Config::load(config)));
}

// TAESD (madebyollin/taesd, diffusers layout).
inline engine::Taesd random_taesd(const engine::Placement& placement) {
  const auto config = source_path("SC_TAESD_CONFIG", "tests/golden/manifests/config/taesd/config.json");
  const auto manifest = source_path("SC_TAESD_MANIFEST", "tests/golden/manifests/taesd.txt");
  engine::WeightSource w = random_weights(manifest, 99, placement);
  return engine::Taesd::load(w, engine::TaesdConfig::from_config(engine::Config::load(config)));
}

// StreamDiffusion's codec over a TAESD (which must outlive it).
inline engine::LatentCodec taesd_codec(const engine::Taesd& taesd) {
  return engine::LatentCodec{"TAESD",
                             [&taesd](const engine::Tensor& x) {
                               return engine::scale(taesd.encoder.forward(x), taesd.config.scaling_factor);
                             },
                             [&taesd](const engine::Tensor& x) {
                               return taesd.decoder.forward(engine::scale(x, 1.0f / taesd.config.scaling_factor));
                             }};
}

}  // namespace sc::bench
