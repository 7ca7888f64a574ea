#include "engine/models/ditto/keypoints.h"

#include <algorithm>
#include <cmath>

#include "base/error.h"

namespace sc::engine::ditto {

float pose_degrees(std::span<const float> logits) {
  if (logits.size() != static_cast<std::size_t>(kPoseBins)) {
    throw Error("pose_degrees: {} logits; the motion extractor gives {}", logits.size(), kPoseBins);
  }
  const float top = *std::max_element(logits.begin(), logits.end());
  double sum = 0.0, weighted = 0.0;
  for (std::size_t i = 0; i < logits.size(); ++i) {
    const double e = std::exp(static_cast<double>(logits[i]) - top);
    sum += e;
    weighted += e * static_cast<double>(i);
  }
  return static_cast<float>(weighted / sum * 3.0 - 97.5);
}

Mat3 rotation_matrix(float pitch_degrees, float yaw_degrees, float roll_degrees) {
  const double k = M_PI / 180.0;
  const double x = pitch_degrees * k, y = yaw_degrees * k, z = roll_degrees * k;
  const double cx = std::cos(x), sx = std::sin(x), cy = std::cos(y), sy = std::sin(y), cz = std::cos(z),
               sz = std::sin(z);
  const double rx[3][3] = {{1, 0, 0}, {0, cx, -sx}, {0, sx, cx}};
  const double ry[3][3] = {{cy, 0, sy}, {0, 1, 0}, {-sy, 0, cy}};
  const double rz[3][3] = {{cz, -sz, 0}, {sz, cz, 0}, {0, 0, 1}};
  double zy[3][3] = {}, r[3][3] = {};
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 3; ++j)
      for (int l = 0; l < 3; ++l) zy[i][j] += rz[i][l] * ry[l][j];
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 3; ++j)
      for (int l = 0; l < 3; ++l) r[i][j] += zy[i][l] * rx[l][j];
  Mat3 out{};
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 3; ++j)
      out[static_cast<std::size_t>(i)][static_cast<std::size_t>(j)] = static_cast<float>(r[j][i]);
  return out;
}

Keypoints transform_keypoints(const Keypoints& canonical, const Motion& m) {
  const Mat3 r = rotation_matrix(m.pitch, m.yaw, m.roll);
  Keypoints out{};
  for (std::size_t p = 0; p < canonical.size(); ++p) {
    for (std::size_t j = 0; j < 3; ++j) {
      float v = 0.0f;
      for (std::size_t i = 0; i < 3; ++i) v += canonical[p][i] * r[i][j];
      v = (v + m.exp[p * 3 + j]) * m.scale;
      if (j < 2) v += m.t[j];
      out[p][j] = v;
    }
  }
  return out;
}

}  // namespace sc::engine::ditto
