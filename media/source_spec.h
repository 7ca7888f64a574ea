#pragma once
// A source is named by one string, used the same way by the CLI and the GUI:
//   test | test:WxH@FPS[?pacing=fast]       lavfi testsrc2 (real time unless fast)
//   v4l2:/dev/videoN[?size=WxH&fps=N&format=mjpeg|yuyv]
//   screen[:DISPLAY]                        x11grab
//   file:PATH[?loop=1&pacing=realtime|fast] or a plain path
#include <map>
#include <string>

namespace sc::media {

enum class SourceKind { kTest, kV4l2, kScreen, kFile };
enum class Pacing { kRealtime, kFast };

struct SourceSpec {
  SourceKind kind = SourceKind::kTest;
  std::string text;                            // the spec as given
  std::string url;                             // what avformat_open_input gets
  std::string input_format;                    // "lavfi", "v4l2", "x11grab" or "" (probe)
  std::map<std::string, std::string> options;  // demuxer options
  int width = 0, height = 0;                   // requested size, 0 = source's own
  double fps = 0;                              // requested rate, 0 = source's own
  bool loop = false;
  Pacing pacing = Pacing::kFast;
  bool live() const { return kind != SourceKind::kFile; }
};

// Parses a source string. Throws sc::Error naming the spec and what is wrong.
// default_pacing applies to files when the spec does not say (GUI: realtime,
// CLI: fast).
SourceSpec parse_source_spec(const std::string& text, Pacing default_pacing = Pacing::kFast);

const char* to_string(SourceKind kind);

}  // namespace sc::media
