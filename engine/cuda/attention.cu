// Attention on CUDA, written for this project in the FlashAttention-2 manner:
// a block of 4 warps owns 64 query rows (16 per warp) and walks the keys in
// tiles of 64; scores live in registers (mma.sync m16n8k16 tensor-core
// fragments, f32 accumulation), the softmax is online (running max and sum
// per row, exp2 on the SFU) and the seq x seq matrix never exists. K and V
// tiles stream into shared memory with cp.async, two stages deep (the next
// tile loads while this one is computed); ldmatrix turns K's rows and, with
// .trans, V's rows into mma B fragments. Head dims up to 128 (padded to a multiple of 16 with
// zeros: 40 -> 48, 80 stays 80); causal masks skip whole key tiles; an
// additive f32 mask is read with broadcast strides; grouped-query heads map
// query head h to key/value head h / (H / Hk).
//
// f32 storage (and the rare shapes the tensor-core kernel does not cover:
// Dv != D, or D > 128) use a simple exact kernel: one warp per query row.
#include <cfloat>

#include "engine/cuda/common.cuh"
#include "engine/cuda/kernels.h"

namespace sc::engine::cuda {

namespace {

constexpr int kWarps = 4;
constexpr int kBlockM = 16 * kWarps;  // query rows per block
constexpr int kBlockN = 64;           // keys per tile
constexpr float kLog2e = 1.4426950408889634f;

struct AttnArgs {
  const void* q;
  const void* k;
  const void* v;
  void* o;
  const float* mask;
  std::int64_t mask_stride[4];  // b, h, q, k (0 where broadcast)
  int b, h, hk, sq, sk, d;
  float scale_log2;  // scale * log2(e)
  bool causal;
};

template <typename T>
struct MmaTraits;
template <>
struct MmaTraits<__half> {
  static __device__ __forceinline__ std::uint32_t pack(float a, float b) {
    __half2 h = __floats2half2_rn(a, b);
    return *reinterpret_cast<std::uint32_t*>(&h);
  }
  static __device__ __forceinline__ void mma(float* c, const std::uint32_t* a, std::uint32_t b0, std::uint32_t b1) {
    asm volatile(
        "mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
        "{%0,%1,%2,%3};\n"
        : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
  }
};
template <>
struct MmaTraits<__nv_bfloat16> {
  static __device__ __forceinline__ std::uint32_t pack(float a, float b) {
    __nv_bfloat162 h = __floats2bfloat162_rn(a, b);
    return *reinterpret_cast<std::uint32_t*>(&h);
  }
  static __device__ __forceinline__ void mma(float* c, const std::uint32_t* a, std::uint32_t b0, std::uint32_t b1) {
    asm volatile(
        "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
        "{%0,%1,%2,%3};\n"
        : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
  }
};

// ---- shared-memory staging ---------------------------------------------------

// 2^x on the SFU (ex2.approx; 2^-inf = 0).
__device__ __forceinline__ float fast_exp2(float x) {
  float y;
  asm("ex2.approx.ftz.f32 %0, %1;" : "=f"(y) : "f"(x));
  return y;
}

__device__ __forceinline__ std::uint32_t smem_address(const void* p) {
  return static_cast<std::uint32_t>(__cvta_generic_to_shared(p));
}

// 16 bytes global -> shared without a register round trip; src_bytes 0
// zero-fills (rows past the end).
__device__ __forceinline__ void cp_async_16(void* dst, const void* src, int src_bytes) {
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(smem_address(dst)), "l"(src), "r"(src_bytes));
}
__device__ __forceinline__ void cp_async_commit() { asm volatile("cp.async.commit_group;\n" ::); }
template <int kPending>
__device__ __forceinline__ void cp_async_wait() {
  asm volatile("cp.async.wait_group %0;\n" ::"n"(kPending));
}

// Four 8x8 b16 matrices from shared memory, distributed as two mma B
// fragments: lanes 8i..8i+7 address the rows of matrix i.
__device__ __forceinline__ void ldmatrix_x4(std::uint32_t* r, const void* row) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0, %1, %2, %3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(smem_address(row)));
}
__device__ __forceinline__ void ldmatrix_x4_trans(std::uint32_t* r, const void* row) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0, %1, %2, %3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(smem_address(row)));
}

