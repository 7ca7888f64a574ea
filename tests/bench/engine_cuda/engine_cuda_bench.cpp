// The CUDA engine's speed on the GPU, fp16, next to what it should be judged by:
//   - GEMM: sc::engine::linear (x [M, K] @ w[N, K]^T, no bias) vs cuBLASLt
//     called directly here (same layout, f16 in/out, f32 compute, the
//     heuristic's first algorithm), at 4096^3 and two UNet shapes;
//   - attention (sc::engine::attention) at sequence 4096, head size 64, self
//     (non-causal and causal) and cross (77 keys); tests/device/
//     torch_reference.py times PyTorch's SDPA at exactly these shapes;
//   - the full-size sd-turbo UNet (tests/golden/manifests, random weights, f16
//     on the GPU) at 512x512, batch 1/2/4: eager, and one CUDA graph replay.
// Every time is GPU time from CUDA events (cuda::Timer) after warm-up. A sample
// is `inner` back-to-back calls between two events (inner is picked so a
// sample lasts >= 2 ms); the iteration time is sample / inner, and the
// counters `ms` and `TFLOPS` are the median over samples. Without a usable GPU
// the program says so and exits 0. With SC_BENCH_DIR set (tests/device/run.sh)
// and no --benchmark_out, results also go to $SC_BENCH_DIR/bench_engine_cuda.json.
#include <benchmark/benchmark.h>
#include <cublasLt.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "base/error.h"
#include "tests/bench/common/random_models.h"
#include "engine/cuda/cudnn_conv.h"
#include "engine/cuda/runtime.h"
#include "engine/device.h"
#include "engine/models/taesd/taesd.h"
#include "engine/models/unet/unet.h"
#include "engine/pipelines/stream_diffusion.h"
#include "engine/models/weights.h"
#include "engine/ops.h"

namespace sc::engine {
namespace {

// ---- results kept for the table printed at the end --------------------------

using Params = std::vector<std::pair<std::string, std::int64_t>>;

struct Row {
  Row() = default;
  Row(std::string g, std::string w, std::string i, Params p)
      : group(std::move(g)), what(std::move(w)), impl(std::move(i)), params(std::move(p)) {}
  std::string group;  // "gemm", "attention", "unet"
  std::string what;   // shape in words
  std::string impl;   // "engine", "cublaslt", "eager", "graph"
  Params params;      // the shape, by name
  double ms = 0;
  double tflops = 0;  // 0 where not meaningful
  bool error = false;
  std::string note;  // the error, or a warning about the output

