#include "media/input_context.h"

#include "base/error.h"
#include "media/ffmpeg_util.h"

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
}

namespace sc::media::detail {

void AvFree::operator()(AVFormatContext* p) const { avformat_close_input(&p); }
void AvFree::operator()(AVCodecContext* p) const { avcodec_free_context(&p); }
void AvFree::operator()(AVPacket* p) const { av_packet_free(&p); }
void AvFree::operator()(AVFrame* p) const { av_frame_free(&p); }

namespace {

AVMediaType to_av(MediaType type) { return type == MediaType::kVideo ? AVMEDIA_TYPE_VIDEO : AVMEDIA_TYPE_AUDIO; }
const char* to_string(MediaType type) { return type == MediaType::kVideo ? "video" : "audio"; }

int interrupt_cb(void* self) { return static_cast<const InputContext*>(self)->interrupted() ? 1 : 0; }

}  // namespace

InputContext::InputContext(InputSpec spec) : spec_(std::move(spec)) {
  ensure_devices_registered();
  const AVInputFormat* ifmt = nullptr;
  if (!spec_.input_format.empty()) {
    ifmt = av_find_input_format(spec_.input_format.c_str());
    if (!ifmt)
      throw Error("{}: this FFmpeg has no '{}' input device (see `streamcanvas-cli doctor`)", spec_.label,
                  spec_.input_format);
  }
  AVFormatContext* fmt = avformat_alloc_context();
  if (!fmt) throw Error("{}: out of memory", spec_.label);
  fmt->interrupt_callback = {&interrupt_cb, this};
  AVDictionary* opts = nullptr;
  for (auto& [k, v] : spec_.options) av_dict_set(&opts, k.c_str(), v.c_str(), 0);
  // On failure avformat_open_input frees the context itself.
  int err = avformat_open_input(&fmt, spec_.url.c_str(), ifmt, &opts);
  av_dict_free(&opts);
  if (err < 0) throw Error("cannot open {}: {}{}", spec_.label, av_error_text(err), spec_.open_hint);
  fmt_.reset(fmt);
  if ((err = avformat_find_stream_info(fmt, nullptr)) < 0)
    throw Error("{}: cannot read stream information: {}", spec_.label, av_error_text(err));
}

InputContext::~InputContext() = default;

bool InputContext::has_stream(MediaType type) const {
  return av_find_best_stream(fmt_.get(), to_av(type), -1, -1, nullptr, 0) >= 0;
}

Decoder InputContext::open_decoder(MediaType type, const std::function<void(AVCodecContext&)>& configure) {
  const AVCodec* codec = nullptr;
  const int index = av_find_best_stream(fmt_.get(), to_av(type), -1, -1, &codec, 0);
  if (index < 0) throw Error("{} has no {} stream", spec_.label, to_string(type));
  if (!codec) throw Error("{}: no decoder for its {} codec", spec_.label, to_string(type));
  AvPtr<AVCodecContext> ctx(avcodec_alloc_context3(codec));
  if (!ctx) throw Error("{}: out of memory creating the {} decoder", spec_.label, codec->name);
  int err = avcodec_parameters_to_context(ctx.get(), fmt_->streams[index]->codecpar);
  if (err < 0) throw Error("{}: cannot set up the {} decoder: {}", spec_.label, codec->name, av_error_text(err));
  if (configure) configure(*ctx);
  if ((err = avcodec_open2(ctx.get(), codec, nullptr)) < 0)
    throw Error("{}: cannot open the {} decoder: {}", spec_.label, codec->name, av_error_text(err));
  return Decoder(*this, index, std::move(ctx));
}

Decoder::Decoder(InputContext& input, int stream_index, AvPtr<AVCodecContext> ctx)
    : input_(&input),
      stream_index_(stream_index),
      ctx_(std::move(ctx)),
      packet_(av_packet_alloc()),
      frame_(av_frame_alloc()) {
  if (!packet_ || !frame_) throw Error("{}: out of memory", input.label());
}

const AVCodec* Decoder::codec() const { return ctx_->codec; }
const char* Decoder::codec_name() const { return ctx_->codec->name; }
AVStream* Decoder::stream() const { return input_->get()->streams[stream_index_]; }

double Decoder::duration_s() const {
  const AVStream* st = stream();
  if (st->duration > 0) return st->duration * av_q2d(st->time_base);
  if (input_->get()->duration > 0) return input_->get()->duration / double(AV_TIME_BASE);
  return 0;
}

void Decoder::flush() {
  avcodec_flush_buffers(ctx_.get());
  draining_ = false;
}

bool Decoder::next() {
  AVCodecContext* dec = ctx_.get();
  AVPacket* pkt = packet_.get();
  const std::string& label = input_->label();
  for (;;) {
    if (input_->interrupted()) return false;
    int err = avcodec_receive_frame(dec, frame_.get());
    if (err == 0) return true;
    if (err == AVERROR_EOF) return false;
    if (err != AVERROR(EAGAIN)) throw Error("{}: decoding failed: {}", label, av_error_text(err));
    if (draining_) return false;
    err = av_read_frame(input_->get(), pkt);
    if (err == AVERROR_EOF || (err < 0 && input_->interrupted())) {
      draining_ = true;
      avcodec_send_packet(dec, nullptr);
      continue;
    }
    if (err < 0) throw Error("{}: read failed: {}", label, av_error_text(err));
    if (pkt->stream_index == stream_index_) {
      err = avcodec_send_packet(dec, pkt);
      // A corrupt packet in the middle of a file is skipped, not fatal.
      if (err < 0 && err != AVERROR(EAGAIN) && err != AVERROR_INVALIDDATA) {
        av_packet_unref(pkt);
        throw Error("{}: decoder rejected a packet: {}", label, av_error_text(err));
      }
    }
    av_packet_unref(pkt);
  }
}

}  // namespace sc::media::detail
