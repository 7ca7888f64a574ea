// Blocked attention with an online softmax (FlashAttention's recurrence):
// for a block of queries, walk the keys one block at a time, keeping per row
// the running max m, the running sum l and the unnormalised output O:
//   S = scale Q Kb^T (+ mask);  m' = max(m, rowmax S);  P = exp(S - m')
//   l = l e^(m - m') + rowsum P;  O = O e^(m - m') + P Vb
// and divide O by l at the end. Scores exist for one block at a time, so
// memory is O(block_q x block_k) per thread however long the sequence is.
#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "base/thread_pool.h"
#include "engine/cpu/blas.h"
#include "engine/cpu/kernels.h"
#include "engine/cpu/simd.h"

namespace sc::engine::cpu {

namespace {

constexpr std::int64_t kBlockQ = 64;
constexpr std::int64_t kBlockK = 512;
constexpr float kNegInf = -std::numeric_limits<float>::infinity();

// Element strides of the additive mask seen as [B, H, Sq, Sk] (0 where it
// broadcasts).
struct MaskView {
  const float* data = nullptr;
  std::int64_t sb = 0, sh = 0, sq = 0, sk = 0;
};

MaskView mask_view(const Tensor& mask) {
  MaskView v;
  if (!mask.defined()) return v;
  v.data = mask.data<float>();
  std::int64_t strides[4] = {0, 0, 0, 0};
  std::int64_t running = 1;
  const int r = mask.rank();
  for (int i = 3; i >= 0; --i) {
    const int mi = i - (4 - r);
    if (mi < 0) continue;
    if (mask.dim(mi) != 1) strides[i] = running;
    running *= mask.dim(mi);
  }
  v.sb = strides[0];
  v.sh = strides[1];
  v.sq = strides[2];
  v.sk = strides[3];
  return v;
}

}  // namespace

void attention(const Tensor& q, const Tensor& k, const Tensor& v, bool causal, const Tensor& mask, float scale,
               Tensor& out) {
  const std::int64_t batch = q.dim(0), heads = q.dim(1), sq = q.dim(2), d = q.dim(3);
  const std::int64_t kv_heads = k.dim(1), sk = k.dim(2), dv = v.dim(3);
  const std::int64_t group = heads / kv_heads;
  const std::int64_t causal_offset = sk - sq;  // query i sees keys j <= i + offset
  const float* pq = q.data<float>();
  const float* pk = k.data<float>();
  const float* pv = v.data<float>();
  float* po = out.data<float>();
  const MaskView mv = mask_view(mask);
  const std::int64_t q_blocks = (sq + kBlockQ - 1) / kBlockQ;
  const std::int64_t block_k = std::min(kBlockK, std::max<std::int64_t>(sk, 1));

  parallel_for(batch * heads * q_blocks, 1, [&](std::int64_t t0, std::int64_t t1) {
    std::vector<float> scores(static_cast<std::size_t>(kBlockQ * block_k));
    std::vector<float> row_max(kBlockQ), row_sum(kBlockQ);
    for (std::int64_t t = t0; t < t1; ++t) {
      const std::int64_t bh = t / q_blocks;
      const std::int64_t b = bh / heads, h = bh % heads;
      const std::int64_t i0 = (t % q_blocks) * kBlockQ;
      const std::int64_t bq = std::min(kBlockQ, sq - i0);
      const std::int64_t kvh = b * kv_heads + h / group;
      const float* qb = pq + (bh * sq + i0) * d;
      const float* kb = pk + kvh * sk * d;
      const float* vb = pv + kvh * sk * dv;
      float* ob = po + (bh * sq + i0) * dv;
      std::fill(ob, ob + bq * dv, 0.0f);
      std::fill(row_max.begin(), row_max.end(), kNegInf);
      std::fill(row_sum.begin(), row_sum.end(), 0.0f);
      // Keys past the last row's causal limit are never seen by this block.
      const std::int64_t key_end = causal ? std::clamp<std::int64_t>(i0 + bq + causal_offset, 0, sk) : sk;
      for (std::int64_t j0 = 0; j0 < key_end; j0 += block_k) {
        const std::int64_t bk = std::min(block_k, key_end - j0);
        float* s = scores.data();
        gemm_serial({false, true, bq, bk, d, scale, qb, d, kb + j0 * d, d, 0.0f, s, bk});
        for (std::int64_t i = 0; i < bq; ++i) {
          float* srow = s + i * bk;
          if (mv.data) {
            const float* mrow = mv.data + b * mv.sb + h * mv.sh + (i0 + i) * mv.sq + j0 * mv.sk;
            if (mv.sk) {
              for (std::int64_t j = 0; j < bk; ++j) srow[j] += mrow[j];
            } else {
              for (std::int64_t j = 0; j < bk; ++j) srow[j] += mrow[0];
            }
          }
          std::int64_t visible = bk;
          if (causal) {
            visible = std::clamp<std::int64_t>(i0 + i + causal_offset + 1 - j0, 0, bk);
            std::fill(srow + visible, srow + bk, kNegInf);
          }
          const float m_block = visible ? simd::max(srow, visible) : kNegInf;
          const float m_old = row_max[static_cast<std::size_t>(i)];
          const float m_new = std::max(m_old, m_block);
          if (m_new == kNegInf) {
            // Nothing visible yet in this row: contributes nothing.
            std::fill(srow, srow + bk, 0.0f);
            continue;
          }
          const float sum = simd::exp_shift_sum(srow, visible, m_new);
          std::fill(srow + visible, srow + bk, 0.0f);
          const float correction = m_old == kNegInf ? 0.0f : std::exp(m_old - m_new);
          row_sum[static_cast<std::size_t>(i)] = row_sum[static_cast<std::size_t>(i)] * correction + sum;
          row_max[static_cast<std::size_t>(i)] = m_new;
          if (correction != 1.0f) simd::scale(ob + i * dv, correction, dv);
        }
        gemm_serial({false, false, bq, dv, bk, 1.0f, s, bk, vb + j0 * dv, dv, 1.0f, ob, dv});
      }
      for (std::int64_t i = 0; i < bq; ++i) {
        const float l = row_sum[static_cast<std::size_t>(i)];
        if (l > 0.0f) {
          simd::scale(ob + i * dv, 1.0f / l, dv);
        } else {
          std::fill(ob + i * dv, ob + (i + 1) * dv, 0.0f);
        }
      }
    }
  });
}

}  // namespace sc::engine::cpu
