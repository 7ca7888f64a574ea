#include "base/thread_pool.h"

#include <sched.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <memory>
#include <string>

#include "base/error.h"

namespace sc {

namespace {

thread_local bool t_in_region = false;

struct RegionFlag {
  bool saved = t_in_region;
  RegionFlag() { t_in_region = true; }
  ~RegionFlag() { t_in_region = saved; }
};

}  // namespace

ThreadPool::ThreadPool(int threads) {
  if (threads < 1) throw Error("a thread pool needs at least one thread; got {}", threads);
  for (int i = 1; i < threads; ++i) workers_.emplace_back([this] { worker_loop(); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  wake_.notify_all();
  for (std::thread& t : workers_) t.join();
}

bool ThreadPool::in_parallel_region() { return t_in_region; }

void ThreadPool::parallel_for(std::int64_t n, std::int64_t grain,
                              const std::function<void(std::int64_t, std::int64_t)>& fn) {
  if (n <= 0) return;
  grain = std::max<std::int64_t>(grain, 1);
  if (workers_.empty() || t_in_region || n <= grain) {
    RegionFlag flag;
    fn(0, n);
    return;
  }
  std::lock_guard job(job_mutex_);
  // Four chunks per thread balance uneven tasks without much hand-off cost.
  const std::int64_t target = static_cast<std::int64_t>(size()) * 4;
  const std::int64_t chunk = std::max(grain, (n + target - 1) / target);
  {
    std::lock_guard lock(mutex_);
    fn_ = &fn;
    n_ = n;
    chunk_ = chunk;
    next_.store(0);
    error_ = nullptr;
    busy_ = static_cast<int>(workers_.size());
    ++generation_;
  }
  wake_.notify_all();
  {
    RegionFlag flag;
    run_chunks();
  }
  std::unique_lock lock(mutex_);
  done_.wait(lock, [this] { return busy_ == 0; });
  fn_ = nullptr;
  if (error_) {
    std::exception_ptr e = error_;
    error_ = nullptr;
    std::rethrow_exception(e);
  }
}

void ThreadPool::run_chunks() {
  for (;;) {
    const std::int64_t begin = next_.fetch_add(chunk_);
    if (begin >= n_) return;
    const std::int64_t end = std::min(n_, begin + chunk_);
    try {
      (*fn_)(begin, end);
    } catch (...) {
      std::lock_guard lock(mutex_);
      if (!error_) error_ = std::current_exception();
      next_.store(n_);
    }
  }
}

void ThreadPool::worker_loop() {
  t_in_region = true;
  std::uint64_t seen = 0;
  std::unique_lock lock(mutex_);
  for (;;) {
    wake_.wait(lock, [&] { return stop_ || generation_ != seen; });
    if (stop_) return;
    seen = generation_;
    lock.unlock();
    run_chunks();
    lock.lock();
    if (--busy_ == 0) done_.notify_one();
  }
}

namespace {

int default_threads() {
  if (const char* env = std::getenv("SC_NUM_THREADS")) {
    char* end = nullptr;
    const long v = std::strtol(env, &end, 10);
    if (end && *end == '\0' && v >= 1 && v <= 1024) return static_cast<int>(v);
    throw Error("SC_NUM_THREADS='{}' is not a thread count (expected an integer from 1 to 1024)", env);
  }
  // The affinity mask, not the machine: containers and taskset restrict it.
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) == 0) return std::max(1, CPU_COUNT(&set));
  return std::max(1u, std::thread::hardware_concurrency());
}

std::mutex g_pool_mutex;
std::unique_ptr<ThreadPool> g_pool;

}  // namespace

ThreadPool& thread_pool() {
  std::lock_guard lock(g_pool_mutex);
  if (!g_pool) g_pool = std::make_unique<ThreadPool>(default_threads());
  return *g_pool;
}

int num_threads() { return thread_pool().size(); }

void set_num_threads(int threads) {
  auto pool = std::make_unique<ThreadPool>(threads);
  std::lock_guard lock(g_pool_mutex);
  g_pool = std::move(pool);
}

void parallel_for(std::int64_t n, std::int64_t grain, const std::function<void(std::int64_t, std::int64_t)>& fn) {
  thread_pool().parallel_for(n, grain, fn);
}

}  // namespace sc
