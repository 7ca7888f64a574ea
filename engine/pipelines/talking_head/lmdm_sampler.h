#pragma once
// LMDM's DDIM sampling as Ditto's online pipeline runs it around the graph
// (app/modes/talking_head/PIPELINE.md 4.4; ditto core/models/lmdm.py): a
// 1000-step cosine schedule, S evenly spaced timesteps, eta 1, one noise
// tensor per step drawn once and reused for every window, and classifier-free
// guidance inside the graph (one call per step gives both passes).
#include <cstdint>
#include <functional>
#include <random>
#include <span>
#include <utility>
#include <vector>

namespace sc::engine::talking_head {

inline constexpr int kMotionDim = 265;  // scale - 1, pitch / yaw / roll logits (66 each), t (3), exp (63)
inline constexpr int kTrainSteps = 1000;

struct DdimSchedule {
  std::vector<float> alpha_bar;            // kTrainSteps values, accumulated in f32 as numpy does
  std::vector<std::pair<int, int>> steps;  // (t, t_next); t_next = -1 on the last
  struct Coefficients {
    float sqrt_alpha_next = 0, c = 0, sigma = 0;
  };
  std::vector<Coefficients> coefficients;  // per step but the last

  // The cosine schedule (s = 8e-3, betas in double then f32, clipped to
  // 0.999) and S timesteps (linspace(-1, 999, S + 1) truncated, reversed).
  static DdimSchedule make(int sampling_steps);
};

// One LMDM call: x [80 x 265], cond_frame [265], cond [80 x C], timestep ->
// pred_noise, x_start [80 x 265] each (host floats; the caller runs the graph).
using LmdmCall =
    std::function<void(std::span<const float> x, std::span<const float> cond_frame, std::span<const float> cond,
                       std::int64_t timestep, std::vector<float>& pred_noise, std::vector<float>& x_start)>;

class LmdmSampler {
 public:
  // frames: the window (80). seed: the window noise and the per-step noise
  // (Ditto's generators are unseeded; ours repeat).
  LmdmSampler(int sampling_steps, int frames, std::uint64_t seed);

  int frames() const { return frames_; }
  const DdimSchedule& schedule() const { return schedule_; }
  // Replaces the per-step noise (tests inject a reference's; size: steps - 1
  // tensors of frames x 265).
  void set_step_noise(std::vector<std::vector<float>> z);

  // One window: fresh x ~ N(0, 1) (or `x0` when given), S calls, the last
  // call's x_start.
  std::vector<float> sample(const LmdmCall& lmdm, std::span<const float> cond_frame, std::span<const float> cond,
                            std::span<const float> x0 = {});

 private:
  int frames_;
  DdimSchedule schedule_;
  std::mt19937_64 rng_;
  std::vector<std::vector<float>> z_;
  std::vector<float> gaussian(std::size_t n);
};

}  // namespace sc::engine::talking_head
