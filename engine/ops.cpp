// Argument checks, output shapes and device dispatch for engine/ops.h. Every
// check lives here, once, so each backend's kernels can trust their inputs.
#include "engine/ops.h"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <iterator>
#include <limits>
#include <type_traits>

#include <fmt/format.h>

#include "base/error.h"
#include "engine/cpu/kernels.h"
#include "engine/cuda/runtime.h"
#if SC_HAVE_CUDA
#include "engine/cuda/kernels.h"
#endif

namespace sc::engine {

namespace {

void require_defined(const char* op, const char* what, const Tensor& t) {
  if (!t.defined()) throw Error("{}: {} is an undefined tensor", op, what);
}

// Floating-point storage: f32 on the CPU; f32, f16 or bf16 on CUDA (which
// accumulates in f32 whatever the storage).
void require_float(const char* op, const char* what, const Tensor& t) {
  require_defined(op, what, t);
  if (t.dtype() == DType::kF32) return;
  if (t.device() == Device::kCuda && (t.dtype() == DType::kF16 || t.dtype() == DType::kBF16)) return;
  if (t.device() == Device::kCpu && is_floating(t.dtype())) {
    throw Error("{}: {} is {}; the CPU backend computes in f32 (convert with to_dtype first)", op, what, t.describe());
  }
  throw Error("{}: {} is {}; this op needs floating-point data", op, what, t.describe());
}

// Every defined floating-point input of an op shares one dtype (no silent
// promotion: a stray f32 tensor in an f16 model is a bug worth hearing about).
void require_same_dtype(const char* op, std::initializer_list<const Tensor*> tensors) {
  const Tensor* first = nullptr;
  for (const Tensor* t : tensors) {
    if (!t->defined()) continue;
    if (!first) {
      first = t;
    } else if (t->dtype() != first->dtype()) {
      throw Error("{}: inputs have different dtypes ({} and {}); convert with to_dtype first", op, first->describe(),
                  t->describe());
    }
  }
}

void require_rank(const char* op, const char* what, const Tensor& t, int rank) {
  if (t.rank() != rank) throw Error("{}: {} must have {} dimensions; got {}", op, what, rank, t.describe());
}

// The device all defined tensors share; mixing devices is an error, not a
// silent copy.
Device common_device(const char* op, std::initializer_list<const Tensor*> tensors) {
  const Tensor* first = nullptr;
  for (const Tensor* t : tensors) {
    if (!t->defined()) continue;
    if (!first) {
      first = t;
    } else if (t->device() != first->device()) {
      throw Error("{}: inputs are on different devices ({} and {})", op, first->describe(), t->describe());
    }
  }
  return first ? first->device() : Device::kCpu;
}

// How each backend runs each op, from engine/op_list.inc.
enum class Backing { kKernel, kComposed, kNone };
#define SC_OP_BACKING_KERNEL Backing::kKernel
#define SC_OP_BACKING_COMPOSED Backing::kComposed
#define SC_OP_BACKING_NONE Backing::kNone
struct OpEntry {
  const char* name;
  Backing cpu, cuda;
};
constexpr OpEntry kOpTable[] = {
#define SC_OP(Enum, kernel, cpu, cuda, params) {#kernel, SC_OP_BACKING_##cpu, SC_OP_BACKING_##cuda},
#include "engine/op_list.inc"
};
static_assert(std::size(kOpTable) == std::size(kAllOps));

constexpr Backing backing(Device device, Op op) {
  const OpEntry& e = kOpTable[static_cast<std::size_t>(op)];
  return device == Device::kCpu ? e.cpu : e.cuda;
}

// Runs the kernel of the tensors' device. A backend without a kernel for the
// op passes nullptr (in a build without CUDA every CUDA branch is nullptr),
// and asking for it says so plainly.
#if SC_HAVE_CUDA
#define SC_CUDA_KERNEL(...) [&] { __VA_ARGS__; }
#else
#define SC_CUDA_KERNEL(...) nullptr
#endif

template <typename Cpu, typename Cuda>
void dispatch(const char* op, Device device, Cpu&& cpu, Cuda&& cuda_kernel) {
  switch (device) {
    case Device::kCpu:
      if constexpr (!std::is_same_v<std::decay_t<Cpu>, std::nullptr_t>) {
        cpu();
        return;
      }
      break;
    case Device::kCuda:
      if constexpr (!std::is_same_v<std::decay_t<Cuda>, std::nullptr_t>) {
        cuda::require_available(op);
        if (cuda::op_profiling() && !cuda::capturing()) {
          const cuda::OpTimer timer(op);
          cuda_kernel();
        } else {
          cuda_kernel();
        }
        return;
      }
      break;
  }
  if (device == Device::kCuda && !cuda::compiled()) {
    throw Error("{}: no {} kernel in this build (built without CUDA); run on the CPU path", op, to_string(device));
  }
  throw Error("{}: the {} backend has no kernel for this op (engine/op_list.inc)", op, to_string(device));
}

Tensor unary_op(const char* op, cpu::UnaryOp kind, const Tensor& x, float param = 0.0f) {
  require_float(op, "x", x);
  Tensor out = Tensor::empty(x.shape(), x.dtype(), x.device());
  dispatch(
      op, x.device(), [&] { cpu::unary(kind, x, param, out); }, SC_CUDA_KERNEL(cuda::unary(kind, x, param, out)));
  return out;
}

Tensor binary_op(const char* op, cpu::BinaryOp kind, const Tensor& a, const Tensor& b) {
  require_float(op, "a", a);
  require_float(op, "b", b);
  const Device device = common_device(op, {&a, &b});
  require_same_dtype(op, {&a, &b});
  Tensor out = Tensor::empty(broadcast_shapes(op, a.shape(), b.shape()), a.dtype(), device);
  dispatch(
      op, device, [&] { cpu::binary(kind, a, b, out); }, SC_CUDA_KERNEL(cuda::binary(kind, a, b, out)));
  return out;
}

std::int64_t conv_out_size(const char* op, std::int64_t in, std::int64_t k, std::int64_t stride, std::int64_t pad,
                           std::int64_t dilation) {
  const std::int64_t span = dilation * (k - 1) + 1;
  if (in + 2 * pad < span) {
    throw Error("{}: input extent {} (padded by {} each side) is smaller than the kernel's reach {}", op, in, pad,
                span);
  }
  return (in + 2 * pad - span) / stride + 1;
}

}  // namespace

// ---- which device runs which op ------------------------------------------

const char* op_name(Op op) { return kOpTable[static_cast<std::size_t>(op)].name; }

bool supports(Device device, Op op) {
  if (device == Device::kCuda && !cuda::compiled()) return false;
  return backing(device, op) != Backing::kNone;
}

bool has_kernel(Device device, Op op) {
  if (device == Device::kCuda && !cuda::compiled()) return false;
  return backing(device, op) == Backing::kKernel;
}

// ---- shapes -------------------------------------------------------------------

Shape broadcast_shapes(const char* op, const Shape& a, const Shape& b) {
  const int r = std::max(a.rank(), b.rank());
  std::vector<std::int64_t> dims(static_cast<std::size_t>(r));
  for (int i = 0; i < r; ++i) {
    const int ia = i - (r - a.rank()), ib = i - (r - b.rank());
    const std::int64_t da = ia >= 0 ? a[ia] : 1, db = ib >= 0 ? b[ib] : 1;
    if (da != db && da != 1 && db != 1) {
      throw Error("{}: shapes {} and {} do not broadcast (dimension {}: {} vs {})", op, a.to_string(), b.to_string(), i,
                  da, db);
    }
    dims[static_cast<std::size_t>(i)] = da == 1 ? db : da;
  }
  return Shape(dims);
}

// ---- conversion ------------------------------------------------------------

Tensor to_dtype(const Tensor& x, DType dtype) {
  require_defined("to_dtype", "x", x);
  if (x.dtype() == dtype) return x;
  Tensor out = Tensor::empty(x.shape(), dtype, x.device());
  dispatch(
      "to_dtype", x.device(), [&] { cpu::to_dtype(x, out); }, SC_CUDA_KERNEL(cuda::to_dtype(x, out)));
  return out;
}

// ---- matrix products -------------------------------------------------------

Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias) {
  require_float("linear", "x", x);
  require_float("linear", "weight", weight);
  require_rank("linear", "weight", weight, 2);
  if (x.rank() < 1 || x.dim(-1) != weight.dim(1)) {
    throw Error("linear: x {} does not end in the weight's input size {} (weight {})", x.describe(), weight.dim(1),
                weight.describe());
  }
  if (bias.defined()) {
    require_float("linear", "bias", bias);
    if (bias.rank() != 1 || bias.dim(0) != weight.dim(0)) {
      throw Error("linear: bias {} must be [{}] to match weight {}", bias.describe(), weight.dim(0), weight.describe());
    }
  }
  const Device device = common_device("linear", {&x, &weight, &bias});
  require_same_dtype("linear", {&x, &weight, &bias});
  Shape shape = x.shape();
  shape[shape.rank() - 1] = weight.dim(0);
  Tensor out = Tensor::empty(shape, x.dtype(), device);
  dispatch(
      "linear", device, [&] { cpu::linear(x, weight, bias, out); }, SC_CUDA_KERNEL(cuda::linear(x, weight, bias, out)));
  return out;
}

