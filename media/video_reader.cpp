#include "media/video_reader.h"

#include <cstring>
#include <cstdlib>
#include <optional>
#include <string_view>
#include <thread>

#include "base/error.h"
#include "base/log.h"
#include "media/convert.h"
#include "media/ffmpeg_util.h"
#include "media/input_context.h"

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/hwcontext.h>
#include <libavutil/imgutils.h>
#include <libavutil/pixdesc.h>
#include <libswscale/swscale.h>
}

namespace sc::media {

using detail::av_error_text;

namespace {

AVPixelFormat pick_cuda_format(AVCodecContext*, const AVPixelFormat* formats) {
  for (const AVPixelFormat* p = formats; *p != AV_PIX_FMT_NONE; ++p)
    if (*p == AV_PIX_FMT_CUDA) return *p;
  return formats[0];
}

bool env_flag(const char* name) {
  const char* v = std::getenv(name);
  return v && std::string_view(v) == "1";
}

}  // namespace

struct VideoReader::Impl {
  SourceSpec spec;
  ReaderOptions opt;
  StreamInfo info;
  // input before dec: the decoder reads through the input, so it goes first.
  std::optional<detail::InputContext> input;
  std::optional<detail::Decoder> dec;
  SwsContext* sws = nullptr;
  detail::AvPtr<AVFrame> sw_frame{av_frame_alloc()};
  std::int64_t loop_offset_us = 0;
  std::int64_t last_pts_us = 0;
  std::chrono::steady_clock::time_point pace_start{};
  std::int64_t pace_first_pts_us = -1;

  ~Impl() { sws_freeContext(sws); }

  bool try_hardware(AVCodecContext& c) {
    if (!opt.hardware_decode || opt.luma_only || env_flag("SC_NO_HWDEC") || spec.kind == SourceKind::kTest)
      return false;
    bool supported = false;
    for (int i = 0;; ++i) {
      const AVCodecHWConfig* cfg = avcodec_get_hw_config(c.codec, i);
      if (!cfg) break;
      if (cfg->device_type == AV_HWDEVICE_TYPE_CUDA && (cfg->methods & AV_CODEC_HW_CONFIG_METHOD_HW_DEVICE_CTX))
        supported = true;
    }
    if (!supported) return false;
    // The codec context owns the device, so a software retry frees it with the context.
    int err = av_hwdevice_ctx_create(&c.hw_device_ctx, AV_HWDEVICE_TYPE_CUDA, nullptr, nullptr, 0);
    if (err < 0) {
      log::debug("source '{}': NVDEC unavailable ({}); decoding in software", spec.text, av_error_text(err));
      return false;
    }
    c.get_format = pick_cuda_format;
    return true;
  }

  void open() {
    std::string hint;
    if (spec.kind == SourceKind::kV4l2) hint = " (is the camera connected, and is your user in the 'video' group?)";
    if (spec.kind == SourceKind::kScreen) hint = " (is an X server running on that display?)";
    input.emplace(detail::InputSpec{"source '" + spec.text + "'", spec.url, spec.input_format, spec.options, hint});
    info.has_audio = input->has_stream(detail::MediaType::kAudio);
    try {
      dec.emplace(input->open_decoder(detail::MediaType::kVideo, [&](AVCodecContext& c) {
        // Many small data streams decode best one thread each, side by side.
        c.thread_count = opt.luma_only ? 1 : 0;
        info.hardware_decode = try_hardware(c);
      }));
    } catch (const Error&) {
      if (!info.hardware_decode) throw;
      // NVDEC refused this stream: start again in software.
      info.hardware_decode = false;
      dec.emplace(input->open_decoder(detail::MediaType::kVideo, [](AVCodecContext& c) { c.thread_count = 0; }));
    }
    const AVCodecContext* c = dec->context();
    if (c->width <= 0 || c->height <= 0) throw Error("source '{}': video has no frame size", spec.text);
    const AVStream* st = dec->stream();
    info.width = opt.width > 0 ? opt.width : c->width;
    info.height = opt.height > 0 ? opt.height : c->height;
    AVRational r = st->avg_frame_rate.num ? st->avg_frame_rate : st->r_frame_rate;
    info.fps = r.num && r.den ? av_q2d(r) : 0;
    info.codec = dec->codec_name();
    info.decoder = info.codec + (info.hardware_decode ? " (NVDEC)" : " (software)");
    info.duration_s = dec->duration_s();
    info.frame_count = st->nb_frames > 0                       ? st->nb_frames
                       : (info.duration_s > 0 && info.fps > 0) ? std::int64_t(info.duration_s * info.fps + 0.5)
                                                               : 0;
    if (spec.live()) info.frame_count = 0, info.duration_s = 0;
    log::debug("source '{}': {}x{} @ {:.2f} fps, decoder {}", spec.text, c->width, c->height, info.fps, info.decoder);
  }

  bool rewind() {
    int err = av_seek_frame(input->get(), dec->stream_index(), 0, AVSEEK_FLAG_BACKWARD);
    if (err < 0) return false;
    dec->flush();
    loop_offset_us = last_pts_us + (info.fps > 0 ? std::int64_t(1e6 / info.fps) : 33333);
    return true;
  }

  std::int64_t seek_target_us = -1;  // frames before this are decoded and skipped

  // Returns true with a decoded frame in dec->frame(), false at end of stream.
  bool decode_next() {
    for (;;) {
      if (dec->next()) return true;
      if (!input->interrupted() && spec.loop && rewind()) continue;
      return false;
    }
  }

