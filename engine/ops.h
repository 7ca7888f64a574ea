#pragma once
// Tensor operations. Free functions that check their arguments (throwing
// sc::Error naming the op and the offending shapes), allocate the result on
// the inputs' device and dispatch to that device's backend: engine/cpu/* (the
// reference, always built) or engine/cuda/* (built when nvcc is found; at run
// time a CUDA op without a usable GPU throws saying why). The kernels both
// backends implement are listed once, in engine/op_list.inc; supports() below
// answers from it. Model code calls these and never names a device.
// Floating-point ops compute in f32 on the CPU (convert f16/bf16 data with
// to_dtype first); on CUDA they take f32, f16 or bf16 storage (every input of
// one op the same) and accumulate in f32. The result has the inputs' dtype.
// Semantics follow PyTorch's functional API (the golden tests compare against
// it); where they differ it is said below.
#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "engine/tensor.h"

namespace sc::engine {

// ---- conversion ------------------------------------------------------------
// Any dtype to any dtype. Float narrowing rounds to nearest even; float to
// integer truncates toward zero like a C cast (PyTorch's .to()).
Tensor to_dtype(const Tensor& x, DType dtype);

// ---- matrix products -------------------------------------------------------
// x [..., in] @ weight[out, in]^T + bias[out] -> [..., out] (torch.nn.functional.linear).
Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias = Tensor());
// a [..., m, k] @ b [..., k, n]; batch dimensions broadcast (torch.matmul for rank >= 2).
Tensor matmul(const Tensor& a, const Tensor& b);

// ---- convolution -----------------------------------------------------------
struct Conv2dParams {
  std::array<std::int64_t, 2> stride{1, 1};
  std::array<std::int64_t, 2> padding{0, 0};  // zeros, on both sides
  std::array<std::int64_t, 2> dilation{1, 1};
  std::int64_t groups = 1;
};
// x [N, C, H, W], weight [O, C / groups, kh, kw], bias [O] or undefined.
Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias = Tensor(), const Conv2dParams& params = {});
// The same convolution channels-last: x [N, H, W, C], weight [O, kh, kw,
// C / groups] (an OIHW weight permuted by {0, 2, 3, 1}), bias [O] ->
// [N, Ho, Wo, O]. On CUDA this is cuDNN's native layout for tensor cores (no
// transposes around each kernel); conv-only models (TAESD) run in it.
Tensor conv2d_nhwc(const Tensor& x, const Tensor& weight, const Tensor& bias = Tensor(),
                   const Conv2dParams& params = {});
// 3-D convolution (LivePortrait's warp network and appearance volume):
// x [N, C, D, H, W], weight [O, C / groups, kd, kh, kw], bias [O] or
// undefined -> [N, O, Do, Ho, Wo]. Axes in the order depth, height, width.
struct Conv3dParams {
  std::array<std::int64_t, 3> stride{1, 1, 1};
  std::array<std::int64_t, 3> padding{0, 0, 0};  // zeros, on both sides
  std::array<std::int64_t, 3> dilation{1, 1, 1};
  std::int64_t groups = 1;
};
Tensor conv3d(const Tensor& x, const Tensor& weight, const Tensor& bias = Tensor(), const Conv3dParams& params = {});

// ---- normalisation ---------------------------------------------------------
// x [N, C, ...]; weight and bias [C] or undefined. fuse_silu applies SiLU to
// the result in the same pass (diffusers' norm -> nonlinearity pairs).
Tensor group_norm(const Tensor& x, std::int64_t groups, const Tensor& weight, const Tensor& bias, float eps = 1e-5f,
                  bool fuse_silu = false);
// Normalises over the last dimension; weight and bias [last] or undefined.
Tensor layer_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, float eps = 1e-5f);
// x * rsqrt(mean(x^2) + eps) * weight, over the last dimension.
Tensor rms_norm(const Tensor& x, const Tensor& weight, float eps = 1e-6f);
Tensor softmax(const Tensor& x, int dim = -1);

