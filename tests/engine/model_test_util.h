#pragma once
// Shared by the model tests: fixture paths and the relative L2 error the
// golden tests are judged by.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <string>

#include "engine/tensor.h"

namespace sc::engine::test {

inline std::filesystem::path golden_dir() { return std::filesystem::path(SC_SOURCE_DIR) / "tests" / "golden"; }
inline std::filesystem::path fixture_dir(const std::string& name) { return golden_dir() / "fixtures" / name; }
inline std::filesystem::path manifest_path(const std::string& name) {
  return golden_dir() / "manifests" / (name + ".txt");
}
inline std::filesystem::path reference_dir() {
  // Copies of ../shared/reference (the published configs), so a clean clone
  // runs the manifest tests.
  return golden_dir() / "manifests" / "config";
}

// ||got - want|| / ||want||; shapes must match (a mismatch fails the test).
inline double relative_l2(const Tensor& got, const Tensor& want) {
  EXPECT_EQ(got.shape(), want.shape()) << got.describe() << " vs " << want.describe();
  if (!(got.shape() == want.shape())) return INFINITY;
  const float* g = got.data<float>();
  const float* w = want.data<float>();
  double num = 0, den = 0;
  for (std::int64_t i = 0; i < got.numel(); ++i) {
    const double d = static_cast<double>(g[i]) - w[i];
    num += d * d;
    den += static_cast<double>(w[i]) * w[i];
  }
  return std::sqrt(num / std::max(den, 1e-30));
}

inline constexpr double kModelTolerance = 1e-4;

}  // namespace sc::engine::test
