// cuDNN's legacy convolution API, loaded with dlopen so that a machine with
// the CUDA runtime but no cuDNN still runs (on im2col). NCHW tensors as the
// engine keeps them; f16 / bf16 on tensor cores with f32 accumulation; f32
// with plain FMA math (no TF32), to match the CPU reference. One plan
// (descriptors + algorithm from cuDNN's heuristics) per shape; workspaces come
// from the caching allocator, so graph capture and steady state allocate
// nothing new.
#include "engine/cuda/cudnn_conv.h"

#include <dlfcn.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <map>
#include <mutex>

#include <fmt/format.h>

#include "base/log.h"
#include "engine/cuda/check.h"
#include "engine/cuda/runtime.h"

#if __has_include(<cudnn.h>)
#include <cudnn.h>
#define SC_HAVE_CUDNN_HEADERS 1
#endif

namespace sc::engine::cuda {

ConvShapeKey conv_shape_key(const Tensor& x, const Tensor& w, const Conv2dParams& p, bool nhwc) {
  return {static_cast<std::int64_t>(x.dtype()),
          nhwc ? 1 : 0,
          x.dim(0),
          x.dim(1),
          x.dim(2),
          x.dim(3),
          w.dim(0),
          w.dim(2),
          w.dim(3),
          p.stride[0],
          p.stride[1],
          p.padding[0],
          p.padding[1],
          p.dilation[0],
          p.dilation[1],
          p.groups};
}

namespace {
std::mutex g_notes_mutex;
std::vector<std::string>& notes() {
  static auto* n = new std::vector<std::string>();
  return *n;
}
}  // namespace

std::vector<std::string> conv_notes() {
  std::lock_guard lock(g_notes_mutex);
  return notes();
}

void add_conv_note(std::string note) {
  std::lock_guard lock(g_notes_mutex);
  notes().push_back(std::move(note));
}

#if SC_HAVE_CUDNN_HEADERS

namespace {

// The few entry points used, resolved at run time.
struct Api {
  void* lib = nullptr;
  std::string status;
  size_t (*GetVersion)() = nullptr;
  cudnnStatus_t (*Create)(cudnnHandle_t*) = nullptr;
  cudnnStatus_t (*SetStream)(cudnnHandle_t, cudaStream_t) = nullptr;
  cudnnStatus_t (*CreateTensorDescriptor)(cudnnTensorDescriptor_t*) = nullptr;
  cudnnStatus_t (*SetTensor4dDescriptor)(cudnnTensorDescriptor_t, cudnnTensorFormat_t, cudnnDataType_t, int, int, int,
                                         int) = nullptr;
  cudnnStatus_t (*CreateFilterDescriptor)(cudnnFilterDescriptor_t*) = nullptr;
  cudnnStatus_t (*SetFilter4dDescriptor)(cudnnFilterDescriptor_t, cudnnDataType_t, cudnnTensorFormat_t, int, int, int,
                                         int) = nullptr;
  cudnnStatus_t (*CreateConvolutionDescriptor)(cudnnConvolutionDescriptor_t*) = nullptr;
  cudnnStatus_t (*SetConvolution2dDescriptor)(cudnnConvolutionDescriptor_t, int, int, int, int, int, int,
                                              cudnnConvolutionMode_t, cudnnDataType_t) = nullptr;
  cudnnStatus_t (*SetConvolutionMathType)(cudnnConvolutionDescriptor_t, cudnnMathType_t) = nullptr;
  // Optional: the N-d forms, for conv3d (without them conv3d runs on conv2d).
  cudnnStatus_t (*SetTensorNdDescriptor)(cudnnTensorDescriptor_t, cudnnDataType_t, int, const int*,
                                         const int*) = nullptr;
  cudnnStatus_t (*SetFilterNdDescriptor)(cudnnFilterDescriptor_t, cudnnDataType_t, cudnnTensorFormat_t, int,
                                         const int*) = nullptr;
  cudnnStatus_t (*SetConvolutionNdDescriptor)(cudnnConvolutionDescriptor_t, int, const int*, const int*, const int*,
                                              cudnnConvolutionMode_t, cudnnDataType_t) = nullptr;
  cudnnStatus_t (*SetConvolutionGroupCount)(cudnnConvolutionDescriptor_t, int) = nullptr;
  cudnnStatus_t (*GetConvolutionForwardAlgorithm_v7)(cudnnHandle_t, cudnnTensorDescriptor_t, cudnnFilterDescriptor_t,
                                                     cudnnConvolutionDescriptor_t, cudnnTensorDescriptor_t, int, int*,
                                                     cudnnConvolutionFwdAlgoPerf_t*) = nullptr;
  cudnnStatus_t (*GetConvolutionForwardWorkspaceSize)(cudnnHandle_t, cudnnTensorDescriptor_t, cudnnFilterDescriptor_t,
                                                      cudnnConvolutionDescriptor_t, cudnnTensorDescriptor_t,
                                                      cudnnConvolutionFwdAlgo_t, size_t*) = nullptr;
  // Optional: times every algorithm on the real shape (else the heuristic's pick).
  cudnnStatus_t (*FindConvolutionForwardAlgorithmEx)(cudnnHandle_t, cudnnTensorDescriptor_t, const void*,
                                                     cudnnFilterDescriptor_t, const void*, cudnnConvolutionDescriptor_t,
                                                     cudnnTensorDescriptor_t, void*, int, int*,
                                                     cudnnConvolutionFwdAlgoPerf_t*, void*, size_t) = nullptr;
  cudnnStatus_t (*ConvolutionForward)(cudnnHandle_t, const void*, cudnnTensorDescriptor_t, const void*,
                                      cudnnFilterDescriptor_t, const void*, cudnnConvolutionDescriptor_t,
                                      cudnnConvolutionFwdAlgo_t, void*, size_t, const void*, cudnnTensorDescriptor_t,
                                      void*) = nullptr;
  cudnnHandle_t handle = nullptr;
  bool ok = false;
};

template <typename F>
bool resolve(void* lib, const char* name, F& fn) {
  fn = reinterpret_cast<F>(dlsym(lib, name));
  return fn != nullptr;
}

Api& api() {
  static Api* a = [] {
    auto* x = new Api();
    if (const char* off = std::getenv("SC_CUDNN"); off && std::string(off) == "0") {
      x->status = "off (SC_CUDNN=0)";
      return x;
    }
    x->lib = dlopen("libcudnn.so.9", RTLD_NOW | RTLD_LOCAL);
    if (!x->lib) {
      x->status = "not found (libcudnn.so.9); convolutions use im2col + cuBLASLt";
      return x;
    }
    bool all = resolve(x->lib, "cudnnGetVersion", x->GetVersion) && resolve(x->lib, "cudnnCreate", x->Create) &&
               resolve(x->lib, "cudnnSetStream", x->SetStream) &&
               resolve(x->lib, "cudnnCreateTensorDescriptor", x->CreateTensorDescriptor) &&
               resolve(x->lib, "cudnnSetTensor4dDescriptor", x->SetTensor4dDescriptor) &&
               resolve(x->lib, "cudnnCreateFilterDescriptor", x->CreateFilterDescriptor) &&
               resolve(x->lib, "cudnnSetFilter4dDescriptor", x->SetFilter4dDescriptor) &&
               resolve(x->lib, "cudnnCreateConvolutionDescriptor", x->CreateConvolutionDescriptor) &&
               resolve(x->lib, "cudnnSetConvolution2dDescriptor", x->SetConvolution2dDescriptor) &&
               resolve(x->lib, "cudnnSetConvolutionMathType", x->SetConvolutionMathType) &&
               resolve(x->lib, "cudnnSetConvolutionGroupCount", x->SetConvolutionGroupCount) &&
               resolve(x->lib, "cudnnGetConvolutionForwardAlgorithm_v7", x->GetConvolutionForwardAlgorithm_v7) &&
               resolve(x->lib, "cudnnGetConvolutionForwardWorkspaceSize", x->GetConvolutionForwardWorkspaceSize) &&
               resolve(x->lib, "cudnnConvolutionForward", x->ConvolutionForward);
    resolve(x->lib, "cudnnFindConvolutionForwardAlgorithmEx", x->FindConvolutionForwardAlgorithmEx);
    resolve(x->lib, "cudnnSetTensorNdDescriptor", x->SetTensorNdDescriptor);
    resolve(x->lib, "cudnnSetFilterNdDescriptor", x->SetFilterNdDescriptor);
    resolve(x->lib, "cudnnSetConvolutionNdDescriptor", x->SetConvolutionNdDescriptor);
    if (!all) {
      x->status = "libcudnn.so.9 lacks the convolution API; convolutions use im2col + cuBLASLt";
      return x;
    }
    if (x->Create(&x->handle) != CUDNN_STATUS_SUCCESS) {
      x->status = "cudnnCreate failed; convolutions use im2col + cuBLASLt";
      return x;
    }
    const size_t v = x->GetVersion();
    x->status =
        "cuDNN " + std::to_string(v / 10000) + "." + std::to_string((v / 100) % 100) + "." + std::to_string(v % 100);
    x->ok = true;
    log::info("convolutions: {}", x->status);
    return x;
  }();
  return *a;
}

struct Plan {
  bool usable = false;
  cudnnTensorDescriptor_t x = nullptr, y = nullptr;
  cudnnFilterDescriptor_t w = nullptr;
  cudnnConvolutionDescriptor_t conv = nullptr;
  cudnnConvolutionFwdAlgo_t algo{};
  size_t workspace = 0;
};

cudnnDataType_t data_type(DType d) {
  return d == DType::kF16 ? CUDNN_DATA_HALF : d == DType::kBF16 ? CUDNN_DATA_BFLOAT16 : CUDNN_DATA_FLOAT;
}

// Logical sizes (n, c, h, w) of an activation in either layout.
std::array<int, 4> nchw_sizes(const Tensor& t, bool nhwc) {
  auto i = [](std::int64_t v) { return static_cast<int>(v); };
  if (nhwc) return {i(t.dim(0)), i(t.dim(3)), i(t.dim(1)), i(t.dim(2))};
  return {i(t.dim(0)), i(t.dim(1)), i(t.dim(2)), i(t.dim(3))};
}

// Keeps the algorithms f32 may use: exact f32 math, no tensor cores.
bool allowed(const cudnnConvolutionFwdAlgoPerf_t& perf, DType dtype) {
  if (perf.status != CUDNN_STATUS_SUCCESS) return false;
  return dtype != DType::kF32 || perf.mathType == CUDNN_FMA_MATH || perf.mathType == CUDNN_DEFAULT_MATH;
}

constexpr std::size_t kFindWorkspaceBytes = 64ull << 20;

void pick_algorithm(Api& a, Plan& plan, const Tensor& x, const Tensor& weight, const Tensor& out,
                    const std::string& label);

Plan make_plan(Api& a, const Tensor& x, const Tensor& weight, const Conv2dParams& p, const Tensor& out, bool nhwc) {
  Plan plan;
  const cudnnDataType_t dt = data_type(x.dtype());
  const cudnnTensorFormat_t format = nhwc ? CUDNN_TENSOR_NHWC : CUDNN_TENSOR_NCHW;
  auto ok = [](cudnnStatus_t s) { return s == CUDNN_STATUS_SUCCESS; };
  auto i = [](std::int64_t v) { return static_cast<int>(v); };
  if (!ok(a.CreateTensorDescriptor(&plan.x)) || !ok(a.CreateTensorDescriptor(&plan.y)) ||
      !ok(a.CreateFilterDescriptor(&plan.w)) || !ok(a.CreateConvolutionDescriptor(&plan.conv))) {
    return plan;
  }
  const std::array<int, 4> xs = nchw_sizes(x, nhwc), ys = nchw_sizes(out, nhwc);
  // OIHW, or OHWI for channels-last: (k, c, h, w) either way.
  const std::array<int, 4> ws =
      nhwc ? std::array<int, 4>{i(weight.dim(0)), i(weight.dim(3)), i(weight.dim(1)), i(weight.dim(2))}
           : std::array<int, 4>{i(weight.dim(0)), i(weight.dim(1)), i(weight.dim(2)), i(weight.dim(3))};
  if (!ok(a.SetTensor4dDescriptor(plan.x, format, dt, xs[0], xs[1], xs[2], xs[3])) ||
      !ok(a.SetTensor4dDescriptor(plan.y, format, dt, ys[0], ys[1], ys[2], ys[3])) ||
      !ok(a.SetFilter4dDescriptor(plan.w, dt, format, ws[0], ws[1], ws[2], ws[3])) ||
      !ok(a.SetConvolution2dDescriptor(plan.conv, i(p.padding[0]), i(p.padding[1]), i(p.stride[0]), i(p.stride[1]),
                                       i(p.dilation[0]), i(p.dilation[1]), CUDNN_CROSS_CORRELATION,
                                       CUDNN_DATA_FLOAT)) ||
      !ok(a.SetConvolutionGroupCount(plan.conv, i(p.groups))) ||
      !ok(a.SetConvolutionMathType(
          plan.conv, x.dtype() == DType::kF32 ? CUDNN_FMA_MATH : CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION))) {
    return plan;
  }
  pick_algorithm(
      a, plan, x, weight, out,
      fmt::format("{} {} x {} stride {}", nhwc ? "NHWC" : "NCHW", x.describe(), weight.describe(), p.stride[0]));
  return plan;
}

// The same for conv3d: NCDHW / OIDHW through the N-d descriptors.
Plan make_plan_3d(Api& a, const Tensor& x, const Tensor& weight, const Conv3dParams& p, const Tensor& out) {
  Plan plan;
  if (!a.SetTensorNdDescriptor || !a.SetFilterNdDescriptor || !a.SetConvolutionNdDescriptor) return plan;
  const cudnnDataType_t dt = data_type(x.dtype());
  auto ok = [](cudnnStatus_t s) { return s == CUDNN_STATUS_SUCCESS; };
  if (!ok(a.CreateTensorDescriptor(&plan.x)) || !ok(a.CreateTensorDescriptor(&plan.y)) ||
      !ok(a.CreateFilterDescriptor(&plan.w)) || !ok(a.CreateConvolutionDescriptor(&plan.conv))) {
    return plan;
  }
  auto dims = [](const Tensor& t) {
    std::array<int, 5> d{};
    for (int i = 0; i < 5; ++i) d[static_cast<std::size_t>(i)] = static_cast<int>(t.dim(i));
    return d;
  };
  auto strides = [](const std::array<int, 5>& d) {
    std::array<int, 5> s{};
    int acc = 1;
    for (int i = 4; i >= 0; --i) {
      s[static_cast<std::size_t>(i)] = acc;
      acc *= d[static_cast<std::size_t>(i)];
    }
    return s;
  };
  const std::array<int, 5> xd = dims(x), yd = dims(out), wd = dims(weight);
  const std::array<int, 5> xs = strides(xd), ys = strides(yd);
  std::array<int, 3> pad{}, stride{}, dilation{};
  for (std::size_t i = 0; i < 3; ++i) {
    pad[i] = static_cast<int>(p.padding[i]);
    stride[i] = static_cast<int>(p.stride[i]);
    dilation[i] = static_cast<int>(p.dilation[i]);
  }
  if (!ok(a.SetTensorNdDescriptor(plan.x, dt, 5, xd.data(), xs.data())) ||
      !ok(a.SetTensorNdDescriptor(plan.y, dt, 5, yd.data(), ys.data())) ||
      !ok(a.SetFilterNdDescriptor(plan.w, dt, CUDNN_TENSOR_NCHW, 5, wd.data())) ||
      !ok(a.SetConvolutionNdDescriptor(plan.conv, 3, pad.data(), stride.data(), dilation.data(),
                                       CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT)) ||
      !ok(a.SetConvolutionGroupCount(plan.conv, static_cast<int>(p.groups))) ||
      !ok(a.SetConvolutionMathType(
          plan.conv, x.dtype() == DType::kF32 ? CUDNN_FMA_MATH : CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION))) {
    return plan;
  }
  pick_algorithm(a, plan, x, weight, out, fmt::format("3-D {} x {}", x.describe(), weight.describe()));
  return plan;
}

// Chooses the algorithm of a plan whose descriptors are set: plan.usable
// says whether one was found.
void pick_algorithm(Api& a, Plan& plan, const Tensor& x, const Tensor& weight, const Tensor& out,
                    const std::string& label) {
  auto ok = [](cudnnStatus_t s) { return s == CUDNN_STATUS_SUCCESS; };
  // The heuristic's candidates: cheap, and all there is inside a graph
  // capture, where nothing may run.
  cudnnConvolutionFwdAlgoPerf_t perf[CUDNN_CONVOLUTION_FWD_ALGO_COUNT];
  int found = 0;
  const bool suggested = ok(a.GetConvolutionForwardAlgorithm_v7(a.handle, plan.x, plan.w, plan.conv, plan.y,
                                                                CUDNN_CONVOLUTION_FWD_ALGO_COUNT, &found, perf));
  const cudnnConvolutionFwdAlgoPerf_t* pick = nullptr;  // the heuristic's first usable one
  for (int k = 0; suggested && k < found && !pick; ++k) {
    if (allowed(perf[k], x.dtype())) pick = &perf[k];
  }
  const cudnnConvolutionFwdAlgoPerf_t heuristic = pick ? *pick : cudnnConvolutionFwdAlgoPerf_t{};
  // Outside captures, every algorithm timed on the real shape, fastest first.
  // Where that search could not run the heuristic's pick, the pick goes first
  // all the same: the search once reported the implicit-GEMM algorithm of a
  // 64-channel 512x512 NCHW convolution as failed (status 4002) and ranked
  // one taking 1.3 ms first, where the heuristic's pick had run in 0.21 ms
  // (device runs, `conv plan` lines). conv2d's own first-call timing against
  // im2col still catches a bad pick.
  bool timed = false;
  if (a.FindConvolutionForwardAlgorithmEx && !capturing()) {
    cudnnConvolutionFwdAlgoPerf_t timed_perf[CUDNN_CONVOLUTION_FWD_ALGO_COUNT];
    int timed_found = 0;
    Tensor scratch = Tensor::empty(out.shape(), out.dtype(), Device::kCuda);  // out may hold the bias
    Tensor workspace = Tensor::empty({static_cast<std::int64_t>(kFindWorkspaceBytes)}, DType::kU8, Device::kCuda);
    timed = ok(a.FindConvolutionForwardAlgorithmEx(
        a.handle, plan.x, x.raw_data(), plan.w, weight.raw_data(), plan.conv, plan.y, scratch.raw_data(),
        CUDNN_CONVOLUTION_FWD_ALGO_COUNT, &timed_found, timed_perf, workspace.raw_data(), kFindWorkspaceBytes));
    if (timed) {
      const bool measured = std::any_of(timed_perf, timed_perf + timed_found, [&](const auto& t) {
        return t.algo == heuristic.algo && t.status == CUDNN_STATUS_SUCCESS;
      });
      found = 0;
      if (pick && !measured) perf[found++] = heuristic;
      for (int k = 0; k < timed_found && found < CUDNN_CONVOLUTION_FWD_ALGO_COUNT; ++k) perf[found++] = timed_perf[k];
    }
  }
  if (!timed && !suggested) return;
  std::string tried;
  for (int k = 0; k < found; ++k) {
    tried += fmt::format(" {}:{}{}", static_cast<int>(perf[k].algo), static_cast<int>(perf[k].status),
                         timed && perf[k].status == CUDNN_STATUS_SUCCESS ? fmt::format("/{:.3f}", perf[k].time) : "");
    if (plan.usable || !allowed(perf[k], x.dtype())) continue;
    // The math the algorithm was found (or recommended) with, before asking
    // for its workspace (which depends on it).
    if (x.dtype() != DType::kF32 && !ok(a.SetConvolutionMathType(plan.conv, perf[k].mathType))) continue;
    size_t bytes = 0;
    if (!ok(a.GetConvolutionForwardWorkspaceSize(a.handle, plan.x, plan.w, plan.conv, plan.y, perf[k].algo, &bytes)))
      continue;
    plan.algo = perf[k].algo;
    plan.workspace = bytes;
    plan.usable = true;
  }
  add_conv_note(fmt::format("cuDNN {}: {} algo {} ({}), workspace {} KiB; algo:status[/ms]{}", label,
                            plan.usable ? "runs" : "declines", static_cast<int>(plan.algo),
                            timed ? "timed" : "heuristic", plan.workspace / 1024, tried));
}

}  // namespace

namespace {
std::atomic<bool> g_enabled{true};
}  // namespace

void set_cudnn_enabled(bool enabled) { g_enabled = enabled; }
bool cudnn_enabled() { return g_enabled; }

namespace {

// Finds (or makes) the plan under `key` and launches it. One lock over the
// plan, the handle's stream and the launch: a cuDNN handle must not be used
// by two threads at once. The launch only enqueues.
template <typename Key, typename Make>
bool run_plan(std::map<Key, Plan>& plans, std::mutex& mutex, const Key& key, Make&& make, const Tensor& x,
              const Tensor& weight, float beta, Tensor& out) {
  if (!g_enabled) return false;
  Api& a = api();
  if (!a.ok) return false;
  std::lock_guard lock(mutex);
  if (a.SetStream(a.handle, engine_stream()) != CUDNN_STATUS_SUCCESS) return false;
  auto it = plans.find(key);
  if (it == plans.end()) it = plans.emplace(key, make(a)).first;
  const Plan plan = it->second;
  if (!plan.usable) return false;
  Tensor workspace;
  if (plan.workspace > 0) {
    workspace = Tensor::empty({static_cast<std::int64_t>(plan.workspace)}, DType::kU8, Device::kCuda);
  }
  const float alpha = 1.0f;
  const cudnnStatus_t st = a.ConvolutionForward(a.handle, &alpha, plan.x, x.raw_data(), plan.w, weight.raw_data(),
                                                plan.conv, plan.algo, plan.workspace ? workspace.raw_data() : nullptr,
                                                plan.workspace, &beta, plan.y, out.raw_data());
  if (st != CUDNN_STATUS_SUCCESS) {
    log::warn("cuDNN convolution failed (status {}); using the fallback for this shape", static_cast<int>(st));
    plans[key].usable = false;
    return false;
  }
  return true;
}

}  // namespace

bool cudnn_conv2d(const Tensor& x, const Tensor& weight, const Conv2dParams& p, float beta, Tensor& out, bool nhwc) {
  static std::mutex mutex;
  static auto* plans = new std::map<ConvShapeKey, Plan>();
  return run_plan(
      *plans, mutex, conv_shape_key(x, weight, p, nhwc), [&](Api& a) { return make_plan(a, x, weight, p, out, nhwc); },
      x, weight, beta, out);
}

bool cudnn_conv3d(const Tensor& x, const Tensor& weight, const Conv3dParams& p, float beta, Tensor& out) {
  static std::mutex mutex;
  static auto* plans = new std::map<std::vector<std::int64_t>, Plan>();
  std::vector<std::int64_t> key{static_cast<std::int64_t>(x.dtype()), p.groups};
  for (int i = 0; i < 5; ++i) {
    key.push_back(x.dim(i));
    key.push_back(weight.dim(i));
  }
  for (std::size_t i = 0; i < 3; ++i) {
    key.push_back(p.stride[i]);
    key.push_back(p.padding[i]);
    key.push_back(p.dilation[i]);
  }
  return run_plan(
      *plans, mutex, key, [&](Api& a) { return make_plan_3d(a, x, weight, p, out); }, x, weight, beta, out);
}

std::string cudnn_status() { return api().status; }

#else  // no cuDNN headers at build time

bool cudnn_conv2d(const Tensor&, const Tensor&, const Conv2dParams&, float, Tensor&, bool) { return false; }
bool cudnn_conv3d(const Tensor&, const Tensor&, const Conv3dParams&, float, Tensor&) { return false; }
void set_cudnn_enabled(bool) {}
bool cudnn_enabled() { return false; }
std::string cudnn_status() { return "not built (no cudnn.h)"; }

#endif

}  // namespace sc::engine::cuda
