#include "app/modes/talking_head/talking_head_mode.h"

#include <algorithm>
#include <chrono>

#include "app/modes/talking_head/avatar_cache.h"
#include "app/modes/talking_head/talk_job.h"
#include "app/session/live_session.h"
#include "base/error.h"
#include "base/log.h"
#include "engine/device.h"

namespace sc::app {

namespace th = engine::talking_head;

namespace {
constexpr std::int64_t kFrameUs = 40000;  // 25 fps
}

std::shared_ptr<TalkingHeadMode> TalkingHeadMode::load(const TalkingHeadModeOptions& o) {
  if (o.models.empty()) throw Error("talking head: no model folder (Ditto's ditto_onnx; `models pull ditto`)");
  if (o.portrait.empty()) throw Error("talking head: no portrait image");
  if (o.emotion < 0 || o.emotion >= th::kEmotions)
    throw Error("talking head: emotion {} must be 0 to {}", o.emotion, th::kEmotions - 1);
  const th::TalkingHeadOptions opt = talking_head_options(o.device, o.steps, o.seed, o.emotion, o.head_motion);
  std::shared_ptr<TalkingHeadMode> m(new TalkingHeadMode());
  m->head_ = th::TalkingHead::load(o.models, opt);
  const PortraitResult p =
      set_portrait_cached(*m->head_, o.portrait, o.models, opt.registration, avatar_cache_dir(o.avatar_cache),
                          [&] { return read_portrait(o.portrait); });
  m->from_cache_ = p.from_cache;
  const engine::Tensor& frame = m->head_->avatar().frame;
  m->width_ = static_cast<int>(frame.dim(3));
  m->height_ = static_cast<int>(frame.dim(2));
  m->to_16k_ = std::make_unique<media::AudioResampler>(LiveSession::kAudioFormat, media::AudioFormat{16000, 1});
  m->stitch_ = opt.stitch;
  m->emotion_ = m->applied_emotion_ = o.emotion;
  m->head_motion_ = m->applied_head_motion_ = o.head_motion;
  m->stats_ = m->head_->stats();
  log::info("talking head: {}x{} portrait {} on {}", m->width_, m->height_,
            p.from_cache ? "from the registration cache" : "registered", engine::to_string(opt.device));
  return m;
}

void TalkingHeadMode::set_emotion(int emotion) {
  if (emotion < 0 || emotion >= th::kEmotions)
    throw Error("talking head: emotion {} must be 0 to {}", emotion, th::kEmotions - 1);
  emotion_ = emotion;
}

void TalkingHeadMode::set_head_motion(float weight) {
  if (!(weight >= 0.0f && weight <= 2.0f)) throw Error("talking head: head motion {} must be 0 to 2", weight);
  head_motion_ = weight;
}

th::TalkingHeadStats TalkingHeadMode::stats() const {
  std::lock_guard lock(stats_mutex_);
  return stats_;
}

void TalkingHeadMode::on_audio(const media::AudioChunk& chunk, ModeOutput& out) {
  if (chunk.sample_rate != LiveSession::kAudioFormat.sample_rate || chunk.channels != 1)
    throw Error("talking head: audio must be {} Hz mono, got {} Hz x {}", LiveSession::kAudioFormat.sample_rate,
                chunk.sample_rate, chunk.channels);
  if (start_pts_us_ < 0) {
    start_pts_us_ = chunk.pts_us;
    // When the stream's first sample was heard: picture k is the picture of
    // the sound heard 40 k ms later, and is stamped so (the recorder lines
    // picture and sound up by these times; latency is measured from them).
    const auto heard = chunk.capture_time == std::chrono::steady_clock::time_point{} ? std::chrono::steady_clock::now()
                                                                                     : chunk.capture_time;
    heard_start_ = heard - std::chrono::microseconds(std::int64_t(chunk.frames()) * 1000000 / chunk.sample_rate);
  }
  // Live controls, from here on.
  if (const int e = emotion_; e != applied_emotion_) {
    const int label[] = {e};
    head_->set_emotion({th::emotion_row(label)});
    applied_emotion_ = e;
  }
  if (const float w = head_motion_; w != applied_head_motion_) {
    stitch_.head_motion = w;
    head_->set_stitch(stitch_);
    applied_head_motion_ = w;
  }
  pending_.insert(pending_.end(), chunk.samples.begin(), chunk.samples.end());
  const media::AudioChunk speech = to_16k_->convert(chunk);
  for (const engine::Tensor& picture : head_->push_audio(speech.samples)) emit_picture(picture, out);
  std::lock_guard lock(stats_mutex_);
  stats_ = head_->stats();
}

void TalkingHeadMode::emit_picture(const engine::Tensor& picture, ModeOutput& out) {
  media::Frame f = to_frame(picture);
  f.pts_us = start_pts_us_ + frames_ * kFrameUs;
  f.capture_time = heard_start_ + std::chrono::microseconds(frames_ * kFrameUs);
  // The sound this picture was made from goes with it (silence when the
  // pipeline's padding runs past what was heard).
  const std::size_t n = static_cast<std::size_t>(LiveSession::kAudioFormat.sample_rate) * kFrameUs / 1000000;
  media::AudioChunk a;
  a.sample_rate = LiveSession::kAudioFormat.sample_rate;
  a.channels = 1;
  a.pts_us = f.pts_us;
  a.capture_time = f.capture_time + std::chrono::microseconds(kFrameUs);  // when its last sample was heard
  const std::size_t take = std::min(n, pending_.size());
  a.samples.assign(pending_.begin(), pending_.begin() + static_cast<std::ptrdiff_t>(take));
  a.samples.resize(n, 0.0f);
  pending_.erase(pending_.begin(), pending_.begin() + static_cast<std::ptrdiff_t>(take));
  ++frames_;
  out.video(std::move(f));
  out.audio(std::move(a));
}

}  // namespace sc::app
