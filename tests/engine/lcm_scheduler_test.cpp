// LcmScheduler against diffusers' LCMScheduler
// (tests/golden/fixtures/stream_lcm_scheduler.safetensors, made by
// tests/golden/gen_stream_diffusion.py), plus the bad inputs.
#include <gtest/gtest.h>

#include <array>
#include <cmath>

#include "base/error.h"
#include "engine/safetensors.h"
#include "engine/schedulers/lcm_scheduler.h"
#include "model_test_util.h"

namespace sc::engine {
namespace {

using test::golden_dir;
using test::relative_l2;

SafetensorsFile fixture() {
  return SafetensorsFile::open(golden_dir() / "fixtures" / "stream_lcm_scheduler.safetensors");
}

TEST(LcmScheduler, TimestepsMatchDiffusers) {
  const SafetensorsFile f = fixture();
  const LcmScheduler s;
  for (int n : {50, 4, 7, 1}) {
    const std::vector<std::int64_t> want = f.load("timesteps_" + std::to_string(n)).to_vector<std::int64_t>();
    EXPECT_EQ(s.timesteps(n), want) << n << " steps";
  }
  EXPECT_EQ(s.timesteps(50).front(), 999);
  EXPECT_EQ(s.timesteps(50).back(), 19);
}

TEST(LcmScheduler, AlphasCumprodMatchDiffusers) {
  const SafetensorsFile f = fixture();
  const LcmScheduler s;
  const std::vector<float> want = f.load("alphas_cumprod").to_vector<float>();
  ASSERT_EQ(s.alphas_cumprod().size(), want.size());
  double worst = 0;
  for (std::size_t i = 0; i < want.size(); ++i) {
    worst = std::max(worst, std::abs(double(s.alphas_cumprod()[i]) - want[i]) / want[i]);
  }
  std::printf("alphas_cumprod worst relative error %.3g\n", worst);
  EXPECT_LT(worst, 1e-6);
}

TEST(LcmScheduler, BoundaryScalingsMatchDiffusers) {
  const SafetensorsFile f = fixture();
  const LcmScheduler s;
  const std::vector<float> c_skip = f.load("c_skip_50").to_vector<float>();
  const std::vector<float> c_out = f.load("c_out_50").to_vector<float>();
  const std::vector<std::int64_t> ts = s.timesteps(50);
  for (std::size_t i = 0; i < ts.size(); ++i) {
    const LcmStep step = s.step_for(ts[i]);
    EXPECT_NEAR(step.c_skip, c_skip[i], 1e-7 + 1e-6 * c_skip[i]) << ts[i];
    EXPECT_NEAR(step.c_out, c_out[i], 1e-6) << ts[i];
  }
}

TEST(LcmScheduler, DenoiseMatchesDiffusersStep) {
  const SafetensorsFile f = fixture();
  const LcmScheduler s;
  const auto t = f.load("step_t").to_vector<std::int64_t>()[0];
  const std::array<LcmStep, 1> steps{s.step_for(t)};
  const Tensor got = s.denoise(f.load("step_eps"), f.load("step_sample"), steps);
  const double err = relative_l2(got, f.load("step_denoised"));
  std::printf("LCM step denoised rel L2 %.3g (t=%lld)\n", err, static_cast<long long>(t));
  EXPECT_LT(err, 1e-5);
  // The check can fail: a different timestep gives a different result.
  const std::array<LcmStep, 1> other{s.step_for(t + 20)};
  EXPECT_GT(relative_l2(s.denoise(f.load("step_eps"), f.load("step_sample"), other), f.load("step_denoised")), 1e-3);
}

TEST(LcmScheduler, StreamStepsFollowTheIndexList) {
  const LcmScheduler s;
  const std::array<int, 2> list{18, 32};
  const std::vector<LcmStep> steps = s.stream_steps(list);
  ASSERT_EQ(steps.size(), 2u);
  EXPECT_EQ(steps[0].timestep, 999 - 18 * 20);
  EXPECT_EQ(steps[1].timestep, 999 - 32 * 20);
  EXPECT_NEAR(steps[0].alpha_sqrt * steps[0].alpha_sqrt + steps[0].beta_sqrt * steps[0].beta_sqrt, 1.0, 1e-6);
}

TEST(LcmScheduler, BadInputsSayWhatIsWrong) {
  const LcmScheduler s;
  const std::array<int, 2> descending{30, 10};
  const std::array<int, 1> outside{50};
  EXPECT_THROW(s.stream_steps(descending), Error);
  try {
    s.stream_steps(outside);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("t_index_list[0] = 50"), std::string::npos) << e.what();
  }
  EXPECT_THROW(s.timesteps(0), Error);
  EXPECT_THROW(s.timesteps(51), Error);
  LcmSchedulerConfig bad;
  bad.beta_schedule = "cosine";
  EXPECT_THROW(LcmScheduler{bad}, Error);
}

}  // namespace
}  // namespace sc::engine
