#pragma once
// sc::Error is the one exception type of the project. Its message is written for
// the user: what failed, which file or device, and what to do about it.
#include <fmt/format.h>

#include <stdexcept>
#include <string>

namespace sc {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}

  template <typename... Args>
  explicit Error(fmt::format_string<Args...> format, Args&&... args)
      : std::runtime_error(fmt::format(format, std::forward<Args>(args)...)) {}
};

// Throws sc::Error with the formatted message when cond is false. For checks of
// input and environment, not for programming errors (those are assert()).
template <typename... Args>
inline void check(bool cond, fmt::format_string<Args...> format, Args&&... args) {
  if (!cond) throw Error(fmt::format(format, std::forward<Args>(args)...));
}

// The text of errno as "No such file or directory (errno 2)".
std::string errno_text(int err);

}  // namespace sc
