#pragma once
// A 3D Gaussian scene in the renderer's terms (activations applied): what the
// .ply / .splat loaders produce, the V^3 decoder fills, and the splat
// renderer uploads.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace sc::render {

struct GaussianCloud {
  int sh_degree = 0;             // 0..3; (sh_degree + 1)^2 coefficients per colour channel
  std::vector<float> positions;  // 3 per Gaussian: x y z (world)
  std::vector<float> scales;     // 3 per Gaussian: standard deviations (exp of the stored log-scale)
  std::vector<float> rotations;  // 4 per Gaussian: unit quaternion w x y z
  std::vector<float> opacities;  // 1 per Gaussian: in [0, 1] (sigmoid of the stored logit)
  std::vector<float> sh;         // per Gaussian, per coefficient, R G B: [n][coef][3]

  std::size_t size() const { return opacities.size(); }
  int sh_coefficients() const { return (sh_degree + 1) * (sh_degree + 1); }
  void resize(std::size_t n, int degree);
  // Throws sc::Error naming `what` if the arrays disagree in size or hold NaN/inf.
  void validate(const std::string& what) const;
};

// SH band 0 constant: colour = sh0 * kShC0 + 0.5.
inline constexpr float kShC0 = 0.28209479177387814f;

// Standard 3DGS .ply (binary little-endian or ASCII): x y z, f_dc_0..2,
// f_rest_* (channel-major), opacity (logit), scale_0..2 (log), rot_0..3 (w x y z).
GaussianCloud load_ply(const std::string& path);
GaussianCloud parse_ply(const std::uint8_t* data, std::size_t size, const std::string& name);
// Writes the same layout (binary little-endian), inverting the activations.
void save_ply(const GaussianCloud& cloud, const std::string& path);

// antimatter15 .splat: 32 bytes per Gaussian (position f32x3, scale f32x3
// linear, colour RGBA u8, rotation u8x4 = q*128+128, w x y z). Degree 0 only.
GaussianCloud load_splat(const std::string& path);
GaussianCloud parse_splat(const std::uint8_t* data, std::size_t size, const std::string& name);

// By extension: .ply or .splat.
GaussianCloud load_gaussians(const std::string& path);

}  // namespace sc::render