  // "gemm/4096x320x1280/engine"
  std::string key() const {
    std::string k = group + "/";
    for (std::size_t i = 0; i < params.size(); ++i) k += (i ? "x" : "") + std::to_string(params[i].second);
    return k + "/" + impl;
  }
};
std::map<std::string, Row>& rows() {
  static std::map<std::string, Row> r;
  return r;
}

std::string json_string(const std::string& s) {
  std::string o = "\"";
  for (const char c : s) {
    if (c == '"' || c == '\\') {
      o += '\\';
      o += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      o += ' ';
    } else {
      o += c;
    }
  }
  return o + "\"";
}

// One JSON line per result, appended to $SC_BENCH_ROWS (else
// $SC_BENCH_DIR/bench_engine_cuda_rows.jsonl) as soon as it is measured, so a
// run cut short by a timeout keeps what it had (tests/device/summary.py reads it).
void append_row_file(const Row& r) {
  std::string path;
  if (const char* p = std::getenv("SC_BENCH_ROWS"); p && *p) {
    path = p;
  } else if (const char* d = std::getenv("SC_BENCH_DIR"); d && *d) {
    path = std::string(d) + "/bench_engine_cuda_rows.jsonl";
  } else {
    return;
  }
  std::string line = "{\"group\": " + json_string(r.group) + ", \"impl\": " + json_string(r.impl) +
                     ", \"what\": " + json_string(r.what);
  for (const auto& [name, value] : r.params) line += ", " + json_string(name) + ": " + std::to_string(value);
  char nums[96];
  std::snprintf(nums, sizeof nums, ", \"ms\": %.6g, \"tflops\": %.6g, \"error\": %s", r.ms, r.tflops,
                r.error ? "true" : "false");
  line += nums;
  line += ", \"note\": " + json_string(r.note) + "}\n";
  if (std::FILE* f = std::fopen(path.c_str(), "a")) {
    std::fputs(line.c_str(), f);
    std::fclose(f);
  }
}

// ---- inputs -------------------------------------------------------------------

using bench::host_random;
using bench::Rng;
using bench::source_path;

Tensor gpu_random(const Shape& shape, std::uint64_t seed, float stddev = 1.0f) {
  Rng rng(seed);
  return to_dtype(host_random(shape, stddev, 0.0f, rng).to(Device::kCuda), DType::kF16);
}

// ---- timing -------------------------------------------------------------------

constexpr int kWarmup = 3;
constexpr double kSampleMs = 2.0;
constexpr int kMaxInner = 100;

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

// Warms fn up, picks inner, then one sample per benchmark iteration. Returns
// the median ms per call; throws what fn throws.
template <typename Fn>
double time_gpu(benchmark::State& state, Fn&& fn, bool calibrate = true) {
  cuda::Timer timer;
  for (int i = 0; i < kWarmup; ++i) fn();
  cuda::synchronize();
  int inner = 1;
  if (calibrate) {
    timer.start();
    fn();
    timer.stop();
    const double one = std::max(1e-3, static_cast<double>(timer.milliseconds()));
    inner = std::clamp(static_cast<int>(std::ceil(kSampleMs / one)), 1, kMaxInner);
  }
  std::vector<double> ms;
  for (auto _ : state) {
    timer.start();
    for (int i = 0; i < inner; ++i) fn();
    timer.stop();
    const double per_call = static_cast<double>(timer.milliseconds()) / inner;
    state.SetIterationTime(per_call * 1e-3);
    ms.push_back(per_call);
  }
  cuda::synchronize();  // a kernel error surfaces here, not in the next benchmark
  state.counters["inner"] = inner;
  return median(ms);
}

void record(benchmark::State& state, Row row, double flops) {
  if (flops > 0 && row.ms > 0) row.tflops = flops / (row.ms * 1e-3) / 1e12;
  state.counters["ms"] = row.ms;
  if (row.tflops > 0) state.counters["TFLOPS"] = row.tflops;
  if (!row.note.empty()) state.SetLabel(row.note);
  append_row_file(row);
  rows()[row.key()] = std::move(row);
}

void fail(benchmark::State& state, Row row, const std::exception& e) {
  row.error = true;
  row.note = std::string("ERROR: ") + e.what();
  append_row_file(row);
  rows()[row.key()] = row;
  state.SkipWithError(row.note.c_str());
}

std::string shape_text(std::initializer_list<std::int64_t> dims, const char* sep = "x") {
  std::string s;
  for (std::int64_t d : dims) s += (s.empty() ? "" : sep) + std::to_string(d);
  return s;
}

// ---- GEMM ---------------------------------------------------------------------

const std::vector<std::vector<std::int64_t>> kGemmShapes = {{4096, 4096, 4096}, {4096, 320, 1280}, {8192, 640, 640}};

void BM_GemmEngine(benchmark::State& state) {
  const std::int64_t m = state.range(0), n = state.range(1), k = state.range(2);
  Row row{"gemm", shape_text({m, n, k}), "engine", {{"M", m}, {"N", n}, {"K", k}}};
  try {
    const Tensor x = gpu_random({m, k}, 1), w = gpu_random({n, k}, 2, 0.05f);
    row.ms = time_gpu(state, [&] { benchmark::DoNotOptimize(linear(x, w)); });
    record(state, row, 2.0 * m * n * k);
  } catch (const std::exception& e) {
    fail(state, row, e);
  }
}

#define SC_LT_CHECK(expr)                                                                        \
  do {                                                                                           \
    const cublasStatus_t s_ = (expr);                                                            \
    if (s_ != CUBLAS_STATUS_SUCCESS)                                                             \
      throw Error("{} failed: {} ({})", #expr, cublasLtGetStatusName(s_), static_cast<int>(s_)); \
  } while (0)

// out[M, N] = x[M, K] w[N, K]^T, row-major; in cuBLASLt's column-major terms
// out^T[N, M] = op_T(w^T[K, N]) * x^T[K, M]: the "TN" product cuBLAS likes.
void BM_GemmCublasLt(benchmark::State& state) {
  const std::int64_t m = state.range(0), n = state.range(1), k = state.range(2);
  Row row{"gemm", shape_text({m, n, k}), "cublaslt", {{"M", m}, {"N", n}, {"K", k}}};
  cublasLtHandle_t handle = nullptr;
  cublasLtMatmulDesc_t desc = nullptr;
  cublasLtMatrixLayout_t la = nullptr, lb = nullptr, lc = nullptr;
  cublasLtMatmulPreference_t pref = nullptr;
  try {
    const Tensor x = gpu_random({m, k}, 1), w = gpu_random({n, k}, 2, 0.05f);
    Tensor out = Tensor::empty({m, n}, DType::kF16, Device::kCuda);
    constexpr std::size_t kWorkspace = 32u << 20;
    Tensor workspace = Tensor::empty({static_cast<std::int64_t>(kWorkspace)}, DType::kU8, Device::kCuda);
    SC_LT_CHECK(cublasLtCreate(&handle));
    SC_LT_CHECK(cublasLtMatmulDescCreate(&desc, CUBLAS_COMPUTE_32F, CUDA_R_32F));
    const cublasOperation_t trans_a = CUBLAS_OP_T, trans_b = CUBLAS_OP_N;
    SC_LT_CHECK(cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_TRANSA, &trans_a, sizeof(trans_a)));
    SC_LT_CHECK(cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_TRANSB, &trans_b, sizeof(trans_b)));
    const auto u = [](std::int64_t v) { return static_cast<std::uint64_t>(v); };
    SC_LT_CHECK(cublasLtMatrixLayoutCreate(&la, CUDA_R_16F, u(k), u(n), k));
    SC_LT_CHECK(cublasLtMatrixLayoutCreate(&lb, CUDA_R_16F, u(k), u(m), k));
    SC_LT_CHECK(cublasLtMatrixLayoutCreate(&lc, CUDA_R_16F, u(n), u(m), n));
    SC_LT_CHECK(cublasLtMatmulPreferenceCreate(&pref));
    const std::uint64_t ws = kWorkspace;
    SC_LT_CHECK(cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &ws, sizeof(ws)));
    cublasLtMatmulHeuristicResult_t heuristic{};
    int found = 0;
    SC_LT_CHECK(cublasLtMatmulAlgoGetHeuristic(handle, desc, la, lb, lc, lc, pref, 1, &heuristic, &found));
    if (found < 1) throw Error("cublasLtMatmulAlgoGetHeuristic found no algorithm for {}", row.what);
    const float alpha = 1.0f, beta = 0.0f;
    auto stream = static_cast<cudaStream_t>(cuda::stream());
    row.ms = time_gpu(state, [&] {
      SC_LT_CHECK(cublasLtMatmul(handle, desc, &alpha, w.raw_data(), la, x.raw_data(), lb, &beta, out.raw_data(), lc,
                                 out.raw_data(), lc, &heuristic.algo, workspace.raw_data(), kWorkspace, stream));
    });
    record(state, row, 2.0 * m * n * k);
  } catch (const std::exception& e) {
    fail(state, row, e);
  }
  if (pref) cublasLtMatmulPreferenceDestroy(pref);
  if (lc) cublasLtMatrixLayoutDestroy(lc);
  if (lb) cublasLtMatrixLayoutDestroy(lb);
  if (la) cublasLtMatrixLayoutDestroy(la);
  if (desc) cublasLtMatmulDescDestroy(desc);
  if (handle) cublasLtDestroy(handle);
}