// Rows [row0, row0 + 64) x [0, DP) of a [rows, d] matrix into smem rows of
// `pitch` elements, zeros past `rows` and past d. Asynchronous (cp.async) when
// d is a multiple of 8 and the data 16-byte aligned; else plain loads.
template <typename T, int DP>
__device__ __forceinline__ void load_tile(const T* __restrict__ src, int rows, int row0, int d, bool vec, T* dst,
                                          int pitch) {
  if (vec) {
    constexpr int kChunks = DP / 8;
    for (int idx = threadIdx.x; idx < kBlockN * kChunks; idx += blockDim.x) {
      const int r = idx / kChunks, c8 = (idx % kChunks) * 8;
      const int gr = row0 + r;
      const bool inside = gr < rows && c8 < d;
      const T* from = inside ? src + static_cast<std::int64_t>(gr) * d + c8 : src;
      cp_async_16(dst + r * pitch + c8, from, inside ? 16 : 0);
    }
  } else {
    const T zero = from_float<T>(0.0f);
    for (int idx = threadIdx.x; idx < kBlockN * DP; idx += blockDim.x) {
      const int r = idx / DP, c = idx % DP;
      const int gr = row0 + r;
      dst[r * pitch + c] = (gr < rows && c < d) ? src[static_cast<std::int64_t>(gr) * d + c] : zero;
    }
  }
}

template <int DP>
constexpr int flash_smem_bytes() {
  return 2 /* stages */ * 2 /* K, V */ * kBlockN * (DP + 8) * 2 /* bytes */;
}

