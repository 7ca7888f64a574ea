#pragma once
// The volumetric mode without Qt: playback state (play, pause, scrub, loop at
// the sequence's frame rate) and an orbit/fly/look camera driven by plain
// input calls, over a V3Player. The GUI forwards mouse and keys and asks for a
// frame each vsync.
#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>

#include "app/modes/volumetric/v3_player.h"

namespace sc::app {

class VolumetricView {
 public:
  // Where playback time comes from: the steady clock unless a test drives it.
  using Clock = std::function<std::chrono::steady_clock::time_point()>;
  // `source`: a V^3 sequence folder, or a .ply / .splat still scene.
  VolumetricView(render::VulkanContext& ctx, const std::filesystem::path& source, Clock clock = {});

  // Playback
  // Play; from the start when a clip that does not loop has played to its end
  // (what a media player's play button does).
  void play();
  void pause() { playing_ = false; }
  bool playing() const { return playing_; }
  void set_loop(bool loop) { loop_ = loop; }
  bool loop() const { return loop_; }
  void seek(int frame);
  int frame() const { return frame_; }
  int frame_count() const { return player_.frame_count(); }
  double fps() const { return player_.fps(); }

  // Camera: orbit (drag rotates the eye around the target, wheel zooms), look
  // (drag turns the view around the eye: the target moves, the eye stays) and
  // fly (eye and target move along the view direction, its right and up).
  void orbit(float dx_pixels, float dy_pixels);
  // +dx turns right, +dy looks down; pitch stops short of straight up/down.
  void look(float dx_pixels, float dy_pixels);
  void zoom(float wheel_steps);
  void fly(float forward, float right, float up);  // in units of the scene size
  void reset_camera();
  const OrbitCamera& camera() const { return camera_; }
  std::array<float, 3> eye() const { return camera_.eye(); }
  std::array<float, 3> target() const { return camera_.target; }
  // The length fly() moves per unit.
  float scene_size() const { return scene_size_; }

  // Advances the clock, decodes/de-quantises when the frame changed, renders
  // at width x height. The picture is in renderer().output_rgba().
  render::SplatStats render(std::uint32_t width, std::uint32_t height);
  render::SplatRenderer& renderer() { return player_.renderer(); }
  // The frame on the GPU (what the last render() drew).
  int loaded_frame() const { return player_.loaded(); }
  double load_ms() const { return load_ms_; }

 private:
  Clock clock_;
  V3Player player_;
  OrbitCamera camera_, home_;
  float scene_size_ = 1;
  bool playing_ = true;
  bool loop_ = true;
  int frame_ = 0;
  double clock_s_ = 0;  // playback position
  std::chrono::steady_clock::time_point last_{};
  double load_ms_ = 0;
};

}  // namespace sc::app