  void convert(Frame& out) {
    AVFrame* frame = dec->frame();
    AVFrame* src = frame;
    if (frame->format == AV_PIX_FMT_CUDA) {
      // Frames come back to host memory here; keeping them on the GPU end to
      // end needs the engine's CUDA interop (see docs/design.md, data flow).
      av_frame_unref(sw_frame.get());
      int err = av_hwframe_transfer_data(sw_frame.get(), frame, 0);
      if (err < 0) throw Error("source '{}': NVDEC download failed: {}", spec.text, av_error_text(err));
      src = sw_frame.get();
    }
    if (opt.luma_only) {
      const AVPixelFormat f = static_cast<AVPixelFormat>(src->format);
      const AVPixFmtDescriptor* d = av_pix_fmt_desc_get(f);
      if (!d || (d->flags & AV_PIX_FMT_FLAG_RGB) || (d->flags & AV_PIX_FMT_FLAG_PAL) || d->comp[0].depth != 8)
        throw Error("source '{}': luma-only reading needs 8-bit YUV or gray video, got {}", spec.text,
                    d ? d->name : "?");
      const int w = src->width, h = src->height;
      if (out.width != w || out.height != h || out.format != PixelFormat::kGray8 || out.empty() || !out.unique())
        out = Frame::allocate(PixelFormat::kGray8, w, h);
      for (int y = 0; y < h; ++y) std::memcpy(out.row(y), src->data[0] + std::ptrdiff_t(y) * src->linesize[0], w);
      return;
    }
    const int w = info.width, h = info.height;
    if (out.width != w || out.height != h || out.format != PixelFormat::kRgba8 || out.empty() || !out.unique())
      out = Frame::allocate(PixelFormat::kRgba8, w, h);
    sws = sws_getCachedContext(sws, src->width, src->height, static_cast<AVPixelFormat>(src->format), w, h,
                               AV_PIX_FMT_RGBA, SWS_BILINEAR, nullptr, nullptr, nullptr);
    if (!sws) throw Error("source '{}': cannot convert pixel format {} to RGBA", spec.text, src->format);
    uint8_t* dst[4] = {out.planes[0], nullptr, nullptr, nullptr};
    int dst_pitch[4] = {out.pitch_bytes[0], 0, 0, 0};
    sws_scale(sws, src->data, src->linesize, 0, src->height, dst, dst_pitch);
  }
};

VideoReader::VideoReader(const SourceSpec& spec, const ReaderOptions& options) : impl_(std::make_unique<Impl>()) {
  impl_->spec = spec;
  impl_->opt = options;
  impl_->open();
}

VideoReader::~VideoReader() = default;

const StreamInfo& VideoReader::info() const { return impl_->info; }
const SourceSpec& VideoReader::spec() const { return impl_->spec; }
void VideoReader::interrupt() { impl_->input->interrupt(); }

bool VideoReader::seek(double seconds) {
  Impl& m = *impl_;
  if (m.spec.live() || !(seconds >= 0)) return false;
  const std::int64_t target_us = static_cast<std::int64_t>(seconds * 1e6);
  const AVStream* st = m.dec->stream();
  std::int64_t ts = av_rescale_q(target_us, AVRational{1, 1000000}, st->time_base);
  if (st->start_time != AV_NOPTS_VALUE) ts += st->start_time;
  if (av_seek_frame(m.input->get(), m.dec->stream_index(), ts, AVSEEK_FLAG_BACKWARD) < 0) return false;
  m.dec->flush();
  m.loop_offset_us = 0;
  m.pace_first_pts_us = -1;
  m.seek_target_us = target_us;
  return true;
}

bool VideoReader::read(Frame& out) {
  Impl& m = *impl_;
  std::int64_t pts_us = 0;
  for (;;) {
    if (!m.decode_next()) return false;
    std::int64_t ts = m.dec->frame()->best_effort_timestamp;
    pts_us =
        ts == AV_NOPTS_VALUE ? m.last_pts_us : av_rescale_q(ts, m.dec->stream()->time_base, AVRational{1, 1000000});
    // After a seek the decoder restarts at the keyframe before the target.
    if (m.seek_target_us < 0 || pts_us + 500 >= m.seek_target_us) break;
    av_frame_unref(m.dec->frame());
  }
  m.seek_target_us = -1;
  pts_us += m.loop_offset_us;
  m.convert(out);
  av_frame_unref(m.dec->frame());
  m.last_pts_us = pts_us;
  out.pts_us = pts_us;
  const bool paced = m.spec.kind == SourceKind::kFile || m.spec.kind == SourceKind::kTest;
  if (paced && m.spec.pacing == Pacing::kRealtime) {
    // Deliver at the source's own rate: wait until this frame's time has come.
    auto now = std::chrono::steady_clock::now();
    if (m.pace_first_pts_us < 0) {
      m.pace_first_pts_us = pts_us;
      m.pace_start = now;
    }
    auto due = m.pace_start + std::chrono::microseconds(pts_us - m.pace_first_pts_us);
    while (due > std::chrono::steady_clock::now() && !m.input->interrupted())
      std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(due - std::chrono::steady_clock::now(),
                                                                                std::chrono::milliseconds(20)));
  }
  out.capture_time = std::chrono::steady_clock::now();
  return true;
}

}  // namespace sc::media
