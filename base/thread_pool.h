#pragma once
// The one thread pool of the process, for CPU work of any module: the
// engine's CPU kernels, the V^3 de-quantiser. It lives in base, below the
// modules, so a module that wants the shared pool need not depend on the
// engine. One pool, not one per module: the engine keeps OpenBLAS
// single-threaded (engine/cpu/blas.h) and spreads its calls over this pool,
// so nothing in the process competes for the same cores.
//
// parallel_for hands [0, n) out in chunks; the calling thread works too. A
// parallel_for issued from inside a task runs inline (no nested fan-out), and
// concurrent callers take turns, so kernels need not care who calls them.
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace sc {

class ThreadPool {
 public:
  // threads counts the caller: a pool of 1 runs everything inline.
  explicit ThreadPool(int threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return static_cast<int>(workers_.size()) + 1; }

  // Calls fn(begin, end) over disjoint ranges covering [0, n). Chunks hold at
  // least grain items (unless n is smaller). The first exception thrown by a
  // task is rethrown here after all tasks have stopped.
  void parallel_for(std::int64_t n, std::int64_t grain, const std::function<void(std::int64_t, std::int64_t)>& fn);

  // True on a pool worker, and on a caller while it runs chunks.
  static bool in_parallel_region();

 private:
  void worker_loop();
  void run_chunks();

  std::vector<std::thread> workers_;
  std::mutex job_mutex_;  // one parallel_for at a time
  std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable done_;
  std::uint64_t generation_ = 0;
  bool stop_ = false;
  int busy_ = 0;  // workers still inside the current job
  const std::function<void(std::int64_t, std::int64_t)>* fn_ = nullptr;
  std::int64_t n_ = 0;
  std::int64_t chunk_ = 1;
  std::atomic<std::int64_t> next_{0};
  std::exception_ptr error_;
};

// The process-wide pool. Its size is SC_NUM_THREADS when set, else the number
// of hardware threads; set_num_threads() replaces it (tests and benchmarks).
ThreadPool& thread_pool();
int num_threads();
void set_num_threads(int threads);

// Convenience over thread_pool().parallel_for.
void parallel_for(std::int64_t n, std::int64_t grain, const std::function<void(std::int64_t, std::int64_t)>& fn);

}  // namespace sc
