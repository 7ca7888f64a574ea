#pragma once
// Small internal helpers shared by the media sources (not a public header);
// opening inputs and decoding their streams is media/input_context.h.
#include <string>

namespace sc::media::detail {

// av_strerror as a std::string.
std::string av_error_text(int err);

// Registers libavdevice once per process (v4l2, x11grab, lavfi, pulse, alsa).
void ensure_devices_registered();

}  // namespace sc::media::detail
