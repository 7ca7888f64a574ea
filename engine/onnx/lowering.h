#pragma once
// Inside engine/onnx only: how one ONNX node becomes engine ops. A lowering
// reads the node's attributes and what planning knows about its inputs
// (shape, type, and the value when it is known at load), checks everything,
// and returns the output shapes plus a function that computes the outputs
// from the inputs with engine/ops.h. The executor calls that function on the
// known inputs right away (constant folding) or at every run.
//
// A lowering refuses (NodeContext::fail) anything it does not implement
// exactly: an attribute value, an opset's semantics, a shape. Attributes not
// in its OpDef's list are refused before it runs, so a new attribute in a
// later opset is an error, never silently ignored.
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include "base/error.h"
#include "engine/onnx/reader.h"
#include "engine/tensor.h"

namespace sc::engine::onnx::detail {

// The domain of the nodes load-time rewrites make (engine/onnx/rewrites.h).
inline constexpr std::string_view kInternalDomain = "ai.streamcanvas";
// An OpDef with this domain lowers its op type in whatever custom domain a
// file puts it: plugin ops exporters write for TensorRT (GridSample3D), whose
// domain names vary from exporter to exporter.
inline constexpr std::string_view kAnyCustomDomain = "*";

// The ai.onnx opsets whose semantics the lowerings were written against.
inline constexpr std::int64_t kMinOpset = 7;
inline constexpr std::int64_t kMaxOpset = 21;

// The largest dimension a value may have (the reader's cap). It keeps every
// sum and product of a few dimensions inside int64; window parameters
// (kernel, stride, dilation, pads) are capped lower, so products of a
// dimension and one of them fit too.
inline constexpr std::int64_t kMaxDim = kMaxDimension;
inline constexpr std::int64_t kMaxWindow = std::int64_t{1} << 20;

// What planning knows about a value.
struct ValueMeta {
  Shape shape;
  ElemType type = ElemType::kUndefined;
  Tensor constant;  // defined when known at load: on the CPU, in engine_dtype(type)
  bool known() const { return constant.defined(); }
};

using RunFn = std::function<void(std::span<const Tensor> inputs, std::span<Tensor> outputs)>;

struct Lowered {
  std::vector<ValueMeta> outputs;  // shape and type of every output (constant left out)
  RunFn run;
};

// Where run() works: the device of the inputs it gets and the dtype of their
// floats. Folding at load runs on the CPU in f32 whatever the executor's target.
struct Target {
  Device device = Device::kCpu;
  DType float_dtype = DType::kF32;
  // The largest value (in bytes, as f32 for floats) a node may make; 0: no
  // limit (ExecutorOptions::max_value_bytes says why one would set it).
  std::uint64_t max_value_bytes = 0;
};

// Thrown by NodeContext when a lowering runs without input information (the
// load-time check of attributes, which needs no shapes).
struct NeedsShapes {};

class NodeContext {
 public:
  // inputs: one entry per node input; null where the input is left out.
  // Empty `inputs` with `static_check` set: only attributes are available.
  NodeContext(const Model& model, const Node& node, std::vector<const ValueMeta*> inputs, Target target,
              bool static_check = false);

  const Model& model() const { return model_; }
  const Node& node() const { return node_; }
  std::int64_t opset() const { return opset_; }
  const Target& target() const { return target_; }

  std::size_t input_count() const { return node_.inputs.size(); }
  bool has(std::size_t i) const { return i < node_.inputs.size() && !node_.inputs[i].empty(); }
  // Fails (naming the input) when it is left out.
  const ValueMeta& in(std::size_t i) const;
  bool known(std::size_t i) const { return has(i) && in(i).known(); }
  bool all_known() const;
  // The value of input i, which must be known at load ("what" says what the
  // input is, for the error).
  const Tensor& value(std::size_t i, std::string_view what) const;
  std::vector<std::int64_t> ints(std::size_t i, std::string_view what) const;  // a known integer tensor
  double scalar(std::size_t i, std::string_view what) const;                   // a known one-element number

