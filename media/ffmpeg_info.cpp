#include "media/ffmpeg_info.h"

#include <fmt/format.h>

#include "media/ffmpeg_util.h"

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavdevice/avdevice.h>
#include <libavfilter/avfilter.h>
#include <libavformat/avformat.h>
#include <libavutil/avutil.h>
#include <libswresample/swresample.h>
#include <libswscale/swscale.h>
}

namespace sc::media {
namespace {

std::string version_text(unsigned v) {
  return fmt::format("{}.{}.{}", AV_VERSION_MAJOR(v), AV_VERSION_MINOR(v), AV_VERSION_MICRO(v));
}

}  // namespace

FfmpegInfo query_ffmpeg() {
  detail::ensure_devices_registered();
  FfmpegInfo info;
  info.libraries = {
      {"ffmpeg", av_version_info()},
      {"libavformat", version_text(avformat_version())},
      {"libavcodec", version_text(avcodec_version())},
      {"libavdevice", version_text(avdevice_version())},
      {"libavfilter", version_text(avfilter_version())},
      {"libavutil", version_text(avutil_version())},
      {"libswscale", version_text(swscale_version())},
      {"libswresample", version_text(swresample_version())},
  };
  auto encoder = [&](const char* name, const char* note) {
    info.features.push_back({name, "encoder", avcodec_find_encoder_by_name(name) != nullptr, note});
  };
  auto decoder = [&](const char* name, const char* note) {
    info.features.push_back({name, "decoder", avcodec_find_decoder_by_name(name) != nullptr, note});
  };
  auto input = [&](const char* name, const char* note) {
    info.features.push_back({name, "input device", av_find_input_format(name) != nullptr, note});
  };
  encoder("libx264", "software H.264 recording");
  encoder("h264_nvenc", "GPU H.264 recording (needs the NVIDIA driver at run time)");
  encoder("aac", "audio track in recordings");
  decoder("h264", "software H.264 decoding");
  decoder("h264_cuvid", "GPU H.264 decoding (needs the NVIDIA driver at run time)");
  decoder("mjpeg", "webcams in MJPEG mode");
  input("v4l2", "webcams");
  input("x11grab", "screen capture");
  input("lavfi", "the test pattern source");
  input("pulse", "microphone through PulseAudio");
  input("alsa", "microphone through ALSA");
  return info;
}

}  // namespace sc::media
