// Matrix products and convolution on CUDA: every product is one cuBLASLt
// matmul (f32 accumulation; f32 data uses full f32 compute, no TF32, so it
// matches the CPU reference), planned once per shape and cached. linear fuses
// its bias through the BIAS epilogue. conv2d runs whichever of three was
// fastest on the shape's first call (choose()): im2col (a 1x1 stride-1
// convolution needs none) + a batched GEMM over the images with the bias
// pre-written into the output and accumulated (beta = 1), cuDNN on NCHW, or
// cuDNN's channels-last kernels between transposes (cudnn_conv.h; without
// cuDNN, im2col). conv2d_nhwc is cuDNN's NHWC kernel, else conv2d between
// transposes.
#include <algorithm>
#include <atomic>
#include <map>
#include <memory>
#include <string>
#include <mutex>
#include <tuple>
#include <vector>

#include "engine/cuda/common.cuh"
#include "engine/cuda/cudnn_conv.h"
#include "engine/cuda/kernels.h"

namespace sc::engine::cuda {

namespace {

// Largest power of two (<= 256) dividing every byte address / stride given.
std::uint32_t alignment_of(std::initializer_list<std::uint64_t> values) {
  std::uint32_t a = 256;
  for (std::uint64_t v : values) {
    while (a > 1 && v % a != 0) a /= 2;
  }
  return a;
}

using PlanKey = std::tuple<int, bool, bool, std::int64_t, std::int64_t, std::int64_t, std::int64_t, std::int64_t,
                           std::int64_t, std::int64_t, std::int64_t, std::int64_t, std::int64_t, bool, std::uint32_t>;

struct Plan {
  cublasLtMatmulDesc_t desc = nullptr;
  cublasLtMatrixLayout_t a = nullptr, b = nullptr, c = nullptr;
  cublasLtMatmulAlgo_t algo{};
};

std::mutex& plan_mutex() {
  static std::mutex m;
  return m;
}
std::map<PlanKey, Plan>& plans() {
  static auto* p = new std::map<PlanKey, Plan>();
  return *p;
}

cublasLtMatrixLayout_t make_layout(cudaDataType_t type, std::int64_t rows, std::int64_t cols, std::int64_t ld,
                                   std::int32_t batch, std::int64_t stride) {
  cublasLtMatrixLayout_t l = nullptr;
  SC_CUBLAS_CHECK(
      cublasLtMatrixLayoutCreate(&l, type, static_cast<std::uint64_t>(rows), static_cast<std::uint64_t>(cols), ld));
  if (batch > 1) {
    SC_CUBLAS_CHECK(cublasLtMatrixLayoutSetAttribute(l, CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT, &batch, sizeof(batch)));
    SC_CUBLAS_CHECK(
        cublasLtMatrixLayoutSetAttribute(l, CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET, &stride, sizeof(stride)));
  }
  return l;
}

}  // namespace

// Column-major C[m, n] (ldc) = alpha * op(A)[m, k] * op(B)[k, n] + beta * C
// (+ bias[m] on every column), over `batch` matrices at the given strides.
void lt_gemm(DType dtype, bool trans_a, bool trans_b, std::int64_t m, std::int64_t n, std::int64_t k, const void* A,
             std::int64_t lda, std::int64_t stride_a, const void* B, std::int64_t ldb, std::int64_t stride_b, void* C,
             std::int64_t ldc, std::int64_t stride_c, std::int64_t batch, const void* bias, float beta) {
  if (m == 0 || n == 0 || batch == 0) return;
  const std::size_t es = dtype_size(dtype);
  const std::uint32_t align =
      alignment_of({reinterpret_cast<std::uint64_t>(A), reinterpret_cast<std::uint64_t>(B),
                    reinterpret_cast<std::uint64_t>(C), bias ? reinterpret_cast<std::uint64_t>(bias) : 0,
                    static_cast<std::uint64_t>(lda) * es, static_cast<std::uint64_t>(ldb) * es,
                    static_cast<std::uint64_t>(ldc) * es, static_cast<std::uint64_t>(stride_a) * es,
                    static_cast<std::uint64_t>(stride_b) * es, static_cast<std::uint64_t>(stride_c) * es});
  const PlanKey key{
      static_cast<int>(dtype), trans_a, trans_b, m, n, k, lda, ldb, ldc, stride_a, stride_b, stride_c, batch,
      bias != nullptr,         align};
  std::size_t ws_bytes = 0;
  void* ws = lt_workspace(&ws_bytes);
  // One lock over lookup, the bias attribute and the launch: plans (and their
  // descriptors) are shared between threads. cublasLtMatmul only enqueues.
  std::lock_guard lock(plan_mutex());
  Plan plan;
  {
    auto it = plans().find(key);
    if (it == plans().end()) {
      const cudaDataType_t type = cuda_data_type(dtype);
      Plan p;
      SC_CUBLAS_CHECK(cublasLtMatmulDescCreate(&p.desc, CUBLAS_COMPUTE_32F, CUDA_R_32F));
      const cublasOperation_t ta = trans_a ? CUBLAS_OP_T : CUBLAS_OP_N, tb = trans_b ? CUBLAS_OP_T : CUBLAS_OP_N;
      SC_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(p.desc, CUBLASLT_MATMUL_DESC_TRANSA, &ta, sizeof(ta)));
      SC_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(p.desc, CUBLASLT_MATMUL_DESC_TRANSB, &tb, sizeof(tb)));
      if (bias) {
        const cublasLtEpilogue_t epi = CUBLASLT_EPILOGUE_BIAS;
        SC_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(p.desc, CUBLASLT_MATMUL_DESC_EPILOGUE, &epi, sizeof(epi)));
        SC_CUBLAS_CHECK(
            cublasLtMatmulDescSetAttribute(p.desc, CUBLASLT_MATMUL_DESC_BIAS_DATA_TYPE, &type, sizeof(type)));
      }
      const auto b32 = static_cast<std::int32_t>(batch);
      p.a = make_layout(type, trans_a ? k : m, trans_a ? m : k, lda, b32, stride_a);
      p.b = make_layout(type, trans_b ? n : k, trans_b ? k : n, ldb, b32, stride_b);
      p.c = make_layout(type, m, n, ldc, b32, stride_c);
      cublasLtMatmulPreference_t pref = nullptr;
      SC_CUBLAS_CHECK(cublasLtMatmulPreferenceCreate(&pref));
      SC_CUBLAS_CHECK(cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &ws_bytes,
                                                           sizeof(ws_bytes)));
      for (auto attr : {CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES,
                        CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES}) {
        SC_CUBLAS_CHECK(cublasLtMatmulPreferenceSetAttribute(pref, attr, &align, sizeof(align)));
      }
      cublasLtMatmulHeuristicResult_t result{};
      int found = 0;
      const cublasStatus_t st =
          cublasLtMatmulAlgoGetHeuristic(lt_handle(), p.desc, p.a, p.b, p.c, p.c, pref, 1, &result, &found);
      cublasLtMatmulPreferenceDestroy(pref);
      if (st != CUBLAS_STATUS_SUCCESS || found == 0) {
        fail(cat("cuBLASLt has no algorithm for a ", to_string(dtype), " GEMM m=", m, " n=", n, " k=", k,
                 " batch=", batch, " (alignment ", align, " bytes, status ", static_cast<int>(st), ")"));
      }
      p.algo = result.algo;
      it = plans().emplace(key, p).first;
    }
    plan = it->second;
  }
  if (bias) {
    SC_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(plan.desc, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &bias, sizeof(bias)));
  }
  const float alpha = 1.0f;
  SC_CUBLAS_CHECK(cublasLtMatmul(lt_handle(), plan.desc, &alpha, A, plan.a, B, plan.b, &beta, C, plan.c, C, plan.c,
                                 &plan.algo, ws, ws_bytes, engine_stream()));
}

