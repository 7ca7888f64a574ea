#include "base/error.h"

#include <gtest/gtest.h>

#include <cerrno>

namespace sc {
namespace {

TEST(Error, FormatsItsMessage) {
  Error e("cannot open {}: {}", "clip.mp4", 42);
  EXPECT_STREQ(e.what(), "cannot open clip.mp4: 42");
}

TEST(Error, CheckThrowsOnlyWhenFalse) {
  EXPECT_NO_THROW(check(true, "unused {}", 1));
  try {
    check(false, "tensor {} has shape {}", "w", "[3]");
    FAIL() << "check(false) did not throw";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "tensor w has shape [3]");
  }
}

TEST(Error, ErrnoTextNamesTheError) {
  std::string t = errno_text(ENOENT);
  EXPECT_NE(t.find("No such file"), std::string::npos) << t;
  EXPECT_NE(t.find("errno 2"), std::string::npos) << t;
}

}  // namespace
}  // namespace sc
