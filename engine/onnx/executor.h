#pragma once
// Runs an ONNX graph (engine/onnx/reader.h) as calls to engine/ops.h, on the
// CPU or on CUDA, with no second runtime.
//
// Loading (the constructor) checks every node against the lowerings
// (engine/onnx/README.md lists them): an op, a domain, an opset or an
// attribute without a lowering is an error naming the node, the op type and
// the opset, never a wrong answer later. It then sorts the nodes
// topologically (refusing cycles and values read before any node writes
// them) and applies the load-time rewrites (engine/onnx/rewrites.h).
//
// Planning fixes the input shapes: every node's output shape is inferred,
// every value that can be known without running (initializers, constants,
// and the Shape -> Gather -> Concat chains exporters emit, once shapes are
// fixed) is computed once, and the rest becomes a list of steps. Each
// intermediate tensor is dropped after its last use. A graph whose inputs
// all have fixed sizes is planned at load; otherwise run() plans at the
// first call and again whenever the input shapes change.
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/onnx/reader.h"
#include "engine/tensor.h"

namespace sc::engine::onnx {

struct ExecutorOptions {
  Device device = Device::kCpu;
  // How floating-point values are stored on the device: f32 on the CPU; on
  // CUDA f16 unless asked (f32 and bf16 work too), as the diffusion models
  // place their weights.
  std::optional<DType> float_dtype;
  // The largest tensor one node may make, in bytes (0: no limit). A model
  // file is untrusted: a ConstantOfShape or Expand can ask for terabytes, and
  // with a limit that is an error naming the node before any allocation.
  std::uint64_t max_value_bytes = 0;
  // Load-time rewrites, each on by default (tests turn them off to compare).
  bool fold_constants = true;
  bool remove_identities = true;
  bool fuse_batchnorm = true;
  bool fuse_matmul_add = true;
  bool fuse_attention = true;
  bool fuse_norm_activation = true;
};

struct LoadStats {
  std::size_t nodes = 0;               // in the file
  std::size_t folded_at_load = 0;      // nodes whose outputs were computed at load
  std::size_t removed_identities = 0;  // Identity / Dropout nodes bypassed
  std::size_t fused_batchnorms = 0;    // BatchNormalization folded into the Conv before it
  std::size_t fused_matmul_adds = 0;   // MatMul + Add become one linear with bias
  std::size_t fused_attentions = 0;    // MatMul - Softmax - MatMul become one attention
  std::size_t fused_norms = 0;         // SiLU, GroupNorm and norm + SiLU patterns become one op
  std::size_t folded_at_plan = 0;      // nodes known once the input shapes were (shape chains)
  std::size_t steps = 0;               // nodes left to run per call
};

struct OpTime {
  std::string op_type;
  std::int64_t calls = 0;
  double ms = 0.0;
};

// A node the executor cannot run, found from its op type, domain and
// attributes alone (what `streamcanvas-cli models inspect` reports).
struct Unsupported {
  std::string node;  // the node's label: "node 'conv1' (Conv)"
  std::string op_type;
  std::string domain;
  std::string reason;
};
std::vector<Unsupported> find_unsupported(const Model& model);

// The ai.onnx opsets the lowerings follow, and every op with a lowering
// (with the engine ops it becomes), for documentation and `models inspect`.
std::int64_t min_supported_opset();
std::int64_t max_supported_opset();
struct SupportedOp {
  std::string domain, op_type;
  std::int64_t since = 0;
  std::string lowering;
};
std::vector<SupportedOp> supported_ops();

class Executor {
 public:
  explicit Executor(Model model, ExecutorOptions options = {});
  ~Executor();
  Executor(Executor&&) noexcept;
  Executor& operator=(Executor&&) noexcept;

  const Model& model() const;
  const LoadStats& stats() const;
  Device device() const;
  DType float_dtype() const;

  // Plans for the given shape of every graph input (run() calls it when the
  // shapes change). A shape that contradicts the graph's declared one, or a
  // node that cannot take the shapes it gets, is an sc::Error naming the
  // input or the node.
  void plan(const std::map<std::string, Shape>& input_shapes);
  bool planned() const;

  // Every graph input by name: floats in any float dtype on any device
  // (converted to the executor's), integers and bools (u8) in the graph's
  // declared type. Returns every graph output by name, on the executor's
  // device, floats in its float dtype.
  std::map<std::string, Tensor> run(const std::map<std::string, Tensor>& inputs);

  // Records one forward for the example inputs' shapes as a device graph
  // (a CUDA graph: the per-frame chain of thousands of small launches becomes
  // one). False where the device cannot record (the CPU): replay() then runs
  // eagerly. The graph reads the executor's own copies of the inputs;
  // replay() refills them and returns the outputs the recording writes,
  // whose values are overwritten by the next replay (copy what you keep).
  // Inputs of other shapes than the example's run eagerly.
  bool capture(const std::map<std::string, Tensor>& example_inputs);
  bool captured() const;
  std::size_t captured_nodes() const;
  std::map<std::string, Tensor> replay(const std::map<std::string, Tensor>& inputs);

  // Per-op-type time of every run() while on (each step waits for its work
  // on CUDA, so profiled runs are slower but the shares hold).
  void set_profiling(bool on);
  std::vector<OpTime> profile() const;  // most time first
  void reset_profile();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The profile as a table (op type, calls, total ms, share), like the UNet
// benchmark's.
std::string format_profile(const std::vector<OpTime>& ops, const std::string& title);

}  // namespace sc::engine::onnx
