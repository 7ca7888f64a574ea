#include "media/video_writer.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cerrno>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <mutex>

#include "base/error.h"
#include "base/log.h"
#include "media/ffmpeg_util.h"

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/audio_fifo.h>
#include <libavutil/channel_layout.h>
#include <libavutil/opt.h>
#include <libswresample/swresample.h>
#include <libswscale/swscale.h>
}

namespace sc::media {

using detail::av_error_text;

namespace {

constexpr int kIoBufferBytes = 1 << 16;

// Our own file I/O under FFmpeg's muxer: we need the descriptor to fdatasync
// finished fragments, and errno to tell "disk full" from other failures.
struct FileIo {
  int fd = -1;
  std::int64_t pos = 0;
  std::int64_t size = 0;
  int last_errno = 0;

  static int write(void* opaque, std::uint8_t* buf, int n) {
    auto* io = static_cast<FileIo*>(opaque);
    int done = 0;
    while (done < n) {
      ssize_t w = ::pwrite(io->fd, buf + done, n - done, io->pos);
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) {
        io->last_errno = w < 0 ? errno : ENOSPC;
        return AVERROR(io->last_errno);
      }
      done += static_cast<int>(w);
      io->pos += w;
    }
    io->size = std::max(io->size, io->pos);
    return n;
  }

  static std::int64_t seek(void* opaque, std::int64_t offset, int whence) {
    auto* io = static_cast<FileIo*>(opaque);
    switch (whence & ~AVSEEK_FORCE) {
      case AVSEEK_SIZE:
        return io->size;
      case SEEK_SET:
        io->pos = offset;
        break;
      case SEEK_CUR:
        io->pos += offset;
        break;
      case SEEK_END:
        io->pos = io->size + offset;
        break;
      default:
        return AVERROR(EINVAL);
    }
    return io->pos;
  }
};

std::string io_error_text(int err) {
  if (err == ENOSPC || err == EFBIG || err == EDQUOT) return "the disk is full (or the file size limit was reached)";
  return errno_text(err);
}

void ignore_sigxfsz() {
  // Past RLIMIT_FSIZE the kernel sends SIGXFSZ, which would kill the studio
  // mid-recording; ignored, the write fails with EFBIG and we report it.
  static std::once_flag once;
  std::call_once(once, [] { std::signal(SIGXFSZ, SIG_IGN); });
}

bool is_mp4(const AVFormatContext* fmt) { return std::string(fmt->oformat->name).find("mp4") != std::string::npos; }

// Remuxes the fragmented recording at `path` into a fast-start MP4 and swaps it
// in atomically. On any failure the fragmented file is left as it is.
void finalize_faststart(const std::string& path) {
  const std::string tmp = path + ".finalizing.mp4";
  AVFormatContext* in = nullptr;
  AVFormatContext* out = nullptr;
  auto cleanup = [&] {
    avformat_close_input(&in);
    if (out) {
      if (out->pb) avio_closep(&out->pb);
      avformat_free_context(out);
      out = nullptr;
    }
  };
  int err = avformat_open_input(&in, path.c_str(), nullptr, nullptr);
  if (err >= 0) err = avformat_find_stream_info(in, nullptr);
  if (err >= 0) err = avformat_alloc_output_context2(&out, nullptr, "mp4", tmp.c_str());
  for (unsigned i = 0; err >= 0 && i < in->nb_streams; ++i) {
    AVStream* os = avformat_new_stream(out, nullptr);
    if (!os)
      err = AVERROR(ENOMEM);
    else
      err = avcodec_parameters_copy(os->codecpar, in->streams[i]->codecpar);
    if (err >= 0) {
      os->codecpar->codec_tag = 0;
      os->time_base = in->streams[i]->time_base;
    }
  }
  if (err >= 0) err = avio_open(&out->pb, tmp.c_str(), AVIO_FLAG_WRITE);
  AVDictionary* opts = nullptr;
  av_dict_set(&opts, "movflags", "+faststart", 0);
  if (err >= 0) err = avformat_write_header(out, &opts);
  av_dict_free(&opts);
  AVPacket* pkt = av_packet_alloc();
  while (err >= 0) {
    int r = av_read_frame(in, pkt);
    if (r == AVERROR_EOF) break;
    if (r < 0) {
      err = r;
      break;
    }
    av_packet_rescale_ts(pkt, in->streams[pkt->stream_index]->time_base, out->streams[pkt->stream_index]->time_base);
    pkt->pos = -1;
    err = av_interleaved_write_frame(out, pkt);
  }
  av_packet_free(&pkt);
  if (err >= 0) err = av_write_trailer(out);
  cleanup();
  if (err < 0) {
    std::remove(tmp.c_str());
    log::warn("{}: kept the crash-safe (fragmented) recording; making it fast-start failed: {}", path,
              av_error_text(err));
    return;
  }
  int fd = ::open(tmp.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    log::warn("{}: kept the fragmented recording; could not replace it: {}", path, errno_text(errno));
    std::remove(tmp.c_str());
    return;
  }
  std::string dir = std::filesystem::path(path).parent_path().string();
  int dfd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
}

}  // namespace