Tensor matmul(const Tensor& a, const Tensor& b) {
  require_float("matmul", "a", a);
  require_float("matmul", "b", b);
  if (a.rank() < 2 || b.rank() < 2) {
    throw Error("matmul: both operands need at least 2 dimensions (reshape vectors); got {} and {}", a.describe(),
                b.describe());
  }
  if (a.dim(-1) != b.dim(-2)) {
    throw Error("matmul: inner sizes differ: {} @ {} ({} vs {})", a.describe(), b.describe(), a.dim(-1), b.dim(-2));
  }
  std::vector<std::int64_t> ba(a.shape().to_vector()), bb(b.shape().to_vector());
  ba.resize(ba.size() - 2);
  bb.resize(bb.size() - 2);
  const Shape batch = broadcast_shapes("matmul", Shape(ba), Shape(bb));
  Shape shape = batch;
  shape.push_back(a.dim(-2));
  shape.push_back(b.dim(-1));
  const Device device = common_device("matmul", {&a, &b});
  require_same_dtype("matmul", {&a, &b});
  Tensor out = Tensor::empty(shape, a.dtype(), device);
  dispatch(
      "matmul", device, [&] { cpu::matmul(a, b, out); }, SC_CUDA_KERNEL(cuda::matmul(a, b, out)));
  return out;
}

// ---- convolution -----------------------------------------------------------

namespace {

// The checks of conv2d, conv2d_nhwc and conv3d on logical sizes: x has c
// channels of `in` (spatial sizes), weight o outputs of wc channels and
// kernel `k`. Returns the output's spatial sizes.
template <std::size_t N>
std::array<std::int64_t, N> check_conv(const char* op, const Tensor& x, std::int64_t c,
                                       const std::array<std::int64_t, N>& in, const Tensor& weight, std::int64_t o,
                                       std::int64_t wc, const std::array<std::int64_t, N>& k, const Tensor& bias,
                                       const std::array<std::int64_t, N>& stride,
                                       const std::array<std::int64_t, N>& padding,
                                       const std::array<std::int64_t, N>& dilation, std::int64_t groups) {
  for (std::size_t i = 0; i < N; ++i) {
    if (stride[i] < 1 || dilation[i] < 1 || padding[i] < 0) {
      throw Error("{}: stride and dilation must be >= 1 and padding >= 0; got stride {}, padding {}, dilation {}", op,
                  Shape(std::span<const std::int64_t>(stride)).to_string(),
                  Shape(std::span<const std::int64_t>(padding)).to_string(),
                  Shape(std::span<const std::int64_t>(dilation)).to_string());
    }
  }
  if (groups < 1 || c == 0 || c % groups != 0 || o % groups != 0) {
    throw Error("{}: groups {} must divide both input channels {} and output channels {}", op, groups, c, o);
  }
  if (wc != c / groups) {
    throw Error("{}: weight {} expects {} input channels per group; x {} has {} / {} groups", op, weight.describe(), wc,
                x.describe(), c, groups);
  }
  for (std::int64_t ki : k) {
    if (ki < 1) throw Error("{}: empty kernel {}", op, weight.describe());
  }
  if (bias.defined()) {
    require_float(op, "bias", bias);
    if (bias.rank() != 1 || bias.dim(0) != o) throw Error("{}: bias {} must be [{}]", op, bias.describe(), o);
  }
  std::array<std::int64_t, N> out{};
  for (std::size_t i = 0; i < N; ++i) out[i] = conv_out_size(op, in[i], k[i], stride[i], padding[i], dilation[i]);
  return out;
}

std::array<std::int64_t, 2> check_conv2d(const char* op, const Tensor& x, std::int64_t c, std::int64_t h,
                                         std::int64_t w, const Tensor& weight, std::int64_t o, std::int64_t wc,
                                         std::int64_t kh, std::int64_t kw, const Tensor& bias, const Conv2dParams& p) {
  return check_conv<2>(op, x, c, {h, w}, weight, o, wc, {kh, kw}, bias, p.stride, p.padding, p.dilation, p.groups);
}

}  // namespace

Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias, const Conv2dParams& p) {
  require_float("conv2d", "x", x);
  require_float("conv2d", "weight", weight);
  require_rank("conv2d", "x", x, 4);
  require_rank("conv2d", "weight", weight, 4);
  const auto [ho, wo] = check_conv2d("conv2d", x, x.dim(1), x.dim(2), x.dim(3), weight, weight.dim(0), weight.dim(1),
                                     weight.dim(2), weight.dim(3), bias, p);
  const Device device = common_device("conv2d", {&x, &weight, &bias});
  require_same_dtype("conv2d", {&x, &weight, &bias});
  Tensor out = Tensor::empty({x.dim(0), weight.dim(0), ho, wo}, x.dtype(), device);
  dispatch(
      "conv2d", device, [&] { cpu::conv2d(x, weight, bias, p, out); },
      SC_CUDA_KERNEL(cuda::conv2d(x, weight, bias, p, out)));
  return out;
}

