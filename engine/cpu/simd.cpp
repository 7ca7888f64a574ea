// Highway compiles this file once per instruction set (foreach_target.h
// re-includes it) and HWY_DYNAMIC_DISPATCH picks the best one at run time, so
// one binary is fast on AVX2 and AVX-512 machines and still runs on SSE2.
#include "engine/cpu/simd.h"

#include <cmath>
#include <cstddef>

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "engine/cpu/simd.cpp"
#include <hwy/foreach_target.h>  // must precede highway.h
#include <hwy/highway.h>
#include <hwy/contrib/math/math-inl.h>

HWY_BEFORE_NAMESPACE();
namespace sc::engine::cpu::simd {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// Runs op over full vectors, then the tail one lane at a time, so callers
// never read past n.
template <class Op>
HWY_INLINE void unary_map(const float* x, float* y, std::int64_t n, const Op& op) {
  const hn::ScalableTag<float> d;
  const std::size_t lanes = hn::Lanes(d);
  const std::size_t count = static_cast<std::size_t>(n);
  std::size_t i = 0;
  for (; i + lanes <= count; i += lanes) hn::StoreU(op(d, hn::LoadU(d, x + i)), d, y + i);
  const hn::CappedTag<float, 1> d1;
  for (; i < count; ++i) hn::StoreU(op(d1, hn::LoadU(d1, x + i)), d1, y + i);
}

template <class D, class V>
HWY_INLINE V sigmoid_v(D d, V v) {
  const V one = hn::Set(d, 1.0f);
  return hn::Div(one, hn::Add(one, hn::Exp(d, hn::Neg(v))));
}

float MaxImpl(const float* x, std::int64_t n) {
  const hn::ScalableTag<float> d;
  const std::size_t lanes = hn::Lanes(d);
  const std::size_t count = static_cast<std::size_t>(n);
  auto m = hn::Set(d, -HUGE_VALF);
  std::size_t i = 0;
  for (; i + lanes <= count; i += lanes) m = hn::Max(m, hn::LoadU(d, x + i));
  float r = hn::GetLane(hn::MaxOfLanes(d, m));
  for (; i < count; ++i) r = x[i] > r ? x[i] : r;
  return r;
}

float ExpShiftSumImpl(float* x, std::int64_t n, float shift) {
  const hn::ScalableTag<float> d;
  const std::size_t lanes = hn::Lanes(d);
  const std::size_t count = static_cast<std::size_t>(n);
  const auto s = hn::Set(d, shift);
  auto acc = hn::Zero(d);
  std::size_t i = 0;
  for (; i + lanes <= count; i += lanes) {
    const auto e = hn::Exp(d, hn::Sub(hn::LoadU(d, x + i), s));
    hn::StoreU(e, d, x + i);
    acc = hn::Add(acc, e);
  }
  float sum = hn::GetLane(hn::SumOfLanes(d, acc));
  const hn::CappedTag<float, 1> d1;
  for (; i < count; ++i) {
    const auto e = hn::Exp(d1, hn::Sub(hn::LoadU(d1, x + i), hn::Set(d1, shift)));
    hn::StoreU(e, d1, x + i);
    sum += hn::GetLane(e);
  }
  return sum;
}

void ExpImpl(const float* x, float* y, std::int64_t n) {
  unary_map(x, y, n, [](auto d, auto v) { return hn::Exp(d, v); });
}

void SigmoidImpl(const float* x, float* y, std::int64_t n) {
  unary_map(x, y, n, [](auto d, auto v) { return sigmoid_v(d, v); });
}

void SiluImpl(const float* x, float* y, std::int64_t n) {
  unary_map(x, y, n, [](auto d, auto v) { return hn::Mul(v, sigmoid_v(d, v)); });
}

void QuickGeluImpl(const float* x, float* y, std::int64_t n) {
  unary_map(x, y, n, [](auto d, auto v) { return hn::Mul(v, sigmoid_v(d, hn::Mul(v, hn::Set(d, 1.702f)))); });
}

void TanhImpl(const float* x, float* y, std::int64_t n) {
  unary_map(x, y, n, [](auto d, auto v) { return hn::Tanh(d, v); });
}

void GeluTanhImpl(const float* x, float* y, std::int64_t n) {
  unary_map(x, y, n, [](auto d, auto v) {
    const auto k0 = hn::Set(d, 0.7978845608028654f);  // sqrt(2 / pi)
    const auto k1 = hn::Set(d, 0.044715f);
    const auto half = hn::Set(d, 0.5f);
    const auto one = hn::Set(d, 1.0f);
    const auto inner = hn::Mul(k0, hn::MulAdd(hn::Mul(k1, v), hn::Mul(v, v), v));
    return hn::Mul(hn::Mul(half, v), hn::Add(one, hn::Tanh(d, inner)));
  });
}

void AxpyImpl(float a, const float* x, float* y, std::int64_t n) {
  const hn::ScalableTag<float> d;
  const std::size_t lanes = hn::Lanes(d);
  const std::size_t count = static_cast<std::size_t>(n);
  const auto va = hn::Set(d, a);
  std::size_t i = 0;
  for (; i + lanes <= count; i += lanes) hn::StoreU(hn::MulAdd(va, hn::LoadU(d, x + i), hn::LoadU(d, y + i)), d, y + i);
  for (; i < count; ++i) y[i] += a * x[i];
}

void ScaleImpl(float* x, float s, std::int64_t n) {
  const hn::ScalableTag<float> d;
  const std::size_t lanes = hn::Lanes(d);
  const std::size_t count = static_cast<std::size_t>(n);
  const auto vs = hn::Set(d, s);
  std::size_t i = 0;
  for (; i + lanes <= count; i += lanes) hn::StoreU(hn::Mul(hn::LoadU(d, x + i), vs), d, x + i);
  for (; i < count; ++i) x[i] *= s;
}

}  // namespace HWY_NAMESPACE
}  // namespace sc::engine::cpu::simd
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace sc::engine::cpu::simd {

HWY_EXPORT(MaxImpl);
HWY_EXPORT(ExpShiftSumImpl);
HWY_EXPORT(ExpImpl);
HWY_EXPORT(SigmoidImpl);
HWY_EXPORT(SiluImpl);
HWY_EXPORT(QuickGeluImpl);
HWY_EXPORT(TanhImpl);
HWY_EXPORT(GeluTanhImpl);
HWY_EXPORT(AxpyImpl);
HWY_EXPORT(ScaleImpl);

float max(const float* x, std::int64_t n) { return HWY_DYNAMIC_DISPATCH(MaxImpl)(x, n); }
float exp_shift_sum(float* x, std::int64_t n, float shift) {
  return HWY_DYNAMIC_DISPATCH(ExpShiftSumImpl)(x, n, shift);
}
void exp(const float* x, float* y, std::int64_t n) { HWY_DYNAMIC_DISPATCH(ExpImpl)(x, y, n); }
void sigmoid(const float* x, float* y, std::int64_t n) { HWY_DYNAMIC_DISPATCH(SigmoidImpl)(x, y, n); }
void silu(const float* x, float* y, std::int64_t n) { HWY_DYNAMIC_DISPATCH(SiluImpl)(x, y, n); }
void quick_gelu(const float* x, float* y, std::int64_t n) { HWY_DYNAMIC_DISPATCH(QuickGeluImpl)(x, y, n); }
void tanh(const float* x, float* y, std::int64_t n) { HWY_DYNAMIC_DISPATCH(TanhImpl)(x, y, n); }
void gelu_tanh(const float* x, float* y, std::int64_t n) { HWY_DYNAMIC_DISPATCH(GeluTanhImpl)(x, y, n); }
void axpy(float a, const float* x, float* y, std::int64_t n) { HWY_DYNAMIC_DISPATCH(AxpyImpl)(a, x, y, n); }
void scale(float* x, float s, std::int64_t n) { HWY_DYNAMIC_DISPATCH(ScaleImpl)(x, s, n); }

}  // namespace sc::engine::cpu::simd
#endif