void linear(const Tensor& x, const Tensor& weight, const Tensor& bias, Tensor& out) {
  const std::int64_t k = weight.dim(1), n_out = weight.dim(0);
  const std::int64_t rows = k ? x.numel() / k : out.numel() / std::max<std::int64_t>(n_out, 1);
  if (k == 0) {
    // An empty reduction: the result is the bias (or zeros).
    fill_zero(out.raw_data(), out.nbytes());
    if (bias.defined()) {
      const Tensor b = bias;
      Tensor o = out.reshape({rows, n_out});
      cuda::binary(BinaryOp::kAdd, o, b, o);
    }
    return;
  }
  // Row-major out[rows, n_out] = x[rows, k] W^T is column-major
  // out^T[n_out, rows] = W (as k x n_out, transposed) * x^T (k x rows).
  lt_gemm(x.dtype(), true, false, n_out, rows, k, weight.raw_data(), k, 0, x.raw_data(), k, 0, out.raw_data(), n_out, 0,
          1, bias.defined() ? bias.raw_data() : nullptr, 0.0f);
}

void matmul(const Tensor& a, const Tensor& b, Tensor& out) {
  const std::int64_t m = a.dim(-2), k = a.dim(-1), n = b.dim(-1);
  const std::int64_t a_mat = m * k, b_mat = k * n, c_mat = m * n;
  const std::int64_t a_batch = a_mat ? a.numel() / a_mat : 0, b_batch = b_mat ? b.numel() / b_mat : 0;
  const std::int64_t c_batch = c_mat ? out.numel() / c_mat : 0;
  if (out.numel() == 0) return;
  if (k == 0) {
    fill_zero(out.raw_data(), out.nbytes());
    return;
  }
  const std::size_t es = dtype_size(a.dtype());
  // Row-major C[m, n] = A[m, k] B[k, n] is column-major C^T = B^T A^T.
  auto gemm = [&](const std::byte* pa, std::int64_t sa, const std::byte* pb, std::int64_t sb, std::byte* pc,
                  std::int64_t count) {
    lt_gemm(a.dtype(), false, false, n, m, k, pb, n, sb, pa, k, sa, pc, n, c_mat, count, nullptr, 0.0f);
  };
  const auto* pa = static_cast<const std::byte*>(a.raw_data());
  const auto* pb = static_cast<const std::byte*>(b.raw_data());
  auto* pc = static_cast<std::byte*>(out.raw_data());
  if ((a_batch == c_batch || a_batch == 1) && (b_batch == c_batch || b_batch == 1)) {
    // Same batch or one operand shared by all: one strided-batched call.
    gemm(pa, a_batch == 1 ? 0 : a_mat, pb, b_batch == 1 ? 0 : b_mat, pc, c_batch);
    return;
  }
  // General broadcasting of batch dimensions: one GEMM per output matrix.
  const int rank = out.rank();
  std::vector<std::int64_t> out_dims(out.shape().to_vector());
  auto batch_index = [&](const Tensor& t, std::int64_t flat) {
    // Maps an output batch index to the operand's, honouring size-1 dims.
    std::int64_t idx = 0, mul = 1;
    for (int d = rank - 3, td = t.rank() - 3; d >= 0; --d, --td) {
      const std::int64_t od = out_dims[static_cast<std::size_t>(d)];
      const std::int64_t coord = flat % od;
      flat /= od;
      if (td >= 0) {
        const std::int64_t tdim = t.dim(td);
        idx += (tdim == 1 ? 0 : coord) * mul;
        mul *= tdim;
      }
    }
    return idx;
  };
  for (std::int64_t i = 0; i < c_batch; ++i) {
    gemm(pa + static_cast<std::size_t>(batch_index(a, i) * a_mat) * es, 0,
         pb + static_cast<std::size_t>(batch_index(b, i) * b_mat) * es, 0,
         pc + static_cast<std::size_t>(i * c_mat) * es, 1);
  }
}

