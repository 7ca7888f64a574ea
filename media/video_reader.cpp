#include "media/video_reader.h"

#include <thread>

#include "base/error.h"
#include "media/ffmpeg_util.h"

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/imgutils.h>
#include <libswscale/swscale.h>
}

namespace sc::media {

using detail::av_error_text;

struct VideoReader::Impl {
  SourceSpec spec;
  StreamInfo info;
  AVFormatContext* fmt = nullptr;
  AVCodecContext* dec = nullptr;
  SwsContext* sws = nullptr;
  AVPacket* pkt = nullptr;
  AVFrame* frame = nullptr;
  int stream_index = -1;
  AVRational time_base{1, 1};
  bool draining = false;
  std::int64_t loop_offset_us = 0;
  std::int64_t last_pts_us = 0;
  std::chrono::steady_clock::time_point pace_start{};
  std::int64_t pace_first_pts_us = -1;

  ~Impl() {
    sws_freeContext(sws);
    av_frame_free(&frame);
    av_packet_free(&pkt);
    avcodec_free_context(&dec);
    avformat_close_input(&fmt);
  }

  void open() {
    detail::ensure_devices_registered();
    const AVInputFormat* ifmt = nullptr;
    if (!spec.input_format.empty()) {
      ifmt = av_find_input_format(spec.input_format.c_str());
      if (!ifmt)
        throw Error("source '{}': this FFmpeg has no '{}' input device (see `streamcanvas-cli doctor`)", spec.text,
                    spec.input_format);
    }
    AVDictionary* opts = nullptr;
    for (auto& [k, v] : spec.options) av_dict_set(&opts, k.c_str(), v.c_str(), 0);
    int err = avformat_open_input(&fmt, spec.url.c_str(), ifmt, &opts);
    av_dict_free(&opts);
    if (err < 0) throw Error("cannot open source '{}': {}", spec.text, av_error_text(err));
    if ((err = avformat_find_stream_info(fmt, nullptr)) < 0)
      throw Error("source '{}': cannot read stream information: {}", spec.text, av_error_text(err));
    const AVCodec* codec = nullptr;
    stream_index = av_find_best_stream(fmt, AVMEDIA_TYPE_VIDEO, -1, -1, &codec, 0);
    if (stream_index < 0) throw Error("source '{}' has no video stream", spec.text);
    if (!codec) throw Error("source '{}': no decoder for its video codec", spec.text);
    AVStream* st = fmt->streams[stream_index];
    time_base = st->time_base;
    dec = avcodec_alloc_context3(codec);
    if (!dec) throw Error("source '{}': out of memory creating the decoder", spec.text);
    avcodec_parameters_to_context(dec, st->codecpar);
    dec->thread_count = 0;  // let FFmpeg pick
    if ((err = avcodec_open2(dec, codec, nullptr)) < 0)
      throw Error("source '{}': cannot open the {} decoder: {}", spec.text, codec->name, av_error_text(err));
    if (dec->width <= 0 || dec->height <= 0) throw Error("source '{}': video has no frame size", spec.text);
    pkt = av_packet_alloc();
    frame = av_frame_alloc();
    info.width = dec->width;
    info.height = dec->height;
    AVRational r = st->avg_frame_rate.num ? st->avg_frame_rate : st->r_frame_rate;
    info.fps = r.num && r.den ? av_q2d(r) : 0;
    info.codec = codec->name;
    if (st->duration > 0)
      info.duration_s = st->duration * av_q2d(st->time_base);
    else if (fmt->duration > 0)
      info.duration_s = fmt->duration / double(AV_TIME_BASE);
    info.frame_count = st->nb_frames > 0                       ? st->nb_frames
                       : (info.duration_s > 0 && info.fps > 0) ? std::int64_t(info.duration_s * info.fps + 0.5)
                                                               : 0;
    if (spec.live()) info.frame_count = 0, info.duration_s = 0;
  }

