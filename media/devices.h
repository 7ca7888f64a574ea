#pragma once
// What can be captured on this machine: webcams with their modes, screens,
// microphones. Used by `streamcanvas-cli sources` and the GUI's Source dock.
#include <string>
#include <vector>

namespace sc::media {

struct CameraMode {
  std::string format;  // "mjpeg", "yuyv", ...
  int width = 0;
  int height = 0;
  std::vector<double> fps;
};

struct Camera {
  std::string path;  // /dev/videoN
  std::string name;  // the driver's card name
  std::vector<CameraMode> modes;
  std::string source() const { return "v4l2:" + path; }
};

struct Screen {
  std::string display;  // ":0"
  int width = 0, height = 0;
  std::string source() const { return "screen:" + display; }
};

struct Microphone {
  std::string source;  // e.g. "pulse:alsa_input.usb-..."
  std::string description;
};

std::vector<Camera> list_cameras();
std::vector<Screen> list_screens();
std::vector<Microphone> list_microphones();

}  // namespace sc::media