  std::size_t output_count() const { return node_.outputs.size(); }
  bool output_used(std::size_t i) const { return i < node_.outputs.size() && !node_.outputs[i].empty(); }

  bool has_attr(std::string_view name) const { return node_.attribute(name) != nullptr; }
  std::int64_t attr_int(std::string_view name, std::int64_t def) const;
  float attr_float(std::string_view name, float def) const;
  std::string attr_string(std::string_view name, std::string_view def) const;
  std::optional<std::vector<std::int64_t>> attr_ints(std::string_view name) const;
  std::optional<std::vector<float>> attr_floats(std::string_view name) const;
  const Constant* attr_tensor(std::string_view name) const;

  // A tensor made on the host (f32 floats, integers) for run() to use: moved
  // to the target's device, floats in its float dtype.
  Tensor place(const Tensor& host) const;
  // Fails when a tensor of `shape` with `element_bytes` per value would pass
  // the target's max_value_bytes: lowerings that make a tensor themselves
  // call it first.
  void check_size(const Shape& shape, std::size_t element_bytes, std::string_view what) const;
  // `v` when it lies in [lo, kMaxDim], or an error naming `what`.
  std::int64_t bounded(std::int64_t v, std::string_view what, std::int64_t lo = 0) const;
  // The axis in [0, rank), or an error naming the attribute.
  int axis(std::int64_t axis, int rank, std::string_view what) const;

  // "ONNX model 'file': node 'name' (Op, opset N): message".
  std::string where() const;
  template <typename... Args>
  [[noreturn]] void fail(fmt::format_string<Args...> f, Args&&... args) const {
    throw Error("{}: {}", where(), fmt::format(f, std::forward<Args>(args)...));
  }

 private:
  const Attribute* attr(std::string_view name, AttrType type) const;

  const Model& model_;
  const Node& node_;
  std::vector<const ValueMeta*> inputs_;
  Target target_;
  std::int64_t opset_;
  bool static_check_;
};

using LowerFn = std::function<Lowered(const NodeContext& ctx)>;

struct OpDef {
  std::string_view domain;  // "" (ai.onnx) or kInternalDomain
  std::string_view op_type;
  std::int64_t since;  // the first ai.onnx opset with this op
  std::vector<std::string_view> attributes;
  LowerFn lower;
  std::string_view source;  // which engine ops it becomes, for the README's table
};

// Every op with a lowering, and the one for (domain, op_type).
std::span<const OpDef> all_ops();
const OpDef* find_op(std::string_view domain, std::string_view op_type);

// Each family registers its ops (lower_*.cpp).
void add_math_ops(std::vector<OpDef>& ops);
void add_shape_ops(std::vector<OpDef>& ops);
void add_nn_ops(std::vector<OpDef>& ops);

// Lowers `node` for `target`. When every input is known, or the lowering
// knows its outputs without them (Shape), the outputs are computed now, on
// the CPU in f32 (constant folding): their metas carry the values and
// `folded` is set. Errors of the lowering and of the computation name the node.
struct PlannedNode {
  Lowered lowered;
  bool folded = false;
};
PlannedNode lower_node(const Model& model, const Node& node, const std::vector<const ValueMeta*>& inputs,
                       Target target);
// Checks what run() produced against what the lowering promised.
void check_outputs(const NodeContext& ctx, const Lowered& lowered, std::span<const Tensor> outputs, Target target);

// ---- shared by the lowerings ---------------------------------------------------

ValueMeta meta(const Shape& shape, ElemType type);
// NumPy broadcasting of two shapes, or the node's error.
Shape broadcast(const NodeContext& ctx, const Shape& a, const Shape& b);
// The elements of a known integer or bool tensor as int64.
std::vector<std::int64_t> int_values(const Tensor& t);

}  // namespace sc::engine::onnx::detail
