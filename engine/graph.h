#pragma once
// What a pipeline needs to run steady-state per-frame work on any device,
// without naming a backend: record a forward once and replay it (Graph), time
// a stage without stalling the device (StageTimer), and copy new values into
// a tensor a recording reads (copy_into). Pipelines include this, never
// engine/cuda/*, so a pipeline reads the same whichever device its models sit
// on. On CUDA these wrap engine/cuda/runtime.h; on the CPU there is nothing to
// record (ops run as they are called) and time is wall-clock.
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>

#include "engine/storage.h"
#include "engine/tensor.h"

namespace sc::engine {

namespace cuda {
class Graph;
class Timer;
}  // namespace cuda

// capture(fn) runs fn once with the device work it issues recorded instead of
// executed; replay() runs that recording again, with one launch on CUDA. The
// rules are cuda::Graph's (engine/cuda/runtime.h): fn's inputs are device
// tensors made before capture and kept alive while the graph is used (write
// new values into them between replays, e.g. with copy_into), tensors fn
// allocates keep their addresses across replays, its outputs are read after
// replay(), and host <-> device copies inside fn are an error.
// Only devices for which supported() is true can capture; elsewhere capture()
// throws, and callers run fn eagerly instead.
class Graph {
 public:
  explicit Graph(Device device);
  ~Graph();
  Graph(Graph&&) noexcept;
  Graph& operator=(Graph&&) noexcept;

  // Whether this build can record work on `device`: CUDA when the backend is
  // compiled in (capturing then needs a usable GPU, like every CUDA op). The
  // CPU has no recording to make.
  static bool supported(Device device);

  Device device() const { return device_; }
  void capture(const std::function<void()>& fn);
  void replay();
  bool captured() const;
  std::size_t nodes() const;  // kernels and copies recorded (0 before capture)

 private:
  Device device_;
  std::unique_ptr<cuda::Graph> cuda_;
};

// The time of one stage of a frame, for per-stage statistics. On CUDA: the
// time between two events on the engine's stream, read by collect() once the
// work is done, so timing a stage never stalls the queue (a host sync per
// stage would cost more than some stages). On the CPU, where ops finish
// before they return: wall-clock time.
class StageTimer {
 public:
  explicit StageTimer(Device device);
  ~StageTimer();
  StageTimer(StageTimer&&) noexcept;
  StageTimer& operator=(StageTimer&&) noexcept;

  void start();
  void stop();
  // Adds the last start..stop (if not yet collected) to *total_s; waits for
  // the device to get there if it has not.
  void collect(double* total_s);

 private:
  std::unique_ptr<cuda::Timer> gpu_;
  std::chrono::steady_clock::time_point begin_{};
  double host_s_ = 0;
  bool pending_ = false;
};

// Writes src's values into dst's storage (dst keeps its storage and address:
// what a captured Graph reads). Same shape and dtype; any devices (a copy
// between the host and the GPU waits or stages as Tensor::to does). Copying a
// tensor onto itself does nothing; dst and src must not otherwise overlap.
// Throws sc::Error naming both tensors when they do not match.
void copy_into(Tensor& dst, const Tensor& src);

}  // namespace sc::engine
