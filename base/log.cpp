#include "base/log.h"

#include <spdlog/sinks/base_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>

#include <cstdlib>
#include <map>
#include <mutex>
#include <string_view>

namespace sc::log {
namespace {

Level from_spdlog(spdlog::level::level_enum l) {
  switch (l) {
    case spdlog::level::trace:
    case spdlog::level::debug:
      return Level::kDebug;
    case spdlog::level::info:
      return Level::kInfo;
    case spdlog::level::warn:
      return Level::kWarn;
    default:
      return Level::kError;
  }
}

spdlog::level::level_enum to_spdlog(Level l) {
  switch (l) {
    case Level::kDebug:
      return spdlog::level::debug;
    case Level::kInfo:
      return spdlog::level::info;
    case Level::kWarn:
      return spdlog::level::warn;
    case Level::kError:
      return spdlog::level::err;
  }
  return spdlog::level::info;
}

class CallbackSink final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  int add(std::function<void(Level, const std::string&)> cb) {
    std::lock_guard lock(mutex_);
    callbacks_[next_id_] = std::move(cb);
    return next_id_++;
  }
  void remove(int id) {
    std::lock_guard lock(mutex_);
    callbacks_.erase(id);
  }

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    // Called with base_sink's mutex held; copy under it, no re-entrant logging.
    std::string text(msg.payload.data(), msg.payload.size());
    for (auto& [id, cb] : callbacks_) cb(from_spdlog(msg.level), text);
  }
  void flush_() override {}

 private:
  std::map<int, std::function<void(Level, const std::string&)>> callbacks_;
  int next_id_ = 1;
};

struct State {
  std::shared_ptr<CallbackSink> callbacks = std::make_shared<CallbackSink>();
  std::shared_ptr<spdlog::logger> logger;
  State() {
    auto console = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
    console->set_pattern("%^[%l]%$ %v");
    logger = std::make_shared<spdlog::logger>("streamcanvas", spdlog::sinks_init_list{console, callbacks});
    logger->set_level(spdlog::level::info);
    if (const char* env = std::getenv("SC_LOG_LEVEL")) {
      std::string_view v(env);
      if (v == "debug") logger->set_level(spdlog::level::debug);
      if (v == "info") logger->set_level(spdlog::level::info);
      if (v == "warn") logger->set_level(spdlog::level::warn);
      if (v == "error") logger->set_level(spdlog::level::err);
    }
  }
};

State& state() {
  static State s;
  return s;
}

}  // namespace

void set_level(Level level) { state().logger->set_level(to_spdlog(level)); }
int add_sink(std::function<void(Level, const std::string&)> sink) { return state().callbacks->add(std::move(sink)); }
void remove_sink(int id) { state().callbacks->remove(id); }
spdlog::logger& logger() { return *state().logger; }

}  // namespace sc::log