Tensor conv2d_nhwc(const Tensor& x, const Tensor& weight, const Tensor& bias, const Conv2dParams& p) {
  require_float("conv2d_nhwc", "x", x);
  require_float("conv2d_nhwc", "weight", weight);
  require_rank("conv2d_nhwc", "x [N, H, W, C]", x, 4);
  require_rank("conv2d_nhwc", "weight [O, kh, kw, C]", weight, 4);
  const auto [ho, wo] = check_conv2d("conv2d_nhwc", x, x.dim(3), x.dim(1), x.dim(2), weight, weight.dim(0),
                                     weight.dim(3), weight.dim(1), weight.dim(2), bias, p);
  const Device device = common_device("conv2d_nhwc", {&x, &weight, &bias});
  require_same_dtype("conv2d_nhwc", {&x, &weight, &bias});
  static_assert(backing(Device::kCpu, Op::kConv2dNhwc) == Backing::kComposed,
                "engine/op_list.inc gave the CPU a conv2d_nhwc kernel: dispatch to it here");
  if (device == Device::kCpu) {
    // The CPU backend convolves channels-first: the same arithmetic between transposes.
    return permute(conv2d(permute(x, {0, 3, 1, 2}), permute(weight, {0, 3, 1, 2}), bias, p), {0, 2, 3, 1});
  }
  Tensor out = Tensor::empty({x.dim(0), ho, wo, weight.dim(0)}, x.dtype(), device);
  dispatch("conv2d_nhwc", device, nullptr, SC_CUDA_KERNEL(cuda::conv2d_nhwc(x, weight, bias, p, out)));
  return out;
}

Tensor conv3d(const Tensor& x, const Tensor& weight, const Tensor& bias, const Conv3dParams& p) {
  require_float("conv3d", "x", x);
  require_float("conv3d", "weight", weight);
  require_rank("conv3d", "x [N, C, D, H, W]", x, 5);
  require_rank("conv3d", "weight [O, C / groups, kd, kh, kw]", weight, 5);
  const auto [dout, ho, wo] =
      check_conv<3>("conv3d", x, x.dim(1), {x.dim(2), x.dim(3), x.dim(4)}, weight, weight.dim(0), weight.dim(1),
                    {weight.dim(2), weight.dim(3), weight.dim(4)}, bias, p.stride, p.padding, p.dilation, p.groups);
  const Device device = common_device("conv3d", {&x, &weight, &bias});
  require_same_dtype("conv3d", {&x, &weight, &bias});
  Tensor out = Tensor::empty({x.dim(0), weight.dim(0), dout, ho, wo}, x.dtype(), device);
  dispatch(
      "conv3d", device, [&] { cpu::conv3d(x, weight, bias, p, out); },
      SC_CUDA_KERNEL(cuda::conv3d(x, weight, bias, p, out)));
  return out;
}

// ---- normalisation ---------------------------------------------------------

namespace {

void require_affine(const char* op, const char* what, const Tensor& t, std::int64_t size) {
  if (!t.defined()) return;
  require_float(op, what, t);
  if (t.rank() != 1 || t.dim(0) != size) throw Error("{}: {} {} must be [{}]", op, what, t.describe(), size);
}

}  // namespace

Tensor group_norm(const Tensor& x, std::int64_t groups, const Tensor& weight, const Tensor& bias, float eps,
                  bool fuse_silu) {
  require_float("group_norm", "x", x);
  if (x.rank() < 2) throw Error("group_norm: x must be [N, C, ...]; got {}", x.describe());
  if (groups < 1 || x.dim(1) % groups != 0) {
    throw Error("group_norm: {} groups do not divide {} channels", groups, x.dim(1));
  }
  require_affine("group_norm", "weight", weight, x.dim(1));
  require_affine("group_norm", "bias", bias, x.dim(1));
  const Device device = common_device("group_norm", {&x, &weight, &bias});
  require_same_dtype("group_norm", {&x, &weight, &bias});
  Tensor out = Tensor::empty(x.shape(), x.dtype(), device);
  dispatch(
      "group_norm", device, [&] { cpu::group_norm(x, groups, weight, bias, eps, fuse_silu, out); },
      SC_CUDA_KERNEL(cuda::group_norm(x, groups, weight, bias, eps, fuse_silu, out)));
  return out;
}

