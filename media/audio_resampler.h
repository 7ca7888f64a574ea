#pragma once
// A streaming resampler for audio already decoded (libswresample): the
// session's 48 kHz mono stream to what a mode consumes (16 kHz mono for the
// talking head's HuBERT), chunk by chunk, keeping the filter's state between
// chunks so the output is the same however the input was cut.
#include <memory>

#include "media/audio.h"

namespace sc::media {

class AudioResampler {
 public:
  // Throws sc::Error for a format libswresample cannot convert.
  AudioResampler(const AudioFormat& in, const AudioFormat& out);
  ~AudioResampler();
  AudioResampler(const AudioResampler&) = delete;
  AudioResampler& operator=(const AudioResampler&) = delete;

  // The converted samples of `in` (which must be in the input format) that
  // the filter can give now; pts_us continues the output's clock from the
  // first chunk's time.
  AudioChunk convert(const AudioChunk& in);
  // What the filter still holds, at the end of a stream.
  AudioChunk flush();
  // Forgets the stream (a new one starts with the next chunk).
  void reset();

  const AudioFormat& input_format() const;
  const AudioFormat& output_format() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace sc::media
