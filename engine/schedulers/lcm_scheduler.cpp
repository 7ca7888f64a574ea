#include "engine/schedulers/lcm_scheduler.h"

#include <cmath>

#include "base/error.h"
#include "engine/ops.h"

namespace sc::engine {

namespace {

// torch.linspace in float32: the first half counts up from start, the second
// half down from end (that is how PyTorch keeps the end point exact), which
// the betas inherit bit for bit.
std::vector<float> linspace_f32(float start, float end, int steps) {
  std::vector<float> out(static_cast<std::size_t>(steps));
  if (steps == 1) {
    out[0] = start;
    return out;
  }
  const float step = (end - start) / static_cast<float>(steps - 1);
  const int halfway = steps / 2;
  for (int i = 0; i < steps; ++i) {
    out[static_cast<std::size_t>(i)] =
        i < halfway ? start + step * static_cast<float>(i) : end - step * static_cast<float>(steps - i - 1);
  }
  return out;
}

// [B, 1, 1, ...] of like's rank, device and dtype, for broadcasting per-row
// scalars.
Tensor row_factors(std::span<const float> factors, const Tensor& like) {
  Shape shape;
  shape.push_back(static_cast<std::int64_t>(factors.size()));
  for (int i = 1; i < like.shape().rank(); ++i) shape.push_back(1);
  return to_dtype(Tensor::from_vector(shape, factors).to(like.device()), like.dtype());
}

}  // namespace

LcmSchedulerConfig LcmSchedulerConfig::from_config(const Config& config) {
  LcmSchedulerConfig c;
  c.num_train_timesteps = config.get_or<int>("num_train_timesteps", c.num_train_timesteps);
  c.beta_start = config.get_or<double>("beta_start", c.beta_start);
  c.beta_end = config.get_or<double>("beta_end", c.beta_end);
  c.beta_schedule = config.get_or<std::string>("beta_schedule", c.beta_schedule);
  c.original_inference_steps = config.get_or<int>("original_inference_steps", c.original_inference_steps);
  c.timestep_scaling = config.get_or<double>("timestep_scaling", c.timestep_scaling);
  c.prediction_type = config.get_or<std::string>("prediction_type", c.prediction_type);
  return c;
}

LcmScheduler::LcmScheduler(LcmSchedulerConfig config) : config_(std::move(config)) {
  const int n = config_.num_train_timesteps;
  check(n > 0, "LCM scheduler: num_train_timesteps is {}; it must be positive", n);
  check(config_.original_inference_steps > 0 && config_.original_inference_steps <= n,
        "LCM scheduler: original_inference_steps is {}; it must be in 1..num_train_timesteps ({})",
        config_.original_inference_steps, n);
  check(config_.prediction_type == "epsilon" || config_.prediction_type == "v_prediction" ||
            config_.prediction_type == "sample",
        "LCM scheduler: prediction_type '{}' is not supported (epsilon, v_prediction or sample)",
        config_.prediction_type);
  std::vector<float> betas;
  if (config_.beta_schedule == "scaled_linear") {
    betas = linspace_f32(static_cast<float>(std::sqrt(config_.beta_start)),
                         static_cast<float>(std::sqrt(config_.beta_end)), n);
    for (float& b : betas) b = b * b;
  } else if (config_.beta_schedule == "linear") {
    betas = linspace_f32(static_cast<float>(config_.beta_start), static_cast<float>(config_.beta_end), n);
  } else {
    throw Error("LCM scheduler: beta_schedule '{}' is not supported (scaled_linear or linear)", config_.beta_schedule);
  }
  // torch.cumprod on the CPU accumulates float32 in double.
  alphas_cumprod_.resize(betas.size());
  double acc = 1.0;
  for (std::size_t i = 0; i < betas.size(); ++i) {
    acc *= static_cast<double>(1.0f - betas[i]);
    alphas_cumprod_[i] = static_cast<float>(acc);
  }
}

std::vector<std::int64_t> LcmScheduler::timesteps(int num_inference_steps) const {
  const int original = config_.original_inference_steps;
  check(num_inference_steps >= 1 && num_inference_steps <= original,
        "LCM scheduler: {} inference steps requested; it must be in 1..{} (original_inference_steps)",
        num_inference_steps, original);
  const std::int64_t k = config_.num_train_timesteps / original;
  // The distillation schedule k-1, 2k-1, ..., original*k-1, descending, and
  // floor(linspace(0, original, n, endpoint=False)) picks from it.
  std::vector<std::int64_t> out;
  out.reserve(static_cast<std::size_t>(num_inference_steps));
  for (int i = 0; i < num_inference_steps; ++i) {
    const double position = static_cast<double>(i) * original / num_inference_steps;
    const auto index = static_cast<std::int64_t>(std::floor(position));
    out.push_back((original - index) * k - 1);
  }
  return out;
}

void LcmScheduler::boundary_scalings(std::int64_t timestep, float& c_skip, float& c_out) const {
  // diffusers computes these in Python floats (double) from an int timestep.
  const double sigma_data = 0.5;
  const double scaled = static_cast<double>(timestep) * config_.timestep_scaling;
  c_skip = static_cast<float>(sigma_data * sigma_data / (scaled * scaled + sigma_data * sigma_data));
  c_out = static_cast<float>(scaled / std::sqrt(scaled * scaled + sigma_data * sigma_data));
}

LcmStep LcmScheduler::step_for(std::int64_t timestep) const {
  check(timestep >= 0 && timestep < config_.num_train_timesteps, "LCM scheduler: timestep {} is outside 0..{}",
        timestep, config_.num_train_timesteps - 1);
  LcmStep s;
  s.timestep = timestep;
  const float a = alphas_cumprod_[static_cast<std::size_t>(timestep)];
  s.alpha_sqrt = std::sqrt(a);
  s.beta_sqrt = std::sqrt(1.0f - a);
  boundary_scalings(timestep, s.c_skip, s.c_out);
  return s;
}

std::vector<LcmStep> LcmScheduler::stream_steps(std::span<const int> t_index_list, int num_inference_steps) const {
  check(!t_index_list.empty(), "LCM scheduler: t_index_list is empty; give at least one step");
  const std::vector<std::int64_t> all = timesteps(num_inference_steps);
  std::vector<LcmStep> steps;
  for (std::size_t i = 0; i < t_index_list.size(); ++i) {
    const int index = t_index_list[i];
    check(index >= 0 && index < num_inference_steps,
          "LCM scheduler: t_index_list[{}] = {} is outside the {}-step schedule (0..{})", i, index, num_inference_steps,
          num_inference_steps - 1);
    check(i == 0 || index > t_index_list[i - 1], "LCM scheduler: t_index_list must be ascending (entry {} is {})", i,
          index);
    steps.push_back(step_for(all[static_cast<std::size_t>(index)]));
  }
  return steps;
}

Tensor scale_rows(const Tensor& x, std::span<const float> factors) {
  check(x.shape().rank() >= 1 && x.shape()[0] == static_cast<std::int64_t>(factors.size()),
        "scale_rows: {} factors for a tensor of {} rows", factors.size(), x.describe());
  return mul(x, row_factors(factors, x));
}

Tensor LcmScheduler::denoise(const Tensor& model_output, const Tensor& sample, std::span<const LcmStep> steps) const {
  std::vector<float> alpha, beta, c_skip, c_out;
  for (const LcmStep& s : steps) {
    alpha.push_back(s.alpha_sqrt);
    beta.push_back(s.beta_sqrt);
    c_skip.push_back(s.c_skip);
    c_out.push_back(s.c_out);
  }
  Tensor x0;
  if (config_.prediction_type == "epsilon") {
    // diffusers divides by sqrt(alpha); so do we, not multiply by the inverse.
    x0 = div(sub(sample, scale_rows(model_output, beta)), row_factors(alpha, sample));
  } else if (config_.prediction_type == "v_prediction") {
    x0 = sub(scale_rows(sample, alpha), scale_rows(model_output, beta));
  } else {
    x0 = model_output;
  }
  return add(scale_rows(x0, c_out), scale_rows(sample, c_skip));
}

Tensor LcmScheduler::add_noise(const Tensor& x, const Tensor& noise, std::span<const LcmStep> steps) {
  std::vector<float> alpha, beta;
  for (const LcmStep& s : steps) {
    alpha.push_back(s.alpha_sqrt);
    beta.push_back(s.beta_sqrt);
  }
  const auto rows = static_cast<std::int64_t>(steps.size());
  const Tensor xs = x.shape()[0] == rows ? x : concat(std::vector<Tensor>(steps.size(), x), 0);
  return add(scale_rows(xs, alpha), scale_rows(noise, beta));
}

}  // namespace sc::engine
