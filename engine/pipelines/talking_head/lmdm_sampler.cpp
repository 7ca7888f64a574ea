#include "engine/pipelines/talking_head/lmdm_sampler.h"

#include <algorithm>
#include <cmath>

#include "base/error.h"

namespace sc::engine::talking_head {

DdimSchedule DdimSchedule::make(int sampling_steps) {
  if (sampling_steps < 1 || sampling_steps > kTrainSteps) {
    throw Error("talking head: {} sampling steps; 1 to {} are possible", sampling_steps, kTrainSteps);
  }
  DdimSchedule s;
  constexpr double kS = 8e-3;
  std::vector<double> f(kTrainSteps + 1);
  for (int k = 0; k <= kTrainSteps; ++k) {
    const double tau = static_cast<double>(k) / kTrainSteps + kS;
    const double c = std::cos(tau / (1.0 + kS) * M_PI / 2.0);
    f[static_cast<std::size_t>(k)] = c * c;
  }
  s.alpha_bar.resize(kTrainSteps);
  float acc = 1.0f;
  for (int k = 0; k < kTrainSteps; ++k) {
    const double a = f[static_cast<std::size_t>(k)] / f[0], b = f[static_cast<std::size_t>(k) + 1] / f[0];
    const auto beta = static_cast<float>(std::clamp(1.0 - b / a, 0.0, 0.999));
    acc *= 1.0f - beta;
    s.alpha_bar[static_cast<std::size_t>(k)] = acc;
  }
  // linspace(-1, 999, S + 1) in f32, truncated toward zero, reversed.
  std::vector<int> times;
  for (int i = 0; i <= sampling_steps; ++i) {
    const float v =
        -1.0f + static_cast<float>(i) * (static_cast<float>(kTrainSteps) / static_cast<float>(sampling_steps));
    times.push_back(i == sampling_steps ? kTrainSteps - 1 : static_cast<int>(v));
  }
  std::reverse(times.begin(), times.end());
  for (std::size_t i = 0; i + 1 < times.size(); ++i) s.steps.emplace_back(times[i], times[i + 1]);
  for (const auto& [t, next] : s.steps) {
    if (next < 0) continue;
    const float at = s.alpha_bar[static_cast<std::size_t>(t)], an = s.alpha_bar[static_cast<std::size_t>(next)];
    Coefficients c;
    c.sigma = std::sqrt((1.0f - at / an) * (1.0f - an) / (1.0f - at));
    c.c = std::sqrt(std::max(0.0f, 1.0f - an - c.sigma * c.sigma));
    c.sqrt_alpha_next = std::sqrt(an);
    s.coefficients.push_back(c);
  }
  return s;
}

LmdmSampler::LmdmSampler(int sampling_steps, int frames, std::uint64_t seed)
    : frames_(frames), schedule_(DdimSchedule::make(sampling_steps)), rng_(seed) {
  if (frames < 1) throw Error("talking head: a motion window of {} frames", frames);
  for (std::size_t i = 0; i < schedule_.coefficients.size(); ++i)
    z_.push_back(gaussian(static_cast<std::size_t>(frames_) * kMotionDim));
}

std::vector<float> LmdmSampler::gaussian(std::size_t n) {
  std::normal_distribution<float> d(0.0f, 1.0f);
  std::vector<float> v(n);
  for (float& x : v) x = d(rng_);
  return v;
}

void LmdmSampler::set_step_noise(std::vector<std::vector<float>> z) {
  const std::size_t n = static_cast<std::size_t>(frames_) * kMotionDim;
  if (z.size() != schedule_.coefficients.size()) {
    throw Error("talking head: {} step-noise tensors for {} noisy steps", z.size(), schedule_.coefficients.size());
  }
  for (const auto& v : z)
    if (v.size() != n) throw Error("talking head: a step-noise tensor of {} values; {} expected", v.size(), n);
  z_ = std::move(z);
}

std::vector<float> LmdmSampler::sample(const LmdmCall& lmdm, std::span<const float> cond_frame,
                                       std::span<const float> cond, std::span<const float> x0) {
  const std::size_t n = static_cast<std::size_t>(frames_) * kMotionDim;
  if (cond_frame.size() != static_cast<std::size_t>(kMotionDim)) {
    throw Error("talking head: cond_frame has {} values; {} expected", cond_frame.size(), kMotionDim);
  }
  std::vector<float> x = x0.empty() ? gaussian(n) : std::vector<float>(x0.begin(), x0.end());
  if (x.size() != n) throw Error("talking head: the start noise has {} values; {} expected", x.size(), n);
  std::vector<float> pred_noise, x_start;
  for (std::size_t i = 0; i < schedule_.steps.size(); ++i) {
    const auto [t, next] = schedule_.steps[i];
    lmdm(x, cond_frame, cond, t, pred_noise, x_start);
    if (pred_noise.size() != n || x_start.size() != n) {
      throw Error("talking head: LMDM gave {} / {} values; {} expected", pred_noise.size(), x_start.size(), n);
    }
    if (next < 0) return x_start;
    const DdimSchedule::Coefficients& c = schedule_.coefficients[i];
    const std::vector<float>& z = z_[i];
    for (std::size_t k = 0; k < n; ++k) x[k] = c.sqrt_alpha_next * x_start[k] + c.c * pred_noise[k] + c.sigma * z[k];
  }
  return x_start;
}

}  // namespace sc::engine::talking_head