void gemm_args(benchmark::internal::Benchmark* b) {
  b->ArgNames({"M", "N", "K"});
  for (const auto& s : kGemmShapes) b->Args(s);
  b->UseManualTime()->Iterations(30)->Unit(benchmark::kMillisecond);
}
BENCHMARK(BM_GemmEngine)->Apply(gemm_args);
BENCHMARK(BM_GemmCublasLt)->Apply(gemm_args);

// ---- attention ----------------------------------------------------------------

// q [B, H, Sq, D], k/v [B, H, Sk, D]. Flops 4*B*H*Sq*Sk*D (QK^T and PV), half
// of that when causal (Sq == Sk only: the engine aligns the causal mask to the
// bottom-right corner, PyTorch to the top-left, so they agree only there).
void BM_Attention(benchmark::State& state) {
  const std::int64_t b = state.range(0), h = state.range(1), sq = state.range(2), sk = state.range(3),
                     d = state.range(4);
  const bool causal = state.range(5) != 0;
  const std::string what = "B" + std::to_string(b) + " H" + std::to_string(h) + " Sq" + std::to_string(sq) + " Sk" +
                           std::to_string(sk) + " D" + std::to_string(d) + (causal ? " causal" : "");
  Row row{
      "attention", what, "engine", {{"B", b}, {"H", h}, {"Sq", sq}, {"Sk", sk}, {"D", d}, {"causal", causal ? 1 : 0}}};
  try {
    const Tensor q = gpu_random({b, h, sq, d}, 3), k = gpu_random({b, h, sk, d}, 4), v = gpu_random({b, h, sk, d}, 5);
    AttentionOptions options;
    options.causal = causal;
    row.ms = time_gpu(state, [&] { benchmark::DoNotOptimize(attention(q, k, v, options)); });
    const double flops = 4.0 * b * h * sq * sk * d * (causal ? 0.5 : 1.0);
    record(state, row, flops);
  } catch (const std::exception& e) {
    fail(state, row, e);
  }
}

