#include "media/ffmpeg_util.h"

#include <mutex>

extern "C" {
#include <libavdevice/avdevice.h>
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
    // FFmpeg's own chatter goes to stderr only when asked for; our errors carry
    // the relevant text themselves.
    av_log_set_level(AV_LOG_ERROR);
  });
}

}  // namespace sc::media::detail