  bool rewind() {
    int err = av_seek_frame(fmt, stream_index, 0, AVSEEK_FLAG_BACKWARD);
    if (err < 0) return false;
    avcodec_flush_buffers(dec);
    draining = false;
    loop_offset_us = last_pts_us + (info.fps > 0 ? std::int64_t(1e6 / info.fps) : 33333);
    return true;
  }

  // Returns true with a decoded frame in `frame`, false at end of stream.
  bool decode_next() {
    for (;;) {
      int err = avcodec_receive_frame(dec, frame);
      if (err == 0) return true;
      if (err == AVERROR_EOF) {
        if (spec.loop && rewind()) continue;
        return false;
      }
      if (err != AVERROR(EAGAIN)) throw Error("source '{}': decoding failed: {}", spec.text, av_error_text(err));
      if (draining) return false;
      err = av_read_frame(fmt, pkt);
      if (err == AVERROR_EOF) {
        draining = true;
        avcodec_send_packet(dec, nullptr);
        continue;
      }
      if (err < 0) throw Error("source '{}': read failed: {}", spec.text, av_error_text(err));
      if (pkt->stream_index == stream_index) {
        err = avcodec_send_packet(dec, pkt);
        // A corrupt packet in the middle of a file is skipped, not fatal.
        if (err < 0 && err != AVERROR(EAGAIN) && err != AVERROR_INVALIDDATA) {
          av_packet_unref(pkt);
          throw Error("source '{}': decoder rejected a packet: {}", spec.text, av_error_text(err));
        }
      }
      av_packet_unref(pkt);
    }
  }

  void convert(Frame& out) {
    const int w = frame->width, h = frame->height;
    if (out.width != w || out.height != h || !out.data || out.data.use_count() > 1) out = Frame::make_rgba(w, h);
    sws = sws_getCachedContext(sws, w, h, static_cast<AVPixelFormat>(frame->format), w, h, AV_PIX_FMT_RGBA,
                               SWS_BILINEAR, nullptr, nullptr, nullptr);
    if (!sws) throw Error("source '{}': cannot convert pixel format {} to RGBA", spec.text, frame->format);
    uint8_t* dst[4] = {out.data->data(), nullptr, nullptr, nullptr};
    int dst_pitch[4] = {out.pitch_bytes, 0, 0, 0};
    sws_scale(sws, frame->data, frame->linesize, 0, h, dst, dst_pitch);
  }
};

VideoReader::VideoReader(const SourceSpec& spec) : impl_(std::make_unique<Impl>()) {
  impl_->spec = spec;
  impl_->open();
}

VideoReader::~VideoReader() = default;

const StreamInfo& VideoReader::info() const { return impl_->info; }

bool VideoReader::read(Frame& out) {
  Impl& m = *impl_;
  if (!m.decode_next()) return false;
  std::int64_t ts = m.frame->best_effort_timestamp;
  std::int64_t pts_us = ts == AV_NOPTS_VALUE ? m.last_pts_us : av_rescale_q(ts, m.time_base, AVRational{1, 1000000});
  pts_us += m.loop_offset_us;
  m.convert(out);
  av_frame_unref(m.frame);
  m.last_pts_us = pts_us;
  out.pts_us = pts_us;
  if ((m.spec.kind == SourceKind::kFile || m.spec.kind == SourceKind::kTest) && m.spec.pacing == Pacing::kRealtime) {
    // Play at the file's own rate: wait until this frame's time has come.
    auto now = std::chrono::steady_clock::now();
    if (m.pace_first_pts_us < 0) {
      m.pace_first_pts_us = pts_us;
      m.pace_start = now;
    }
    auto due = m.pace_start + std::chrono::microseconds(pts_us - m.pace_first_pts_us);
    if (due > now) std::this_thread::sleep_until(due);
  }
  out.capture_time = std::chrono::steady_clock::now();
  return true;
}

}  // namespace sc::media