Tensor layer_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, float eps) {
  require_float("layer_norm", "x", x);
  if (x.rank() < 1) throw Error("layer_norm: x is a scalar");
  require_affine("layer_norm", "weight", weight, x.dim(-1));
  require_affine("layer_norm", "bias", bias, x.dim(-1));
  const Device device = common_device("layer_norm", {&x, &weight, &bias});
  require_same_dtype("layer_norm", {&x, &weight, &bias});
  Tensor out = Tensor::empty(x.shape(), x.dtype(), device);
  dispatch(
      "layer_norm", device, [&] { cpu::layer_norm(x, weight, bias, eps, out); },
      SC_CUDA_KERNEL(cuda::layer_norm(x, weight, bias, eps, out)));
  return out;
}

Tensor rms_norm(const Tensor& x, const Tensor& weight, float eps) {
  require_float("rms_norm", "x", x);
  if (x.rank() < 1) throw Error("rms_norm: x is a scalar");
  require_affine("rms_norm", "weight", weight, x.dim(-1));
  const Device device = common_device("rms_norm", {&x, &weight});
  require_same_dtype("rms_norm", {&x, &weight});
  Tensor out = Tensor::empty(x.shape(), x.dtype(), device);
  dispatch(
      "rms_norm", device, [&] { cpu::rms_norm(x, weight, eps, out); },
      SC_CUDA_KERNEL(cuda::rms_norm(x, weight, eps, out)));
  return out;
}

Tensor softmax(const Tensor& x, int dim) {
  require_float("softmax", "x", x);
  const int d = x.shape().normalize_axis(dim);
  Tensor out = Tensor::empty(x.shape(), x.dtype(), x.device());
  dispatch(
      "softmax", x.device(), [&] { cpu::softmax(x, d, out); }, SC_CUDA_KERNEL(cuda::softmax(x, d, out)));
  return out;
}

// ---- attention -------------------------------------------------------------

Tensor attention(const Tensor& q, const Tensor& k, const Tensor& v, const AttentionOptions& options) {
  const char* op = "attention";
  require_float(op, "q", q);
  require_float(op, "k", k);
  require_float(op, "v", v);
  require_rank(op, "q [B, H, Sq, D]", q, 4);
  require_rank(op, "k [B, Hk, Sk, D]", k, 4);
  require_rank(op, "v [B, Hk, Sk, Dv]", v, 4);
  if (k.dim(0) != q.dim(0) || v.dim(0) != q.dim(0) || k.dim(1) != v.dim(1) || k.dim(2) != v.dim(2) ||
      k.dim(3) != q.dim(3)) {
    throw Error("attention: q {}, k {} and v {} do not fit [B, H, Sq, D], [B, Hk, Sk, D], [B, Hk, Sk, Dv]",
                q.describe(), k.describe(), v.describe());
  }
  if (k.dim(1) == 0 || q.dim(1) % k.dim(1) != 0) {
    throw Error("attention: {} query heads are not a multiple of {} key/value heads", q.dim(1), k.dim(1));
  }
  const Tensor& mask = options.mask;
  if (mask.defined()) {
    require_float(op, "mask", mask);
    if (mask.rank() > 4) throw Error("attention: mask {} has more than 4 dimensions", mask.describe());
    const std::int64_t full[4] = {q.dim(0), q.dim(1), q.dim(2), k.dim(2)};
    for (int i = 0; i < mask.rank(); ++i) {
      const std::int64_t want = full[4 - mask.rank() + i];
      if (mask.dim(i) != want && mask.dim(i) != 1) {
        throw Error("attention: mask {} does not broadcast to [B, H, Sq, Sk] = [{}, {}, {}, {}]", mask.describe(),
                    full[0], full[1], full[2], full[3]);
      }
    }
  }
  const float scale = options.scale ? *options.scale : 1.0f / std::sqrt(static_cast<float>(q.dim(3)));
  const Device device = common_device(op, {&q, &k, &v, &mask});
  require_same_dtype(op, {&q, &k, &v});
  Tensor out = Tensor::empty({q.dim(0), q.dim(1), q.dim(2), v.dim(3)}, q.dtype(), device);
  // The additive mask is read in f32 whatever the storage of q, k and v.
  const Tensor mask_f32 = mask.defined() ? to_dtype(mask, DType::kF32) : Tensor();
  dispatch(
      op, device, [&] { cpu::attention(q, k, v, options.causal, mask_f32, scale, out); },
      SC_CUDA_KERNEL(cuda::attention(q, k, v, options.causal, mask_f32, scale, out)));
  return out;
}

// ---- elementwise -----------------------------------------------------------

Tensor silu(const Tensor& x) { return unary_op("silu", cpu::UnaryOp::kSilu, x); }
Tensor gelu(const Tensor& x, GeluApprox approx) {
  return unary_op("gelu", approx == GeluApprox::kTanh ? cpu::UnaryOp::kGeluTanh : cpu::UnaryOp::kGelu, x);
}
Tensor quick_gelu(const Tensor& x) { return unary_op("quick_gelu", cpu::UnaryOp::kQuickGelu, x); }
Tensor relu(const Tensor& x) { return unary_op("relu", cpu::UnaryOp::kRelu, x); }
Tensor tanh(const Tensor& x) { return unary_op("tanh", cpu::UnaryOp::kTanh, x); }
Tensor sigmoid(const Tensor& x) { return unary_op("sigmoid", cpu::UnaryOp::kSigmoid, x); }
Tensor scale(const Tensor& x, float factor) { return unary_op("scale", cpu::UnaryOp::kScale, x, factor); }
Tensor add_scalar(const Tensor& x, float value) { return unary_op("add_scalar", cpu::UnaryOp::kAddScalar, x, value); }
Tensor exp(const Tensor& x) { return unary_op("exp", cpu::UnaryOp::kExp, x); }
Tensor log(const Tensor& x) { return unary_op("log", cpu::UnaryOp::kLog, x); }
Tensor sqrt(const Tensor& x) { return unary_op("sqrt", cpu::UnaryOp::kSqrt, x); }
Tensor abs(const Tensor& x) { return unary_op("abs", cpu::UnaryOp::kAbs, x); }
Tensor reciprocal(const Tensor& x) { return unary_op("reciprocal", cpu::UnaryOp::kReciprocal, x); }
Tensor erf(const Tensor& x) { return unary_op("erf", cpu::UnaryOp::kErf, x); }
Tensor sin(const Tensor& x) { return unary_op("sin", cpu::UnaryOp::kSin, x); }
Tensor cos(const Tensor& x) { return unary_op("cos", cpu::UnaryOp::kCos, x); }
Tensor leaky_relu(const Tensor& x, float negative_slope) {
  return unary_op("leaky_relu", cpu::UnaryOp::kLeakyRelu, x, negative_slope);
}
Tensor pow_scalar(const Tensor& x, float exponent) {
  return unary_op("pow_scalar", cpu::UnaryOp::kPowScalar, x, exponent);
}