// Keep in step with ATTENTION_SHAPES in tests/device/torch_reference.py.
void attention_args(benchmark::internal::Benchmark* bm) {
  bm->ArgNames({"B", "H", "Sq", "Sk", "D", "causal"});
  for (std::int64_t b : {1, 2}) {
    for (std::int64_t h : {8, 16}) {
      bm->Args({b, h, 4096, 4096, 64, 0});
      bm->Args({b, h, 4096, 4096, 64, 1});
      bm->Args({b, h, 4096, 77, 64, 0});
    }
  }
  bm->UseManualTime()->Iterations(30)->Unit(benchmark::kMillisecond);
}
BENCHMARK(BM_Attention)->Apply(attention_args);

// ---- convolution: the chosen path vs the im2col + cuBLASLt fallback -------------

// {batch, channels, size}: 3x3, stride 1, padding 1, channels in = out.
// impl 0: im2col + cuBLASLt forced; 1: conv2d as it runs (cuDNN or im2col,
// whichever timed faster for the shape on first use), NCHW; 2: conv2d_nhwc
// (cuDNN channels-last, TAESD's layout).
void BM_Conv3x3(benchmark::State& state) {
  const std::int64_t n = state.range(0), c = state.range(1), size = state.range(2), impl = state.range(3);
  const std::string what = "3x3 conv " + std::to_string(c) + "ch " + std::to_string(size) + "x" + std::to_string(size) +
                           " batch " + std::to_string(n);
  Row row{"conv", what, impl == 0 ? "im2col" : impl == 1 ? "auto" : "nhwc", {{"n", n}, {"c", c}, {"size", size}}};
  try {
    cuda::set_cudnn_enabled(impl != 0);
    const Tensor x = impl == 2 ? gpu_random({n, size, size, c}, 21) : gpu_random({n, c, size, size}, 21);
    const Tensor w = impl == 2 ? gpu_random({c, 3, 3, c}, 22, 0.05f) : gpu_random({c, c, 3, 3}, 22, 0.05f);
    const Tensor b = gpu_random({c}, 23);
    Conv2dParams p;
    p.padding = {1, 1};
    Tensor out;
    row.ms = time_gpu(state, [&] { out = impl == 2 ? conv2d_nhwc(x, w, b, p) : conv2d(x, w, b, p); });
    cuda::set_cudnn_enabled(true);
    if (impl != 0) row.note = cuda::cudnn_status();
    record(state, row, 2.0 * static_cast<double>(n * c * c * 9 * size * size));
  } catch (const std::exception& e) {
    cuda::set_cudnn_enabled(true);
    fail(state, row, e);
  }
}
BENCHMARK(BM_Conv3x3)
    ->ArgNames({"n", "c", "size", "impl"})
    ->ArgsProduct({{1}, {64}, {512, 256}, {0, 1, 2}})
    ->Args({2, 320, 64, 0})
    ->Args({2, 320, 64, 1})
    ->Args({2, 320, 64, 2})
    ->Args({2, 640, 32, 0})
    ->Args({2, 640, 32, 1})
    ->Args({2, 640, 32, 2})
    ->UseManualTime()
    ->Iterations(20)
    ->Unit(benchmark::kMillisecond);

// ---- full-size UNet -----------------------------------------------------------

// Built once (about 3.5 GB of f32 uploaded and narrowed to f16) and shared by
// every UNet benchmark (tests/bench/common/random_models.h: weights with std
// 1/sqrt(fan-in), norm gains around 1, so activations stay finite).
std::unique_ptr<UNet2DCondition>& unet_holder() {
  static std::unique_ptr<UNet2DCondition> unet;
  return unet;
}

// Throws what the first build threw on every later call, without retrying.
const UNet2DCondition& sd_turbo_unet() {
  std::unique_ptr<UNet2DCondition>& unet = unet_holder();
  static std::string build_error;
  if (!build_error.empty()) throw Error("{}", build_error);
  if (!unet) try {
      unet = std::make_unique<UNet2DCondition>(bench::random_sd_turbo_unet({Device::kCuda, DType::kF16}));
      cuda::synchronize();
    } catch (const std::exception& e) {
      build_error = std::string("building the sd-turbo UNet: ") + e.what();
      throw Error("{}", build_error);
    }
  return *unet;
}

struct UNetInputs {
  Tensor sample, t_emb, context;
};

UNetInputs unet_inputs(const UNet2DCondition& unet, std::int64_t batch, std::int64_t latent) {
  const UNetConfig& c = unet.config();
  UNetInputs in;
  in.sample = gpu_random({batch, c.in_channels, latent, latent}, 11);
  in.context = gpu_random({batch, 77, c.cross_attention_dim}, 12);
  const std::vector<float> t(static_cast<std::size_t>(batch), 999.0f);
  in.t_emb = to_dtype(timestep_embedding(t, c.block_out_channels[0], c.flip_sin_to_cos, c.freq_shift).to(Device::kCuda),
                      DType::kF16);
  return in;
}

