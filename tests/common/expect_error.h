#pragma once
// Runs fn and expects an sc::Error whose message contains every fragment.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "base/error.h"

namespace sc::test {

template <typename Fn>
void expect_error(Fn&& fn, const std::vector<std::string>& fragments) {
  try {
    fn();
    FAIL() << "expected an error";
  } catch (const Error& e) {
    const std::string msg = e.what();
    for (const std::string& f : fragments) EXPECT_NE(msg.find(f), std::string::npos) << "'" << f << "' not in: " << msg;
  }
}

// The message of the sc::Error fn throws (a test failure, and "", when it
// throws none).
template <typename Fn>
std::string error_message(Fn&& fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e.what();
  }
  ADD_FAILURE() << "no sc::Error thrown";
  return "";
}

}  // namespace sc::test
