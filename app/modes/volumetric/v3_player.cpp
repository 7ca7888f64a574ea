#include "app/modes/volumetric/v3_player.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "base/error.h"
#include "render/context.h"

namespace sc::app {
namespace {

constexpr float kPi = 3.14159265358979f;

}  // namespace

std::array<float, 3> OrbitCamera::eye() const {
  // Orbit in the plane perpendicular to `up`, with pitch lifting towards up.
  const float yaw = yaw_degrees * kPi / 180, pitch = pitch_degrees * kPi / 180;
  // A basis around up: a = some vector not parallel to up.
  std::array<float, 3> u = up;
  std::array<float, 3> a = std::fabs(u[2]) < 0.9f ? std::array<float, 3>{0, 0, 1} : std::array<float, 3>{1, 0, 0};
  // b1 = a - (a.u)u, normalised; b2 = u x b1.
  float d = a[0] * u[0] + a[1] * u[1] + a[2] * u[2];
  std::array<float, 3> b1{a[0] - d * u[0], a[1] - d * u[1], a[2] - d * u[2]};
  float l = std::sqrt(b1[0] * b1[0] + b1[1] * b1[1] + b1[2] * b1[2]);
  for (auto& x : b1) x /= l;
  std::array<float, 3> b2{u[1] * b1[2] - u[2] * b1[1], u[2] * b1[0] - u[0] * b1[2], u[0] * b1[1] - u[1] * b1[0]};
  std::array<float, 3> e{};
  for (int i = 0; i < 3; ++i)
    e[i] = target[i] +
           distance * (std::cos(pitch) * (std::cos(yaw) * b1[i] + std::sin(yaw) * b2[i]) + std::sin(pitch) * u[i]);
  return e;
}

render::SplatCamera OrbitCamera::camera(std::uint32_t width, std::uint32_t height) const {
  return render::look_at_camera(eye(), target, up, fov_y_degrees, width, height);
}

OrbitCamera OrbitCamera::framing(const std::array<float, 3>& centre, float radius) {
  OrbitCamera c;
  c.target = centre;
  c.distance = std::max(0.1f, radius) / std::sin(0.5f * c.fov_y_degrees * kPi / 180) * 1.05f;
  return c;
}

V3Player::V3Player(render::VulkanContext& ctx, const std::filesystem::path& source, Dequantize where)
    : renderer_(ctx), dequantizer_(ctx) {
  // On a software Vulkan device the "GPU" is this CPU, and the plain C++ loop
  // beats the shader there (measured: tests/bench/volumetric).
  cpu_dequantize_ = where == Dequantize::kCpu || (where == Dequantize::kAuto && ctx.device_info().software);
  // A still scene by its extension (so a mistyped scene path is named as a
  // missing file, not as a sequence folder); anything else is a sequence.
  std::string ext = source.extension().string();
  for (char& ch : ext) ch = char(std::tolower(static_cast<unsigned char>(ch)));
  std::error_code ec;
  if (ext != ".ply" && ext != ".splat" && std::filesystem::is_regular_file(source, ec)) {
    throw Error("{}: unknown Gaussian file type (a still scene is a .ply or .splat file; a sequence is a V^3 folder)",
                source.string());
  }
  if (ext != ".ply" && ext != ".splat") {
    sequence_ = std::make_unique<V3Sequence>(V3Sequence::open(source));
    decoder_ = std::make_unique<V3Decoder>(*sequence_);
    return;
  }
  // A still scene, loaded once (load_gaussians names a missing or bad file).
  const render::GaussianCloud cloud = render::load_gaussians(source.string());
  if (cloud.size() == 0) throw Error("{}: the scene holds no Gaussians", source.string());
  // The camera frames the 2nd to 98th percentile on each axis: real captures
  // carry a few far "floaters" that a min/max box would frame instead of the
  // subject. (Small scenes use the whole range.)
  const std::size_t n = cloud.size();
  std::vector<float> axis(n);
  for (int a = 0; a < 3; ++a) {
    for (std::size_t i = 0; i < n; ++i) axis[i] = cloud.positions[3 * i + std::size_t(a)];
    const std::size_t cut = n >= 100 ? n / 50 : 0;
    std::nth_element(axis.begin(), axis.begin() + std::ptrdiff_t(cut), axis.end());
    const float lo = axis[cut];
    std::nth_element(axis.begin(), axis.begin() + std::ptrdiff_t(n - 1 - cut), axis.end());
    const float hi = axis[n - 1 - cut];
    still_bounds_[std::size_t(2 * a)] = lo;
    still_bounds_[std::size_t(2 * a + 1)] = hi;
  }
  still_count_ = std::uint32_t(cloud.size());
  still_sh_degree_ = cloud.sh_degree;
  renderer_.set_scene(cloud);
  loaded_ = 0;
}

const V3Sequence& V3Player::sequence() const {
  if (!sequence_) throw Error("a still scene has no V^3 sequence");
  return *sequence_;
}

V3Player::~V3Player() = default;

void V3Player::load(int frame) {
  if (frame == loaded_ || !sequence_) return;
  const V3Frame& f = decoder_->decode(frame);
  if (cpu_dequantize_) {
    v3_dequantize(f, cpu_cloud_);
    renderer_.set_scene(cpu_cloud_);
  } else {
    dequantizer_.upload_and_run(renderer_, f.planes.data(), std::uint32_t(sequence_->layout().videos()), f.side,
                                f.count, f.sh_degree, f.minmax.data(), std::uint32_t(f.minmax.size()));
  }
  loaded_ = frame;
}

OrbitCamera V3Player::default_camera() const {
  const float* mm = sequence_ ? sequence_->frame_info(0).minmax.data() : still_bounds_.data();
  std::array<float, 3> centre{};
  float radius = 0;
  for (int a = 0; a < 3; ++a) {
    centre[a] = 0.5f * (mm[2 * a] + mm[2 * a + 1]);
    radius = std::max(radius, 0.5f * (mm[2 * a + 1] - mm[2 * a]));
  }
  return OrbitCamera::framing(centre, radius * 1.3f);
}

}  // namespace sc::app