// ---- convolution -------------------------------------------------------------

namespace {

// col[n][(c * kh + i) * kw + j][p] = x[n][c0 + c][oy * sy - py + i * dy][ox * sx - px + j * dx] (0 outside).
// Grid: x over output pixels p (coalesced reads along a row and coalesced
// writes), y over the unfolded rows (c, i, j), z over images; 32-bit index
// math (64-bit division is slow on the GPU).
struct Im2colShape {
  int c_total, c0, h, w, kh, kw, sy, sx, py, px, dy, dx, ho, wo;
  int rows;  // channels * kh * kw
};

template <typename T>
__global__ void im2col_kernel(const T* __restrict__ x, T* __restrict__ col, Im2colShape s, int row0) {
  const int p_count = s.ho * s.wo;
  const int p = static_cast<int>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (p >= p_count) return;
  const int r = row0 + static_cast<int>(blockIdx.y);
  const int n = static_cast<int>(blockIdx.z);
  const int j = r % s.kw, i = (r / s.kw) % s.kh, c = r / (s.kw * s.kh);
  const int oy = p / s.wo, ox = p - oy * s.wo;
  const int iy = oy * s.sy - s.py + i * s.dy, ix = ox * s.sx - s.px + j * s.dx;
  T v = from_float<T>(0.0f);
  if (iy >= 0 && iy < s.h && ix >= 0 && ix < s.w) {
    v = x[(static_cast<std::int64_t>(n) * s.c_total + s.c0 + c) * s.h * s.w + static_cast<std::int64_t>(iy) * s.w + ix];
  }
  col[(static_cast<std::int64_t>(n) * s.rows + r) * p_count + p] = v;
}

// out[n][o][p] = bias[o]: grid x over p, y over the n * o rows.
template <typename T>
__global__ void fill_bias_kernel(T* __restrict__ out, const T* __restrict__ bias, int o, int p, std::int64_t rows) {
  const int at = static_cast<int>(blockIdx.x) * blockDim.x + threadIdx.x;
  const std::int64_t row = static_cast<std::int64_t>(blockIdx.y) + 65535ll * blockIdx.z;
  if (at >= p || row >= rows) return;
  out[row * p + at] = bias[row % o];
}

constexpr std::int64_t kMaxColumnBytes = 256ll << 20;

}  // namespace

