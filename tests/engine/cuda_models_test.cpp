// The diffusion models on CUDA against the diffusers / transformers reference
// outputs of the golden fixtures (tests/golden/fixtures/diffusion_*, the same
// ones golden_models_test.cpp runs on the CPU): weights placed on the GPU at
// load (WeightSource::set_placement), inputs uploaded in the same dtype,
// outputs compared in f32. fp16 must be within relative L2 1e-2, f32 within
// 1e-4, the UNet (and Qwen2) in bf16 within 3e-2. Also: forward_embedded, a CUDA graph of
// the UNet, and no cudaMalloc after the first forward. Skipped with a message
// where no GPU is usable (cuda_test_util.h).
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "base/error.h"
#include "cuda_test_util.h"
#include "engine/config.h"
#include "engine/cuda/runtime.h"
#include "engine/models/clip_text/clip_text.h"
#include "engine/llm/sampling.h"
#include "engine/models/llava_onevision/llava_onevision.h"
#include "engine/models/llava_onevision/video_processor.h"
#include "engine/models/qwen2/qwen2.h"
#include "engine/models/taesd/taesd.h"
#include "engine/models/unet/unet.h"
#include "engine/models/vae/autoencoder_kl.h"
#include "engine/models/weights.h"
#include "engine/ops.h"
#include "engine/safetensors.h"
#include "model_test_util.h"
#include "tests/common/expect_error.h"