// ---- attention -------------------------------------------------------------
struct AttentionOptions {
  // Query i sees keys j <= i + (Sk - Sq): aligned to the bottom-right corner,
  // so a block of new queries against a longer KV cache is causal too. For
  // Sq == Sk this is PyTorch's is_causal.
  bool causal = false;
  // Added to the scores before softmax; broadcastable to [B, H, Sq, Sk]
  // (e.g. [Sq, Sk], [B, 1, 1, Sk]). -inf masks a key out.
  Tensor mask;
  std::optional<float> scale;  // default 1 / sqrt(head_dim)
};
// q [B, H, Sq, D], k [B, Hk, Sk, D], v [B, Hk, Sk, Dv] -> [B, H, Sq, Dv].
// H must be a multiple of Hk (grouped-query attention: query head h reads KV
// head h / (H / Hk)). Computed blockwise with an online softmax, so memory is
// O(Sq x D) however long Sk is. A query row whose keys are all masked out
// gives zeros (PyTorch gives NaN).
Tensor attention(const Tensor& q, const Tensor& k, const Tensor& v, const AttentionOptions& options = {});

// ---- elementwise -----------------------------------------------------------
Tensor silu(const Tensor& x);
enum class GeluApprox { kNone, kTanh };
Tensor gelu(const Tensor& x, GeluApprox approx = GeluApprox::kNone);
Tensor quick_gelu(const Tensor& x);  // x * sigmoid(1.702 x), CLIP's
Tensor relu(const Tensor& x);
Tensor tanh(const Tensor& x);
Tensor sigmoid(const Tensor& x);
// Binary ops broadcast like NumPy: this is the shape they give (an sc::Error
// naming `op` and both shapes when they do not broadcast).
Shape broadcast_shapes(const char* op, const Shape& a, const Shape& b);
Tensor add(const Tensor& a, const Tensor& b);
Tensor sub(const Tensor& a, const Tensor& b);
Tensor mul(const Tensor& a, const Tensor& b);
Tensor div(const Tensor& a, const Tensor& b);
Tensor scale(const Tensor& x, float factor);
Tensor add_scalar(const Tensor& x, float value);
// The C library's functions elementwise (NaN in, NaN out; log and sqrt of
// negative values are NaN, log(0) is -inf, reciprocal(0) is inf).
Tensor exp(const Tensor& x);
Tensor log(const Tensor& x);
Tensor sqrt(const Tensor& x);
Tensor abs(const Tensor& x);
Tensor reciprocal(const Tensor& x);  // 1 / x
Tensor erf(const Tensor& x);
Tensor sin(const Tensor& x);
Tensor cos(const Tensor& x);
Tensor leaky_relu(const Tensor& x, float negative_slope = 0.01f);
Tensor pow_scalar(const Tensor& x, float exponent);  // std::pow(x, exponent)
// min(max(x, lo), hi); NaN stays NaN (torch.clamp). Either bound may be
// left out (-inf / inf) and then costs nothing.
Tensor clamp(const Tensor& x, float lo, float hi);
// Binary, broadcasting like add: std::pow(a, b), and the larger / smaller of
// a and b (NaN if either is NaN, like torch.maximum / torch.minimum).
Tensor pow(const Tensor& a, const Tensor& b);
Tensor maximum(const Tensor& a, const Tensor& b);
Tensor minimum(const Tensor& a, const Tensor& b);
// x [..., 2n] -> x[..., :n] * gelu(x[..., n:]) (diffusers' GEGLU after its
// projection); one fused kernel on CUDA.
Tensor geglu(const Tensor& x);

// ---- layout ----------------------------------------------------------------
Tensor concat(std::span<const Tensor> tensors, int dim);
Tensor concat(std::initializer_list<Tensor> tensors, int dim);
// Elements start, start + step, ... < end along dim (copies; any dtype).
Tensor slice(const Tensor& x, int dim, std::int64_t start, std::int64_t end, std::int64_t step = 1);
Tensor permute(const Tensor& x, std::span<const int> dims);
Tensor permute(const Tensor& x, std::initializer_list<int> dims);
Tensor transpose(const Tensor& x, int dim0, int dim1);
Tensor reshape(const Tensor& x, std::initializer_list<std::int64_t> dims);  // a view
enum class PadMode { kConstant, kReflect, kReplicate };
// pads lists (before, after) pairs starting from the LAST dimension, as in
// torch.nn.functional.pad: {left, right, top, bottom, ...}.
Tensor pad(const Tensor& x, std::span<const std::int64_t> pads, PadMode mode = PadMode::kConstant, float value = 0.0f);
Tensor pad(const Tensor& x, std::initializer_list<std::int64_t> pads, PadMode mode = PadMode::kConstant,
           float value = 0.0f);