// Mean |out| over the output, on the host: a forward full of NaN or inf would
// time something else.
std::string check_output(const Tensor& out, double* mean_abs) {
  const Tensor host = to_dtype(out, DType::kF32).to(Device::kCpu);
  double sum = 0;
  bool finite = true;
  for (float v : host.to_vector<float>()) {
    finite = finite && std::isfinite(v);
    sum += std::fabs(v);
  }
  *mean_abs = sum / static_cast<double>(std::max<std::int64_t>(1, host.numel()));
  return finite ? "" : "NON-FINITE OUTPUT";
}

// 512x512 pixels -> 64x64 latents; context [N, 77, 1024].
void BM_UNet(benchmark::State& state) {
  const std::int64_t batch = state.range(0);
  const bool graph = state.range(1) != 0;
  constexpr std::int64_t kLatent = 64;
  const std::string what = "sd-turbo 512x512 batch " + std::to_string(batch);
  Row row{"unet", what, graph ? "graph" : "eager", {{"batch", batch}}};
  try {
    const UNet2DCondition& unet = sd_turbo_unet();
    const UNetInputs in = unet_inputs(unet, batch, kLatent);
    double mean_abs = 0;
    if (!graph) {
      Tensor out;
      row.ms = time_gpu(
          state, [&] { out = unet.forward_embedded(in.sample, in.t_emb, in.context); }, false);
      row.note = check_output(out, &mean_abs);
    } else {
      // One eager forward first: plans, workspaces and lazy module loads happen
      // outside the capture.
      { const Tensor warm = unet.forward_embedded(in.sample, in.t_emb, in.context); }
      cuda::synchronize();
      cuda::Graph g;
      Tensor out;  // from the graph's pool: declared after g, so released first
      g.capture([&] { out = unet.forward_embedded(in.sample, in.t_emb, in.context); });
      state.counters["graph_nodes"] = static_cast<double>(g.nodes());
      row.ms = time_gpu(
          state, [&] { g.replay(); }, false);
      row.note = check_output(out, &mean_abs);
      out = Tensor();
    }
    state.counters["mean_abs_out"] = mean_abs;
    state.counters["peak_GiB"] = static_cast<double>(cuda::memory_stats().peak_bytes_in_use) / (1u << 30);
    record(state, row, 0);
  } catch (const std::exception& e) {
    fail(state, row, e);
  }
}
// Batch by batch, eager then graph: a run cut short still has whole rows.
BENCHMARK(BM_UNet)
    ->ArgNames({"batch", "graph"})
    ->Args({1, 0})
    ->Args({1, 1})
    ->Args({2, 0})
    ->Args({2, 1})
    ->Args({4, 0})
    ->Args({4, 1})
    ->UseManualTime()
    ->Iterations(15)
    ->Unit(benchmark::kMillisecond);

// ---- end-to-end img2img ------------------------------------------------------------

// The full-size TAESD (tests/golden/manifests/taesd.txt), random weights as
// above, f16 on the GPU.
std::unique_ptr<Taesd>& taesd_holder() {
  static std::unique_ptr<Taesd> taesd;
  return taesd;
}

const Taesd& full_taesd() {
  std::unique_ptr<Taesd>& taesd = taesd_holder();
  if (!taesd) {
    taesd = std::make_unique<Taesd>(bench::random_taesd({Device::kCuda, DType::kF16}));
  }
  return *taesd;
}

// TAESD's encoder (512x512 image) or decoder (64x64 latent), f16, in either
// layout: {part 0 encoder / 1 decoder, nhwc}.
void BM_Taesd(benchmark::State& state) {
  const bool decoder = state.range(0) != 0, nhwc = state.range(1) != 0;
  Row row{"taesd",
          decoder ? "decoder 64x64 -> 512x512" : "encoder 512x512 -> 64x64",
          nhwc ? "nhwc" : "nchw",
          {{"part", decoder ? 1 : 0}}};
  try {
    std::unique_ptr<Taesd>& taesd = taesd_holder();
    full_taesd();
    taesd->set_channels_last(nhwc);
    const Tensor in = decoder ? gpu_random({1, 4, 64, 64}, 31) : gpu_random({1, 3, 512, 512}, 32, 0.5f);
    Tensor out;
    row.ms = time_gpu(state, [&] { out = decoder ? taesd->decoder.forward(in) : taesd->encoder.forward(in); });
    taesd->set_channels_last(true);
    record(state, row, 0);
  } catch (const std::exception& e) {
    fail(state, row, e);
  }
}
BENCHMARK(BM_Taesd)
    ->ArgNames({"part", "nhwc"})
    ->ArgsProduct({{0, 1}, {0, 1}})
    ->UseManualTime()
    ->Iterations(20)
    ->Unit(benchmark::kMillisecond);

