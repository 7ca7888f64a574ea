// The CUDA runtime of the engine: stream, caching allocator with graph-private
// pools, pinned upload staging, graphs, timers. See runtime.h.
#include <algorithm>
#include <atomic>
#include <cstring>
#include <map>
#include <mutex>
#include <unordered_map>
#include <vector>

#include <fmt/format.h>

#include "base/error.h"
#include "engine/cuda/check.h"
#include "engine/cuda/runtime.h"

namespace sc::engine::cuda {

void fail(const std::string& message) { throw Error(message); }

void throw_cuda_error(cudaError_t err, const char* call, const char* file, int line) {
  const bool sticky = err == cudaErrorIllegalAddress || err == cudaErrorLaunchFailure ||
                      err == cudaErrorIllegalInstruction || err == cudaErrorMisalignedAddress;
  const char* base = std::strrchr(file, '/');
  throw Error("CUDA error in {} ({}:{}): {} ({}){}", call, base ? base + 1 : file, line, cudaGetErrorString(err),
              cudaGetErrorName(err), sticky ? "; the GPU context is no longer usable, restart StreamCanvas" : "");
}

void throw_cublas_error(cublasStatus_t status, const char* call, const char* file, int line) {
  const char* base = std::strrchr(file, '/');
  throw Error("cuBLAS error in {} ({}:{}): status {}", call, base ? base + 1 : file, line, static_cast<int>(status));
}

namespace {

struct Runtime {
  bool ok = false;
  std::string reason;
  cudaStream_t stream = nullptr;
};

Runtime& runtime() {
  static Runtime rt = [] {
    Runtime r;
    int count = 0;
    cudaError_t err = cudaGetDeviceCount(&count);
    if (err != cudaSuccess) {
      r.reason = fmt::format("CUDA is not usable: {}", cudaGetErrorString(err));
      cudaGetLastError();
      return r;
    }
    if (count == 0) {
      r.reason = "CUDA is not usable: the NVIDIA driver reports no devices";
      return r;
    }
    cudaDeviceProp prop{};
    if (cudaGetDeviceProperties(&prop, 0) == cudaSuccess && prop.major < 8) {
      r.reason = fmt::format(
          "CUDA is not usable: {} has compute capability {}.{}; StreamCanvas's kernels need 8.0 (Ampere) or newer",
          prop.name, prop.major, prop.minor);
      return r;
    }
    err = cudaStreamCreateWithFlags(&r.stream, cudaStreamNonBlocking);
    if (err != cudaSuccess) {
      r.reason = fmt::format("CUDA is not usable: creating a stream failed: {}", cudaGetErrorString(err));
      cudaGetLastError();
      return r;
    }
    r.ok = true;
    return r;
  }();
  return rt;
}

thread_local bool tls_capturing = false;

// ---- caching allocator -------------------------------------------------------

constexpr std::size_t kSmallRound = 512;
constexpr std::size_t kLargeRound = 2u << 20;  // 2 MiB
constexpr std::size_t kLargeFrom = 1u << 20;

std::size_t round_size(std::size_t bytes) {
  if (bytes == 0) bytes = 1;
  if (bytes < kLargeFrom) return (bytes + kSmallRound - 1) / kSmallRound * kSmallRound;
  return (bytes + kLargeRound - 1) / kLargeRound * kLargeRound;
}

struct Pool {
  std::multimap<std::size_t, void*> free;  // size -> block
  std::uint64_t cached = 0;
  bool released = false;  // its graph is gone: blocks coming back go to the shared pool
};

struct Block {
  std::size_t size = 0;
  Pool* pool = nullptr;
};

thread_local Pool* tls_capture_pool = nullptr;

double mib(std::uint64_t bytes) { return static_cast<double>(bytes) / (1024.0 * 1024.0); }

class CachingAllocator final : public Allocator {
 public:
  Device device() const override { return Device::kCuda; }

