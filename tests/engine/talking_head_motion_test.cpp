// The talking head's motion half on the host (engine/pipelines/talking_head):
// the DDIM schedule against the values PIPELINE.md 4.4 lists (computed with
// Ditto's float32 tables), the sampler's update, HuBERT's windows over the
// stream, and the window loop's fusion, smoothing, condition and timeline,
// with fake networks whose outputs say what they were given.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "base/error.h"
#include "engine/pipelines/talking_head/audio_features.h"
#include "engine/pipelines/talking_head/lmdm_sampler.h"
#include "engine/pipelines/talking_head/motion_stream.h"

namespace sc::engine::talking_head {
namespace {

TEST(TalkingHeadSampler, TheScheduleIsDittosCosineOneAtTenSteps) {
  const DdimSchedule s = DdimSchedule::make(10);
  ASSERT_EQ(s.alpha_bar.size(), 1000u);
  EXPECT_NEAR(s.alpha_bar[0], 0.9999587f, 1e-7f);
  EXPECT_NEAR(s.alpha_bar[999] / 2.4287e-9f, 1.0f, 1e-3f);
  const int want_t[] = {999, 899, 799, 699, 599, 499, 399, 299, 199, 99};
  ASSERT_EQ(s.steps.size(), 10u);
  for (int i = 0; i < 10; ++i) {
    EXPECT_EQ(s.steps[static_cast<std::size_t>(i)].first, want_t[i]);
    EXPECT_EQ(s.steps[static_cast<std::size_t>(i)].second, i == 9 ? -1 : want_t[i + 1]);
  }
  // PIPELINE.md 4.4's table: alpha_bar(t), sqrt(alpha_bar(next)), c, sigma.
  struct Row {
    int t;
    float at, sqrt_an, c, sigma;
  };
  const Row rows[] = {{899, 2.409172e-02f, 0.306669f, 0.464159f, 0.830970f},
                      {799, 9.404561e-02f, 0.450690f, 0.569679f, 0.687273f},
                      {499, 4.938435e-01f, 0.804660f, 0.432739f, 0.406521f},
                      {199, 8.987060e-01f, 0.985948f, 0.084310f, 0.144219f}};
  for (const Row& r : rows) {
    EXPECT_NEAR(s.alpha_bar[static_cast<std::size_t>(r.t)] / r.at, 1.0f, 2e-6f) << r.t;
    const std::size_t i = static_cast<std::size_t>((999 - r.t) / 100);
    EXPECT_NEAR(s.coefficients[i].sqrt_alpha_next, r.sqrt_an, 2e-6f) << r.t;
    EXPECT_NEAR(s.coefficients[i].c, r.c, 2e-6f) << r.t;
    EXPECT_NEAR(s.coefficients[i].sigma, r.sigma, 2e-6f) << r.t;
  }
  EXPECT_NEAR(s.coefficients[0].c, 0.000345f, 2e-6f);
  EXPECT_NEAR(s.coefficients[0].sigma, 0.987881f, 2e-6f);
  const DdimSchedule fifty = DdimSchedule::make(50);
  EXPECT_EQ(fifty.steps[1].first, 979);
  EXPECT_EQ(fifty.steps.back().first, 19);
  EXPECT_THROW(DdimSchedule::make(0), Error);
}

TEST(TalkingHeadSampler, EachStepMixesXStartPredictedNoiseAndTheFixedNoise) {
  constexpr int kFrames = 2;
  LmdmSampler sampler(3, kFrames, 1);
  const std::size_t n = kFrames * kMotionDim;
  std::vector<std::vector<float>> z(sampler.schedule().coefficients.size(), std::vector<float>(n, 0.5f));
  sampler.set_step_noise(z);
  std::vector<std::int64_t> times;
  std::vector<float> seen_x;
  // A fake LMDM: x_start = 1, pred_noise = 2 everywhere; it records x[0].
  const LmdmCall lmdm = [&](std::span<const float> x, std::span<const float>, std::span<const float>, std::int64_t t,
                            std::vector<float>& pn, std::vector<float>& xs) {
    times.push_back(t);
    seen_x.push_back(x[0]);
    pn.assign(n, 2.0f);
    xs.assign(n, 1.0f);
  };
  const std::vector<float> x0(n, 3.0f);
  const std::vector<float> cond_frame(kMotionDim, 0.0f);
  const std::vector<float> out = sampler.sample(lmdm, cond_frame, {}, x0);
  ASSERT_EQ(times.size(), 3u);
  EXPECT_EQ(times[0], 999);
  EXPECT_EQ(times[2], sampler.schedule().steps[2].first);
  EXPECT_FLOAT_EQ(seen_x[0], 3.0f);
  const auto& c = sampler.schedule().coefficients;
  EXPECT_NEAR(seen_x[1], c[0].sqrt_alpha_next * 1.0f + c[0].c * 2.0f + c[0].sigma * 0.5f, 1e-6f);
  EXPECT_NEAR(seen_x[2], c[1].sqrt_alpha_next * 1.0f + c[1].c * 2.0f + c[1].sigma * 0.5f, 1e-6f);
  EXPECT_EQ(out, std::vector<float>(n, 1.0f));  // the last step's x_start
  // Without a given start the noise is drawn from the seed: the same seed, the same start.
  LmdmSampler a(3, kFrames, 7), b(3, kFrames, 7);
  std::vector<float> first_a, first_b;
  const LmdmCall rec_a = [&](std::span<const float> x, std::span<const float>, std::span<const float>, std::int64_t,
                             std::vector<float>& pn, std::vector<float>& xs) {
    if (first_a.empty()) first_a.assign(x.begin(), x.end());
    pn.assign(n, 0.0f);
    xs.assign(n, 0.0f);
  };
  a.sample(rec_a, cond_frame, {});
  const LmdmCall rec_b = [&](std::span<const float> x, std::span<const float>, std::span<const float>, std::int64_t,
                             std::vector<float>& pn, std::vector<float>& xs) {
    if (first_b.empty()) first_b.assign(x.begin(), x.end());
    pn.assign(n, 0.0f);
    xs.assign(n, 0.0f);
  };
  b.sample(rec_b, cond_frame, {});
  EXPECT_EQ(first_a, first_b);
  EXPECT_THROW(sampler.sample(lmdm, std::vector<float>(3, 0.0f), {}), Error);
}

// A fake HuBERT: every value of row r is the chunk's sample at 320 r.
std::vector<float> fake_hubert(std::span<const float> chunk, int* calls) {
  EXPECT_EQ(chunk.size(), static_cast<std::size_t>(kChunkSamples));
  ++*calls;
  std::vector<float> rows(static_cast<std::size_t>(kHubertRows) * kFeatureDim);
  for (int r = 0; r < kHubertRows; ++r)
    std::fill_n(rows.begin() + r * kFeatureDim, kFeatureDim, chunk[static_cast<std::size_t>(320 * r)]);
  return rows;
}

TEST(TalkingHeadAudio, WindowsOf6480EveryHopAfter1920ZerosGiveFiveFramesEach) {
  int calls = 0;
  HubertStream h([&](std::span<const float> c) { return fake_hubert(c, &calls); });
  // Real sample i has the value i + 1.
  std::vector<float> audio(16000);
  for (std::size_t i = 0; i < audio.size(); ++i) audio[i] = static_cast<float>(i + 1);
  FeatureFrames frames;
  for (std::size_t i = 0; i < audio.size(); i += 1000) {
    const FeatureFrames f = h.push(std::span<const float>(audio).subspan(i, 1000));
    frames.insert(frames.end(), f.begin(), f.end());
  }
  // Padded length 17920: full windows at 0, 3200, ..., while 3200 n + 6480 <= 17920: n = 0..3.
  EXPECT_EQ(calls, 4);
  ASSERT_EQ(frames.size(), 20u);
  // Window n, frame k = mean of rows 6 + 2k and 7 + 2k: padded samples 3200 n + 320 (6 + 2k) (+ 320).
  auto padded_value = [](std::int64_t p) {
    return p < kStreamPrefix ? 0.0f : static_cast<float>(p - kStreamPrefix + 1);
  };
  for (int n = 0; n < 4; ++n) {
    for (int k = 0; k < 5; ++k) {
      const std::int64_t p = 3200 * n + 320 * (6 + 2 * k);
      const float want = (padded_value(p) + padded_value(p + 320)) / 2.0f;
      EXPECT_FLOAT_EQ(frames[static_cast<std::size_t>(5 * n + k)][0], want) << n << "," << k;
      EXPECT_FLOAT_EQ(frames[static_cast<std::size_t>(5 * n + k)][kFeatureDim - 1], want);
    }
  }
  // The end: windows start at 12800 and 16000 (< 17920), zero-padded: ceil(17920 / 3200) = 6 in all.
  const FeatureFrames tail = h.finish();
  EXPECT_EQ(tail.size(), 10u);
  EXPECT_EQ(h.windows(), 6);
  // Silence: a window of zeros, computed once, not counted as a stream window.
  const FeatureFrames& quiet = h.silence();
  ASSERT_EQ(quiet.size(), 5u);
  EXPECT_FLOAT_EQ(quiet[0][0], 0.0f);
  EXPECT_EQ(h.windows(), 6);
  // A HuBERT that answers with the wrong shape is named.
  HubertStream bad([](std::span<const float>) { return std::vector<float>(7); });
  EXPECT_THROW(bad.push(std::vector<float>(kChunkSamples, 0.0f)), Error);
}

TEST(TalkingHeadMotion, EmotionRowsAreSoftmaxOfEightTimesTheLabels) {
  const int neutral[] = {kNeutral};
  const auto row = emotion_row(neutral);
  EXPECT_NEAR(row[kNeutral], 0.9976573f, 1e-6f);
  EXPECT_NEAR(row[0], 3.3467673e-4f, 1e-9f);
  const int two[] = {3, 5};
  const auto both = emotion_row(two);
  EXPECT_NEAR(both[3], 0.4994973f, 1e-6f);
  EXPECT_NEAR(both[5], 0.4994973f, 1e-6f);
  const int bad[] = {9};
  EXPECT_THROW(emotion_row(bad), Error);
}

// The window loop with a fake sampler: window j predicts the value j + 1 in
// every dim, so each emitted frame says which windows made it and how.
TEST(TalkingHeadMotion, WindowsFuseSmoothAndEmitInStreamOrder) {
  ConditionSource src;
  for (int d = 0; d < kMotionDim; ++d) src.motion[static_cast<std::size_t>(d)] = 100.0f + static_cast<float>(d);
  src.canonical.fill(0.25f);
  src.eye_open = {0.9f, 0.8f};
  int window = 0;
  std::vector<std::vector<float>> cond_frames, conds;
  const WindowSampler sampler = [&](std::span<const float> cond_frame, std::span<const float> cond) {
    cond_frames.emplace_back(cond_frame.begin(), cond_frame.end());
    conds.emplace_back(cond.begin(), cond.end());
    ++window;
    return std::vector<float>(80 * kMotionDim, static_cast<float>(window));
  };
  const FeatureFrames silence(70, std::vector<float>(kFeatureDim, -1.0f));
  MotionStream m(sampler, src, MotionSettings{}, silence);
  std::vector<MotionFrame> out;
  auto feed = [&](int frames, float value) {
    const FeatureFrames f(static_cast<std::size_t>(frames), std::vector<float>(kFeatureDim, value));
    const auto o = m.push(f);
    out.insert(out.end(), o.begin(), o.end());
  };
  feed(5, 1.0f);
  EXPECT_EQ(window, 0);  // fewer than 10 new frames: no window yet
  feed(5, 2.0f);
  EXPECT_EQ(window, 1);  // the first window: the reference, nothing emitted
  EXPECT_TRUE(out.empty());
  ASSERT_TRUE(m.reference().has_value());
  EXPECT_FLOAT_EQ((*m.reference())[0], 1.0f);
  // Its condition: 70 rows of silence, then the 10 real frames; neutral emotion, the eyes, sc.
  const std::vector<float>& c0 = conds[0];
  ASSERT_EQ(c0.size(), static_cast<std::size_t>(80 * kConditionDim));
  EXPECT_FLOAT_EQ(c0[69 * kConditionDim], -1.0f);
  EXPECT_FLOAT_EQ(c0[70 * kConditionDim], 1.0f);
  EXPECT_FLOAT_EQ(c0[79 * kConditionDim], 2.0f);
  EXPECT_NEAR(c0[kFeatureDim + kNeutral], 0.9976573f, 1e-6f);
  EXPECT_FLOAT_EQ(c0[kFeatureDim + kEmotions], 0.9f);
  EXPECT_FLOAT_EQ(c0[kConditionDim - 1], 0.25f);
  // The first window's keypoint condition is the source's motion.
  EXPECT_FLOAT_EQ(cond_frames[0][0], 100.0f);
  feed(10, 3.0f);
  ASSERT_EQ(window, 2);
  ASSERT_EQ(out.size(), 10u);
  // The second window's condition: the pose dims of the first window's frame 9, the rest the source's.
  EXPECT_FLOAT_EQ(cond_frames[1][0], 1.0f);
  EXPECT_FLOAT_EQ(cond_frames[1][kPoseDims - 1], 1.0f);
  EXPECT_FLOAT_EQ(cond_frames[1][kPoseDims], 100.0f + kPoseDims);
  // Real frames 0..9 blend window 1 (value 1) and window 2 (value 2) with weights 0, 0.1, ... 0.9.
  for (int i = 0; i < 10; ++i) {
    const float want = 1.0f + static_cast<float>(i) / 10.0f;
    EXPECT_NEAR(out[static_cast<std::size_t>(i)][kMotionDim - 1], want, 1e-6f) << i;  // expression: unsmoothed
  }
  // The pose dims are smoothed by a 3-frame mean: a linear ramp keeps its inner values, and
  // the first fused frame's left neighbour is unfused (1).
  EXPECT_NEAR(out[0][0], (1.0f + 1.0f + 1.1f) / 3.0f, 1e-6f);
  EXPECT_NEAR(out[5][0], 1.5f, 1e-6f);
  // More audio: every 10 frames one window and 10 frames out; the end pads the last window.
  feed(20, 4.0f);
  EXPECT_EQ(window, 4);
  EXPECT_EQ(out.size(), 30u);
  feed(3, 5.0f);
  const auto tail = m.finish();
  EXPECT_EQ(window, 5);
  EXPECT_FALSE(tail.empty());
}

TEST(TalkingHeadMotion, ASettingThatWouldDropFramesIsRefused) {
  MotionSettings s;
  s.overlap = 10;  // Ditto's code default: the first 60 frames would never come out
  const WindowSampler none = [](std::span<const float>, std::span<const float>) { return std::vector<float>(); };
  EXPECT_THROW(MotionStream(none, ConditionSource{}, s, {}), Error);
}

}  // namespace
}  // namespace sc::engine::talking_head
