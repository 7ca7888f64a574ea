#pragma once
// Audio: decoded and resampled to float samples (interleaved), with
// timestamps on the same microsecond clock as video frames.
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace sc::media {

struct AudioChunk {
  std::vector<float> samples;  // interleaved, channels * frames
  int sample_rate = 16000;
  int channels = 1;
  std::int64_t pts_us = 0;  // time of the first sample
  std::chrono::steady_clock::time_point capture_time{};
  std::size_t frames() const { return channels ? samples.size() / channels : 0; }
};

struct AudioFormat {
  int sample_rate = 16000;  // what the talking-head mode consumes
  int channels = 1;
};

// An audio source string:
//   mic                 the default microphone (PulseAudio, else ALSA)
//   pulse[:SOURCE]      a PulseAudio source
//   alsa[:DEVICE]       an ALSA capture device, e.g. alsa:hw:1
//   tone[:HZ]           a sine test tone (lavfi), 440 Hz by default
//   file:PATH or PATH   the audio track of a media file
struct AudioSpec {
  std::string text;
  std::string url;
  std::string input_format;  // "pulse", "alsa", "lavfi" or "" (probe)
  bool live = false;         // a capture device (delivers in real time, never ends)
};
AudioSpec parse_audio_spec(const std::string& text);

struct AudioInfo {
  int input_sample_rate = 0;
  int input_channels = 0;
  std::string codec;
  double duration_s = 0;  // 0 when unknown
};

class AudioReader {
 public:
  // Throws sc::Error naming the source when it cannot be opened or has no audio.
  AudioReader(const AudioSpec& spec, const AudioFormat& out = {});
  ~AudioReader();
  AudioReader(const AudioReader&) = delete;
  AudioReader& operator=(const AudioReader&) = delete;

  const AudioInfo& info() const;
  const AudioFormat& format() const;
  // The next chunk (whatever one decoded packet gives, resampled). False at end.
  bool read(AudioChunk& out);
  void interrupt();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace sc::media