struct VideoWriter::Impl {
  std::string path;
  WriterOptions opt;
  std::string encoder_name;
  FileIo io;
  AVFormatContext* fmt = nullptr;
  AVCodecContext* enc = nullptr;
  AVStream* stream = nullptr;
  AVCodecContext* aenc = nullptr;
  AVStream* astream = nullptr;
  SwrContext* aswr = nullptr;
  AVAudioFifo* afifo = nullptr;
  AVFrame* aframe = nullptr;
  std::int64_t audio_pts = 0;
  bool audio_started = false;
  AVFrame* yuv = nullptr;
  AVPacket* pkt = nullptr;
  SwsContext* sws = nullptr;
  std::int64_t next_pts = 0;
  std::int64_t last_pts = -1;
  std::int64_t first_pts_us = 0;
  std::chrono::steady_clock::time_point first_capture{};
  std::int64_t written = 0;
  std::int64_t audio_samples = 0;
  bool header_written = false;
  bool closed = false;
  std::string failure;  // sticky: set when a write failed

  ~Impl() {
    sws_freeContext(sws);
    swr_free(&aswr);
    if (afifo) av_audio_fifo_free(afifo);
    av_frame_free(&aframe);
    av_packet_free(&pkt);
    av_frame_free(&yuv);
    avcodec_free_context(&enc);
    avcodec_free_context(&aenc);
    if (fmt) {
      if (fmt->pb) {
        av_freep(&fmt->pb->buffer);
        avio_context_free(&fmt->pb);
      }
      avformat_free_context(fmt);
    }
    if (io.fd >= 0) ::close(io.fd);
  }

  [[noreturn]] void fail(const std::string& what, int err) {
    std::string why = io.last_errno ? io_error_text(io.last_errno) : av_error_text(err);
    failure =
        fmt::format("{}: {} failed: {}; the {:.1f} s recorded before are kept", path, what, why, written / opt.fps);
    throw Error("{}", failure);
  }

  bool open_video_encoder(const std::string& name) {
    const AVCodec* codec = avcodec_find_encoder_by_name(name.c_str());
    if (!codec) return false;
    enc = avcodec_alloc_context3(codec);
    AVRational fps_q = av_d2q(opt.fps, 100000);
    enc->width = opt.width;
    enc->height = opt.height;
    enc->pix_fmt = opt.qp >= 0 ? AV_PIX_FMT_YUV444P : AV_PIX_FMT_YUV420P;
    if (opt.qp >= 0) enc->color_range = AVCOL_RANGE_JPEG;  // full 0..255 values, as V^3 writes (yuvj444p)
    enc->time_base = av_inv_q(fps_q);
    enc->framerate = fps_q;
    // One keyframe per second bounds what a crash can lose in a fragmented file.
    enc->gop_size = std::max(1, static_cast<int>(std::lround(opt.fps)));
    enc->max_b_frames = 0;
    if (fmt->oformat->flags & AVFMT_GLOBALHEADER) enc->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
    if (name == "libx264" && opt.qp >= 0) {
      av_opt_set(enc->priv_data, "preset", opt.preset.c_str(), 0);
      av_opt_set_int(enc->priv_data, "qp", opt.qp, 0);
      if (opt.cavlc) av_opt_set_int(enc->priv_data, "coder", 0, 0);
      if (!opt.deblock) av_opt_set(enc->priv_data, "x264-params", "no-deblock=1", 0);
    } else if (name == "libx264") {
      av_opt_set(enc->priv_data, "preset", opt.preset.c_str(), 0);
      av_opt_set_int(enc->priv_data, "crf", opt.crf, 0);
    } else if (name == "h264_nvenc") {
      av_opt_set(enc->priv_data, "preset", "p4", 0);
      av_opt_set(enc->priv_data, "rc", "vbr", 0);
      av_opt_set_int(enc->priv_data, "cq", opt.crf, 0);
    }
    int err = avcodec_open2(enc, codec, nullptr);
    if (err < 0) {
      log::debug("{}: encoder {} did not open: {}", path, name, av_error_text(err));
      avcodec_free_context(&enc);
      return false;
    }
    encoder_name = name;
    return true;
  }