namespace {

// out = conv(x, weight) + beta * out through im2col + one batched GEMM per
// chunk of images (a 1x1 stride-1 convolution is the GEMM alone).
void im2col_conv(const Tensor& x, const Tensor& weight, const Conv2dParams& prm, float beta, Tensor& out) {
  const std::int64_t n = x.dim(0), c = x.dim(1), h = x.dim(2), w = x.dim(3);
  const std::int64_t o = weight.dim(0), kh = weight.dim(2), kw = weight.dim(3);
  const std::int64_t ho = out.dim(2), wo = out.dim(3), p = ho * wo;
  const std::int64_t g = prm.groups, cg = c / g, og = o / g, kd = cg * kh * kw;
  const DType dt = x.dtype();
  const std::size_t es = dtype_size(dt);
  cudaStream_t s = engine_stream();
  const bool direct = kh == 1 && kw == 1 && prm.stride[0] == 1 && prm.stride[1] == 1 && prm.padding[0] == 0 &&
                      prm.padding[1] == 0 && g == 1;
  const auto* px = static_cast<const std::byte*>(x.raw_data());
  const auto* pw = static_cast<const std::byte*>(weight.raw_data());
  auto* po = static_cast<std::byte*>(out.raw_data());
  if (direct) {
    // x[n] is already the [C, P] matrix: out[n] = W[O, C] x[n].
    lt_gemm(dt, false, false, p, o, c, px, p, c * p, pw, c, 0, po, p, o * p, n, nullptr, beta);
    return;
  }
  // Unfold a chunk of images at a time so the column buffer stays bounded.
  const std::int64_t per_image = kd * p * static_cast<std::int64_t>(es);
  // (Images per chunk also stay within grid.z's 65535.)
  const std::int64_t chunk = std::clamp<std::int64_t>(kMaxColumnBytes / std::max<std::int64_t>(per_image, 1), 1,
                                                      std::min<std::int64_t>(n, 65535));
  Tensor col = Tensor::empty({chunk, kd, p}, dt, Device::kCuda);
  for (std::int64_t n0 = 0; n0 < n; n0 += chunk) {
    const std::int64_t nb = std::min(chunk, n - n0);
    for (std::int64_t gi = 0; gi < g; ++gi) {
      Im2colShape shape{static_cast<int>(c),
                        static_cast<int>(gi * cg),
                        static_cast<int>(h),
                        static_cast<int>(w),
                        static_cast<int>(kh),
                        static_cast<int>(kw),
                        static_cast<int>(prm.stride[0]),
                        static_cast<int>(prm.stride[1]),
                        static_cast<int>(prm.padding[0]),
                        static_cast<int>(prm.padding[1]),
                        static_cast<int>(prm.dilation[0]),
                        static_cast<int>(prm.dilation[1]),
                        static_cast<int>(ho),
                        static_cast<int>(wo),
                        static_cast<int>(kd)};
      dispatch_float(dt, "conv2d", [&](auto tag) {
        using T = decltype(tag);
        constexpr int kThreads = 256;
        const auto* xs = reinterpret_cast<const T*>(px) + n0 * c * h * w;
        // grid.y is at most 65535: unfold the rows in slices of that many.
        for (std::int64_t r0 = 0; r0 < kd; r0 += 65535) {
          const dim3 grid(static_cast<unsigned>((p + kThreads - 1) / kThreads),
                          static_cast<unsigned>(std::min<std::int64_t>(65535, kd - r0)), static_cast<unsigned>(nb));
          im2col_kernel<T><<<grid, kThreads, 0, s>>>(xs, ptr<T>(col), shape, static_cast<int>(r0));
        }
      });
      SC_CUDA_LAUNCH_CHECK();
      // Row-major out_g[og, p] = W_g[og, kd] col[kd, p]  ==  column-major
      // out_g^T[p, og] = col^T[p, kd] W_g^T[kd, og].
      lt_gemm(dt, false, false, p, og, kd, col.raw_data(), p, kd * p, pw + static_cast<std::size_t>(gi * og * kd) * es,
              kd, 0, po + static_cast<std::size_t>((n0 * o + gi * og) * p) * es, p, o * p, nb, nullptr, beta);
    }
  }
}

// ---- the channels-last route for NCHW tensors ----------------------------------

// OHWI copies of OIHW weights for the NHWC route, made once per weight.
// Weights are immutable; an entry is used only while the weight's storage is
// alive (a freed block's address may come back as another tensor), and dead
// entries are dropped as new ones come in.
struct OhwiEntry {
  std::weak_ptr<Storage> source;
  std::size_t offset = 0;
  Shape shape;
  DType dtype = DType::kF32;
  Tensor ohwi;
};

Tensor ohwi_weight(const Tensor& w) {
  static std::mutex mutex;
  static auto* cache = new std::map<const void*, OhwiEntry>();
  std::lock_guard lock(mutex);
  if (const auto it = cache->find(w.raw_data()); it != cache->end()) {
    const OhwiEntry& e = it->second;
    if (e.source.lock() == w.storage() && e.offset == w.offset_bytes() && e.shape == w.shape() && e.dtype == w.dtype())
      return e.ohwi;
  }
  if (capturing()) return Tensor();  // a new weight's copy would be a kernel in the graph
  std::erase_if(*cache, [](const auto& kv) { return kv.second.source.expired(); });
  Tensor ohwi = Tensor::empty({w.dim(0), w.dim(2), w.dim(3), w.dim(1)}, w.dtype(), Device::kCuda);
  const int to_ohwi[] = {0, 2, 3, 1};
  permute(w, to_ohwi, ohwi);
  (*cache)[w.raw_data()] = OhwiEntry{w.storage(), w.offset_bytes(), w.shape(), w.dtype(), ohwi};
  return ohwi;
}

// out [rows, o] (channels-last) = bias broadcast along the rows.
template <typename T>
__global__ void fill_bias_rows_kernel(T* __restrict__ out, const T* __restrict__ bias, int o, std::int64_t n) {
  SC_GRID_STRIDE(i, n) { out[i] = bias[i % o]; }
}

// out (NHWC) = bias along every row, for a following beta = 1 convolution.
void fill_bias_rows(const Tensor& bias, Tensor& out) {
  dispatch_float(out.dtype(), "conv2d", [&](auto tag) {
    using T = decltype(tag);
    const std::int64_t n = out.numel();
    fill_bias_rows_kernel<T><<<grid_for(n, kBlock), kBlock, 0, engine_stream()>>>(ptr<T>(out), ptr<T>(bias),
                                                                                  static_cast<int>(bias.dim(0)), n);
  });
  SC_CUDA_LAUNCH_CHECK();
}

// An NCHW convolution as cuDNN's channels-last kernels run it: the input
// and the output transposed around an NHWC convolution. False where cuDNN
// declines or (inside a capture) the weight has no OHWI copy yet.
bool nhwc_route(const Tensor& x, const Tensor& weight, const Tensor& bias, const Conv2dParams& prm, Tensor& out) {
  const Tensor w = ohwi_weight(weight);
  if (!w.defined()) return false;
  const int to_nhwc[] = {0, 2, 3, 1}, to_nchw[] = {0, 3, 1, 2};
  Tensor xt = Tensor::empty({x.dim(0), x.dim(2), x.dim(3), x.dim(1)}, x.dtype(), Device::kCuda);
  Tensor ot = Tensor::empty({out.dim(0), out.dim(2), out.dim(3), out.dim(1)}, x.dtype(), Device::kCuda);
  permute(x, to_nhwc, xt);
  if (bias.defined()) fill_bias_rows(bias, ot);
  if (!cudnn_conv2d(xt, w, prm, bias.defined() ? 1.0f : 0.0f, ot, /*nhwc=*/true)) return false;
  permute(ot, to_nchw, out);
  return true;
}

// ---- choosing per shape ----------------------------------------------------------

std::atomic<ConvImpl> g_forced{ConvImpl::kAuto};

// out (NCHW) = bias for a following beta = 1 convolution; beta says which.
void fill_bias_nchw(const Tensor& bias, Tensor& out, float& beta) {
  beta = 0.0f;
  if (!bias.defined()) return;
  const std::int64_t o = out.dim(1), p = out.dim(2) * out.dim(3), rows = out.dim(0) * o;
  dispatch_float(out.dtype(), "conv2d", [&](auto tag) {
    using T = decltype(tag);
    const dim3 grid(static_cast<unsigned>((p + 255) / 256), static_cast<unsigned>(std::min<std::int64_t>(rows, 65535)),
                    static_cast<unsigned>((rows + 65534) / 65535));
    fill_bias_kernel<T>
        <<<grid, 256, 0, engine_stream()>>>(ptr<T>(out), ptr<T>(bias), static_cast<int>(o), static_cast<int>(p), rows);
  });
  SC_CUDA_LAUNCH_CHECK();
  beta = 1.0f;
}

// Runs one implementation; false when it cannot take the shape.
bool run_conv(ConvImpl impl, const Tensor& x, const Tensor& weight, const Tensor& bias, const Conv2dParams& prm,
              Tensor& out) {
  float beta = 0.0f;
  switch (impl) {
    case ConvImpl::kCudnnNhwc:
      return nhwc_route(x, weight, bias, prm, out);
    case ConvImpl::kCudnn:
      fill_bias_nchw(bias, out, beta);
      return cudnn_conv2d(x, weight, prm, beta, out);
    default:
      fill_bias_nchw(bias, out, beta);
      im2col_conv(x, weight, prm, beta, out);
      return true;
  }
}

const char* impl_name(ConvImpl impl) {
  return impl == ConvImpl::kCudnnNhwc ? "cuDNN NHWC" : impl == ConvImpl::kCudnn ? "cuDNN" : "im2col";
}

// Which implementation is fastest for a shape, measured on its first call
// (outside graph captures): im2col + cuBLASLt, cuDNN on NCHW, or cuDNN's
// channels-last kernels between two transposes (on tensor cores often the
// fastest, transposes included). None wins everywhere.
ConvImpl choose(const Tensor& x, const Tensor& weight, const Tensor& bias, const Conv2dParams& prm, const Tensor& out) {
  if (const ConvImpl forced = g_forced.load(); forced != ConvImpl::kAuto) return forced;
  if (!cudnn_enabled()) return ConvImpl::kIm2col;  // switched off for now: decide nothing
  static std::mutex mutex;
  static auto* choice = new std::map<ConvShapeKey, ConvImpl>();
  const ConvShapeKey key = conv_shape_key(x, weight, prm);
  {
    std::lock_guard lock(mutex);
    if (const auto it = choice->find(key); it != choice->end()) return it->second;
  }
  if (capturing()) return ConvImpl::kCudnn;  // no timing inside a capture: cuDNN when it takes the shape
  Tensor scratch = Tensor::empty(out.shape(), out.dtype(), Device::kCuda);
  Timer timer;
  ConvImpl best = ConvImpl::kIm2col;
  float best_ms = 0.0f;
  std::string note = "conv2d " + x.describe() + " x " + weight.describe() + ":";
  for (ConvImpl impl : {ConvImpl::kIm2col, ConvImpl::kCudnn, ConvImpl::kCudnnNhwc}) {
    if (!run_conv(impl, x, weight, bias, prm, scratch)) continue;  // the warm-up: plans, workspaces
    timer.start();
    for (int i = 0; i < 3; ++i) run_conv(impl, x, weight, bias, prm, scratch);
    timer.stop();
    const float ms = timer.milliseconds() / 3;
    note += std::string(" ") + impl_name(impl) + " " + std::to_string(ms) + " ms;";
    if (impl == ConvImpl::kIm2col || ms < best_ms) {
      best = impl;
      best_ms = ms;
    }
  }
  add_conv_note(note + " runs " + impl_name(best));
  std::lock_guard lock(mutex);
  (*choice)[key] = best;
  return best;
}

}  // namespace