Tensor clamp(const Tensor& x, float lo, float hi) {
  require_float("clamp", "x", x);
  if (lo > hi) throw Error("clamp: lower bound {} is above the upper bound {}", lo, hi);
  Tensor out = x;
  if (lo > -std::numeric_limits<float>::infinity()) out = unary_op("clamp", cpu::UnaryOp::kClampMin, out, lo);
  if (hi < std::numeric_limits<float>::infinity()) out = unary_op("clamp", cpu::UnaryOp::kClampMax, out, hi);
  // Unbounded on both sides is still a new tensor, as every op returns.
  return out.shares_storage_with(x) ? x.clone() : out;
}

Tensor geglu(const Tensor& x) {
  require_float("geglu", "x", x);
  if (x.rank() < 1 || x.dim(-1) % 2 != 0) {
    throw Error("geglu: the last dimension of x {} must be even (value and gate halves)", x.describe());
  }
  const std::int64_t half = x.dim(-1) / 2;
  static_assert(backing(Device::kCpu, Op::kGeglu) == Backing::kComposed,
                "engine/op_list.inc gave the CPU a geglu kernel: dispatch to it here");
  if (x.device() == Device::kCpu) return mul(slice(x, -1, 0, half), gelu(slice(x, -1, half, 2 * half)));
  Shape shape = x.shape();
  shape[shape.rank() - 1] = half;
  Tensor out = Tensor::empty(shape, x.dtype(), x.device());
  dispatch("geglu", x.device(), nullptr, SC_CUDA_KERNEL(cuda::geglu(x, out)));
  return out;
}
Tensor add(const Tensor& a, const Tensor& b) { return binary_op("add", cpu::BinaryOp::kAdd, a, b); }
Tensor sub(const Tensor& a, const Tensor& b) { return binary_op("sub", cpu::BinaryOp::kSub, a, b); }
Tensor mul(const Tensor& a, const Tensor& b) { return binary_op("mul", cpu::BinaryOp::kMul, a, b); }
Tensor div(const Tensor& a, const Tensor& b) { return binary_op("div", cpu::BinaryOp::kDiv, a, b); }
Tensor pow(const Tensor& a, const Tensor& b) { return binary_op("pow", cpu::BinaryOp::kPow, a, b); }
Tensor maximum(const Tensor& a, const Tensor& b) { return binary_op("maximum", cpu::BinaryOp::kMax, a, b); }
Tensor minimum(const Tensor& a, const Tensor& b) { return binary_op("minimum", cpu::BinaryOp::kMin, a, b); }

// ---- layout ----------------------------------------------------------------

Tensor concat(std::span<const Tensor> tensors, int dim) {
  if (tensors.empty()) throw Error("concat: no tensors given");
  const Tensor& first = tensors.front();
  require_defined("concat", "tensors[0]", first);
  const int d = first.shape().normalize_axis(dim);
  Shape shape = first.shape();
  shape[d] = 0;
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    const Tensor& t = tensors[i];
    require_defined("concat", "a tensor", t);
    bool fits = t.dtype() == first.dtype() && t.rank() == first.rank() && t.device() == first.device();
    for (int j = 0; fits && j < t.rank(); ++j) fits = j == d || t.dim(j) == first.dim(j);
    if (!fits) {
      throw Error("concat: tensors[{}] {} does not match tensors[0] {} outside dim {}", i, t.describe(),
                  first.describe(), dim);
    }
    shape[d] += t.dim(d);
  }
  Tensor out = Tensor::empty(shape, first.dtype(), first.device());
  dispatch(
      "concat", first.device(), [&] { cpu::concat(tensors, d, out); }, SC_CUDA_KERNEL(cuda::concat(tensors, d, out)));
  return out;
}

Tensor concat(std::initializer_list<Tensor> tensors, int dim) {
  return concat(std::span<const Tensor>(tensors.begin(), tensors.size()), dim);
}

Tensor slice(const Tensor& x, int dim, std::int64_t start, std::int64_t end, std::int64_t step) {
  require_defined("slice", "x", x);
  const int d = x.shape().normalize_axis(dim);
  const std::int64_t n = x.dim(d);
  if (step < 1) throw Error("slice: step must be >= 1; got {}", step);
  // Python-style: negative bounds count from the end, then clamp.
  if (start < 0) start += n;
  if (end < 0) end += n;
  start = std::clamp<std::int64_t>(start, 0, n);
  end = std::clamp<std::int64_t>(end, start, n);
  Shape shape = x.shape();
  shape[d] = (end - start + step - 1) / step;
  Tensor out = Tensor::empty(shape, x.dtype(), x.device());
  dispatch(
      "slice", x.device(), [&] { cpu::slice(x, d, start, step, out); },
      SC_CUDA_KERNEL(cuda::slice(x, d, start, step, out)));
  return out;
}

Tensor permute(const Tensor& x, std::span<const int> dims) {
  require_defined("permute", "x", x);
  if (static_cast<int>(dims.size()) != x.rank()) {
    throw Error("permute: {} dims given for {}", dims.size(), x.describe());
  }
  std::vector<int> perm(dims.size());
  std::vector<bool> seen(dims.size(), false);
  Shape shape;
  for (std::size_t i = 0; i < dims.size(); ++i) {
    const int d = x.shape().normalize_axis(dims[i]);
    if (seen[static_cast<std::size_t>(d)])
      throw Error("permute: dim {} appears twice in [{}]", d, fmt::join(dims, ", "));
    seen[static_cast<std::size_t>(d)] = true;
    perm[i] = d;
    shape.push_back(x.dim(d));
  }
  Tensor out = Tensor::empty(shape, x.dtype(), x.device());
  dispatch(
      "permute", x.device(), [&] { cpu::permute(x, perm, out); }, SC_CUDA_KERNEL(cuda::permute(x, perm, out)));
  return out;
}