  void* allocate(std::size_t bytes) override {
    require_available("CUDA allocation");
    const std::size_t size = round_size(bytes);
    std::lock_guard lock(mutex_);
    Pool* pool = tls_capture_pool ? tls_capture_pool : &shared_;
    if (void* p = take(*pool, size)) return p;
    void* p = nullptr;
    cudaError_t err = cudaMalloc(&p, size);
    if (err == cudaErrorMemoryAllocation && !tls_capture_pool) {
      cudaGetLastError();
      // Give the cached blocks back and try once more before failing (not
      // while capturing: the synchronisation that needs would break the capture).
      release_locked(shared_);
      err = cudaMalloc(&p, size);
    }
    if (err != cudaSuccess) {
      cudaGetLastError();
      std::size_t free_b = 0, total_b = 0;
      cudaMemGetInfo(&free_b, &total_b);
      throw Error(
          "CUDA out of memory: asked for {:.1f} MiB; the GPU has {:.1f} MiB free of {:.1f} MiB; StreamCanvas holds "
          "{:.1f} MiB in tensors and {:.1f} MiB cached ({}). Lower the resolution or batch, or close other GPU "
          "programs",
          mib(bytes), mib(free_b), mib(total_b), mib(stats_.bytes_in_use), mib(stats_.bytes_cached),
          cudaGetErrorString(err));
    }
    ++stats_.cuda_malloc_calls;
    live_[p] = Block{size, pool};
    add_in_use(size);
    return p;
  }

  void deallocate(void* ptr, std::size_t) noexcept override {
    std::lock_guard lock(mutex_);
    const auto it = live_.find(ptr);
    if (it == live_.end()) return;
    Block b = it->second;
    live_.erase(it);
    stats_.bytes_in_use -= b.size;
    Pool* pool = b.pool->released ? &shared_ : b.pool;
    pool->free.emplace(b.size, ptr);
    pool->cached += b.size;
    stats_.bytes_cached += b.size;
  }

  MemoryStats stats() {
    std::lock_guard lock(mutex_);
    return stats_;
  }

  void release_cached() {
    std::lock_guard lock(mutex_);
    release_locked(shared_);
  }

  // A graph's private pool: its free blocks stay reserved for the graph until
  // the graph goes, then join the shared pool.
  Pool* new_pool() {
    std::lock_guard lock(mutex_);
    pools_.push_back(std::make_unique<Pool>());
    return pools_.back().get();
  }
  void retire_pool(Pool* pool) {
    std::lock_guard lock(mutex_);
    pool->released = true;
    for (auto& [size, p] : pool->free) shared_.free.emplace(size, p);
    shared_.cached += pool->cached;
    pool->free.clear();
    pool->cached = 0;
    for (auto& [p, b] : live_) {
      if (b.pool == pool) b.pool = &shared_;
    }
    std::erase_if(pools_, [&](const std::unique_ptr<Pool>& q) { return q.get() == pool; });
  }

 private:
  void* take(Pool& pool, std::size_t size) {
    const auto it = pool.free.lower_bound(size);
    // Reuse a block no more than a quarter larger than asked (more would
    // strand memory); sizes are rounded, so steady shapes match exactly.
    if (it == pool.free.end() || it->first > size + size / 4) return nullptr;
    void* p = it->second;
    const std::size_t got = it->first;
    pool.free.erase(it);
    pool.cached -= got;
    stats_.bytes_cached -= got;
    live_[p] = Block{got, &pool};
    add_in_use(got);
    return p;
  }

  void add_in_use(std::size_t size) {
    stats_.bytes_in_use += size;
    stats_.peak_bytes_in_use = std::max(stats_.peak_bytes_in_use, stats_.bytes_in_use);
  }

  void release_locked(Pool& pool) {
    if (pool.free.empty()) return;
    cudaStreamSynchronize(runtime().stream);
    for (auto& [size, p] : pool.free) {
      cudaFree(p);
      ++stats_.cuda_free_calls;
    }
    stats_.bytes_cached -= pool.cached;
    pool.free.clear();
    pool.cached = 0;
  }

