// cuDNN's legacy convolution API, loaded with dlopen so that a machine with
// the CUDA runtime but no cuDNN still runs (on im2col). NCHW tensors as the
// engine keeps them; f16 / bf16 on tensor cores with f32 accumulation; f32
// with plain FMA math (no TF32), to match the CPU reference. One plan
// (descriptors + algorithm from cuDNN's heuristics) per shape; workspaces come
// from the caching allocator, so graph capture and steady state allocate
// nothing new.
#include "engine/cuda/cudnn_conv.h"

#include <dlfcn.h>

#include <atomic>
#include <cstdlib>
#include <map>
#include <mutex>

#include "base/log.h"
#include "engine/cuda/check.h"
#include "engine/cuda/runtime.h"

#if __has_include(<cudnn.h>)
#include <cudnn.h>
#define SC_HAVE_CUDNN_HEADERS 1
#endif

namespace sc::engine::cuda {

ConvShapeKey conv_shape_key(const Tensor& x, const Tensor& w, const Conv2dParams& p) {
  return {static_cast<std::int64_t>(x.dtype()),
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
  cudnnStatus_t (*SetConvolutionGroupCount)(cudnnConvolutionDescriptor_t, int) = nullptr;
  cudnnStatus_t (*GetConvolutionForwardAlgorithm_v7)(cudnnHandle_t, cudnnTensorDescriptor_t, cudnnFilterDescriptor_t,
                                                     cudnnConvolutionDescriptor_t, cudnnTensorDescriptor_t, int, int*,
                                                     cudnnConvolutionFwdAlgoPerf_t*) = nullptr;
  cudnnStatus_t (*GetConvolutionForwardWorkspaceSize)(cudnnHandle_t, cudnnTensorDescriptor_t, cudnnFilterDescriptor_t,
                                                      cudnnConvolutionDescriptor_t, cudnnTensorDescriptor_t,
                                                      cudnnConvolutionFwdAlgo_t, size_t*) = nullptr;
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

Plan make_plan(Api& a, const Tensor& x, const Tensor& weight, const Conv2dParams& p, const Tensor& out) {
  Plan plan;
  const cudnnDataType_t dt = data_type(x.dtype());
  auto ok = [](cudnnStatus_t s) { return s == CUDNN_STATUS_SUCCESS; };
  auto i = [](std::int64_t v) { return static_cast<int>(v); };
  if (!ok(a.CreateTensorDescriptor(&plan.x)) || !ok(a.CreateTensorDescriptor(&plan.y)) ||
      !ok(a.CreateFilterDescriptor(&plan.w)) || !ok(a.CreateConvolutionDescriptor(&plan.conv))) {
    return plan;
  }
  if (!ok(a.SetTensor4dDescriptor(plan.x, CUDNN_TENSOR_NCHW, dt, i(x.dim(0)), i(x.dim(1)), i(x.dim(2)), i(x.dim(3)))) ||
      !ok(a.SetTensor4dDescriptor(plan.y, CUDNN_TENSOR_NCHW, dt, i(out.dim(0)), i(out.dim(1)), i(out.dim(2)),
                                  i(out.dim(3)))) ||
      !ok(a.SetFilter4dDescriptor(plan.w, dt, CUDNN_TENSOR_NCHW, i(weight.dim(0)), i(weight.dim(1)), i(weight.dim(2)),
                                  i(weight.dim(3)))) ||
      !ok(a.SetConvolution2dDescriptor(plan.conv, i(p.padding[0]), i(p.padding[1]), i(p.stride[0]), i(p.stride[1]),
                                       i(p.dilation[0]), i(p.dilation[1]), CUDNN_CROSS_CORRELATION,
                                       CUDNN_DATA_FLOAT)) ||
      !ok(a.SetConvolutionGroupCount(plan.conv, i(p.groups))) ||
      !ok(a.SetConvolutionMathType(
          plan.conv, x.dtype() == DType::kF32 ? CUDNN_FMA_MATH : CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION))) {
    return plan;
  }
  cudnnConvolutionFwdAlgoPerf_t perf[8];
  int found = 0;
  if (!ok(a.GetConvolutionForwardAlgorithm_v7(a.handle, plan.x, plan.w, plan.conv, plan.y, 8, &found, perf))) {
    return plan;
  }
  for (int k = 0; k < found; ++k) {
    if (perf[k].status != CUDNN_STATUS_SUCCESS) continue;
    // f32 keeps exact f32 math: skip algorithms that would use tensor cores.
    if (x.dtype() == DType::kF32 && perf[k].mathType != CUDNN_FMA_MATH && perf[k].mathType != CUDNN_DEFAULT_MATH) {
      continue;
    }
    size_t bytes = 0;
    if (!ok(a.GetConvolutionForwardWorkspaceSize(a.handle, plan.x, plan.w, plan.conv, plan.y, perf[k].algo, &bytes)))
      continue;
    plan.algo = perf[k].algo;
    plan.workspace = bytes;
    plan.usable = true;
    break;
  }
  return plan;
}

}  // namespace

namespace {
std::atomic<bool> g_enabled{true};
}  // namespace

void set_cudnn_enabled(bool enabled) { g_enabled = enabled; }
bool cudnn_enabled() { return g_enabled; }

bool cudnn_conv2d(const Tensor& x, const Tensor& weight, const Conv2dParams& p, float beta, Tensor& out) {
  if (!g_enabled) return false;
  Api& a = api();
  if (!a.ok) return false;
  static std::mutex mutex;
  static auto* plans = new std::map<ConvShapeKey, Plan>();
  const ConvShapeKey key = conv_shape_key(x, weight, p);
  // One lock over the plan, the handle's stream and the launch: a cuDNN
  // handle must not be used by two threads at once. The launch only enqueues.
  std::lock_guard lock(mutex);
  Plan plan;
  {
    auto it = plans->find(key);
    if (it == plans->end()) it = plans->emplace(key, make_plan(a, x, weight, p, out)).first;
    plan = it->second;
    if (!plan.usable) return false;
    if (a.SetStream(a.handle, engine_stream()) != CUDNN_STATUS_SUCCESS) return false;
  }
  Tensor workspace;
  if (plan.workspace > 0) {
    workspace = Tensor::empty({static_cast<std::int64_t>(plan.workspace)}, DType::kU8, Device::kCuda);
  }
  const float alpha = 1.0f;
  const cudnnStatus_t st = a.ConvolutionForward(a.handle, &alpha, plan.x, x.raw_data(), plan.w, weight.raw_data(),
                                                plan.conv, plan.algo, plan.workspace ? workspace.raw_data() : nullptr,
                                                plan.workspace, &beta, plan.y, out.raw_data());
  if (st != CUDNN_STATUS_SUCCESS) {
    log::warn("cuDNN convolution failed (status {}); using im2col for this shape", static_cast<int>(st));
    (*plans)[key].usable = false;
    return false;
  }
  return true;
}

std::string cudnn_status() { return api().status; }

#else  // no cuDNN headers at build time

bool cudnn_conv2d(const Tensor&, const Tensor&, const Conv2dParams&, float, Tensor&) { return false; }
void set_cudnn_enabled(bool) {}
bool cudnn_enabled() { return false; }
std::string cudnn_status() { return "not built (no cudnn.h)"; }

#endif

}  // namespace sc::engine::cuda