Tensor permute(const Tensor& x, std::initializer_list<int> dims) {
  return permute(x, std::span<const int>(dims.begin(), dims.size()));
}

Tensor transpose(const Tensor& x, int dim0, int dim1) {
  require_defined("transpose", "x", x);
  std::vector<int> perm(static_cast<std::size_t>(x.rank()));
  for (int i = 0; i < x.rank(); ++i) perm[static_cast<std::size_t>(i)] = i;
  std::swap(perm[static_cast<std::size_t>(x.shape().normalize_axis(dim0))],
            perm[static_cast<std::size_t>(x.shape().normalize_axis(dim1))]);
  return permute(x, perm);
}

Tensor reshape(const Tensor& x, std::initializer_list<std::int64_t> dims) { return x.reshape(dims); }

Tensor pad(const Tensor& x, std::span<const std::int64_t> pads, PadMode mode, float value) {
  require_float("pad", "x", x);
  if (pads.size() % 2 != 0 || pads.size() / 2 > static_cast<std::size_t>(x.rank())) {
    throw Error("pad: {} pad values for {}; give (before, after) pairs for at most {} dimensions", pads.size(),
                x.describe(), x.rank());
  }
  Shape shape = x.shape();
  for (std::size_t p = 0; p < pads.size() / 2; ++p) {
    const int d = x.rank() - 1 - static_cast<int>(p);
    const std::int64_t before = pads[2 * p], after = pads[2 * p + 1];
    const std::int64_t n = x.dim(d);
    if (mode != PadMode::kConstant) {
      if (before < 0 || after < 0) throw Error("pad: negative padding only crops in constant mode");
      if (n == 0) throw Error("pad: cannot reflect or replicate an empty dimension of {}", x.describe());
      if (mode == PadMode::kReflect && (before >= n || after >= n)) {
        throw Error("pad: reflect padding ({}, {}) must be smaller than dimension {} of size {} in {}", before, after,
                    d, n, x.describe());
      }
    }
    if (n + before + after < 0)
      throw Error("pad: ({}, {}) crops more than dimension {} of {}", before, after, d, x.describe());
    shape[d] = n + before + after;
  }
  Tensor out = Tensor::empty(shape, x.dtype(), x.device());
  dispatch(
      "pad", x.device(), [&] { cpu::pad(x, pads, mode, value, out); },
      SC_CUDA_KERNEL(cuda::pad(x, pads, mode, value, out)));
  return out;
}

Tensor pad(const Tensor& x, std::initializer_list<std::int64_t> pads, PadMode mode, float value) {
  return pad(x, std::span<const std::int64_t>(pads.begin(), pads.size()), mode, value);
}

// ---- spatial ---------------------------------------------------------------

Tensor upsample_nearest2x(const Tensor& x) {
  require_float("upsample_nearest2x", "x", x);
  require_rank("upsample_nearest2x", "x [N, C, H, W]", x, 4);
  Tensor out = Tensor::empty({x.dim(0), x.dim(1), 2 * x.dim(2), 2 * x.dim(3)}, x.dtype(), x.device());
  dispatch(
      "upsample_nearest2x", x.device(), [&] { cpu::upsample_nearest2x(x, out); },
      SC_CUDA_KERNEL(cuda::upsample_nearest2x(x, out)));
  return out;
}

Tensor rgba8_to_image(const Tensor& rgba, std::int64_t height, std::int64_t width, DType dtype) {
  require_defined("rgba8_to_image", "rgba", rgba);
  if (rgba.dtype() != DType::kU8 || rgba.rank() != 3 || rgba.dim(2) != 4 || rgba.numel() == 0) {
    throw Error("rgba8_to_image: rgba must be u8 [H, W, 4] pixels; got {}", rgba.describe());
  }
  if (height <= 0 || width <= 0 || height > (1 << 16) || width > (1 << 16) || rgba.dim(0) > (1 << 16) ||
      rgba.dim(1) > (1 << 16)) {
    throw Error("rgba8_to_image: {} to {}x{}: sizes must be 1 to 65536", rgba.describe(), width, height);
  }
  if (!is_floating(dtype) || (rgba.device() == Device::kCpu && dtype != DType::kF32)) {
    throw Error("rgba8_to_image: cannot make {} images on the {} (use f32{})", to_string(dtype),
                to_string(rgba.device()), rgba.device() == Device::kCuda ? ", f16 or bf16" : "");
  }
  Tensor out = Tensor::empty({1, 3, height, width}, dtype, rgba.device());
  dispatch(
      "rgba8_to_image", rgba.device(), [&] { cpu::rgba8_to_image(rgba, out); },
      SC_CUDA_KERNEL(cuda::rgba8_to_image(rgba, out)));
  return out;
}

Tensor image_to_rgba8(const Tensor& image) {
  require_float("image_to_rgba8", "image", image);
  if (image.rank() != 4 || image.dim(0) != 1 || image.dim(1) != 3) {
    throw Error("image_to_rgba8: image must be [1, 3, H, W]; got {}", image.describe());
  }
  Tensor out = Tensor::empty({image.dim(2), image.dim(3), 4}, DType::kU8, image.device());
  dispatch(
      "image_to_rgba8", image.device(), [&] { cpu::image_to_rgba8(image, out); },
      SC_CUDA_KERNEL(cuda::image_to_rgba8(image, out)));
  return out;
}

Tensor upsample_nearest2x_nhwc(const Tensor& x) {
  require_float("upsample_nearest2x_nhwc", "x", x);
  require_rank("upsample_nearest2x_nhwc", "x [N, H, W, C]", x, 4);
  Tensor out = Tensor::empty({x.dim(0), 2 * x.dim(1), 2 * x.dim(2), x.dim(3)}, x.dtype(), x.device());
  dispatch(
      "upsample_nearest2x_nhwc", x.device(), [&] { cpu::upsample_nearest2x_nhwc(x, out); },
      SC_CUDA_KERNEL(cuda::upsample_nearest2x_nhwc(x, out)));
  return out;
}