  void open_audio() {
    const AVCodec* codec = avcodec_find_encoder_by_name(opt.audio_encoder.c_str());
    if (!codec) throw Error("{}: this FFmpeg has no '{}' audio encoder", path, opt.audio_encoder);
    astream = avformat_new_stream(fmt, nullptr);
    aenc = avcodec_alloc_context3(codec);
    aenc->sample_rate = opt.audio_sample_rate;
    av_channel_layout_default(&aenc->ch_layout, opt.audio_channels);
    aenc->sample_fmt = codec->sample_fmts ? codec->sample_fmts[0] : AV_SAMPLE_FMT_FLTP;
    aenc->bit_rate = 64000 * opt.audio_channels;
    aenc->time_base = AVRational{1, opt.audio_sample_rate};
    if (fmt->oformat->flags & AVFMT_GLOBALHEADER) aenc->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
    int err = avcodec_open2(aenc, codec, nullptr);
    if (err < 0)
      throw Error("{}: cannot open the {} audio encoder at {} Hz: {}", path, opt.audio_encoder, opt.audio_sample_rate,
                  av_error_text(err));
    avcodec_parameters_from_context(astream->codecpar, aenc);
    astream->time_base = aenc->time_base;
    AVChannelLayout in_layout;
    av_channel_layout_default(&in_layout, opt.audio_channels);
    err = swr_alloc_set_opts2(&aswr, &aenc->ch_layout, aenc->sample_fmt, aenc->sample_rate, &in_layout,
                              AV_SAMPLE_FMT_FLT, opt.audio_sample_rate, 0, nullptr);
    if (err < 0 || swr_init(aswr) < 0) throw Error("{}: cannot set up audio conversion", path);
    afifo = av_audio_fifo_alloc(aenc->sample_fmt, opt.audio_channels, 4096);
    aframe = av_frame_alloc();
  }

  void open() {
    ignore_sigxfsz();
    const bool even_needed = opt.qp < 0;  // 4:2:0 needs even sizes; 4:4:4 data streams do not
    if (opt.width <= 0 || opt.height <= 0 || (even_needed && (opt.width % 2 || opt.height % 2)))
      throw Error("{}: cannot record {}x{}: width and height must be positive and even", path, opt.width, opt.height);
    if (!(opt.fps > 0 && opt.fps <= 1000)) throw Error("{}: frame rate {} is out of range", path, opt.fps);
    int err = avformat_alloc_output_context2(&fmt, nullptr, nullptr, path.c_str());
    if (err < 0 || !fmt)
      throw Error("{}: unknown container for this file name (use .mp4 or .mkv): {}", path, av_error_text(err));
    stream = avformat_new_stream(fmt, nullptr);
    if (!stream) throw Error("{}: out of memory", path);
    bool opened = false;
    if (opt.encoder == "auto")
      opened = open_video_encoder("h264_nvenc") || open_video_encoder("libx264");
    else
      opened = open_video_encoder(opt.encoder);
    if (!opened) throw Error("{}: cannot open the '{}' encoder (see `streamcanvas-cli doctor`)", path, opt.encoder);
    avcodec_parameters_from_context(stream->codecpar, enc);
    stream->time_base = enc->time_base;
    stream->avg_frame_rate = enc->framerate;  // Matroska stores it as the default duration
    stream->r_frame_rate = enc->framerate;
    if (opt.audio_sample_rate > 0) open_audio();

    io.fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (io.fd < 0) throw Error("{}: cannot create the file: {}", path, errno_text(errno));
    auto* buffer = static_cast<std::uint8_t*>(av_malloc(kIoBufferBytes));
    fmt->pb = avio_alloc_context(buffer, kIoBufferBytes, 1, &io, nullptr, &FileIo::write, &FileIo::seek);
    if (!fmt->pb) throw Error("{}: out of memory", path);
    AVDictionary* mux_opts = nullptr;
    if (is_mp4(fmt)) av_dict_set(&mux_opts, "movflags", "frag_keyframe+empty_moov+default_base_moof", 0);
    err = avformat_write_header(fmt, &mux_opts);
    av_dict_free(&mux_opts);
    if (err < 0) fail("writing the header", err);
    header_written = true;
    yuv = av_frame_alloc();
    pkt = av_packet_alloc();
    yuv->format = enc->pix_fmt;
    yuv->width = enc->width;
    yuv->height = enc->height;
    if (av_frame_get_buffer(yuv, 0) < 0) throw Error("{}: out of memory for the encoder frame", path);
  }

