#pragma once
// The queue between two pipeline stages. Live sources use kLatestWins (a full
// queue drops its oldest item and counts it, so latency stays flat); file
// sources use kBlocking (nothing is dropped, so offline renders are frame-exact).
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>

namespace sc {

enum class QueuePolicy { kBlocking, kLatestWins };

template <typename T>
class BoundedQueue {
 public:
  BoundedQueue(std::size_t capacity, QueuePolicy policy) : capacity_(capacity ? capacity : 1), policy_(policy) {}

  // Returns false when the queue was closed (the item is not queued).
  bool push(T item) {
    std::unique_lock lock(mutex_);
    if (policy_ == QueuePolicy::kBlocking) {
      not_full_.wait(lock, [&] { return closed_ || items_.size() < capacity_; });
    } else if (items_.size() >= capacity_ && !closed_) {
      items_.pop_front();
      ++dropped_;
    }
    if (closed_) return false;
    items_.push_back(std::move(item));
    not_empty_.notify_one();
    return true;
  }

  // Blocks until an item arrives; nullopt once closed and drained.
  std::optional<T> pop() {
    std::unique_lock lock(mutex_);
    not_empty_.wait(lock, [&] { return closed_ || !items_.empty(); });
    if (items_.empty()) return std::nullopt;
    T item = std::move(items_.front());
    items_.pop_front();
    not_full_.notify_one();
    return item;
  }

  // Like pop(), but gives up after timeout (nullopt; check closed()).
  std::optional<T> pop_for(std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex_);
    not_empty_.wait_for(lock, timeout, [&] { return closed_ || !items_.empty(); });
    if (items_.empty()) return std::nullopt;
    T item = std::move(items_.front());
    items_.pop_front();
    not_full_.notify_one();
    return item;
  }

  bool closed() const {
    std::lock_guard lock(mutex_);
    return closed_;
  }

  // No more pushes; pop() drains what is left, then returns nullopt.
  void close() {
    std::lock_guard lock(mutex_);
    closed_ = true;
    not_empty_.notify_all();
    not_full_.notify_all();
  }

  std::size_t size() const {
    std::lock_guard lock(mutex_);
    return items_.size();
  }
  std::uint64_t dropped() const {
    std::lock_guard lock(mutex_);
    return dropped_;
  }

 private:
  const std::size_t capacity_;
  const QueuePolicy policy_;
  mutable std::mutex mutex_;
  std::condition_variable not_empty_, not_full_;
  std::deque<T> items_;
  std::uint64_t dropped_ = 0;
  bool closed_ = false;
};

}  // namespace sc