Tensor resize2d(const Tensor& x, const Resize2dParams& p) {
  require_float("resize2d", "x", x);
  if (x.rank() < 2) throw Error("resize2d: x must be [..., H, W]; got {}", x.describe());
  if (p.out_h < 1 || p.out_w < 1 || p.out_h > (1 << 24) || p.out_w > (1 << 24)) {
    throw Error("resize2d: output size {}x{} of {} must be 1 to 2^24 per axis", p.out_h, p.out_w, x.describe());
  }
  if (x.dim(-1) == 0 || x.dim(-2) == 0) throw Error("resize2d: cannot resize the empty image {}", x.describe());
  for (float s : p.scale) {
    if (!(s >= 0.0f) || std::isinf(s)) throw Error("resize2d: scale {} must be finite and > 0 (or 0: out / in)", s);
  }
  Shape shape = x.shape();
  shape[shape.rank() - 2] = p.out_h;
  shape[shape.rank() - 1] = p.out_w;
  Tensor out = Tensor::empty(shape, x.dtype(), x.device());
  dispatch(
      "resize2d", x.device(), [&] { cpu::resize2d(x, p, out); }, SC_CUDA_KERNEL(cuda::resize2d(x, p, out)));
  return out;
}

Tensor grid_sample(const Tensor& x, const Tensor& grid, const GridSampleParams& p) {
  require_float("grid_sample", "x", x);
  require_float("grid_sample", "grid", grid);
  if (x.rank() != 4 && x.rank() != 5) {
    throw Error("grid_sample: x must be [N, C, H, W] or [N, C, D, H, W]; got {}", x.describe());
  }
  const std::int64_t k = x.rank() - 2;
  if (grid.rank() != x.rank() || grid.dim(0) != x.dim(0) || grid.dim(-1) != k) {
    throw Error("grid_sample: grid {} must be [{}, ..., {}] ({} output axes) for x {}", grid.describe(), x.dim(0), k, k,
                x.describe());
  }
  for (std::int64_t i = 2; i < x.rank(); ++i) {
    if (x.dim(i) == 0) throw Error("grid_sample: cannot sample the empty input {}", x.describe());
  }
  const Device device = common_device("grid_sample", {&x, &grid});
  require_same_dtype("grid_sample", {&x, &grid});
  Shape shape{x.dim(0), x.dim(1)};
  for (int i = 1; i <= static_cast<int>(k); ++i) shape.push_back(grid.dim(i));
  Tensor out = Tensor::empty(shape, x.dtype(), device);
  dispatch(
      "grid_sample", device, [&] { cpu::grid_sample(x, grid, p, out); },
      SC_CUDA_KERNEL(cuda::grid_sample(x, grid, p, out)));
  return out;
}

namespace {

Tensor pool_op(const char* op, const Tensor& x, const Pool2dParams& p, bool is_max) {
  require_float(op, "x", x);
  require_rank(op, "x [N, C, H, W]", x, 4);
  for (int i = 0; i < 2; ++i) {
    if (p.kernel[i] < 1 || p.stride[i] < 1 || p.padding[i] < 0 || 2 * p.padding[i] > p.kernel[i]) {
      throw Error(
          "{}: kernel [{}, {}], stride [{}, {}], padding [{}, {}]: need kernel, stride >= 1 and 0 <= "
          "padding <= kernel / 2",
          op, p.kernel[0], p.kernel[1], p.stride[0], p.stride[1], p.padding[0], p.padding[1]);
    }
  }
  const std::int64_t ho = conv_out_size(op, x.dim(2), p.kernel[0], p.stride[0], p.padding[0], 1);
  const std::int64_t wo = conv_out_size(op, x.dim(3), p.kernel[1], p.stride[1], p.padding[1], 1);
  Tensor out = Tensor::empty({x.dim(0), x.dim(1), ho, wo}, x.dtype(), x.device());
  dispatch(
      op, x.device(), [&] { is_max ? cpu::max_pool2d(x, p, out) : cpu::avg_pool2d(x, p, out); },
      SC_CUDA_KERNEL(is_max ? cuda::max_pool2d(x, p, out) : cuda::avg_pool2d(x, p, out)));
  return out;
}

}  // namespace

Tensor avg_pool2d(const Tensor& x, const Pool2dParams& params) { return pool_op("avg_pool2d", x, params, false); }
Tensor max_pool2d(const Tensor& x, const Pool2dParams& params) { return pool_op("max_pool2d", x, params, true); }

// ---- lookup and position ---------------------------------------------------

Tensor embedding(const Tensor& ids, const Tensor& weight) {
  require_defined("embedding", "ids", ids);
  if (ids.dtype() != DType::kI32 && ids.dtype() != DType::kI64) {
    throw Error("embedding: ids {} must be i32 or i64", ids.describe());
  }
  require_float("embedding", "weight", weight);
  require_rank("embedding", "weight [V, D]", weight, 2);
  Shape shape = ids.shape();
  shape.push_back(weight.dim(1));
  const Device device = common_device("embedding", {&ids, &weight});
  Tensor out = Tensor::empty(shape, weight.dtype(), device);
  dispatch(
      "embedding", device, [&] { cpu::embedding(ids, weight, out); },
      SC_CUDA_KERNEL(cuda::embedding(ids, weight, out)));
  return out;
}

Tensor rope(const Tensor& x, const Tensor& positions, const RopeOptions& options) {
  require_float("rope", "x", x);
  if (x.rank() < 2) throw Error("rope: x must be [..., S, D]; got {}", x.describe());
  const std::int64_t d = x.dim(-1), s = x.dim(-2);
  const std::int64_t rot = options.rotary_dim ? options.rotary_dim : d;
  if (rot < 0 || rot > d || rot % 2 != 0) {
    throw Error("rope: rotary_dim {} must be even and at most the head size {}", rot, d);
  }
  if (!(options.theta > 0.0f)) throw Error("rope: theta must be > 0; got {}", options.theta);
  require_defined("rope", "positions", positions);
  if (positions.rank() != 1 || positions.dim(0) != s ||
      (positions.dtype() != DType::kI64 && positions.dtype() != DType::kI32)) {
    throw Error("rope: positions {} must be i32/i64 [{}] (one per row of x {})", positions.describe(), s, x.describe());
  }
  Tensor pos = to_dtype(positions, DType::kI64);
  Tensor out = Tensor::empty(x.shape(), x.dtype(), x.device());
  const Tensor pos_host = pos.to(Device::kCpu);
  const std::span<const std::int64_t> pos_span(pos_host.data<std::int64_t>(), static_cast<std::size_t>(s));
  dispatch(
      "rope", x.device(), [&] { cpu::rope(x, pos_span, options, out); },
      SC_CUDA_KERNEL(cuda::rope(x, pos_span, options, out)));
  return out;
}

