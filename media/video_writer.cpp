#include "media/video_writer.h"

#include <cmath>

#include "base/error.h"
#include "base/log.h"
#include "media/ffmpeg_util.h"

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/opt.h>
#include <libswscale/swscale.h>
}

namespace sc::media {

using detail::av_error_text;

struct VideoWriter::Impl {
  std::string path;
  WriterOptions opt;
  AVFormatContext* fmt = nullptr;
  AVCodecContext* enc = nullptr;
  AVStream* stream = nullptr;
  AVFrame* yuv = nullptr;
  AVPacket* pkt = nullptr;
  SwsContext* sws = nullptr;
  std::int64_t next_pts = 0;
  std::int64_t written = 0;
  bool header_written = false;
  bool closed = false;

  ~Impl() {
    sws_freeContext(sws);
    av_packet_free(&pkt);
    av_frame_free(&yuv);
    avcodec_free_context(&enc);
    if (fmt) {
      if (fmt->pb) avio_closep(&fmt->pb);
      avformat_free_context(fmt);
    }
  }

  void open() {
    if (opt.width <= 0 || opt.height <= 0 || opt.width % 2 || opt.height % 2)
      throw Error("{}: cannot record {}x{}: width and height must be positive and even", path, opt.width, opt.height);
    if (!(opt.fps > 0 && opt.fps <= 1000)) throw Error("{}: frame rate {} is out of range", path, opt.fps);
    int err = avformat_alloc_output_context2(&fmt, nullptr, nullptr, path.c_str());
    if (err < 0 || !fmt)
      throw Error("{}: unknown container for this file name (use .mp4 or .mkv): {}", path, av_error_text(err));
    const AVCodec* codec = avcodec_find_encoder_by_name(opt.encoder.c_str());
    if (!codec) throw Error("{}: this FFmpeg has no '{}' encoder (see `streamcanvas-cli doctor`)", path, opt.encoder);
    stream = avformat_new_stream(fmt, nullptr);
    enc = avcodec_alloc_context3(codec);
    if (!stream || !enc) throw Error("{}: out of memory creating the encoder", path);
    AVRational fps_q = av_d2q(opt.fps, 100000);
    enc->width = opt.width;
    enc->height = opt.height;
    enc->pix_fmt = AV_PIX_FMT_YUV420P;
    enc->time_base = av_inv_q(fps_q);
    enc->framerate = fps_q;
    // One keyframe per second bounds what a crash can lose in a fragmented file.
    enc->gop_size = std::max(1, static_cast<int>(std::lround(opt.fps)));
    enc->max_b_frames = 0;
    if (fmt->oformat->flags & AVFMT_GLOBALHEADER) enc->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
    if (opt.encoder == "libx264") {
      av_opt_set(enc->priv_data, "preset", opt.preset.c_str(), 0);
      av_opt_set_int(enc->priv_data, "crf", opt.crf, 0);
    }
    if ((err = avcodec_open2(enc, codec, nullptr)) < 0)
      throw Error("{}: cannot open the {} encoder: {}", path, opt.encoder, av_error_text(err));
    avcodec_parameters_from_context(stream->codecpar, enc);
    stream->time_base = enc->time_base;
    if (!(fmt->oformat->flags & AVFMT_NOFILE)) {
      if ((err = avio_open(&fmt->pb, path.c_str(), AVIO_FLAG_WRITE)) < 0)
        throw Error("{}: cannot create the file: {}", path, av_error_text(err));
    }
    AVDictionary* mux_opts = nullptr;
    if (std::string(fmt->oformat->name).find("mp4") != std::string::npos)
      av_dict_set(&mux_opts, "movflags", "frag_keyframe+empty_moov+default_base_moof", 0);
    err = avformat_write_header(fmt, &mux_opts);
    av_dict_free(&mux_opts);
    if (err < 0) throw Error("{}: cannot write the header: {}", path, av_error_text(err));
    header_written = true;
    yuv = av_frame_alloc();
    pkt = av_packet_alloc();
    yuv->format = enc->pix_fmt;
    yuv->width = enc->width;
    yuv->height = enc->height;
    if (av_frame_get_buffer(yuv, 0) < 0) throw Error("{}: out of memory for the encoder frame", path);
  }

  void drain(bool flush) {
    int err = avcodec_send_frame(enc, flush ? nullptr : yuv);
    if (err < 0 && !(flush && err == AVERROR_EOF)) throw Error("{}: encoding failed: {}", path, av_error_text(err));
    for (;;) {
      err = avcodec_receive_packet(enc, pkt);
      if (err == AVERROR(EAGAIN) || err == AVERROR_EOF) return;
      if (err < 0) throw Error("{}: encoding failed: {}", path, av_error_text(err));
      av_packet_rescale_ts(pkt, enc->time_base, stream->time_base);
      pkt->stream_index = stream->index;
      err = av_interleaved_write_frame(fmt, pkt);
      if (err < 0) throw Error("{}: write failed (disk full?): {}", path, av_error_text(err));
    }
  }
};

VideoWriter::VideoWriter(const std::string& path, const WriterOptions& options) : impl_(std::make_unique<Impl>()) {
  detail::ensure_devices_registered();
  impl_->path = path;
  impl_->opt = options;
  impl_->open();
}

VideoWriter::~VideoWriter() {
  try {
    close();
  } catch (const std::exception& e) {
    log::error("{}", e.what());
  }
}

void VideoWriter::write(const Frame& frame) {
  Impl& m = *impl_;
  if (m.closed) throw Error("{}: write after close", m.path);
  if (frame.width != m.opt.width || frame.height != m.opt.height)
    throw Error("{}: frame is {}x{} but the recording is {}x{}", m.path, frame.width, frame.height, m.opt.width,
                m.opt.height);
  m.sws = sws_getCachedContext(m.sws, frame.width, frame.height, AV_PIX_FMT_RGBA, m.opt.width, m.opt.height,
                               AV_PIX_FMT_YUV420P, SWS_BILINEAR, nullptr, nullptr, nullptr);
  if (!m.sws) throw Error("{}: cannot convert RGBA to YUV420P", m.path);
  if (av_frame_make_writable(m.yuv) < 0) throw Error("{}: out of memory", m.path);
  const uint8_t* src[4] = {frame.data->data(), nullptr, nullptr, nullptr};
  int src_pitch[4] = {frame.pitch_bytes, 0, 0, 0};
  sws_scale(m.sws, src, src_pitch, 0, frame.height, m.yuv->data, m.yuv->linesize);
  m.yuv->pts = m.next_pts++;
  m.drain(false);
  ++m.written;
}

void VideoWriter::close() {
  Impl& m = *impl_;
  if (m.closed || !m.header_written) return;
  m.closed = true;
  m.drain(true);
  int err = av_write_trailer(m.fmt);
  if (err < 0) throw Error("{}: cannot finish the file: {}", m.path, av_error_text(err));
  if (m.fmt->pb) avio_closep(&m.fmt->pb);
}

std::int64_t VideoWriter::frames_written() const { return impl_->written; }
const std::string& VideoWriter::path() const { return impl_->path; }

}  // namespace sc::media