// StreamDiffusion end to end at 512x512, sd-turbo-shaped UNet + TAESD, cfg
// none (sd-turbo's), on frames that arrive as f32 host images and leave as f32
// host images (upload, encode, UNet, decode, download, clamp): what the studio
// pays per frame. Wall-clock time per call, since process_rgba8() ends with
// the download; per frame = per call / fb. steps > 1 batch that many frames'
// denoising steps in one UNet call (Stream Batch); the output then lags the
// input by steps - 1 calls. fb (the frame buffer) puts fb frames in each
// call: more throughput, fb - 1 more frames of latency.
void BM_Img2Img(benchmark::State& state) {
  const int steps = static_cast<int>(state.range(0));
  const bool graphs = state.range(1) != 0;
  const bool nhwc = state.range(2) != 0;  // TAESD's layout (channels-last is its GPU default)
  const int fb = static_cast<int>(state.range(3));
  Row row{"img2img",
          "sd-turbo 512x512 TAESD " + std::to_string(steps) + " step(s), " + (graphs ? "CUDA graphs" : "eager") +
              (nhwc ? "" : ", TAESD NCHW") + (fb > 1 ? ", frame buffer " + std::to_string(fb) : ""),
          graphs ? "graph" : "eager",
          {{"steps", steps}, {"graphs", graphs ? 1 : 0}, {"nhwc", nhwc ? 1 : 0}, {"fb", fb}}};
  try {
    const UNet2DCondition& unet = sd_turbo_unet();
    full_taesd();
    taesd_holder()->set_channels_last(nhwc);
    const Taesd& taesd = *taesd_holder();
    const LatentCodec codec = bench::taesd_codec(taesd);
    StreamParams p;
    p.t_index_list = t_index_list_for(0.5f, steps);
    p.cfg = CfgMode::kNone;
    p.guidance = 0.0f;
    p.width = p.height = 512;
    p.cuda_graphs = graphs;
    p.frame_buffer_size = fb;
    StreamDiffusion stream(&unet, codec, LcmScheduler{}, p);
    Rng rng(7);
    stream.set_prompt_embeds(host_random({1, 77, unet.config().cross_attention_dim}, 1.0f, 0.0f, rng), Tensor());
    // RGBA8 frames in and out on the host, as the studio runs it.
    std::vector<Tensor> frames;
    for (int i = 0; i < 4 * fb; ++i) frames.push_back(bench::random_rgba8(512, 512, rng));
    std::size_t i = 0;
    auto next = [&] {  // fb frames
      const std::span<const Tensor> call(frames.data() + (i % 4) * static_cast<std::size_t>(fb),
                                         static_cast<std::size_t>(fb));
      ++i;
      return call;
    };
    for (int k = 0; k < steps + 3; ++k) stream.process_rgba8(next());
    const StreamDiffusion::Counters before = stream.counters();
    std::vector<double> ms;
    for (auto _ : state) {
      const auto t0 = std::chrono::steady_clock::now();
      const StreamDiffusion::PixelResult r = stream.process_rgba8(next());
      const double call_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
      if (!r.rgba.defined()) throw Error("no image after warm-up");
      state.SetIterationTime(call_ms * 1e-3);
      ms.push_back(call_ms / fb);
    }
    const StreamDiffusion::Counters& after = stream.counters();
    // Stage times per frame.
    const double n = static_cast<double>(std::max<std::size_t>(1, ms.size()) * static_cast<std::size_t>(fb));
    row.ms = median(ms);
    state.counters["fps"] = row.ms > 0 ? 1000.0 / row.ms : 0;
    state.counters["preprocess_ms"] = (after.preprocess_s - before.preprocess_s) * 1e3 / n;
    state.counters["postprocess_ms"] = (after.postprocess_s - before.postprocess_s) * 1e3 / n;
    state.counters["encode_ms"] = (after.encode_s - before.encode_s) * 1e3 / n;
    state.counters["unet_ms"] = (after.unet_s - before.unet_s) * 1e3 / n;
    state.counters["decode_ms"] = (after.decode_s - before.decode_s) * 1e3 / n;
    // Capture -> output, with frames arriving as fast as they are processed:
    // a call's frames come out steps calls after they went in (steps - 1 in
    // the latent buffer), and the first of them waited for fb - 1 more frames.
    const double latency = row.ms * fb * steps + row.ms * (fb - 1);
    state.counters["latency_ms"] = latency;
    // GPU time of the stages; what the frame took beyond their sum is the
    // host's (launches, the copies' waits).
    const double gpu_ms = state.counters["preprocess_ms"].value + state.counters["encode_ms"].value +
                          state.counters["unet_ms"].value + state.counters["decode_ms"].value +
                          state.counters["postprocess_ms"].value;
    char note[200];
    std::snprintf(note, sizeof note,
                  "%.1f fps; pre %.2f, enc %.2f, UNet %.2f, dec %.2f, post %.2f, other %.2f ms; latency %.1f ms",
                  1000.0 / row.ms, state.counters["preprocess_ms"].value, state.counters["encode_ms"].value,
                  state.counters["unet_ms"].value, state.counters["decode_ms"].value,
                  state.counters["postprocess_ms"].value, row.ms - gpu_ms, latency);
    row.note = note;
    taesd_holder()->set_channels_last(true);
    record(state, row, 0);
  } catch (const std::exception& e) {
    if (taesd_holder()) taesd_holder()->set_channels_last(true);
    fail(state, row, e);
  }
}
BENCHMARK(BM_Img2Img)
    ->ArgNames({"steps", "graphs", "nhwc", "fb"})
    ->Args({1, 0, 1, 1})
    ->Args({1, 1, 1, 1})
    ->Args({1, 1, 0, 1})
    ->Args({1, 1, 1, 2})
    ->Args({1, 1, 1, 4})
    ->Args({2, 1, 1, 1})
    ->UseManualTime()
    ->Iterations(40)
    ->Unit(benchmark::kMillisecond);

