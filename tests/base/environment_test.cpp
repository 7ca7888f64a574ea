#include "base/environment.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

namespace sc {
namespace {

// Restores an environment variable when the test ends.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old, had_ = true;
    if (value)
      setenv(name, value, 1);
    else
      unsetenv(name);
  }
  ~ScopedEnv() {
    if (had_)
      setenv(name_.c_str(), old_.c_str(), 1);
    else
      unsetenv(name_.c_str());
  }

 private:
  std::string name_, old_;
  bool had_ = false;
};

TEST(Display, NoVariablesMeansNoDisplay) {
  ScopedEnv a("DISPLAY", nullptr), b("WAYLAND_DISPLAY", nullptr);
  DisplayInfo d = probe_display();
  EXPECT_FALSE(d.available);
  EXPECT_NE(d.reason.find("DISPLAY"), std::string::npos) << d.reason;
}

TEST(Display, UnreachableX11ServerIsReported) {
  ScopedEnv a("DISPLAY", ":987"), b("WAYLAND_DISPLAY", nullptr);
  DisplayInfo d = probe_display();
  EXPECT_FALSE(d.available);
  EXPECT_NE(d.reason.find(":987"), std::string::npos) << d.reason;
}

TEST(Display, MissingWaylandSocketIsReported) {
  ScopedEnv a("DISPLAY", nullptr), b("WAYLAND_DISPLAY", "/nonexistent/wayland-9");
  DisplayInfo d = probe_display();
  EXPECT_FALSE(d.available);
  EXPECT_NE(d.reason.find("wayland-9"), std::string::npos) << d.reason;
}

}  // namespace
}  // namespace sc
