#include "engine/graph.h"

#include <cstring>

#include "base/error.h"
#include "engine/cuda/runtime.h"

namespace sc::engine {

bool Graph::supported(Device device) { return device == Device::kCuda && cuda::compiled(); }

Graph::Graph(Device device) : device_(device) {
  if (supported(device_)) cuda_ = std::make_unique<cuda::Graph>();
}

Graph::~Graph() = default;
Graph::Graph(Graph&&) noexcept = default;
Graph& Graph::operator=(Graph&&) noexcept = default;

void Graph::capture(const std::function<void()>& fn) {
  if (!cuda_) {
    throw Error("graph capture on the {}: this build cannot record work there ({}); run the call eagerly",
                to_string(device_),
                device_ == Device::kCuda ? cuda::unavailable_reason() : "its ops run as they are called");
  }
  cuda_->capture(fn);
}

void Graph::replay() {
  if (!cuda_)
    throw Error("graph replay on the {}: nothing was captured (this device cannot record)", to_string(device_));
  cuda_->replay();
}

bool Graph::captured() const { return cuda_ && cuda_->captured(); }
std::size_t Graph::nodes() const { return cuda_ ? cuda_->nodes() : 0; }

StageTimer::StageTimer(Device device) {
  if (device == Device::kCuda) gpu_ = std::make_unique<cuda::Timer>();
}

StageTimer::~StageTimer() = default;
StageTimer::StageTimer(StageTimer&&) noexcept = default;
StageTimer& StageTimer::operator=(StageTimer&&) noexcept = default;

void StageTimer::start() {
  if (gpu_) {
    gpu_->start();
  } else {
    begin_ = std::chrono::steady_clock::now();
  }
}

void StageTimer::stop() {
  if (gpu_) {
    gpu_->stop();
  } else {
    host_s_ = std::chrono::duration<double>(std::chrono::steady_clock::now() - begin_).count();
  }
  pending_ = true;
}

void StageTimer::collect(double* total_s) {
  if (!pending_) return;
  pending_ = false;
  *total_s += gpu_ ? gpu_->milliseconds() / 1000.0 : host_s_;
}

void copy_into(Tensor& dst, const Tensor& src) {
  if (!dst.defined() || !src.defined()) {
    throw Error("copy_into: {} tensor given",
                dst.defined() ? "the source is an undefined" : "the target is an undefined");
  }
  if (dst.dtype() != src.dtype() || !(dst.shape() == src.shape())) {
    throw Error("copy_into: {} cannot hold {} (same shape and dtype needed)", dst.describe(), src.describe());
  }
  const std::size_t bytes = src.nbytes();
  if (bytes == 0) return;
  if (dst.shares_storage_with(src) && dst.offset_bytes() == src.offset_bytes()) return;
  const bool to_gpu = dst.device() == Device::kCuda, from_gpu = src.device() == Device::kCuda;
  if (to_gpu && from_gpu) {
    cuda::copy_device_to_device(dst.raw_data(), src.raw_data(), bytes);
  } else if (to_gpu) {
    cuda::copy_host_to_device(dst.raw_data(), src.raw_data(), bytes);
  } else if (from_gpu) {
    cuda::copy_device_to_host(dst.raw_data(), src.raw_data(), bytes);
  } else {
    std::memmove(dst.raw_data(), src.raw_data(), bytes);
  }
}

}  // namespace sc::engine
