#pragma once
// The CUDA runtime as the engine uses it: one compute stream, a caching
// allocator, host <-> device copies through pinned staging, CUDA graphs and
// event timers. No CUDA header leaks out of here, so CPU-only code (and a
// build without nvcc, where every function below reports "not compiled")
// includes it freely.
//
// Memory. Every CUDA tensor comes from a caching allocator: a freed block goes
// back to a free list and the next request of about that size reuses it, so
// after the first frame a fixed-shape pipeline never calls cudaMalloc or
// cudaFree (memory_stats() counts both; the tests assert it). While a Graph is
// being captured, allocations come from that graph's private pool (its
// per-step arena): replays write to the same addresses, and nothing outside
// the graph is ever handed one of them. Out of memory throws sc::Error saying
// how much was asked, how much the GPU has free, and what the engine holds.
//
// Ordering. All engine kernels, copies and library calls go to one stream
// (stream()), so a block freed by the host can be reused by the next kernel
// without further synchronisation. Copies to the host wait for the stream.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "engine/storage.h"

namespace sc::engine::cuda {

// Built with the CUDA backend at all.
bool compiled();
// A GPU answered (the first call probes; later calls are cheap). Never throws.
bool available();
// Why available() is false, in words ("" when it is true).
std::string unavailable_reason();
// Throws sc::Error naming `what` and the reason when no GPU is usable.
void require_available(const char* what);

// The engine's compute stream, as a cudaStream_t.
void* stream();
// Waits for everything queued on the engine's stream; throws on a kernel
// error, naming it.
void synchronize();

// Raw copies (bytes). Host pointers may be pageable: uploads go through a
// reused pinned staging buffer; downloads wait for the stream.
void copy_host_to_device(void* dst, const void* src, std::size_t bytes);
void copy_device_to_host(void* dst, const void* src, std::size_t bytes);
void copy_device_to_device(void* dst, const void* src, std::size_t bytes);
void fill_zero(void* dst, std::size_t bytes);

struct MemoryStats {
  std::uint64_t cuda_malloc_calls = 0;  // since start
  std::uint64_t cuda_free_calls = 0;
  std::uint64_t bytes_in_use = 0;  // handed out to tensors
  std::uint64_t bytes_cached = 0;  // held in free lists
  std::uint64_t peak_bytes_in_use = 0;
};
MemoryStats memory_stats();
// Returns every cached (free) block of the shared pool to the driver.
void release_cached_memory();
// The allocator behind every CUDA tensor (engine/storage.h's allocator_for).
// Throws sc::Error on use when no GPU is usable or CUDA was not compiled in.
Allocator& caching_allocator();

// A CUDA graph of the engine's stream: capture(fn) runs fn once with every
// kernel recorded instead of executed, then replay() launches the whole
// recording with one call. Tensors fn allocates come from the graph's own
// pool and keep their addresses across replays; fn's inputs must be device
// tensors made before capture and kept alive while the graph is used (write
// new values into them between replays),
// and its outputs are read after replay(). Host <-> device copies inside fn
// are an error (they would replay stale host memory).
class Graph {
 public:
  Graph();
  ~Graph();
  Graph(const Graph&) = delete;
  Graph& operator=(const Graph&) = delete;

  void capture(const std::function<void()>& fn);
  void replay();
  bool captured() const;
  std::size_t nodes() const;  // kernels and copies recorded

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// True while the calling thread is capturing a Graph.
bool capturing();

// Per-op GPU time, for profiling runs: while on, every CUDA op of
// engine/ops.h records events around its kernels, waits for them and adds
// the time to a table by op name (slow; off by default).
void set_op_profiling(bool on);
bool op_profiling();
struct OpTime {
  std::string op;
  std::int64_t calls = 0;
  double ms = 0;
};
std::vector<OpTime> op_profile();  // most time first
void reset_op_profile();
// Used by engine/ops.cpp around one op while profiling.
class OpTimer {
 public:
  explicit OpTimer(const char* op);
  ~OpTimer();
  OpTimer(const OpTimer&) = delete;
  OpTimer& operator=(const OpTimer&) = delete;

 private:
  const char* op_;
  void* start_ = nullptr;
  void* stop_ = nullptr;
};

// GPU time between start() and stop() on the engine's stream (CUDA events).
// engine/graph.h's StageTimer is this on CUDA and wall-clock elsewhere.
class Timer {
 public:
  Timer();
  ~Timer();
  Timer(const Timer&) = delete;
  Timer& operator=(const Timer&) = delete;
  void start();
  void stop();
  float milliseconds();  // waits for stop()

 private:
  void* start_ = nullptr;
  void* stop_ = nullptr;
};

}  // namespace sc::engine::cuda