Tensor rope(const Tensor& x, std::int64_t start_pos, const RopeOptions& options) {
  require_float("rope", "x", x);
  if (x.rank() < 2) throw Error("rope: x must be [..., S, D]; got {}", x.describe());
  std::vector<std::int64_t> pos(static_cast<std::size_t>(x.dim(-2)));
  for (std::size_t i = 0; i < pos.size(); ++i) pos[i] = start_pos + static_cast<std::int64_t>(i);
  return rope(x, Tensor::from_vector_i64({x.dim(-2)}, pos), options);
}

// ---- reductions ------------------------------------------------------------

namespace {

Tensor reduce_op(const char* op, cpu::ReduceOp kind, const Tensor& x, std::span<const int> dims, bool keepdim) {
  require_float(op, "x", x);
  std::vector<bool> reduced(static_cast<std::size_t>(x.rank()), false);
  for (int d : dims) {
    if (d < -x.rank() || d >= x.rank()) throw Error("{}: dim {} is out of range for {}", op, d, x.describe());
    const int a = d < 0 ? d + x.rank() : d;
    if (reduced[static_cast<std::size_t>(a)])
      throw Error("{}: dim {} appears twice in [{}]", op, a, fmt::join(dims, ", "));
    reduced[static_cast<std::size_t>(a)] = true;
  }
  // Runs of adjacent reduced dims become one dim of a view, so each run is
  // one kernel call: [N, C, H, W] over (2, 3) is [N, C, H * W] over 2.
  std::vector<std::int64_t> merged;
  std::vector<int> runs;  // dims of `merged` to reduce
  for (int d = 0; d < x.rank(); ++d) {
    const bool r = reduced[static_cast<std::size_t>(d)];
    if (r && d > 0 && reduced[static_cast<std::size_t>(d - 1)]) {
      merged.back() *= x.dim(d);
    } else {
      if (r) runs.push_back(static_cast<int>(merged.size()));
      merged.push_back(x.dim(d));
    }
  }
  Tensor cur = x.reshape(Shape(merged));
  Shape kept = x.shape();
  for (int d = 0; d < x.rank(); ++d)
    if (reduced[static_cast<std::size_t>(d)]) kept[d] = 1;
  if (runs.empty()) return x.clone();
  for (int d : runs) {
    if (cur.dim(d) == 0 && (kind == cpu::ReduceOp::kMax || kind == cpu::ReduceOp::kMin)) {
      throw Error("{}: cannot take the {} of an empty dimension of {}", op, kind == cpu::ReduceOp::kMax ? "max" : "min",
                  x.describe());
    }
    Shape s = cur.shape();
    s[d] = 1;
    Tensor out = Tensor::empty(s, x.dtype(), x.device());
    dispatch(
        op, x.device(), [&] { cpu::reduce(kind, cur, d, out); }, SC_CUDA_KERNEL(cuda::reduce(kind, cur, d, out)));
    cur = out;
  }
  if (keepdim) return cur.reshape(kept);
  std::vector<std::int64_t> dropped;
  for (int d = 0; d < x.rank(); ++d)
    if (!reduced[static_cast<std::size_t>(d)]) dropped.push_back(x.dim(d));
  return cur.reshape(Shape(dropped));
}

}  // namespace

Tensor sum(const Tensor& x, std::span<const int> dims, bool keepdim) {
  return reduce_op("sum", cpu::ReduceOp::kSum, x, dims, keepdim);
}
Tensor mean(const Tensor& x, std::span<const int> dims, bool keepdim) {
  return reduce_op("mean", cpu::ReduceOp::kMean, x, dims, keepdim);
}
Tensor amax(const Tensor& x, std::span<const int> dims, bool keepdim) {
  return reduce_op("amax", cpu::ReduceOp::kMax, x, dims, keepdim);
}
Tensor amin(const Tensor& x, std::span<const int> dims, bool keepdim) {
  return reduce_op("amin", cpu::ReduceOp::kMin, x, dims, keepdim);
}

Tensor cumsum(const Tensor& x, int dim) {
  require_defined("cumsum", "x", x);
  if (x.dtype() != DType::kI32 && x.dtype() != DType::kI64) require_float("cumsum", "x", x);
  const int d = x.shape().normalize_axis(dim);
  // Integer sums widen to i64, as in PyTorch.
  Tensor out = Tensor::empty(x.shape(), is_floating(x.dtype()) ? x.dtype() : DType::kI64, x.device());
  dispatch(
      "cumsum", x.device(), [&] { cpu::cumsum(x, d, out); }, SC_CUDA_KERNEL(cuda::cumsum(x, d, out)));
  return out;
}

Tensor argmax(const Tensor& x, int dim, bool keepdim) {
  require_float("argmax", "x", x);
  const int d = x.shape().normalize_axis(dim);
  if (x.dim(d) == 0) throw Error("argmax: dimension {} of {} is empty", dim, x.describe());
  Shape kept = x.shape();
  kept[d] = 1;
  Tensor out = Tensor::empty(kept, DType::kI64, x.device());
  dispatch(
      "argmax", x.device(), [&] { cpu::argmax(x, d, out); }, SC_CUDA_KERNEL(cuda::argmax(x, d, out)));
  if (keepdim) return out;
  std::vector<std::int64_t> dims = x.shape().to_vector();
  dims.erase(dims.begin() + d);
  return out.reshape(Shape(dims));
}

TopK topk(const Tensor& x, std::int64_t k, int dim, bool largest) {
  require_float("topk", "x", x);
  const int d = x.shape().normalize_axis(dim);
  if (k < 0 || k > x.dim(d)) throw Error("topk: k = {} is outside [0, {}] for {}", k, x.dim(d), x.describe());
  Shape shape = x.shape();
  shape[d] = k;
  TopK r{Tensor::empty(shape, x.dtype(), x.device()), Tensor::empty(shape, DType::kI64, x.device())};
  if (k > 0)
    dispatch(
        "topk", x.device(), [&] { cpu::topk(x, k, d, largest, r.values, r.indices); },
        SC_CUDA_KERNEL(cuda::topk(x, k, d, largest, r.values, r.indices)));
  return r;
}

}  // namespace sc::engine
