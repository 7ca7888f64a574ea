#pragma once
// Vectorised inner loops (Highway, dispatched at run time to the best
// instruction set of the machine). Transcendentals here are accurate to a few
// ulp, well inside the 1e-5 relative error the golden tests allow.
#include <cstdint>

namespace sc::engine::cpu::simd {

float max(const float* x, std::int64_t n);
// x[i] = exp(x[i] - shift); returns the sum of the new values. The softmax
// and attention core: one pass instead of three.
float exp_shift_sum(float* x, std::int64_t n, float shift);
void exp(const float* x, float* y, std::int64_t n);
void sigmoid(const float* x, float* y, std::int64_t n);
void silu(const float* x, float* y, std::int64_t n);
void quick_gelu(const float* x, float* y, std::int64_t n);  // x * sigmoid(1.702 x)
void tanh(const float* x, float* y, std::int64_t n);
void gelu_tanh(const float* x, float* y, std::int64_t n);
// y[i] = a * x[i] + y[i]
void axpy(float a, const float* x, float* y, std::int64_t n);
void scale(float* x, float s, std::int64_t n);

}  // namespace sc::engine::cpu::simd