namespace sc::engine {
namespace {

namespace fs = std::filesystem;
using test::bit_equal;
using test::download;
using test::fixture_dir;
using test::float_dtypes;
using test::gpu;
using test::relative_l2;
using test::upload;

using CudaModels = test::CudaTest;
using CudaModelsRuntime = test::CudaRuntimeTest;

constexpr DType kF32 = DType::kF32;
constexpr DType kF16 = DType::kF16;
constexpr DType kBF16 = DType::kBF16;

// The fixture's reference is f32 diffusers on the CPU.
double model_tolerance(DType dtype) { return dtype == kF32 ? test::kModelTolerance : dtype == kF16 ? 1e-2 : 3e-2; }

// The weights of a fixture folder, placed on the GPU in `dtype`.
WeightSource placed_weights(const fs::path& dir, DType dtype, const std::string& variant = "") {
  WeightSource w = WeightSource::from_file(find_weights_file(dir, variant));
  w.set_placement(gpu(), dtype);
  return w;
}

// A result of a GPU model: on the GPU, in the model's dtype; back as f32.
Tensor fetch(const Tensor& out, DType dtype) {
  EXPECT_EQ(out.device(), gpu()) << out.describe();
  EXPECT_EQ(out.dtype(), dtype) << out.describe();
  return download(out);
}

void expect_matches(const std::string& what, DType dtype, const Tensor& got, const Tensor& want) {
  const double err = relative_l2(got, want);
  std::printf("%s on %s in %s: rel L2 %.3g (tolerance %.3g)\n", what.c_str(), to_string(gpu()), to_string(dtype), err,
              model_tolerance(dtype));
  ::testing::Test::RecordProperty("rel_l2_" + what + "_" + to_string(dtype), std::to_string(err));
  EXPECT_LT(err, model_tolerance(dtype)) << what << " in " << to_string(dtype);
}

// ---- TAESD ---------------------------------------------------------------------

void check_taesd(DType dtype) {
  const fs::path dir = fixture_dir("diffusion_taesd");
  WeightSource w = placed_weights(dir, dtype);
  Taesd taesd = Taesd::load(w, TaesdConfig::from_config(Config::load(dir / "config.json")));
  EXPECT_TRUE(w.unused().empty());
  // Weights on the GPU run channels-last by default; channels-first as well.
  EXPECT_EQ(taesd.encoder.channels_last(), !test::cpu_stand_in());
  const SafetensorsFile io = SafetensorsFile::open(dir / "io.safetensors");
  for (bool channels_last : {true, false}) {
    taesd.set_channels_last(channels_last);
    const std::string layout = channels_last ? " NHWC" : " NCHW";
    expect_matches("TAESD encoder" + layout, dtype,
                   fetch(taesd.encoder.forward(upload(io.load("image"), dtype)), dtype), io.load("encoded"));
    expect_matches("TAESD decoder" + layout, dtype,
                   fetch(taesd.decoder.forward(upload(io.load("latent"), dtype)), dtype), io.load("decoded"));
  }
}

TEST_F(CudaModels, TaesdF16MatchesDiffusers) {
  if (test::cpu_stand_in()) GTEST_SKIP() << "f16 needs a GPU";
  check_taesd(kF16);
}
TEST_F(CudaModels, TaesdF32MatchesDiffusers) { check_taesd(kF32); }

TEST_F(CudaModels, TaesdFp16FileLoadsOntoTheGpu) {
  // A *.fp16.safetensors checkpoint, placed as f16: the weights are exact.
  const fs::path dir = fixture_dir("diffusion_taesd_fp16");
  for (DType dtype : float_dtypes({kF16, kF32})) {
    WeightSource w = placed_weights(dir, dtype, "fp16");
    const Taesd taesd = Taesd::load(w, TaesdConfig::from_config(Config::load(dir / "config.json")));
    const SafetensorsFile io = SafetensorsFile::open(dir / "io.safetensors");
    expect_matches("TAESD fp16 file decoder", dtype,
                   fetch(taesd.decoder.forward(upload(io.load("latent"), dtype)), dtype), io.load("decoded"));
  }
}

// ---- AutoencoderKL -------------------------------------------------------------

void check_vae(DType dtype) {
  const fs::path dir = fixture_dir("diffusion_vae");
  WeightSource w = placed_weights(dir, dtype);
  const AutoencoderKl vae = AutoencoderKl::load(w, AutoencoderKlConfig::from_config(Config::load(dir / "config.json")));
  EXPECT_TRUE(w.unused().empty());
  const SafetensorsFile io = SafetensorsFile::open(dir / "io.safetensors");
  const AutoencoderKl::Moments m = vae.encode(upload(io.load("image"), dtype));
  expect_matches("VAE mean", dtype, fetch(m.mean, dtype), io.load("mean"));
  expect_matches("VAE logvar", dtype, fetch(m.logvar, dtype), io.load("logvar"));
  expect_matches("VAE decoder", dtype, fetch(vae.decode(upload(io.load("latent"), dtype)), dtype), io.load("decoded"));
  expect_matches("VAE decode_scaled", dtype,
                 fetch(vae.decode_scaled(upload(scale(io.load("latent"), 0.18215f), dtype)), dtype),
                 io.load("decoded"));
}

TEST_F(CudaModels, VaeF16MatchesDiffusers) {
  if (test::cpu_stand_in()) GTEST_SKIP() << "f16 needs a GPU";
  check_vae(kF16);
}
TEST_F(CudaModels, VaeF32MatchesDiffusers) { check_vae(kF32); }

// ---- CLIP text -----------------------------------------------------------------

void check_clip(const std::string& name, DType dtype) {
  const fs::path dir = fixture_dir(name);
  WeightSource w = placed_weights(dir, dtype);
  const ClipTextModel model = ClipTextModel::load(w, ClipTextConfig::from_config(Config::load(dir / "config.json")));
  EXPECT_TRUE(w.unused().empty());
  const SafetensorsFile io = SafetensorsFile::open(dir / "io.safetensors");
  const Tensor ids = to_dtype(io.load("ids"), DType::kI64);
  expect_matches(name, dtype, fetch(model.forward(upload(ids)), dtype), io.load("hidden"));
  // i32 ids give the same, and one sequence alone gives its rows of the batch.
  expect_matches(name + " i32 ids", dtype, fetch(model.forward(upload(to_dtype(ids, DType::kI32))), dtype),
                 io.load("hidden"));
  expect_matches(name + " one sequence", dtype, fetch(model.forward(upload(ids.slice(0, 1, 2))), dtype),
                 io.load("hidden").slice(0, 1, 2));
}

TEST_F(CudaModels, ClipTextQuickGeluF16MatchesTransformers) {
  if (test::cpu_stand_in()) GTEST_SKIP() << "f16 needs a GPU";
  check_clip("diffusion_clip_text_quick_gelu", kF16);
}
TEST_F(CudaModels, ClipTextGeluF16MatchesTransformers) {
  if (test::cpu_stand_in()) GTEST_SKIP() << "f16 needs a GPU";
  check_clip("diffusion_clip_text_gelu", kF16);
}
TEST_F(CudaModels, ClipTextF32MatchesTransformers) {
  check_clip("diffusion_clip_text_quick_gelu", kF32);
  check_clip("diffusion_clip_text_gelu", kF32);
}

// ---- Qwen2 ---------------------------------------------------------------------

// The Qwen2 fixture (gen_qwen2.py) with its weights, KV cache and logits on
// the GPU: every position's logits, the incremental decode (prefill 7, then
// 5 single steps) against the full forward, input embeddings, and, in f32,
// the greedy ids (an f16 rounding may flip a choice the reference makes by
// a margin of 0.009); the sampler on the GPU's logits against the same
// logits on the host.
void check_qwen2(DType dtype) {
  const fs::path dir = fixture_dir("qwen2_tiny");
  WeightSource w = placed_weights(dir, dtype);
  const Qwen2Model model = Qwen2Model::load(w, Qwen2Config::from_config(Config::load(dir / "config.json")));
  EXPECT_TRUE(w.unused().empty());
  EXPECT_EQ(model.device(), gpu());
  const SafetensorsFile io = SafetensorsFile::open(dir / "io.safetensors");
  const Tensor ids = io.load("ids").reshape({12});
  Qwen2Model::ForwardOptions all;
  all.all_logits = true;
  KvCache full = model.make_cache(12);
  EXPECT_EQ(full.device(), gpu());
  expect_matches("Qwen2 logits", dtype, fetch(model.forward(ids, full, all), dtype), io.load("logits"));
  KvCache cache = model.make_cache(12);
  std::vector<Tensor> rows{fetch(model.forward(ids.slice(0, 0, 7), cache, all), dtype)};
  for (std::int64_t i = 7; i < 12; ++i) rows.push_back(fetch(model.forward(ids.slice(0, i, i + 1), cache), dtype));
  expect_matches("Qwen2 incremental decode", dtype, concat(rows, 1), io.load("incremental_logits"));
  KvCache e = model.make_cache(5);
  expect_matches("Qwen2 input embeddings", dtype,
                 fetch(model.forward_embeddings(upload(io.load("embeds"), dtype), e, all), dtype),
                 io.load("embeds_logits"));
  if (dtype == kF32) {
    GreedyOptions options;
    options.max_new_tokens = 8;
    const std::vector<std::int64_t> prompt = ids.to_vector<std::int64_t>();
    EXPECT_EQ(model.generate(prompt, options).ids, io.load("greedy_ids").to_vector<std::int64_t>());
    GenerationOptions top1;
    top1.max_new_tokens = 8;
    top1.sampling.temperature = 1.0f;
    top1.sampling.top_k = 1;
    EXPECT_EQ(model.generate(prompt, top1).ids, io.load("greedy_ids").to_vector<std::int64_t>());
  }
  // The sampler on the GPU's logits (its topk, embedding gather, exp and sum
  // run there; f16 / bf16 rows widened there) decides as it does on the same
  // logits copied to the host: the same kept ids and draws.
  KvCache s = model.make_cache(12);
  const Tensor last = model.forward(ids, s);
  const Tensor host = fetch(last, dtype);
  const std::vector<std::int64_t> context = ids.to_vector<std::int64_t>();
  SamplingOptions o;
  o.temperature = 0.8f;
  o.top_k = 20;
  o.top_p = 0.9f;
  o.repetition_penalty = 1.3f;
  o.seed = 3;
  for (const std::int64_t initial : {std::int64_t{3}, std::int64_t{64}}) {
    Sampler on_gpu(o), on_host(o);
    on_gpu.set_initial_candidates(initial);
    on_host.set_initial_candidates(initial);
    const TokenDistribution a = on_gpu.distribution(last, context), b = on_host.distribution(host, context);
    EXPECT_EQ(a.ids, b.ids) << "from " << initial << " candidates";
    ASSERT_EQ(a.probs.size(), b.probs.size());
    for (std::size_t i = 0; i < a.probs.size(); ++i) EXPECT_NEAR(a.probs[i], b.probs[i], 1e-12);
    for (int k = 0; k < 20; ++k) EXPECT_EQ(on_gpu.next(last, context), on_host.next(host, context)) << "draw " << k;
  }
  // top_p alone: the total mass comes from the device's sum.
  o.top_k = 0;
  Sampler on_gpu(o), on_host(o);
  on_gpu.set_initial_candidates(4);
  on_host.set_initial_candidates(4);
  EXPECT_EQ(on_gpu.distribution(last, context).ids, on_host.distribution(host, context).ids);
}

TEST_F(CudaModels, Qwen2F16MatchesTransformers) {
  if (test::cpu_stand_in()) GTEST_SKIP() << "f16 needs a GPU";
  check_qwen2(kF16);
}
TEST_F(CudaModels, Qwen2Bf16MatchesTransformers) {
  if (test::cpu_stand_in()) GTEST_SKIP() << "bf16 needs a GPU";
  check_qwen2(kBF16);
}
TEST_F(CudaModels, Qwen2F32MatchesTransformers) { check_qwen2(kF32); }

// ---- LLaVA-OneVision -------------------------------------------------------------

// The tiny LLaVA-OneVision (gen_llava_onevision.py) on the GPU: the vision
// features (tower, projector, pooling, newline) and the spliced prompt's
// logits against transformers, and the greedy answer from the raw frames
// through a block KV cache on the GPU: every id in f32; in f16 / bf16 the
// ids up to the first step whose reference top-1 / top-2 gap is under 0.05
// (a rounding of the weights may flip a closer choice).
void check_llava(DType dtype) {
  const fs::path dir = fixture_dir("llava_onevision_tiny");
  WeightSource w = placed_weights(dir, dtype);
  const LlavaOnevisionModel model =
      LlavaOnevisionModel::load(w, LlavaOnevisionConfig::from_config(Config::load(dir / "config.json")));
  EXPECT_TRUE(w.unused().empty());
  EXPECT_EQ(model.device(), gpu());
  const SafetensorsFile io = SafetensorsFile::open(dir / "io.safetensors");
  const Tensor video = model.video_features(io.load("pixel_values"));
  expect_matches("LLaVA-OneVision video features", dtype, fetch(video, dtype), io.load("video_features"));
  const std::vector<std::int64_t> ids = to_dtype(io.load("ids"), DType::kI64).to_vector<std::int64_t>();
  KvCache cache = model.make_cache(64);
  expect_matches("LLaVA-OneVision prompt logits", dtype, fetch(model.prefill(ids, video, cache, true), dtype),
                 io.load("logits"));
  const Tensor pixels = preprocess_video(io.load("frames"), VideoProcessorConfig::load(dir));
  BlockKvCache blocks = model.language_model().make_block_cache({8, {}, 64});
  const Tensor features = model.video_features(pixels);
  const Tensor last = model.prefill(ids, features, blocks);
  GreedyOptions options;
  options.max_new_tokens = 16;
  const std::vector<std::int64_t> got = decode_greedy(model.language_model().step(), blocks, last, options).ids;
  const std::vector<std::int64_t> want = io.load("greedy_ids").to_vector<std::int64_t>();
  const std::vector<float> gaps = io.load("greedy_gaps").to_vector<float>();
  std::size_t sure = want.size();
  if (dtype != kF32) {
    sure = 0;
    while (sure < gaps.size() && gaps[sure] >= 0.05f) ++sure;
  }
  ASSERT_EQ(got.size(), want.size());
  std::printf("LLaVA-OneVision greedy in %s: %zu of %zu ids checked\n", to_string(dtype), sure, want.size());
  EXPECT_EQ(std::vector<std::int64_t>(got.begin(), got.begin() + static_cast<std::ptrdiff_t>(sure)),
            std::vector<std::int64_t>(want.begin(), want.begin() + static_cast<std::ptrdiff_t>(sure)));
}

TEST_F(CudaModels, LlavaOnevisionF16MatchesTransformers) {
  if (test::cpu_stand_in()) GTEST_SKIP() << "f16 needs a GPU";
  check_llava(kF16);
}
TEST_F(CudaModels, LlavaOnevisionF32MatchesTransformers) { check_llava(kF32); }

// ---- UNet ----------------------------------------------------------------------

struct UNetFixture {
  fs::path dir;
  UNet2DCondition unet;
  SafetensorsFile io;
  std::vector<float> timesteps;

