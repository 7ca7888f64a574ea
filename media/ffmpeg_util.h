#pragma once
// Small internal helpers shared by the media sources (not a public header).
#include <atomic>
#include <string>

struct AVFormatContext;
struct AVCodecContext;
struct AVPacket;
struct AVFrame;

namespace sc::media::detail {

// The demux -> decode loop both readers run: feeds packets of `stream` to the
// decoder until it gives a frame (true) or the stream ends (false). Corrupt
// packets are skipped; other failures throw sc::Error prefixed with `label`.
struct DecodePump {
  AVFormatContext* fmt = nullptr;
  AVCodecContext* dec = nullptr;
  AVPacket* pkt = nullptr;
  AVFrame* frame = nullptr;
  int stream = -1;
  bool draining = false;  // end of input reached; the decoder is being flushed
};
bool decode_next(DecodePump& p, const std::atomic<bool>& interrupted, const std::string& label);

// av_strerror as a std::string.
std::string av_error_text(int err);

// Registers libavdevice once per process (v4l2, x11grab, lavfi, pulse, alsa).
void ensure_devices_registered();

}  // namespace sc::media::detail