// ---- spatial ---------------------------------------------------------------
Tensor upsample_nearest2x(const Tensor& x);       // [N, C, H, W] -> [N, C, 2H, 2W]
Tensor upsample_nearest2x_nhwc(const Tensor& x);  // [N, H, W, C] -> [N, 2H, 2W, C]
struct Pool2dParams {
  std::array<std::int64_t, 2> kernel{2, 2};
  std::array<std::int64_t, 2> stride{2, 2};
  std::array<std::int64_t, 2> padding{0, 0};
};
// Resizes x [..., H, W] to [..., out_h, out_w] (torch's interpolate and
// ONNX's Resize for nearest and linear modes). Each output coordinate maps
// to an input one by `coords`, with scale = out / in unless given (ONNX
// Resize's scales input: the coordinate map uses the scale as written, not
// the rounded size ratio). Linear clamps the source coordinate to the input
// and blends the two nearest taps per axis; nearest rounds it by `rounding`
// and clamps the index.
enum class ResizeMode { kNearest, kLinear };
enum class ResizeCoords {
  kHalfPixel,         // (o + 0.5) / scale - 0.5
  kPytorchHalfPixel,  // the same, but 0 when the output has one element
  kAlignCorners,      // o * (in - 1) / (out - 1)
  kAsymmetric         // o / scale
};
enum class ResizeRounding { kRoundPreferFloor, kRoundPreferCeil, kFloor, kCeil };
struct Resize2dParams {
  std::int64_t out_h = 0, out_w = 0;
  ResizeMode mode = ResizeMode::kNearest;
  ResizeCoords coords = ResizeCoords::kHalfPixel;
  ResizeRounding rounding = ResizeRounding::kRoundPreferFloor;  // nearest only
  std::array<float, 2> scale{0.0f, 0.0f};                       // 0: out / in
};
Tensor resize2d(const Tensor& x, const Resize2dParams& params);
// Samples x at the grid's points (torch.nn.functional.grid_sample, ONNX
// GridSample): 2-D x [N, C, H, W] with grid [N, Ho, Wo, 2] -> [N, C, Ho, Wo],
// or 3-D x [N, C, D, H, W] with grid [N, Do, Ho, Wo, 3] -> [N, C, Do, Ho, Wo].
// The grid's last axis is (x, y[, z]) in [-1, 1] (width first); it has x's
// dtype. Linear blends 4 (8) taps, nearest rounds half to even; outside the
// input, zeros reads 0, border the edge, reflection mirrors the coordinate.
// Weights and sums are f32 whatever the storage (f16 samplers that
// accumulate in f16 are off by percents on LivePortrait's volumes).
enum class GridSampleMode { kLinear, kNearest };
enum class GridSamplePadding { kZeros, kBorder, kReflection };
struct GridSampleParams {
  GridSampleMode mode = GridSampleMode::kLinear;
  GridSamplePadding padding = GridSamplePadding::kZeros;
  bool align_corners = false;
};
Tensor grid_sample(const Tensor& x, const Tensor& grid, const GridSampleParams& params = {});
// Padding counts toward the divisor (PyTorch's count_include_pad=True).
Tensor avg_pool2d(const Tensor& x, const Pool2dParams& params = {});
Tensor max_pool2d(const Tensor& x, const Pool2dParams& params = {});

