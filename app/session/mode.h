#pragma once
// What the live session runs between its sources and its sinks: the active
// mode. A mode may consume any of the session's streams (video frames, audio,
// text such as questions and prompts) and may produce any of them; every item
// carries its stream time (pts_us) and a steady-clock capture time.
//
//   img2img       video -> video
//   talking head  audio (+ a portrait) -> video + audio
//   video QA      video + text -> video (the picture passes through) + text
//
// No mode is passthrough: the source's video goes to the viewport and the
// recorder, the microphone's audio to the recorder. A mode that does not
// consume audio leaves the microphone going to the recorder as well; one that
// consumes audio produces the audio that is recorded (in sync with its video).
// Volumetric playback is not a session mode: its picture is rendered on the
// viewport's own GPU device (see docs/design.md, "Modes").
#include <chrono>
#include <cstdint>
#include <string>

#include "media/audio.h"
#include "media/frame.h"

namespace sc::app {

// A text item of the session: a question or prompt going in, an answer
// (streamed token by token), a status line or an error coming out.
struct TextEvent {
  enum class Kind { kQuestion, kPrompt, kAnswer, kStatus };
  Kind kind = Kind::kStatus;
  std::string text;
  // One id per question and its answer, so a UI can join streamed pieces.
  std::uint64_t id = 0;
  bool final = true;        // false: more pieces of the same answer follow
  std::int64_t pts_us = 0;  // stream time the item refers to (e.g. the frame a question was asked at)
  std::chrono::steady_clock::time_point capture_time{};  // when it was made (stamped by the session if left empty)
};

// Where a mode's products go; the session implements it. Any call may be
// made any number of times per input (none while a model warms up). Calls
// come from the session's worker thread only.
class ModeOutput {
 public:
  virtual ~ModeOutput() = default;
  virtual void video(media::Frame frame) = 0;
  virtual void audio(media::AudioChunk chunk) = 0;
  virtual void text(TextEvent event) = 0;
};

class Mode {
 public:
  struct Streams {
    bool video = true;   // takes the source's frames (false: it makes the picture; the source's is not shown)
    bool audio = false;  // takes the microphone / audio file (and then makes the recorded audio)
    bool text = false;   // takes questions and prompts
  };

  virtual ~Mode() = default;
  virtual std::string name() const = 0;
  virtual Streams consumes() const { return {}; }
  // The rate of the pictures it makes when that is its own (a talking head
  // makes 25 fps whatever the camera does); 0: one picture per source frame.
  // Recordings are timed at this rate.
  virtual double output_fps() const { return 0; }
  // Run on the session's worker thread, one at a time, in arrival order per
  // stream. They throw sc::Error; the session then reports it and falls back
  // to passthrough, so the stream never dies.
  virtual void on_video(const media::Frame& frame, ModeOutput& out) { out.video(frame); }
  virtual void on_audio(const media::AudioChunk& chunk, ModeOutput& out) { out.audio(chunk); }
  virtual void on_text(const TextEvent& event, ModeOutput& out) { (void)event, (void)out; }
};

}  // namespace sc::app
