#pragma once
// What the live session's worker does to each frame: the active mode.
// Passthrough is no processor; img2img (Img2ImgEngine) is one; talking-head
// and video Q&A modes plug in the same way.
#include <optional>
#include <string>

#include "media/frame.h"

namespace sc::app {

class FrameProcessor {
 public:
  virtual ~FrameProcessor() = default;
  virtual std::string name() const = 0;
  // The output for one RGBA input frame, or nothing yet (a model warming up).
  // Runs on the session's worker thread. Throws sc::Error; the session then
  // reports it and falls back to passthrough, so the stream never dies.
  virtual std::optional<media::Frame> process(const media::Frame& input) = 0;
};

}  // namespace sc::app