template <typename T, int DP>
__global__ void __launch_bounds__(kWarps * 32) flash_attention_kernel(AttnArgs args) {
  constexpr int kPitch = DP + 8;  // smem row pitch (elements): rows 16 bytes apart in bank terms
  constexpr int kTile = kBlockN * kPitch;
  extern __shared__ __align__(16) unsigned char smem_raw[];
  T* smem = reinterpret_cast<T*>(smem_raw);
  // Stage s: K at smem + 2 * s * kTile, V right after it.
  auto k_tile = [&](int stage) { return smem + 2 * stage * kTile; };
  auto v_tile = [&](int stage) { return smem + (2 * stage + 1) * kTile; };

  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int g = lane / 4, t = lane % 4;
  const int qb = blockIdx.x, h = blockIdx.y, b = blockIdx.z;
  const int hk = h / (args.h / args.hk);
  const int d = args.d;
  const int q0 = qb * kBlockM;
  const T* qp = static_cast<const T*>(args.q) + (static_cast<std::int64_t>(b) * args.h + h) * args.sq * d;
  const T* kp = static_cast<const T*>(args.k) + (static_cast<std::int64_t>(b) * args.hk + hk) * args.sk * d;
  const T* vp = static_cast<const T*>(args.v) + (static_cast<std::int64_t>(b) * args.hk + hk) * args.sk * d;
  T* op = static_cast<T*>(args.o) + (static_cast<std::int64_t>(b) * args.h + h) * args.sq * d;
  const bool vec = (d % 8 == 0) && (reinterpret_cast<std::uintptr_t>(args.q) % 16 == 0) &&
                   (reinterpret_cast<std::uintptr_t>(args.k) % 16 == 0) &&
                   (reinterpret_cast<std::uintptr_t>(args.v) % 16 == 0);

  // Q tile -> registers (A fragments), staged through stage 1's K buffer.
  {
    T* qs = k_tile(1);
    load_tile<T, DP>(qp, args.sq, q0, d, vec, qs, kPitch);
    cp_async_commit();
    cp_async_wait<0>();
    __syncthreads();
  }
  std::uint32_t qf[DP / 16][4];
  {
    const T* qs = k_tile(1);
    const int r0 = warp * 16 + g;
#pragma unroll
    for (int kk = 0; kk < DP / 16; ++kk) {
      const int c = kk * 16 + 2 * t;
      qf[kk][0] = *reinterpret_cast<const std::uint32_t*>(&qs[r0 * kPitch + c]);
      qf[kk][1] = *reinterpret_cast<const std::uint32_t*>(&qs[(r0 + 8) * kPitch + c]);
      qf[kk][2] = *reinterpret_cast<const std::uint32_t*>(&qs[r0 * kPitch + c + 8]);
      qf[kk][3] = *reinterpret_cast<const std::uint32_t*>(&qs[(r0 + 8) * kPitch + c + 8]);
    }
  }
  __syncthreads();

  float oacc[DP / 8][4];
#pragma unroll
  for (int i = 0; i < DP / 8; ++i) oacc[i][0] = oacc[i][1] = oacc[i][2] = oacc[i][3] = 0.0f;
  float row_max[2] = {-INFINITY, -INFINITY};
  float row_sum[2] = {0.0f, 0.0f};
  const int qrow[2] = {q0 + warp * 16 + g, q0 + warp * 16 + g + 8};
  const int offset = args.sk - args.sq;  // causal: query i sees keys <= i + offset

  int tiles = (args.sk + kBlockN - 1) / kBlockN;
  if (args.causal) {
    const int last_q = min(q0 + kBlockM - 1, args.sq - 1);
    const int last_key = last_q + offset;
    tiles = last_key < 0 ? 0 : min(tiles, last_key / kBlockN + 1);
  }
  // Only tiles that reach past the diagonal or the end need per-element masks.
  const int first_masked_key = args.causal ? q0 + offset : args.sk;

  if (tiles > 0) {
    load_tile<T, DP>(kp, args.sk, 0, d, vec, k_tile(0), kPitch);
    load_tile<T, DP>(vp, args.sk, 0, d, vec, v_tile(0), kPitch);
    cp_async_commit();
  }
  // ldmatrix row addresses: lanes 0-7 rows of the first 8x8 matrix, 8-15 the
  // second (the upper 8 of 16), 16-31 the same for the next group.
  const int ld_row = lane % 8, ld_half = (lane / 8) % 2, ld_pair = lane / 16;

  for (int tile = 0; tile < tiles; ++tile) {
    const int stage = tile & 1;
    const int k0 = tile * kBlockN;
    if (tile + 1 < tiles) {
      // The next tile streams in while this one is computed.
      load_tile<T, DP>(kp, args.sk, k0 + kBlockN, d, vec, k_tile(stage ^ 1), kPitch);
      load_tile<T, DP>(vp, args.sk, k0 + kBlockN, d, vec, v_tile(stage ^ 1), kPitch);
      cp_async_commit();
      cp_async_wait<1>();
    } else {
      cp_async_wait<0>();
    }
    __syncthreads();
    const T* ks = k_tile(stage);
    const T* vs = v_tile(stage);

    // S = Q K^T for this warp's 16 rows x 64 keys. B fragments (k = head
    // dim, n = key) come straight from K's rows with ldmatrix.
    // One ldmatrix.x4 feeds two key groups: lanes 0-15 address group j's
    // rows (low, high half of the 16 head dims), lanes 16-31 group j + 1's.
    float s[kBlockN / 8][4];
#pragma unroll
    for (int j = 0; j < kBlockN / 8; ++j) s[j][0] = s[j][1] = s[j][2] = s[j][3] = 0.0f;
#pragma unroll
    for (int j = 0; j < kBlockN / 8; j += 2) {
#pragma unroll
      for (int kk = 0; kk < DP / 16; ++kk) {
        std::uint32_t b[4];
        ldmatrix_x4(b, &ks[((j + ld_pair) * 8 + ld_row) * kPitch + kk * 16 + ld_half * 8]);
        MmaTraits<T>::mma(s[j], qf[kk], b[0], b[1]);
        MmaTraits<T>::mma(s[j + 1], qf[kk], b[2], b[3]);
      }
    }

    // Scale, mask, and the online softmax update (exp2 domain).
    const bool needs_mask = k0 + kBlockN > args.sk || k0 + kBlockN - 1 > first_masked_key || args.mask != nullptr;
    float tile_max[2] = {-INFINITY, -INFINITY};
#pragma unroll
    for (int j = 0; j < kBlockN / 8; ++j) {
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        const int r = e / 2;
        float v = s[j][e] * args.scale_log2;
        if (needs_mask) {
          const int key = k0 + j * 8 + 2 * t + (e % 2);
          const int qi = qrow[r];
          if (key >= args.sk || (args.causal && key > qi + offset)) {
            v = -INFINITY;
          } else if (args.mask && qi < args.sq) {
            v += args.mask[b * args.mask_stride[0] + h * args.mask_stride[1] + qi * args.mask_stride[2] +
                           key * args.mask_stride[3]] *
                 kLog2e;
          }
        }
        s[j][e] = v;
        tile_max[r] = fmaxf(tile_max[r], v);
      }
    }
    float alpha[2];
#pragma unroll
    for (int r = 0; r < 2; ++r) {
      tile_max[r] = fmaxf(tile_max[r], __shfl_xor_sync(0xffffffffu, tile_max[r], 1));
      tile_max[r] = fmaxf(tile_max[r], __shfl_xor_sync(0xffffffffu, tile_max[r], 2));
      const float m_new = fmaxf(row_max[r], tile_max[r]);
      // Rows with every key masked so far keep max -inf; use 0 so exp2 gives 0, not NaN.
      const float m_use = m_new == -INFINITY ? 0.0f : m_new;
      alpha[r] = fast_exp2(row_max[r] - m_use);
      row_max[r] = m_new;
      row_sum[r] *= alpha[r];
#pragma unroll
      for (int j = 0; j < kBlockN / 8; ++j) {
        s[j][2 * r] = fast_exp2(s[j][2 * r] - m_use);
        s[j][2 * r + 1] = fast_exp2(s[j][2 * r + 1] - m_use);
        row_sum[r] += s[j][2 * r] + s[j][2 * r + 1];
      }
    }
#pragma unroll
    for (int i = 0; i < DP / 8; ++i) {
      oacc[i][0] *= alpha[0];
      oacc[i][1] *= alpha[0];
      oacc[i][2] *= alpha[1];
      oacc[i][3] *= alpha[1];
    }

    // O += P V: P's accumulator layout is exactly the A fragment layout; V's
    // B fragments (k = key, n = head dim) come from its rows, transposed by
    // ldmatrix.
#pragma unroll
    for (int kk = 0; kk < kBlockN / 16; ++kk) {
      std::uint32_t pa[4];
      pa[0] = MmaTraits<T>::pack(s[2 * kk][0], s[2 * kk][1]);
      pa[1] = MmaTraits<T>::pack(s[2 * kk][2], s[2 * kk][3]);
      pa[2] = MmaTraits<T>::pack(s[2 * kk + 1][0], s[2 * kk + 1][1]);
      pa[3] = MmaTraits<T>::pack(s[2 * kk + 1][2], s[2 * kk + 1][3]);
#pragma unroll
      for (int nd = 0; nd < DP / 8; nd += 2) {
        std::uint32_t b[4];
        ldmatrix_x4_trans(b, &vs[(kk * 16 + ld_half * 8 + ld_row) * kPitch + (nd + ld_pair) * 8]);
        MmaTraits<T>::mma(oacc[nd], pa, b[0], b[1]);
        MmaTraits<T>::mma(oacc[nd + 1], pa, b[2], b[3]);
      }
    }
    __syncthreads();  // this stage is refilled two tiles on
  }

  // Normalise and write; a row that saw no key writes zeros.
