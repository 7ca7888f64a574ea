#include "media/audio_resampler.h"

extern "C" {
#include <libavutil/channel_layout.h>
#include <libavutil/opt.h>
#include <libswresample/swresample.h>
}

#include "base/error.h"
#include "media/ffmpeg_util.h"

namespace sc::media {

struct AudioResampler::Impl {
  AudioFormat in, out;
  SwrContext* swr = nullptr;
  bool started = false;
  std::int64_t first_pts_us = 0;
  std::int64_t produced = 0;  // output frames so far
  std::chrono::steady_clock::time_point capture_time{};

  ~Impl() { swr_free(&swr); }

  void open() {
    swr_free(&swr);
    AVChannelLayout in_layout, out_layout;
    av_channel_layout_default(&in_layout, in.channels);
    av_channel_layout_default(&out_layout, out.channels);
    int err = swr_alloc_set_opts2(&swr, &out_layout, AV_SAMPLE_FMT_FLT, out.sample_rate, &in_layout, AV_SAMPLE_FMT_FLT,
                                  in.sample_rate, 0, nullptr);
    if (err < 0 || (err = swr_init(swr)) < 0) {
      throw Error("audio: cannot resample {} Hz x {} to {} Hz x {}: {}", in.sample_rate, in.channels, out.sample_rate,
                  out.channels, detail::av_error_text(err));
    }
    started = false;
    produced = 0;
  }

  AudioChunk run(const float* samples, int frames) {
    AudioChunk c;
    c.sample_rate = out.sample_rate;
    c.channels = out.channels;
    const int capacity = swr_get_out_samples(swr, frames);
    if (capacity <= 0) {
      c.pts_us = pts();
      return c;
    }
    c.samples.resize(static_cast<std::size_t>(capacity) * static_cast<std::size_t>(out.channels));
    auto* dst = reinterpret_cast<std::uint8_t*>(c.samples.data());
    const auto* src = reinterpret_cast<const std::uint8_t*>(samples);
    const int got = swr_convert(swr, &dst, capacity, samples ? &src : nullptr, frames);
    if (got < 0) throw Error("audio: resampling failed: {}", detail::av_error_text(got));
    c.samples.resize(static_cast<std::size_t>(got) * static_cast<std::size_t>(out.channels));
    c.pts_us = pts();
    c.capture_time = capture_time;
    produced += got;
    return c;
  }

  std::int64_t pts() const { return first_pts_us + produced * 1'000'000 / out.sample_rate; }
};

AudioResampler::AudioResampler(const AudioFormat& in, const AudioFormat& out) : impl_(std::make_unique<Impl>()) {
  for (const AudioFormat* f : {&in, &out}) {
    if (f->sample_rate < 1000 || f->sample_rate > 384000 || f->channels < 1 || f->channels > 8) {
      throw Error("audio: unsupported format {} Hz x {} channels", f->sample_rate, f->channels);
    }
  }
  impl_->in = in;
  impl_->out = out;
  impl_->open();
}

AudioResampler::~AudioResampler() = default;

AudioChunk AudioResampler::convert(const AudioChunk& in) {
  Impl& m = *impl_;
  if (in.sample_rate != m.in.sample_rate || in.channels != m.in.channels) {
    throw Error("audio: a {} Hz x {} chunk given to a resampler from {} Hz x {}", in.sample_rate, in.channels,
                m.in.sample_rate, m.in.channels);
  }
  if (!m.started) {
    m.started = true;
    m.first_pts_us = in.pts_us;
  }
  m.capture_time = in.capture_time;
  return m.run(in.samples.data(), static_cast<int>(in.frames()));
}

AudioChunk AudioResampler::flush() { return impl_->run(nullptr, 0); }

void AudioResampler::reset() { impl_->open(); }

const AudioFormat& AudioResampler::input_format() const { return impl_->in; }
const AudioFormat& AudioResampler::output_format() const { return impl_->out; }

}  // namespace sc::media
