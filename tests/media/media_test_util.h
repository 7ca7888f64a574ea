#pragma once
// Helpers shared by the media tests: temp paths and clips made on the spot.
#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "media/frame.h"
#include "media/source_spec.h"
#include "media/video_reader.h"
#include "media/video_writer.h"

namespace sc::media::test {

inline std::string tmp_path(const std::string& name) {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  return std::string(SC_TEST_TMP_DIR) + "/" + info->test_suite_name() + "_" + info->name() + "_" + name;
}

// A frame whose colour encodes its index: left half red = 20 * i, right half blue.
inline Frame make_index_frame(int w, int h, int i) {
  Frame f = Frame::make_rgba(w, h);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      std::uint8_t* p = f.row(y) + x * 4;
      p[0] = x < w / 2 ? static_cast<std::uint8_t>((i * 20) % 256) : 0;
      p[1] = 64;
      p[2] = x < w / 2 ? 0 : 200;
      p[3] = 255;
    }
  return f;
}

// Writes n index frames at fps to path.
inline void write_index_clip(const std::string& path, int w, int h, int n, double fps, int crf = 18) {
  WriterOptions o;
  o.width = w;
  o.height = h;
  o.fps = fps;
  o.crf = crf;
  VideoWriter writer(path, o);
  for (int i = 0; i < n; ++i) writer.write(make_index_frame(w, h, i));
  writer.close();
}

// Writes n 64x48 index frames at fps with a 16 kHz mono sine of tone_hz
// (amplitude 0.5), one frame's worth of audio after each frame.
inline void write_tone_clip(const std::string& path, int n, double fps, float tone_hz) {
  WriterOptions o;
  o.width = 64;
  o.height = 48;
  o.fps = fps;
  o.audio_sample_rate = 16000;
  o.audio_channels = 1;
  VideoWriter writer(path, o);
  const int per_frame = static_cast<int>(16000 / fps);
  for (int i = 0; i < n; ++i) {
    writer.write(make_index_frame(64, 48, i));
    AudioChunk a;
    a.sample_rate = 16000;
    a.channels = 1;
    a.samples.resize(per_frame);
    for (int s = 0; s < per_frame; ++s)
      a.samples[s] = 0.5f * std::sin(2 * 3.14159265f * tone_hz * (i * per_frame + s) / 16000);
    writer.write_audio(a);
  }
  writer.close();
}

inline int count_frames(const std::string& path) {
  VideoReader r(parse_source_spec(path));
  Frame f;
  int n = 0;
  while (r.read(f)) ++n;
  return n;
}

}  // namespace sc::media::test
