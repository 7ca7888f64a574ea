#pragma once
// LCMScheduler as diffusers computes it (scheduling_lcm.py): scaled-linear
// (or linear) betas, alphas_cumprod, the LCM timestep schedule over
// original_inference_steps, and the consistency boundary scalings c_skip /
// c_out. StreamDiffusion uses it without the scheduler's step state: each
// frame's batch holds one latent per entry of a t_index_list into the
// 50-step schedule, so the coefficients are precomputed per entry here.
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "engine/config.h"
#include "engine/tensor.h"

namespace sc::engine {

struct LcmSchedulerConfig {
  int num_train_timesteps = 1000;
  double beta_start = 0.00085;
  double beta_end = 0.012;
  std::string beta_schedule = "scaled_linear";  // or "linear"
  int original_inference_steps = 50;
  double timestep_scaling = 10.0;
  std::string prediction_type = "epsilon";  // or "v_prediction", "sample"

  // scheduler/scheduler_config.json; absent fields keep the defaults above
  // (which are LCMScheduler's). Other scheduler classes are accepted: their
  // betas are what StreamDiffusion reuses when it swaps in LCM.
  static LcmSchedulerConfig from_config(const Config& config);
};

// One entry of the stream batch: the timestep and everything the
// closed-form step needs for it.
struct LcmStep {
  std::int64_t timestep = 0;
  float alpha_sqrt = 1;  // sqrt(alphas_cumprod[t])
  float beta_sqrt = 0;   // sqrt(1 - alphas_cumprod[t])
  float c_skip = 0;
  float c_out = 1;
};

class LcmScheduler {
 public:
  explicit LcmScheduler(LcmSchedulerConfig config = {});

  const LcmSchedulerConfig& config() const { return config_; }
  // float32 values as diffusers holds them.
  const std::vector<float>& alphas_cumprod() const { return alphas_cumprod_; }

  // set_timesteps(num_inference_steps) with strength 1: descending timesteps.
  std::vector<std::int64_t> timesteps(int num_inference_steps) const;
  // get_scalings_for_boundary_condition_discrete(t).
  void boundary_scalings(std::int64_t timestep, float& c_skip, float& c_out) const;
  LcmStep step_for(std::int64_t timestep) const;
  // The entries of t_index_list (indices into timesteps(num_inference_steps),
  // ascending) as stream batch steps. Throws naming the bad index.
  std::vector<LcmStep> stream_steps(std::span<const int> t_index_list, int num_inference_steps = 50) const;

  // x0 estimate with the boundary condition, one step per batch row:
  // denoised = c_out * x0(model_output, sample) + c_skip * sample.
  // model_output and sample: [B, C, H, W] with B == steps.size().
  Tensor denoise(const Tensor& model_output, const Tensor& sample, std::span<const LcmStep> steps) const;
  // alpha_sqrt * x + beta_sqrt * noise, per row (rows of x / noise: B ==
  // steps.size(), or x broadcast from one row).
  static Tensor add_noise(const Tensor& x, const Tensor& noise, std::span<const LcmStep> steps);

 private:
  LcmSchedulerConfig config_;
  std::vector<float> alphas_cumprod_;
};

// Multiplies row b of x ([B, ...]) by factors[b]: the per-row scalars of the
// stream batch.
Tensor scale_rows(const Tensor& x, std::span<const float> factors);

}  // namespace sc::engine