// ---- the UNet, op by op ------------------------------------------------------------

// One eager call with every op timed alone (slower than a real call, but
// the shares hold), as a table headed by title.
std::string op_profile_text(const std::string& title, const std::function<void()>& call) {
  call();  // plans, workspaces and algorithm choices outside the profile
  cuda::synchronize();
  cuda::reset_op_profile();
  cuda::set_op_profiling(true);
  call();
  cuda::set_op_profiling(false);
  const std::vector<cuda::OpTime> ops = cuda::op_profile();
  double total = 0;
  for (const cuda::OpTime& t : ops) total += t.ms;
  char line[160];
  std::snprintf(line, sizeof line, "\n== %s, op by op (sum %.2f ms)\n", title.c_str(), total);
  std::string text = line;
  for (const cuda::OpTime& t : ops) {
    std::snprintf(line, sizeof line, "%-20s %6lld calls %9.3f ms %5.1f%%\n", t.op.c_str(),
                  static_cast<long long>(t.calls), t.ms, total > 0 ? 100.0 * t.ms / total : 0.0);
    text += line;
  }
  return text;
}

// Where the time of the img2img models goes: the UNet at batch 1 and 4, and
// TAESD's encoder and decoder at 512x512.
void print_profiles() {
  try {
    std::string text;
    if (unet_holder()) {
      const UNet2DCondition& unet = *unet_holder();
      for (std::int64_t batch : {1, 4}) {
        const UNetInputs in = unet_inputs(unet, batch, 64);
        text += op_profile_text("UNet sd-turbo 512x512 f16 batch " + std::to_string(batch),
                                [&] { const Tensor out = unet.forward_embedded(in.sample, in.t_emb, in.context); });
      }
    }
    if (taesd_holder()) {
      const Taesd& taesd = *taesd_holder();
      Rng rng(3);
      const Tensor image = to_dtype(host_random({1, 3, 512, 512}, 0.5f, 0.0f, rng), DType::kF16).to(Device::kCuda);
      const Tensor latent = to_dtype(host_random({1, 4, 64, 64}, 1.0f, 0.0f, rng), DType::kF16).to(Device::kCuda);
      text += op_profile_text("TAESD encoder 512x512 f16", [&] { const Tensor out = taesd.encoder.forward(image); });
      text += op_profile_text("TAESD decoder 512x512 f16", [&] { const Tensor out = taesd.decoder.forward(latent); });
    }
    std::fputs(text.c_str(), stdout);
    if (const char* dir = std::getenv("SC_BENCH_DIR"); dir && *dir) {
      if (std::FILE* f = std::fopen((std::string(dir) + "/unet_profile.txt").c_str(), "w")) {
        std::fputs(text.c_str(), f);
        std::fclose(f);
      }
    }
  } catch (const std::exception& e) {
    std::printf("op profile failed: %s\n", e.what());
  }
}

// ---- the table ------------------------------------------------------------------

const Row* find(const std::string& key) {
  const auto it = rows().find(key);
  return it == rows().end() ? nullptr : &it->second;
}

std::string cell(const Row* r, bool tflops) {
  if (!r) return "-";
  if (r->error) return "error";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3f", tflops ? r->tflops : r->ms);
  return buf;
}

