#include "app/modes/volumetric/volumetric_view.h"

#include <algorithm>
#include <cmath>
#include <utility>

namespace sc::app {

VolumetricView::VolumetricView(render::VulkanContext& ctx, const std::filesystem::path& source, Clock clock)
    : clock_(clock ? std::move(clock) : Clock([] { return std::chrono::steady_clock::now(); })), player_(ctx, source) {
  home_ = player_.default_camera();
  camera_ = home_;
  scene_size_ = std::max(0.01f, home_.distance * 0.5f);
  last_ = clock_();
}

void VolumetricView::play() {
  if (!loop_ && frame_count() > 1 && frame_ >= frame_count() - 1) seek(0);
  playing_ = true;
}

void VolumetricView::seek(int frame) {
  frame_ = std::clamp(frame, 0, frame_count() - 1);
  clock_s_ = frame_ / fps();
}

namespace {
// Short of +-90 so the view direction never lines up with `up` (look_at would
// lose its right vector and the picture would flip).
constexpr float kMaxPitch = 89.0f;
}  // namespace

void VolumetricView::orbit(float dx, float dy) {
  camera_.yaw_degrees += dx * 0.3f;
  camera_.pitch_degrees = std::clamp(camera_.pitch_degrees + dy * 0.3f, -kMaxPitch, kMaxPitch);
}

void VolumetricView::look(float dx, float dy) {
  if (!std::isfinite(dx) || !std::isfinite(dy)) return;
  // The view direction is minus the orbit offset: the offset's yaw, the
  // opposite pitch. Turn it there, then move the target so the eye stays put.
  // Raising yaw turns the view left (towards -right), raising pitch tilts it down.
  constexpr float kDegreesPerPixel = 0.2f;
  const auto eye = camera_.eye();
  camera_.yaw_degrees = std::remainder(camera_.yaw_degrees - dx * kDegreesPerPixel, 360.0f);
  camera_.pitch_degrees = std::clamp(camera_.pitch_degrees + dy * kDegreesPerPixel, -kMaxPitch, kMaxPitch);
  camera_.target = {0, 0, 0};
  const auto offset = camera_.eye();  // around a zero target: the eye's offset itself
  for (int i = 0; i < 3; ++i) camera_.target[i] = eye[i] - offset[i];
}

void VolumetricView::zoom(float steps) {
  camera_.distance = std::clamp(camera_.distance * std::pow(0.9f, steps), 0.01f * scene_size_, 100.0f * scene_size_);
}

void VolumetricView::fly(float forward, float right, float up) {
  // Move eye and target together along the view axes.
  const auto eye = camera_.eye();
  std::array<float, 3> f{camera_.target[0] - eye[0], camera_.target[1] - eye[1], camera_.target[2] - eye[2]};
  float l = std::sqrt(f[0] * f[0] + f[1] * f[1] + f[2] * f[2]);
  for (auto& x : f) x /= std::max(l, 1e-6f);
  const auto& u = camera_.up;
  std::array<float, 3> r{f[1] * u[2] - f[2] * u[1], f[2] * u[0] - f[0] * u[2], f[0] * u[1] - f[1] * u[0]};
  for (int i = 0; i < 3; ++i) camera_.target[i] += scene_size_ * (forward * f[i] + right * r[i] + up * u[i]);
}

void VolumetricView::reset_camera() { camera_ = home_; }

render::SplatStats VolumetricView::render(std::uint32_t width, std::uint32_t height) {
  const auto now = clock_();
  const double dt = std::chrono::duration<double>(now - last_).count();
  last_ = now;
  if (playing_) {
    clock_s_ += std::min(dt, 0.25);  // a stall does not skip half the clip
    int f = int(clock_s_ * fps());
    if (f >= frame_count()) {
      if (loop_) {
        clock_s_ = std::fmod(clock_s_, frame_count() / fps());
        f = int(clock_s_ * fps()) % frame_count();
      } else {
        f = frame_count() - 1;
        playing_ = false;
      }
    }
    frame_ = f;
  }
  const auto t0 = std::chrono::steady_clock::now();
  if (player_.loaded() != frame_) {
    player_.load(frame_);
    load_ms_ = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  }
  return player_.renderer().render(camera_.camera(width, height), {0.05f, 0.05f, 0.07f});
}

}  // namespace sc::app