  std::mutex mutex_;
  Pool shared_;
  std::vector<std::unique_ptr<Pool>> pools_;
  std::unordered_map<void*, Block> live_;
  MemoryStats stats_;
};

CachingAllocator& allocator() {
  // Never destroyed: tensors in static storage may free after main returns.
  static auto* a = new CachingAllocator();
  return *a;
}

// ---- pinned upload staging ---------------------------------------------------

constexpr std::size_t kStagingChunk = 8u << 20;

struct StagingSlot {
  void* host = nullptr;
  cudaEvent_t done = nullptr;
  bool pending = false;
};

struct Staging {
  std::mutex mutex;
  StagingSlot slots[2];
  int next = 0;
};

Staging& staging() {
  static auto* s = new Staging();
  return *s;
}

void require_not_capturing(const char* what) {
  if (tls_capturing) {
    throw Error(
        "{} inside a CUDA graph capture: the graph would replay stale host memory; make inputs device "
        "tensors before capture",
        what);
  }
}

}  // namespace

bool compiled() { return true; }
bool available() { return runtime().ok; }
std::string unavailable_reason() { return runtime().reason; }

void require_available(const char* what) {
  if (!runtime().ok) throw Error("{}: {}", what, runtime().reason);
}

void* stream() {
  require_available("CUDA stream");
  return runtime().stream;
}

void synchronize() {
  if (!runtime().ok) return;
  SC_CUDA_CHECK(cudaStreamSynchronize(runtime().stream));
}

void copy_host_to_device(void* dst, const void* src, std::size_t bytes) {
  require_available("copy to the GPU");
  require_not_capturing("a host-to-device copy");
  Staging& st = staging();
  std::lock_guard lock(st.mutex);
  for (std::size_t off = 0; off < bytes; off += kStagingChunk) {
    const std::size_t n = std::min(kStagingChunk, bytes - off);
    StagingSlot& slot = st.slots[st.next];
    st.next ^= 1;
    if (!slot.host) {
      SC_CUDA_CHECK(cudaMallocHost(&slot.host, kStagingChunk));
      SC_CUDA_CHECK(cudaEventCreateWithFlags(&slot.done, cudaEventDisableTiming));
    }
    if (slot.pending) SC_CUDA_CHECK(cudaEventSynchronize(slot.done));
    std::memcpy(slot.host, static_cast<const std::byte*>(src) + off, n);
    SC_CUDA_CHECK(
        cudaMemcpyAsync(static_cast<std::byte*>(dst) + off, slot.host, n, cudaMemcpyHostToDevice, runtime().stream));
    SC_CUDA_CHECK(cudaEventRecord(slot.done, runtime().stream));
    slot.pending = true;
  }
}

void copy_device_to_host(void* dst, const void* src, std::size_t bytes) {
  require_available("copy from the GPU");
  require_not_capturing("a device-to-host copy");
  SC_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToHost, runtime().stream));
  SC_CUDA_CHECK(cudaStreamSynchronize(runtime().stream));
}

void copy_device_to_device(void* dst, const void* src, std::size_t bytes) {
  require_available("copy on the GPU");
  SC_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, runtime().stream));
}

void fill_zero(void* dst, std::size_t bytes) {
  require_available("fill on the GPU");
  SC_CUDA_CHECK(cudaMemsetAsync(dst, 0, bytes, runtime().stream));
}

MemoryStats memory_stats() { return allocator().stats(); }
void release_cached_memory() { allocator().release_cached(); }
Allocator& caching_allocator() { return allocator(); }

bool capturing() { return tls_capturing; }

// ---- cuBLASLt ------------------------------------------------------------------

namespace {
struct LtState {
  cublasLtHandle_t handle = nullptr;
  void* workspace = nullptr;
  std::size_t bytes = 32u << 20;
};
LtState& lt_state() {
  static LtState* s = [] {
    auto* st = new LtState();
    require_available("cuBLASLt");
    SC_CUBLAS_CHECK(cublasLtCreate(&st->handle));
    SC_CUDA_CHECK(cudaMalloc(&st->workspace, st->bytes));
    return st;
  }();
  return *s;
}
}  // namespace

cublasLtHandle_t lt_handle() { return lt_state().handle; }
void* lt_workspace(std::size_t* bytes) {
  *bytes = lt_state().bytes;
  return lt_state().workspace;
}

// ---- graphs ----------------------------------------------------------------------

struct Graph::Impl {
  cudaGraph_t graph = nullptr;
  cudaGraphExec_t exec = nullptr;
  Pool* pool = nullptr;
  std::size_t nodes = 0;
};

Graph::Graph() : impl_(std::make_unique<Impl>()) {}

Graph::~Graph() {
  if (impl_->exec) cudaGraphExecDestroy(impl_->exec);
  if (impl_->graph) cudaGraphDestroy(impl_->graph);
  if (impl_->pool) {
    if (runtime().ok) cudaStreamSynchronize(runtime().stream);
    allocator().retire_pool(impl_->pool);
  }
}