void print_table() {
  if (rows().empty()) return;
  std::printf("\n== bench_engine_cuda summary (median GPU time per call)\n");
  bool header = false;
  for (const auto& s : kGemmShapes) {
    const std::string shape = shape_text({s[0], s[1], s[2]});
    const Row* ours = find("gemm/" + shape + "/engine");
    const Row* lt = find("gemm/" + shape + "/cublaslt");
    if (!ours && !lt) continue;
    if (!header)
      std::printf("%-22s %12s %14s %10s\n", "GEMM f16 MxNxK", "ours TFLOP/s", "cuBLASLt TF/s", "ours/cuBLASLt");
    header = true;
    std::string ratio = "-";
    if (ours && lt && ours->tflops > 0 && lt->tflops > 0)
      ratio = std::to_string(ours->tflops / lt->tflops).substr(0, 5);
    std::printf("%-22s %12s %14s %10s\n", shape.c_str(), cell(ours, true).c_str(), cell(lt, true).c_str(),
                ratio.c_str());
  }
  header = false;
  for (const auto& [key, r] : rows()) {
    if (r.group != "attention") continue;
    if (!header) std::printf("%-34s %10s %10s\n", "attention f16", "ours ms", "TFLOP/s");
    header = true;
    std::printf("%-34s %10s %10s %s\n", r.what.c_str(), cell(&r, false).c_str(), cell(&r, true).c_str(),
                r.note.c_str());
  }
  header = false;
  for (int batch : {1, 2, 4}) {
    const Row* eager = find("unet/" + std::to_string(batch) + "/eager");
    const Row* graph = find("unet/" + std::to_string(batch) + "/graph");
    if (!eager && !graph) continue;
    if (!header) std::printf("%-30s %12s %12s\n", "UNet f16", "eager ms", "graph ms");
    header = true;
    std::string notes;
    for (const Row* r : {eager, graph}) {
      if (r && !r->note.empty()) notes += " " + r->impl + ": " + r->note;
    }
    std::printf("%-30s %12s %12s%s\n", ("sd-turbo 512x512 batch " + std::to_string(batch)).c_str(),
                cell(eager, false).c_str(), cell(graph, false).c_str(), notes.c_str());
  }
  for (const auto& [key, r] : rows()) {
    if (r.group != "conv") continue;
    std::printf("%-40s %-7s %8s ms %8s TFLOP/s  %s\n", r.what.c_str(), r.impl.c_str(), cell(&r, false).c_str(),
                cell(&r, true).c_str(), r.note.c_str());
  }
  for (const auto& [key, r] : rows()) {
    if (r.group != "img2img") continue;
    std::printf("img2img %-30s %10s ms/frame  %s\n", r.what.c_str(), cell(&r, false).c_str(), r.note.c_str());
  }
}

}  // namespace
}  // namespace sc::engine

int main(int argc, char** argv) {
  namespace cuda = sc::engine::cuda;
  const bool listing = std::any_of(argv + 1, argv + argc, [](const char* a) {
    return std::string(a).starts_with("--benchmark_list_tests") && std::string(a) != "--benchmark_list_tests=false";
  });
  if (!listing && !cuda::available()) {
    std::printf("bench_engine_cuda: skipped, no usable GPU (%s)\n", cuda::unavailable_reason().c_str());
    return 0;
  }
  std::vector<char*> args(argv, argv + argc);
  std::string out_flag, format_flag = "--benchmark_out_format=json";
  const bool has_out = std::any_of(args.begin(), args.end(),
                                   [](const char* a) { return std::string(a).starts_with("--benchmark_out="); });
  if (const char* dir = std::getenv("SC_BENCH_DIR"); dir && *dir && !has_out) {
    out_flag = std::string("--benchmark_out=") + dir + "/bench_engine_cuda.json";
    args.push_back(out_flag.data());
    args.push_back(format_flag.data());
  }
  int n = static_cast<int>(args.size());
  args.push_back(nullptr);
  benchmark::Initialize(&n, args.data());
  if (benchmark::ReportUnrecognizedArguments(n, args.data())) return 1;
  const sc::engine::CudaReport report = sc::engine::probe_cuda();
  if (!report.devices.empty()) benchmark::AddCustomContext("gpu", report.devices[0].name);
  std::setvbuf(stdout, nullptr, _IOLBF, 0);  // progress survives a timeout's kill
  benchmark::RunSpecifiedBenchmarks();
  // Where the models' time goes, op by op.
  sc::engine::print_profiles();
  // The model's GPU memory goes back while the runtime is still up.
  sc::engine::unet_holder().reset();
  sc::engine::taesd_holder().reset();
  sc::engine::cuda::synchronize();
  // How each convolution shape runs (cuDNN's algorithm, cuDNN or im2col).
  for (const std::string& note : cuda::conv_notes()) std::printf("conv plan: %s\n", note.c_str());
  sc::engine::print_table();
  benchmark::Shutdown();
  return 0;
}
