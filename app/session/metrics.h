#pragma once
// Rates and timings for the HUD and `--stats`: each pipeline stage counts its
// items and the time it spent; rates are measured over a sliding window.
#include <chrono>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>

namespace sc::app {

class StageMeter {
 public:
  using Clock = std::chrono::steady_clock;

  explicit StageMeter(std::string name, std::chrono::milliseconds window = std::chrono::milliseconds(1000))
      : name_(std::move(name)), window_(window) {}

  // One item done, which took busy_s of this stage's time.
  void tick(double busy_s = 0, Clock::time_point now = Clock::now()) {
    std::lock_guard lock(mutex_);
    events_.push_back({now, busy_s});
    ++total_;
    trim(now);
  }

  double fps(Clock::time_point now = Clock::now()) const {
    std::lock_guard lock(mutex_);
    const_cast<StageMeter*>(this)->trim(now);
    if (events_.size() < 2) return 0;
    double span = std::chrono::duration<double>(now - events_.front().at).count();
    return span > 0 ? double(events_.size()) / std::max(span, 0.25) : 0;
  }

  double mean_busy_ms() const {
    std::lock_guard lock(mutex_);
    if (events_.empty()) return 0;
    double sum = 0;
    for (auto& e : events_) sum += e.busy_s;
    return 1000.0 * sum / double(events_.size());
  }

  std::uint64_t total() const {
    std::lock_guard lock(mutex_);
    return total_;
  }
  const std::string& name() const { return name_; }

 private:
  struct Event {
    Clock::time_point at;
    double busy_s;
  };
  void trim(Clock::time_point now) {
    while (!events_.empty() && now - events_.front().at > window_) events_.pop_front();
  }

  std::string name_;
  std::chrono::milliseconds window_;
  mutable std::mutex mutex_;
  std::deque<Event> events_;
  std::uint64_t total_ = 0;
};

// An exponential moving average (for latency), thread-safe.
class Smoothed {
 public:
  void add(double v) {
    std::lock_guard lock(mutex_);
    value_ = has_ ? value_ * 0.9 + v * 0.1 : v;
    has_ = true;
  }
  double value() const {
    std::lock_guard lock(mutex_);
    return value_;
  }

 private:
  mutable std::mutex mutex_;
  double value_ = 0;
  bool has_ = false;
};

}  // namespace sc::app