  // Sends frame (or flush when null) to codec and writes every packet out.
  void encode(AVCodecContext* codec, AVStream* st, AVFrame* frame) {
    int err = avcodec_send_frame(codec, frame);
    if (err < 0 && !(frame == nullptr && err == AVERROR_EOF)) fail("encoding", err);
    for (;;) {
      err = avcodec_receive_packet(codec, pkt);
      if (err == AVERROR(EAGAIN) || err == AVERROR_EOF) return;
      if (err < 0) fail("encoding", err);
      const bool keyframe = st == stream && (pkt->flags & AV_PKT_FLAG_KEY);
      av_packet_rescale_ts(pkt, codec->time_base, st->time_base);
      pkt->stream_index = st->index;
      err = av_interleaved_write_frame(fmt, pkt);
      if (err < 0 || fmt->pb->error < 0) fail("writing", err < 0 ? err : fmt->pb->error);
      if (keyframe) {
        // A keyframe closes the previous fragment: make it durable.
        avio_flush(fmt->pb);
        if (fmt->pb->error < 0) fail("writing", fmt->pb->error);
        ::fdatasync(io.fd);
      }
    }
  }

  void drain_audio(bool flush) {
    const int frame_size = aenc->frame_size > 0 ? aenc->frame_size : 1024;
    while (av_audio_fifo_size(afifo) >= frame_size || (flush && av_audio_fifo_size(afifo) > 0)) {
      int n = std::min(frame_size, av_audio_fifo_size(afifo));
      av_frame_unref(aframe);
      aframe->nb_samples = n;
      aframe->format = aenc->sample_fmt;
      aframe->sample_rate = aenc->sample_rate;
      av_channel_layout_copy(&aframe->ch_layout, &aenc->ch_layout);
      if (av_frame_get_buffer(aframe, 0) < 0) throw Error("{}: out of memory", path);
      av_audio_fifo_read(afifo, reinterpret_cast<void**>(aframe->data), n);
      aframe->pts = audio_pts;
      audio_pts += n;
      encode(aenc, astream, aframe);
    }
    if (flush) encode(aenc, astream, nullptr);
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
  if (!m.failure.empty()) throw Error("{}", m.failure);
  if (m.closed) throw Error("{}: write after close", m.path);
  const PixelFormat want = m.opt.qp >= 0 ? PixelFormat::kGray8 : PixelFormat::kRgba8;
  if (frame.format != want || frame.memory != MemoryKind::kHost)
    throw Error("{}: this recording takes host {} frames, got {}", m.path, to_string(want), to_string(frame.format));
  if (frame.width != m.opt.width || frame.height != m.opt.height)
    throw Error("{}: frame is {}x{} but the recording is {}x{}", m.path, frame.width, frame.height, m.opt.width,
                m.opt.height);
  if (av_frame_make_writable(m.yuv) < 0) throw Error("{}: out of memory", m.path);
  if (frame.format == PixelFormat::kGray8) {
    // Values go into luma untouched; chroma carries nothing.
    for (int y = 0; y < frame.height; ++y) {
      std::memcpy(m.yuv->data[0] + std::ptrdiff_t(y) * m.yuv->linesize[0], frame.row(y), frame.width);
      std::memset(m.yuv->data[1] + std::ptrdiff_t(y) * m.yuv->linesize[1], 128, frame.width);
      std::memset(m.yuv->data[2] + std::ptrdiff_t(y) * m.yuv->linesize[2], 128, frame.width);
    }
  } else {
    m.sws = sws_getCachedContext(m.sws, frame.width, frame.height, AV_PIX_FMT_RGBA, m.opt.width, m.opt.height,
                                 AV_PIX_FMT_YUV420P, SWS_BILINEAR, nullptr, nullptr, nullptr);
    if (!m.sws) throw Error("{}: cannot convert RGBA to YUV420P", m.path);
    const uint8_t* src[4] = {frame.planes[0], nullptr, nullptr, nullptr};
    int src_pitch[4] = {frame.pitch_bytes[0], 0, 0, 0};
    sws_scale(m.sws, src, src_pitch, 0, frame.height, m.yuv->data, m.yuv->linesize);
  }
  std::int64_t pts = m.next_pts;
  if (m.opt.timing == FrameTiming::kFramePts) {
    if (m.written == 0) m.first_pts_us = frame.pts_us, m.first_capture = frame.capture_time;
    pts = std::llround(double(frame.pts_us - m.first_pts_us) * m.opt.fps / 1e6);
  }
  pts = std::max(pts, m.last_pts + 1);  // strictly increasing, whatever the source did
  m.yuv->pts = pts;
  m.last_pts = pts;
  m.next_pts = pts + 1;
  m.encode(m.enc, m.stream, m.yuv);
  ++m.written;
}

void VideoWriter::write_audio(const AudioChunk& chunk) {
  Impl& m = *impl_;
  if (!m.failure.empty()) throw Error("{}", m.failure);
  if (!m.aenc) throw Error("{}: this recording has no audio track", m.path);
  if (chunk.sample_rate != m.opt.audio_sample_rate || chunk.channels != m.opt.audio_channels)
    throw Error("{}: audio is {} Hz x {} but the recording takes {} Hz x {}", m.path, chunk.sample_rate, chunk.channels,
                m.opt.audio_sample_rate, m.opt.audio_channels);
  if (!m.audio_started) {
    m.audio_started = true;
    // Live: audio and video devices keep different clocks; the steady capture
    // time both carry lines them up.
    if (m.opt.timing == FrameTiming::kFramePts && m.written > 0) {
      const double chunk_s = double(chunk.frames()) / chunk.sample_rate;
      const double start_s = std::chrono::duration<double>(chunk.capture_time - m.first_capture).count() - chunk_s;
      m.audio_pts = std::max<std::int64_t>(0, std::llround(start_s * m.opt.audio_sample_rate));
    }
  }
  const int n = static_cast<int>(chunk.frames());
  if (n == 0) return;
  // Convert interleaved float to the encoder's layout, then queue whole frames.
  AVFrame* tmp = av_frame_alloc();
  tmp->nb_samples = n;
  tmp->format = m.aenc->sample_fmt;
  av_channel_layout_copy(&tmp->ch_layout, &m.aenc->ch_layout);
  if (av_frame_get_buffer(tmp, 0) < 0) {
    av_frame_free(&tmp);
    throw Error("{}: out of memory", m.path);
  }
  const std::uint8_t* in = reinterpret_cast<const std::uint8_t*>(chunk.samples.data());
  int got = swr_convert(m.aswr, tmp->data, n, &in, n);
  if (got > 0) av_audio_fifo_write(m.afifo, reinterpret_cast<void**>(tmp->data), got);
  av_frame_free(&tmp);
  m.audio_samples += n;
  m.drain_audio(false);
}

void VideoWriter::close() {
  Impl& m = *impl_;
  if (m.closed || !m.header_written) return;
  m.closed = true;
  const bool healthy = m.failure.empty();
  if (healthy) {
    m.encode(m.enc, m.stream, nullptr);
    if (m.aenc) m.drain_audio(true);
  }
  int err = av_write_trailer(m.fmt);
  avio_flush(m.fmt->pb);
  ::fdatasync(m.io.fd);
  ::close(m.io.fd);
  m.io.fd = -1;
  if (!healthy) throw Error("{}", m.failure);
  if (err < 0) m.fail("finishing the file", err);
  if (m.opt.finalize_faststart && is_mp4(m.fmt)) finalize_faststart(m.path);
}

WriterStats VideoWriter::stats() const {
  const Impl& m = *impl_;
  WriterStats s;
  s.frames = m.written;
  s.audio_samples = m.audio_samples;
  s.bytes = m.io.size;
  s.duration_s = m.last_pts >= 0 ? (m.last_pts + 1) / m.opt.fps : 0;
  return s;
}

const std::string& VideoWriter::path() const { return impl_->path; }
const std::string& VideoWriter::encoder_name() const { return impl_->encoder_name; }

}  // namespace sc::media
