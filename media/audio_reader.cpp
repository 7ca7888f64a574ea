#include <charconv>
#include <optional>
#include <string_view>

#include "base/error.h"
#include "media/audio.h"
#include "media/ffmpeg_util.h"
#include "media/input_context.h"

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/channel_layout.h>
#include <libavutil/opt.h>
#include <libswresample/swresample.h>
}

namespace sc::media {

using detail::av_error_text;

AudioSpec parse_audio_spec(const std::string& text) {
  AudioSpec spec;
  spec.text = text;
  std::string_view s(text);
  auto after = [&](std::size_t n) { return s.size() > n ? std::string(s.substr(n)) : std::string(); };
  if (s.empty()) throw Error("empty audio source: use mic, pulse, alsa, tone or a file path");
  if (s == "mic") {
    detail::ensure_devices_registered();
    spec.input_format = av_find_input_format("pulse") ? "pulse" : "alsa";
    spec.url = "default";
    spec.live = true;
  } else if (s == "pulse" || s.substr(0, 6) == "pulse:") {
    spec.input_format = "pulse";
    spec.url = s.size() > 6 ? after(6) : "default";
    spec.live = true;
  } else if (s == "alsa" || s.substr(0, 5) == "alsa:") {
    spec.input_format = "alsa";
    spec.url = s.size() > 5 ? after(5) : "default";
    spec.live = true;
  } else if (s == "tone" || s.substr(0, 5) == "tone:") {
    int hz = 440;
    if (s.size() > 5) {
      std::string_view v = s.substr(5);
      auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), hz);
      if (ec != std::errc() || p != v.data() + v.size() || hz <= 0 || hz > 20000)
        throw Error("audio source '{}': the tone frequency must be 1..20000 Hz", text);
    }
    spec.input_format = "lavfi";
    spec.url = "sine=frequency=" + std::to_string(hz) + ":sample_rate=48000";
    spec.live = false;  // generated on demand, like a file that never ends
  } else {
    spec.url = s.substr(0, 5) == "file:" ? after(5) : text;
    if (spec.url.empty()) throw Error("audio source '{}': give a file path", text);
  }
  return spec;
}

struct AudioReader::Impl {
  AudioSpec spec;
  AudioFormat out_format;
  AudioInfo info;
  // input before dec: the decoder reads through the input, so it goes first.
  std::optional<detail::InputContext> input;
  std::optional<detail::Decoder> dec;
  SwrContext* swr = nullptr;
  std::int64_t next_pts_us = 0;

  ~Impl() { swr_free(&swr); }

  void open() {
    if (out_format.sample_rate < 1000 || out_format.sample_rate > 384000 || out_format.channels < 1 ||
        out_format.channels > 8)
      throw Error("audio source '{}': unsupported output format {} Hz x {} channels", spec.text, out_format.sample_rate,
                  out_format.channels);
    const std::string hint =
        spec.live && spec.input_format != "lavfi"
            ? " (is a sound server running and a microphone connected? see `streamcanvas-cli sources`)"
            : "";
    input.emplace(detail::InputSpec{"audio source '" + spec.text + "'", spec.url, spec.input_format, {}, hint});
    dec.emplace(input->open_decoder(detail::MediaType::kAudio));
    AVCodecContext* c = dec->context();  // swr_alloc_set_opts2 of FFmpeg 5.1 takes non-const layouts
    if (c->sample_rate <= 0 || c->ch_layout.nb_channels <= 0)
      throw Error("audio source '{}': the audio track has no sample rate or channels", spec.text);
    info.input_sample_rate = c->sample_rate;
    info.input_channels = c->ch_layout.nb_channels;
    info.codec = dec->codec_name();
    if (!spec.live) info.duration_s = dec->duration_s();
    AVChannelLayout out_layout;
    av_channel_layout_default(&out_layout, out_format.channels);
    int err = swr_alloc_set_opts2(&swr, &out_layout, AV_SAMPLE_FMT_FLT, out_format.sample_rate, &c->ch_layout,
                                  c->sample_fmt, c->sample_rate, 0, nullptr);
    if (err < 0 || (err = swr_init(swr)) < 0)
      throw Error("audio source '{}': cannot resample to {} Hz: {}", spec.text, out_format.sample_rate,
                  av_error_text(err));
  }
};

AudioReader::AudioReader(const AudioSpec& spec, const AudioFormat& out) : impl_(std::make_unique<Impl>()) {
  impl_->spec = spec;
  impl_->out_format = out;
  impl_->open();
}

AudioReader::~AudioReader() = default;
const AudioInfo& AudioReader::info() const { return impl_->info; }
const AudioFormat& AudioReader::format() const { return impl_->out_format; }
void AudioReader::interrupt() { impl_->input->interrupt(); }

bool AudioReader::read(AudioChunk& out) {
  Impl& m = *impl_;
  for (;;) {
    const bool got = m.dec->next();
    AVFrame* frame = m.dec->frame();
    const int in_frames = got ? frame->nb_samples : 0;
    const int capacity = swr_get_out_samples(m.swr, in_frames);
    if (!got && capacity <= 0) return false;
    out.sample_rate = m.out_format.sample_rate;
    out.channels = m.out_format.channels;
    out.samples.resize(static_cast<std::size_t>(std::max(capacity, 0)) * out.channels);
    // Samples still inside the resampler come out first, so the chunk starts
    // that much before this packet's timestamp.
    const std::int64_t delay_us = swr_get_delay(m.swr, 1000000);
    std::int64_t first_us = m.next_pts_us;
    if (got && frame->best_effort_timestamp != AV_NOPTS_VALUE)
      first_us =
          av_rescale_q(frame->best_effort_timestamp, m.dec->stream()->time_base, AVRational{1, 1000000}) - delay_us;
    std::uint8_t* dst = reinterpret_cast<std::uint8_t*>(out.samples.data());
    int n = swr_convert(m.swr, &dst, capacity, got ? const_cast<const std::uint8_t**>(frame->extended_data) : nullptr,
                        in_frames);
    if (got) av_frame_unref(frame);
    if (n < 0) throw Error("audio source '{}': resampling failed: {}", m.spec.text, av_error_text(n));
    if (n == 0) {
      if (!got) return false;
      continue;  // the resampler is still filling up
    }
    out.samples.resize(static_cast<std::size_t>(n) * out.channels);
    out.pts_us = first_us;
    m.next_pts_us = first_us + std::int64_t(n) * 1000000 / m.out_format.sample_rate;
    out.capture_time = std::chrono::steady_clock::now();
    return true;
  }
}

}  // namespace sc::media
