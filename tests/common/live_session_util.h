#pragma once
// What the live-session tests share: comparing two frames' pixels, and
// waiting (bounded) for the session to show new frames.
#include <chrono>
#include <cstdint>
#include <cstring>
#include <thread>

#include "app/session/live_session.h"
#include "media/frame.h"

namespace sc::test {

inline bool same_pixels(const media::Frame& a, const media::Frame& b) {
  if (a.width != b.width || a.height != b.height) return false;
  for (int y = 0; y < a.height; ++y) {
    if (std::memcmp(a.row(y), b.row(y), static_cast<std::size_t>(a.width) * 4) != 0) return false;
  }
  return true;
}

// True once `count` new frames were shown, within about four seconds.
inline bool wait_for_frames(app::LiveSession& s, app::DisplayFrames& f, std::uint64_t* seq, int count) {
  for (int i = 0; i < 400 && count > 0; ++i) {
    if (s.latest(f, seq)) --count;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return count == 0;
}

}  // namespace sc::test