#pragma unroll
  for (int r = 0; r < 2; ++r) {
    row_sum[r] += __shfl_xor_sync(0xffffffffu, row_sum[r], 1);
    row_sum[r] += __shfl_xor_sync(0xffffffffu, row_sum[r], 2);
    const int qi = qrow[r];
    if (qi >= args.sq) continue;
    const float inv = row_sum[r] > 0.0f ? 1.0f / row_sum[r] : 0.0f;
    T* orow = op + static_cast<std::int64_t>(qi) * d;
#pragma unroll
    for (int nd = 0; nd < DP / 8; ++nd) {
      const int c = nd * 8 + 2 * t;
      if (c < d) orow[c] = from_float<T>(oacc[nd][2 * r] * inv);
      if (c + 1 < d) orow[c + 1] = from_float<T>(oacc[nd][2 * r + 1] * inv);
    }
  }
}

// Exact fallback: one warp per query row, keys one at a time, online softmax.
constexpr int kMaxFallbackDim = 256;

template <typename T>
__device__ void rowwise_attention_row(const AttnArgs& args, int dv, std::int64_t warp_global, int lane) {
  const int qi = static_cast<int>(warp_global % args.sq);
  const int h = static_cast<int>((warp_global / args.sq) % args.h);
  const int b = static_cast<int>(warp_global / (static_cast<std::int64_t>(args.sq) * args.h));
  const int hk = h / (args.h / args.hk);
  const int d = args.d;
  const T* qr = static_cast<const T*>(args.q) + static_cast<std::int64_t>(warp_global) * d;
  const T* kp = static_cast<const T*>(args.k) + (static_cast<std::int64_t>(b) * args.hk + hk) * args.sk * d;
  const T* vp = static_cast<const T*>(args.v) + (static_cast<std::int64_t>(b) * args.hk + hk) * args.sk * dv;
  float acc[kMaxFallbackDim / 32];
#pragma unroll
  for (int i = 0; i < kMaxFallbackDim / 32; ++i) acc[i] = 0.0f;
  float m = -INFINITY, l = 0.0f;
  const int offset = args.sk - args.sq;
  for (int key = 0; key < args.sk; ++key) {
    if (args.causal && key > qi + offset) break;
    float dot = 0.0f;
    for (int c = lane; c < d; c += 32) dot += to_float(qr[c]) * to_float(kp[static_cast<std::int64_t>(key) * d + c]);
    for (int o = 16; o > 0; o >>= 1) dot += __shfl_xor_sync(0xffffffffu, dot, o);
    float sv = dot * args.scale_log2;
    if (args.mask) {
      sv += args.mask[b * args.mask_stride[0] + h * args.mask_stride[1] + qi * args.mask_stride[2] +
                      key * args.mask_stride[3]] *
            kLog2e;
    }
    if (sv == -INFINITY) continue;
    const float m_new = fmaxf(m, sv);
    const float alpha = exp2f(m - m_new), p = exp2f(sv - m_new);
    l = l * alpha + p;
#pragma unroll
    for (int i = 0; i < kMaxFallbackDim / 32; ++i) {
      const int c = lane + 32 * i;
      acc[i] = acc[i] * alpha + (c < dv ? p * to_float(vp[static_cast<std::int64_t>(key) * dv + c]) : 0.0f);
    }
    m = m_new;
  }
  T* orow = static_cast<T*>(args.o) + static_cast<std::int64_t>(warp_global) * dv;
  const float inv = l > 0.0f ? 1.0f / l : 0.0f;
#pragma unroll
  for (int i = 0; i < kMaxFallbackDim / 32; ++i) {
    const int c = lane + 32 * i;
    if (c < dv) orow[c] = from_float<T>(acc[i] * inv);
  }
}