void Graph::capture(const std::function<void()>& fn) {
  require_available("CUDA graph capture");
  if (tls_capturing) throw Error("CUDA graph capture: already capturing on this thread");
  if (impl_->exec) throw Error("CUDA graph capture: this graph was already captured; make a new Graph");
  lt_state();  // cuBLASLt's handle and workspace exist before capture
  if (!impl_->pool) impl_->pool = allocator().new_pool();
  cudaStream_t s = runtime().stream;
  SC_CUDA_CHECK(cudaStreamSynchronize(s));
  SC_CUDA_CHECK(cudaStreamBeginCapture(s, cudaStreamCaptureModeRelaxed));
  tls_capturing = true;
  tls_capture_pool = impl_->pool;
  cudaGraph_t g = nullptr;
  try {
    fn();
  } catch (...) {
    tls_capturing = false;
    tls_capture_pool = nullptr;
    if (cudaStreamEndCapture(s, &g) == cudaSuccess && g) cudaGraphDestroy(g);
    cudaGetLastError();
    throw;
  }
  tls_capturing = false;
  tls_capture_pool = nullptr;
  SC_CUDA_CHECK(cudaStreamEndCapture(s, &g));
  impl_->graph = g;
  SC_CUDA_CHECK(cudaGraphGetNodes(g, nullptr, &impl_->nodes));
  SC_CUDA_CHECK(cudaGraphInstantiate(&impl_->exec, g, 0));
}

void Graph::replay() {
  if (!impl_->exec) throw Error("CUDA graph replay: nothing was captured");
  SC_CUDA_CHECK(cudaGraphLaunch(impl_->exec, runtime().stream));
}

bool Graph::captured() const { return impl_->exec != nullptr; }
std::size_t Graph::nodes() const { return impl_->nodes; }

// ---- op profiling ------------------------------------------------------------------

namespace {
std::atomic<bool> g_profiling{false};
std::mutex& profile_mutex() {
  static std::mutex m;
  return m;
}
std::map<std::string, OpTime>& profile_table() {
  static auto* t = new std::map<std::string, OpTime>();
  return *t;
}
}  // namespace

void set_op_profiling(bool on) { g_profiling = on; }
bool op_profiling() { return g_profiling; }

std::vector<OpTime> op_profile() {
  std::lock_guard lock(profile_mutex());
  std::vector<OpTime> out;
  for (const auto& [name, t] : profile_table()) out.push_back(t);
  std::sort(out.begin(), out.end(), [](const OpTime& a, const OpTime& b) { return a.ms > b.ms; });
  return out;
}

void reset_op_profile() {
  std::lock_guard lock(profile_mutex());
  profile_table().clear();
}

OpTimer::OpTimer(const char* op) : op_(op) {
  cudaEvent_t a = nullptr, b = nullptr;
  if (cudaEventCreate(&a) != cudaSuccess || cudaEventCreate(&b) != cudaSuccess) return;
  start_ = a;
  stop_ = b;
  cudaEventRecord(a, runtime().stream);
}

OpTimer::~OpTimer() {
  if (!start_) return;
  auto a = static_cast<cudaEvent_t>(start_), b = static_cast<cudaEvent_t>(stop_);
  cudaEventRecord(b, runtime().stream);
  float ms = 0;
  if (cudaEventSynchronize(b) == cudaSuccess && cudaEventElapsedTime(&ms, a, b) == cudaSuccess) {
    std::lock_guard lock(profile_mutex());
    OpTime& t = profile_table()[op_];
    t.op = op_;
    ++t.calls;
    t.ms += ms;
  }
  cudaEventDestroy(a);
  cudaEventDestroy(b);
}

// ---- timers ----------------------------------------------------------------------

Timer::Timer() {
  require_available("CUDA timer");
  cudaEvent_t a = nullptr, b = nullptr;
  SC_CUDA_CHECK(cudaEventCreate(&a));
  SC_CUDA_CHECK(cudaEventCreate(&b));
  start_ = a;
  stop_ = b;
}

Timer::~Timer() {
  if (start_) cudaEventDestroy(static_cast<cudaEvent_t>(start_));
  if (stop_) cudaEventDestroy(static_cast<cudaEvent_t>(stop_));
}

void Timer::start() { SC_CUDA_CHECK(cudaEventRecord(static_cast<cudaEvent_t>(start_), runtime().stream)); }
void Timer::stop() { SC_CUDA_CHECK(cudaEventRecord(static_cast<cudaEvent_t>(stop_), runtime().stream)); }

float Timer::milliseconds() {
  SC_CUDA_CHECK(cudaEventSynchronize(static_cast<cudaEvent_t>(stop_)));
  float ms = 0.0f;
  SC_CUDA_CHECK(cudaEventElapsedTime(&ms, static_cast<cudaEvent_t>(start_), static_cast<cudaEvent_t>(stop_)));
  return ms;
}

}  // namespace sc::engine::cuda
