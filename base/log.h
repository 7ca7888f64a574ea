#pragma once
// Process-wide logging (spdlog). Modules log through these helpers so the CLI,
// the GUI log dock and tests can all capture the same lines.
#include <spdlog/spdlog.h>

#include <functional>
#include <string>

namespace sc::log {

enum class Level { kDebug, kInfo, kWarn, kError };

// Sets the minimum level printed; SC_LOG_LEVEL=debug|info|warn|error overrides
// the default (info) at start-up.
void set_level(Level level);

// Adds a callback that receives every formatted line (the GUI's log dock).
// Returns an id for remove_sink.
int add_sink(std::function<void(Level, const std::string&)> sink);
void remove_sink(int id);

spdlog::logger& logger();

template <typename... Args>
void debug(fmt::format_string<Args...> f, Args&&... a) {
  logger().debug(f, std::forward<Args>(a)...);
}
template <typename... Args>
void info(fmt::format_string<Args...> f, Args&&... a) {
  logger().info(f, std::forward<Args>(a)...);
}
template <typename... Args>
void warn(fmt::format_string<Args...> f, Args&&... a) {
  logger().warn(f, std::forward<Args>(a)...);
}
template <typename... Args>
void error(fmt::format_string<Args...> f, Args&&... a) {
  logger().error(f, std::forward<Args>(a)...);
}

}  // namespace sc::log