void force_conv_impl(ConvImpl impl) { g_forced = impl; }

void conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias, const Conv2dParams& prm, Tensor& out) {
  if (out.numel() == 0) return;
  const ConvImpl impl = choose(x, weight, bias, prm, out);
  if (impl != ConvImpl::kIm2col && run_conv(impl, x, weight, bias, prm, out)) return;
  run_conv(ConvImpl::kIm2col, x, weight, bias, prm, out);
}

void conv2d_nhwc(const Tensor& x, const Tensor& weight, const Tensor& bias, const Conv2dParams& prm, Tensor& out) {
  if (out.numel() == 0) return;
  if (bias.defined()) fill_bias_rows(bias, out);
  if (cudnn_conv2d(x, weight, prm, bias.defined() ? 1.0f : 0.0f, out, /*nhwc=*/true)) return;
  // Without cuDNN (or for a shape it declines): the channels-first path
  // between transposes.
  const int to_nchw[] = {0, 3, 1, 2}, to_nhwc[] = {0, 2, 3, 1};
  Tensor xc = Tensor::empty({x.dim(0), x.dim(3), x.dim(1), x.dim(2)}, x.dtype(), Device::kCuda);
  Tensor wc = Tensor::empty({weight.dim(0), weight.dim(3), weight.dim(1), weight.dim(2)}, x.dtype(), Device::kCuda);
  Tensor oc = Tensor::empty({out.dim(0), out.dim(3), out.dim(1), out.dim(2)}, x.dtype(), Device::kCuda);
  permute(x, to_nchw, xc);
  permute(weight, to_nchw, wc);
  conv2d(xc, wc, bias, prm, oc);
  permute(oc, to_nhwc, out);
}

}  // namespace sc::engine::cuda