  UNetFixture(const std::string& name, DType dtype)
      : dir(fixture_dir(name)), unet(load(dir, dtype)), io(SafetensorsFile::open(dir / "io.safetensors")) {
    timesteps = io.load("timesteps").to_vector<float>();
  }

  static UNet2DCondition load(const fs::path& dir, DType dtype) {
    WeightSource w = placed_weights(dir, dtype);
    UNet2DCondition m = UNet2DCondition::load(w, UNetConfig::from_config(Config::load(dir / "config.json")));
    EXPECT_TRUE(w.unused().empty());
    return m;
  }

  // The sinusoidal embedding of the fixture's timesteps, on the GPU in dtype.
  Tensor t_emb(const std::vector<float>& t, DType dtype) const {
    const UNetConfig& c = unet.config();
    return upload(timestep_embedding(t, c.block_out_channels[0], c.flip_sin_to_cos, c.freq_shift), dtype);
  }
};

void check_unet(const std::string& name, DType dtype) {
  const UNetFixture f(name, dtype);
  const Tensor out =
      f.unet.forward(upload(f.io.load("sample"), dtype), f.timesteps, upload(f.io.load("context"), dtype));
  expect_matches(name, dtype, fetch(out, dtype), f.io.load("out"));
}

TEST_F(CudaModels, UNetSd15F16MatchesDiffusers) {
  if (test::cpu_stand_in()) GTEST_SKIP() << "f16 needs a GPU";
  check_unet("diffusion_unet_sd15", kF16);
}
TEST_F(CudaModels, UNetSdTurboF16MatchesDiffusers) {
  if (test::cpu_stand_in()) GTEST_SKIP() << "f16 needs a GPU";
  check_unet("diffusion_unet_sd_turbo", kF16);
}
TEST_F(CudaModels, UNetSd15Bf16MatchesDiffusers) {
  if (test::cpu_stand_in()) GTEST_SKIP() << "bf16 needs a GPU";
  check_unet("diffusion_unet_sd15", kBF16);
}
TEST_F(CudaModels, UNetSdTurboBf16MatchesDiffusers) {
  if (test::cpu_stand_in()) GTEST_SKIP() << "bf16 needs a GPU";
  check_unet("diffusion_unet_sd_turbo", kBF16);
}
TEST_F(CudaModels, UNetF32MatchesDiffusers) {
  check_unet("diffusion_unet_sd15", kF32);
  check_unet("diffusion_unet_sd_turbo", kF32);
}

TEST_F(CudaModels, UNetForwardEmbeddedEqualsForward) {
  for (DType dtype : float_dtypes({kF16, kF32})) {
    SCOPED_TRACE(to_string(dtype));
    const UNetFixture f("diffusion_unet_sd_turbo", dtype);
    const Tensor sample = upload(f.io.load("sample"), dtype), context = upload(f.io.load("context"), dtype);
    const Tensor a = fetch(f.unet.forward(sample, f.timesteps, context), dtype);
    const Tensor b = fetch(f.unet.forward_embedded(sample, f.t_emb(f.timesteps, dtype), context), dtype);
    EXPECT_TRUE(bit_equal(b, a));
    // The embedding matters: other timesteps, another result.
    const Tensor c = fetch(f.unet.forward_embedded(sample, f.t_emb({1.0f, 999.0f}, dtype), context), dtype);
    EXPECT_GT(relative_l2(c, a), 1e-3);
  }
}

TEST_F(CudaModelsRuntime, UNetInACudaGraphMatchesEager) {
  const DType dtype = kF16;
  const UNetFixture f("diffusion_unet_sd_turbo", dtype);
  // Static inputs: the graph reads these buffers on every replay.
  Tensor sample = upload(f.io.load("sample"), dtype);
  Tensor t_emb = f.t_emb(f.timesteps, dtype);
  const Tensor context = upload(f.io.load("context"), dtype);
  const Tensor eager = download(f.unet.forward_embedded(sample, t_emb, context));
  cuda::synchronize();

  cuda::Graph graph;
  Tensor out;
  graph.capture([&] { out = f.unet.forward_embedded(sample, t_emb, context); });
  ASSERT_TRUE(graph.captured());
  EXPECT_GT(graph.nodes(), 10u);
  graph.replay();
  cuda::synchronize();
  EXPECT_TRUE(bit_equal(download(out), eager));
  EXPECT_LT(relative_l2(download(out), f.io.load("out")), model_tolerance(dtype));

  // A new frame: another sample and other timesteps written into the same buffers.
  const Tensor sample2 = to_dtype(scale(f.io.load("sample"), -0.5f), dtype);
  const Tensor t_emb2 =
      to_dtype(timestep_embedding(std::vector<float>{10.0f, 500.0f}, f.unet.config().block_out_channels[0],
                                  f.unet.config().flip_sin_to_cos, f.unet.config().freq_shift),
               dtype);
  cuda::copy_host_to_device(sample.raw_data(), sample2.raw_data(), sample2.nbytes());
  cuda::copy_host_to_device(t_emb.raw_data(), t_emb2.raw_data(), t_emb2.nbytes());
  const cuda::MemoryStats before = cuda::memory_stats();
  graph.replay();
  cuda::synchronize();
  EXPECT_EQ(cuda::memory_stats().cuda_malloc_calls, before.cuda_malloc_calls) << "a replay allocated";
  const Tensor replayed = download(out);
  const Tensor eager2 = download(f.unet.forward_embedded(sample2.to(Device::kCuda), t_emb2.to(Device::kCuda), context));
  EXPECT_TRUE(bit_equal(replayed, eager2));
  EXPECT_GT(relative_l2(replayed, eager), 1e-2) << "the replay ignored the new inputs";
}

TEST_F(CudaModelsRuntime, UNetMakesNoCudaMallocAfterTheFirstForward) {
  const DType dtype = kF16;
  const UNetFixture f("diffusion_unet_sd15", dtype);
  const Tensor context = upload(f.io.load("context"), dtype);
  auto frame = [&](float k) {
    return download(f.unet.forward(upload(scale(f.io.load("sample"), k), dtype), f.timesteps, context));
  };
  const Tensor first = frame(1.0f);
  cuda::synchronize();
  const cuda::MemoryStats before = cuda::memory_stats();
  for (int i = 0; i < 3; ++i) (void)frame(0.5f + 0.25f * static_cast<float>(i));
  cuda::synchronize();
  const cuda::MemoryStats after = cuda::memory_stats();
  EXPECT_EQ(after.cuda_malloc_calls, before.cuda_malloc_calls);
  EXPECT_EQ(after.bytes_in_use, before.bytes_in_use);
  EXPECT_TRUE(bit_equal(frame(1.0f), first)) << "the same frame again gives the same result";
}

TEST_F(CudaModelsRuntime, MixingDtypesInAModelIsAnError) {
  // An f32 input into an f16 model says so instead of converting silently.
  const UNetFixture f("diffusion_unet_sd_turbo", kF16);
  sc::test::expect_error(
      [&] { f.unet.forward(upload(f.io.load("sample"), kF32), f.timesteps, upload(f.io.load("context"), kF16)); },
      {"different dtypes"});
  sc::test::expect_error(
      [&] { f.unet.forward(upload(f.io.load("sample"), kF16), f.timesteps, upload(f.io.load("context"), kF32)); },
      {"different dtypes"});
  // CPU inputs into a GPU model: a device error.
  sc::test::expect_error([&] { f.unet.forward(f.io.load("sample"), f.timesteps, f.io.load("context")); },
                         {"different devices"});
}

}  // namespace
}  // namespace sc::engine
