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

TEST(Memory, HeapInUseFollowsAnAllocationAndItsRelease) {
  const long long before = heap_bytes_in_use();
  auto* block = static_cast<volatile char*>(std::malloc(32 << 20));
  ASSERT_NE(block, nullptr);
  block[0] = 1;  // touched, so it is not optimised away
  const long long during = heap_bytes_in_use();
  std::free(const_cast<char*>(block));
  const long long after = heap_bytes_in_use();
  EXPECT_GE(during - before, 32ll << 20);
  EXPECT_LT(after - before, 1ll << 20);
  EXPECT_GT(resident_memory_kib(), 0);
}

}  // namespace
}  // namespace sc