// ---- conv3d ------------------------------------------------------------------------

namespace sc::engine::cuda {

namespace {

// cols[(n * Do + z), c, hw] = x[n, c, z * sd - pd + kz * dd, hw], or 0 where
// that depth lies in the padding: one depth tap of every output depth as a
// batch of 2-D images.
template <typename T>
__global__ void depth_tap_kernel(const T* __restrict__ x, T* __restrict__ cols, std::int64_t c, std::int64_t d,
                                 std::int64_t hw, std::int64_t dout, std::int64_t first, std::int64_t stride,
                                 std::int64_t total) {
  SC_GRID_STRIDE(i, total) {
    const std::int64_t e = i % hw;
    const std::int64_t ch = (i / hw) % c;
    const std::int64_t z = (i / (hw * c)) % dout;
    const std::int64_t n = i / (hw * c * dout);
    const std::int64_t iz = first + z * stride;
    cols[i] = iz >= 0 && iz < d ? x[((n * c + ch) * d + iz) * hw + e] : from_float<T>(0.0f);
  }
}

// out[n, o, z, hw] (+)= part[(n * Do + z), o, hw] (+ bias[o] on the first tap).
template <typename T>
__global__ void depth_accumulate_kernel(const T* __restrict__ part, const T* __restrict__ bias, T* __restrict__ out,
                                        std::int64_t o, std::int64_t dout, std::int64_t hw, bool first,
                                        std::int64_t total) {
  SC_GRID_STRIDE(i, total) {
    const std::int64_t e = i % hw;
    const std::int64_t z = (i / hw) % dout;
    const std::int64_t oc = (i / (hw * dout)) % o;
    const std::int64_t n = i / (hw * dout * o);
    float v = to_float(part[((n * dout + z) * o + oc) * hw + e]);
    if (first) {
      if (bias) v += to_float(bias[oc]);
    } else {
      v += to_float(out[i]);
    }
    out[i] = from_float<T>(v);
  }
}

}  // namespace

// cuDNN's 3-D kernels when cuDNN takes the shape; otherwise one 2-D
// convolution per depth tap (every output depth as a batch) accumulated in
// f32, which reuses conv2d's per-shape choice of kernels.
void conv3d(const Tensor& x, const Tensor& weight, const Tensor& bias, const Conv3dParams& prm, Tensor& out) {
  if (out.numel() == 0) return;
  float beta = 0.0f;
  if (bias.defined()) {
    // bias along dim 1 of [N, O, D*H*W]: the NCHW bias fill on a 4-D view.
    Tensor view = out.reshape({out.dim(0), out.dim(1), out.dim(2), out.dim(3) * out.dim(4)});
    fill_bias_nchw(bias, view, beta);
  }
  if (cudnn_conv3d(x, weight, prm, beta, out)) return;
  const std::int64_t n = x.dim(0), c = x.dim(1), d = x.dim(2), h = x.dim(3), w = x.dim(4);
  const std::int64_t o = weight.dim(0), kd = weight.dim(2), dout = out.dim(2), ho = out.dim(3), wo = out.dim(4);
  const Conv2dParams p2{
      {prm.stride[1], prm.stride[2]}, {prm.padding[1], prm.padding[2]}, {prm.dilation[1], prm.dilation[2]}, prm.groups};
  Tensor cols = Tensor::empty({n * dout, c, h, w}, x.dtype(), Device::kCuda);
  Tensor w2 = Tensor::empty({o, weight.dim(1), 1, weight.dim(3), weight.dim(4)}, x.dtype(), Device::kCuda);
  Tensor part = Tensor::empty({n * dout, o, ho, wo}, x.dtype(), Device::kCuda);
  for (std::int64_t kz = 0; kz < kd; ++kz) {
    dispatch_float(x.dtype(), "conv3d", [&](auto tag) {
      using T = decltype(tag);
      const std::int64_t total = cols.numel();
      depth_tap_kernel<T><<<grid_for(total, kBlock), kBlock, 0, engine_stream()>>>(
          ptr<T>(x), ptr<T>(cols), c, d, h * w, dout, kz * prm.dilation[0] - prm.padding[0], prm.stride[0], total);
    });
    SC_CUDA_LAUNCH_CHECK();
    slice(weight, 2, kz, 1, w2);
    conv2d(cols, w2.reshape({o, weight.dim(1), weight.dim(3), weight.dim(4)}), Tensor(), p2, part);
    dispatch_float(x.dtype(), "conv3d", [&](auto tag) {
      using T = decltype(tag);
      const std::int64_t total = out.numel();
      depth_accumulate_kernel<T><<<grid_for(total, kBlock), kBlock, 0, engine_stream()>>>(
          ptr<T>(part), bias.defined() ? ptr<T>(bias) : nullptr, ptr<T>(out), o, dout, ho * wo, kz == 0, total);
    });
    SC_CUDA_LAUNCH_CHECK();
  }
}

}  // namespace sc::engine::cuda