// ---- images ----------------------------------------------------------------
// The frame <-> model boundary, so a GPU stream moves 1 byte per channel each
// way instead of f32 planes. rgba: packed RGBA8 pixels, u8 [H0, W0, 4] (alpha
// ignored) -> [1, 3, height, width] in [-1, 1] of dtype (f32 on the CPU):
// bilinear at pixel centres with clamped edges (the same size is an exact
// copy), then x / 127.5 - 1.
Tensor rgba8_to_image(const Tensor& rgba, std::int64_t height, std::int64_t width, DType dtype = DType::kF32);
// image [1, 3, H, W] in [-1, 1] -> u8 [H, W, 4]: x / 2 + 1/2 clamped to
// [0, 1], times 255 rounded to nearest (NaN -> 0), alpha 255.
Tensor image_to_rgba8(const Tensor& image);

// ---- lookup and position ---------------------------------------------------
// ids (i32 or i64, any shape) into weight [V, D] -> [..., D]. An id outside
// [0, V) is an error, not a read out of bounds.
Tensor embedding(const Tensor& ids, const Tensor& weight);
enum class RopeStyle {
  kHalf,        // rotate_half: pairs (i, i + d/2); Llama, Qwen2, GPT-NeoX
  kInterleaved  // pairs (2i, 2i + 1); GPT-J, original RoFormer
};
struct RopeOptions {
  float theta = 10000.0f;
  RopeStyle style = RopeStyle::kHalf;
  std::int64_t rotary_dim = 0;  // leading features rotated; 0 = all of D
};
// x [..., S, D]; positions (i32/i64 [S]) give each row's absolute position.
Tensor rope(const Tensor& x, const Tensor& positions, const RopeOptions& options = {});
// Positions start_pos, start_pos + 1, ...
Tensor rope(const Tensor& x, std::int64_t start_pos, const RopeOptions& options = {});

// ---- reductions ------------------------------------------------------------
// Over the given dimensions (each once; negative ones count from the back),
// dropping them unless keepdim (torch.sum / mean / amax / amin). Sums
// accumulate in double on the CPU and f32 on CUDA. An empty reduction sums to
// 0 and averages to NaN; amax / amin of an empty dimension are an error.
Tensor sum(const Tensor& x, std::span<const int> dims, bool keepdim = false);
Tensor mean(const Tensor& x, std::span<const int> dims, bool keepdim = false);
Tensor amax(const Tensor& x, std::span<const int> dims, bool keepdim = false);
Tensor amin(const Tensor& x, std::span<const int> dims, bool keepdim = false);
Tensor cumsum(const Tensor& x, int dim);
Tensor argmax(const Tensor& x, int dim, bool keepdim = false);  // i64; first of equal maxima
struct TopK {
  Tensor values;
  Tensor indices;  // i64
};
// The k largest (or smallest) along dim, sorted; equal values keep index order.
TopK topk(const Tensor& x, std::int64_t k, int dim = -1, bool largest = true);

// ---- which device runs which op ------------------------------------------
// One enumerator per backend entry point of engine/op_list.inc. Some public
// ops share one: silu, gelu, quick_gelu, relu, tanh, sigmoid, scale,
// add_scalar, exp, log, sqrt, abs, reciprocal, erf, sin, cos, leaky_relu,
// pow_scalar and clamp are kUnary; add, sub, mul, div, pow, maximum and
// minimum are kBinary; sum, mean, amax and amin are kReduce.
enum class Op {
#define SC_OP(Enum, kernel, cpu, cuda, params) Enum,
#include "engine/op_list.inc"
};
// Every Op, in list order.
inline constexpr Op kAllOps[] = {
#define SC_OP(Enum, kernel, cpu, cuda, params) Op::Enum,
#include "engine/op_list.inc"
};
// The entry point's name in the list: "conv2d_nhwc", "unary".
const char* op_name(Op op);
// Whether ops on `device` can run `op` in this build: its backend has the
// kernel, or ops.cpp composes the op from other ops there. A CUDA answer is
// about the build, not the machine: it is true without a GPU (then the op
// throws saying why; ask cuda::available() or compute_path() about the GPU)
// and false in a build without the CUDA backend.
bool supports(Device device, Op op);
// Whether the device's backend has a kernel of its own for `op` (false where
// ops.cpp composes it from other ops, e.g. geglu and conv2d_nhwc on the CPU).
bool has_kernel(Device device, Op op);

}  // namespace sc::engine
