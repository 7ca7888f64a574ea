#include "media/ffmpeg_util.h"

#include <cstdlib>
#include <mutex>
#include <string_view>

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
    // FFmpeg's own chatter (e.g. every damaged NAL unit of a truncated file)
    // goes to stderr only when asked for with SC_FFMPEG_LOG=1; our errors
    // carry the relevant text themselves.
    const char* env = std::getenv("SC_FFMPEG_LOG");
    av_log_set_level(env && std::string_view(env) == "1" ? AV_LOG_INFO : AV_LOG_QUIET);
  });
}

}  // namespace sc::media::detail
