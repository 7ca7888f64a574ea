#include "engine/pipelines/talking_head/motion_stream.h"

#include <algorithm>
#include <cmath>

#include "base/error.h"

namespace sc::engine::talking_head {

std::array<float, kEmotions> emotion_row(std::span<const int> labels) {
  std::array<double, kEmotions> logits{};
  for (int l : labels) {
    if (l < 0 || l >= kEmotions) throw Error("talking head: emotion {} is not one of 0..{}", l, kEmotions - 1);
    logits[static_cast<std::size_t>(l)] = 8.0;
  }
  double top = *std::max_element(logits.begin(), logits.end()), sum = 0.0;
  for (double& v : logits) sum += (v = std::exp(v - top));
  std::array<float, kEmotions> row{};
  for (int i = 0; i < kEmotions; ++i)
    row[static_cast<std::size_t>(i)] = static_cast<float>(logits[static_cast<std::size_t>(i)] / sum);
  return row;
}

MotionStream::MotionStream(WindowSampler sampler, ConditionSource source, MotionSettings settings,
                           const FeatureFrames& prefill)
    : sampler_(std::move(sampler)), source_(source), s_(std::move(settings)) {
  if (s_.window < 2 || s_.overlap < 1 || s_.overlap >= s_.window) {
    throw Error("talking head: windows of {} frames overlapping by {}: need 0 < overlap < window", s_.window,
                s_.overlap);
  }
  valid_ = s_.window - s_.overlap;
  fuse_ = std::min(s_.overlap, valid_);
  // Fewer than twice the new frames of overlap and the first window's frames
  // would never be emitted (PIPELINE.md 4.2): Ditto's own default of 10 loses 60.
  if (2 * s_.overlap < s_.window) {
    throw Error("talking head: an overlap of {} in windows of {} would drop the first {} frames; use at least {}",
                s_.overlap, s_.window, s_.window - 2 * s_.overlap, (s_.window + 1) / 2);
  }
  if (s_.smoothing < 1) throw Error("talking head: smoothing over {} frames", s_.smoothing);
  if (s_.emotion.empty()) {
    const int neutral[] = {kNeutral};
    s_.emotion.push_back(emotion_row(neutral));
  }
  for (const auto& f : prefill) {
    if (f.size() != static_cast<std::size_t>(kFeatureDim))
      throw Error("talking head: a prefill frame of {} values", f.size());
    features_.push_back(f);
  }
  kp_cond_ = source_.motion;
}

void MotionStream::set_emotion(std::vector<std::array<float, kEmotions>> rows) {
  if (rows.empty()) throw Error("talking head: an empty emotion list");
  s_.emotion = std::move(rows);
}

std::vector<float> MotionStream::condition(std::int64_t rows_available) const {
  const std::int64_t w = s_.window;
  std::vector<float> cond(static_cast<std::size_t>(w) * kConditionDim);
  const std::int64_t idx = global_ - s_.overlap;
  const auto n_emo = static_cast<std::int64_t>(s_.emotion.size());
  for (std::int64_t i = 0; i < w; ++i) {
    float* row = cond.data() + i * kConditionDim;
    // Past the stream's end the last row repeats (the final, padded window).
    const std::vector<float>& f = features_[static_cast<std::size_t>(local_ + std::min(i, rows_available - 1))];
    std::copy(f.begin(), f.end(), row);
    const std::int64_t j = std::max<std::int64_t>(idx + i, 0);
    const auto& emo = s_.emotion[static_cast<std::size_t>(j % n_emo)];
    std::copy(emo.begin(), emo.end(), row + kFeatureDim);
    std::copy(source_.eye_open.begin(), source_.eye_open.end(), row + kFeatureDim + kEmotions);
    std::copy(source_.eye_ball.begin(), source_.eye_ball.end(), row + kFeatureDim + kEmotions + 2);
    std::copy(source_.canonical.begin(), source_.canonical.end(), row + kFeatureDim + kEmotions + 8);
  }
  return cond;
}

void MotionStream::smooth(std::int64_t begin, std::int64_t end) {
  if (s_.smoothing <= 1) return;
  const std::vector<MotionFrame> copy = res_;
  const std::int64_t half = s_.smoothing / 2, n = static_cast<std::int64_t>(res_.size());
  for (std::int64_t i = std::max<std::int64_t>(begin, 0); i < std::min(end, n); ++i) {
    const std::int64_t lo = std::max<std::int64_t>(0, i - half), hi = std::min(n - 1, i + half);
    for (int d = 0; d < kPoseDims; ++d) {
      float sum = 0.0f;
      for (std::int64_t j = lo; j <= hi; ++j) sum += copy[static_cast<std::size_t>(j)][static_cast<std::size_t>(d)];
      res_[static_cast<std::size_t>(i)][static_cast<std::size_t>(d)] = sum / static_cast<float>(hi - lo + 1);
    }
  }
}

MotionFrame MotionStream::clipped(const MotionFrame& f) const {
  if (!s_.clip) return f;
  MotionFrame out = f;
  for (int d = 0; d < kMotionDim; ++d) {
    const auto k = static_cast<std::size_t>(d);
    out[k] = std::clamp(out[k], (*s_.clip)[0][k], (*s_.clip)[1][k]);
  }
  return out;
}

std::vector<MotionFrame> MotionStream::run(bool end) {
  std::vector<MotionFrame> emitted;
  const std::int64_t w = s_.window;
  for (;;) {
    const std::int64_t available = static_cast<std::int64_t>(features_.size()) - local_;
    if (available < w && !(end && available >= 1)) break;
    const std::int64_t rows = std::min(available, w);
    const std::int64_t real = rows < w ? rows : valid_;
    const std::vector<float> cond = condition(rows);
    const std::vector<float> pred = sampler_(kp_cond_, cond);
    if (pred.size() != static_cast<std::size_t>(w) * kMotionDim) {
      throw Error("talking head: the motion sampler gave {} values for a window of {} frames", pred.size(), w);
    }
    auto frame = [&](std::int64_t i) {
      MotionFrame f;
      std::copy_n(pred.begin() + i * kMotionDim, kMotionDim, f.begin());
      return f;
    };
    const bool first = res_.empty();
    if (first) {
      for (std::int64_t i = 0; i < w; ++i) res_.push_back(frame(i));
      smooth(0, w);
    } else {
      const auto len = static_cast<std::int64_t>(res_.size());
      for (int i = 0; i < fuse_; ++i) {
        const float a = static_cast<float>(i) / static_cast<float>(fuse_);
        MotionFrame& r = res_[static_cast<std::size_t>(len - fuse_ + i)];
        const MotionFrame p = frame(s_.overlap - fuse_ + i);
        for (int d = 0; d < kMotionDim; ++d) {
          const auto k = static_cast<std::size_t>(d);
          r[k] = (1.0f - a) * r[k] + a * p[k];
        }
      }
      for (std::int64_t i = s_.overlap; i < w; ++i) res_.push_back(frame(i));
      const auto n = static_cast<std::int64_t>(res_.size());
      smooth(n - valid_ - fuse_, n - valid_ + 1);
    }
    ++windows_;
    // The keypoint condition of the next window: the source's motion with
    // the pose dims of the frame before that window's start.
    const std::int64_t idx = static_cast<std::int64_t>(res_.size()) - s_.overlap;
    kp_cond_ = source_.motion;
    std::copy_n(res_[static_cast<std::size_t>(idx - 1)].begin(), kPoseDims, kp_cond_.begin());
    if (first) {
      valid_start_ = static_cast<std::int64_t>(res_.size()) - fuse_;
      reference_ = clipped(res_[0]);
    } else {
      const std::int64_t stop = std::min<std::int64_t>(valid_start_ + real, static_cast<std::int64_t>(res_.size()));
      for (std::int64_t i = valid_start_; i < stop; ++i) emitted.push_back(clipped(res_[static_cast<std::size_t>(i)]));
      valid_start_ += real;
    }
    local_ += real;
    global_ += real;
    if (res_.size() > 2 * static_cast<std::size_t>(w)) {
      const std::int64_t drop = static_cast<std::int64_t>(res_.size()) - 2 * w;
      res_.erase(res_.begin(), res_.begin() + drop);
      valid_start_ -= drop;
    }
    if (end && rows < w) break;  // the padded final window is the last
  }
  if (features_.size() > 2 * static_cast<std::size_t>(w)) {
    const std::int64_t drop = static_cast<std::int64_t>(features_.size()) - 2 * w;
    features_.erase(features_.begin(), features_.begin() + drop);
    local_ -= drop;
  }
  return emitted;
}

std::vector<MotionFrame> MotionStream::push(const FeatureFrames& frames) {
  for (const auto& f : frames) {
    if (f.size() != static_cast<std::size_t>(kFeatureDim))
      throw Error("talking head: a feature frame of {} values", f.size());
    pending_.push_back(f);
  }
  if (static_cast<int>(pending_.size()) < valid_) return {};
  features_.insert(features_.end(), std::make_move_iterator(pending_.begin()), std::make_move_iterator(pending_.end()));
  pending_.clear();
  return run(false);
}

std::vector<MotionFrame> MotionStream::finish() {
  features_.insert(features_.end(), std::make_move_iterator(pending_.begin()), std::make_move_iterator(pending_.end()));
  pending_.clear();
  return run(true);
}

}  // namespace sc::engine::talking_head
