#include "media/ffmpeg_util.h"

#include <cstdlib>
#include <mutex>
#include <string_view>

#include "base/error.h"

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavdevice/avdevice.h>
#include <libavformat/avformat.h>
#include <libavutil/error.h>
#include <libavutil/log.h>
}

namespace sc::media::detail {

std::string av_error_text(int err) {
  char buf[AV_ERROR_MAX_STRING_SIZE] = {};
  av_strerror(err, buf, sizeof buf);
  return buf;
}

void ensure_devices_registered() {
  static std::once_flag once;
  std::call_once(once, [] {
    avdevice_register_all();
    // FFmpeg's own chatter (e.g. every damaged NAL unit of a truncated file)
    // goes to stderr only when asked for with SC_FFMPEG_LOG=1; our errors
    // carry the relevant text themselves.
    const char* env = std::getenv("SC_FFMPEG_LOG");
    av_log_set_level(env && std::string_view(env) == "1" ? AV_LOG_INFO : AV_LOG_QUIET);
  });
}

bool decode_next(DecodePump& p, const std::atomic<bool>& interrupted, const std::string& label) {
  for (;;) {
    if (interrupted) return false;
    int err = avcodec_receive_frame(p.dec, p.frame);
    if (err == 0) return true;
    if (err == AVERROR_EOF) return false;
    if (err != AVERROR(EAGAIN)) throw Error("{}: decoding failed: {}", label, av_error_text(err));
    if (p.draining) return false;
    err = av_read_frame(p.fmt, p.pkt);
    if (err == AVERROR_EOF || (err < 0 && interrupted)) {
      p.draining = true;
      avcodec_send_packet(p.dec, nullptr);
      continue;
    }
    if (err < 0) throw Error("{}: read failed: {}", label, av_error_text(err));
    if (p.pkt->stream_index == p.stream) {
      err = avcodec_send_packet(p.dec, p.pkt);
      // A corrupt packet in the middle of a file is skipped, not fatal.
      if (err < 0 && err != AVERROR(EAGAIN) && err != AVERROR_INVALIDDATA) {
        av_packet_unref(p.pkt);
        throw Error("{}: decoder rejected a packet: {}", label, av_error_text(err));
      }
    }
    av_packet_unref(p.pkt);
  }
}

}  // namespace sc::media::detail