template <typename T>
__global__ void attention_rowwise_kernel(AttnArgs args, int dv) {
  const int lane = threadIdx.x % 32;
  const std::int64_t rows = static_cast<std::int64_t>(args.b) * args.h * args.sq;
  const std::int64_t warps_in_grid = static_cast<std::int64_t>(gridDim.x) * blockDim.x / 32;
  // Warp-stride over the rows: the grid is capped, the rows are not.
  for (std::int64_t row = (blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x) / 32; row < rows;
       row += warps_in_grid) {
    rowwise_attention_row<T>(args, dv, row, lane);
  }
}

template <typename T, int DP>
void launch_flash(const AttnArgs& a) {
  constexpr int kSmem = flash_smem_bytes<DP>();
  if constexpr (kSmem > 48 * 1024) {
    // More than the default 48 KB of dynamic shared memory: ask once.
    static const cudaError_t raised =
        cudaFuncSetAttribute(flash_attention_kernel<T, DP>, cudaFuncAttributeMaxDynamicSharedMemorySize, kSmem);
    SC_CUDA_CHECK(raised);
  }
  const dim3 grid(static_cast<unsigned>((a.sq + kBlockM - 1) / kBlockM), static_cast<unsigned>(a.h),
                  static_cast<unsigned>(a.b));
  flash_attention_kernel<T, DP><<<grid, kWarps * 32, kSmem, engine_stream()>>>(a);
}

template <typename T>
void launch_flash_for_dim(const AttnArgs& a) {
  if (a.d <= 32) {
    launch_flash<T, 32>(a);
  } else if (a.d <= 48) {
    launch_flash<T, 48>(a);
  } else if (a.d <= 64) {
    launch_flash<T, 64>(a);
  } else if (a.d <= 80) {
    launch_flash<T, 80>(a);
  } else if (a.d <= 96) {
    launch_flash<T, 96>(a);
  } else {
    launch_flash<T, 128>(a);
  }
}

}  // namespace

void attention(const Tensor& q, const Tensor& k, const Tensor& v, bool causal, const Tensor& mask, float scale,
               Tensor& out) {
  if (out.numel() == 0) return;
  AttnArgs a{};
  a.q = q.raw_data();
  a.k = k.raw_data();
  a.v = v.raw_data();
  a.o = out.raw_data();
  a.b = static_cast<int>(q.dim(0));
  a.h = static_cast<int>(q.dim(1));
  a.hk = static_cast<int>(k.dim(1));
  a.sq = static_cast<int>(q.dim(2));
  a.sk = static_cast<int>(k.dim(2));
  a.d = static_cast<int>(q.dim(3));
  a.scale_log2 = scale * kLog2e;
  a.causal = causal;
  if (mask.defined()) {
    // Element strides of the mask broadcast to [B, H, Sq, Sk].
    a.mask = static_cast<const float*>(mask.raw_data());
    std::int64_t s = 1;
    for (int i = 3; i >= 0; --i) {
      const int md = i - (4 - mask.rank());
      const std::int64_t extent = md >= 0 ? mask.dim(md) : 1;
      a.mask_stride[i] = extent == 1 ? 0 : s;
      s *= extent;
    }
  }
  if (a.sk == 0) {
    fill_zero(out.raw_data(), out.nbytes());
    return;
  }
  const int dv = static_cast<int>(v.dim(3));
  const bool tensor_cores = q.dtype() != DType::kF32 && dv == a.d && a.d <= 128;
  if (!tensor_cores && !causal && !mask.defined() && a.h == a.hk &&
      (q.dtype() != DType::kF32 || a.d > kMaxFallbackDim || dv > kMaxFallbackDim)) {
    // Head sizes the flash kernel does not take (a VAE's single 512-wide head,
    // SD 1.5's 160) and no mask: the scores are small enough to materialise.
    // Two batched GEMMs and a softmax; q is scaled first, so half-precision
    // scores stay in range.
    const std::int64_t b = q.dim(0), h = q.dim(1), sq = q.dim(2), sk = k.dim(2);
    Tensor qs = Tensor::empty(q.shape(), q.dtype(), Device::kCuda);
    cuda::unary(UnaryOp::kScale, q, scale, qs);
    Tensor kt = Tensor::empty({b, h, k.dim(3), sk}, k.dtype(), Device::kCuda);
    const int swap_last[] = {0, 1, 3, 2};
    cuda::permute(k, swap_last, kt);
    Tensor scores = Tensor::empty({b, h, sq, sk}, q.dtype(), Device::kCuda);
    cuda::matmul(qs, kt, scores);
    Tensor probs = Tensor::empty(scores.shape(), q.dtype(), Device::kCuda);
    cuda::softmax(scores, 3, probs);
    cuda::matmul(probs, v, out);
    return;
  }
  if (tensor_cores) {
    if (q.dtype() == DType::kF16) {
      launch_flash_for_dim<__half>(a);
    } else {
      launch_flash_for_dim<__nv_bfloat16>(a);
    }
  } else {
    if (a.d > kMaxFallbackDim || dv > kMaxFallbackDim) {
      fail(cat("attention: head size ", a.d, " / value size ", dv, " is above the ", kMaxFallbackDim,
               " the CUDA kernels support"));
    }
    const std::int64_t rows = static_cast<std::int64_t>(a.b) * a.h * a.sq;
    const int per_block = 8;  // warps
    dispatch_float(q.dtype(), "attention", [&](auto tag) {
      using T = decltype(tag);
      attention_rowwise_kernel<T><<<grid_for(rows, per_block), per_block * 32, 0, engine_stream()>>>(a, dv);
    });
  }
  SC_CUDA_LAUNCH_CHECK();
}

}  // namespace sc::engine::cuda
