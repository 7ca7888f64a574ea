// NodeContext, the op registry and the helpers every lowering family shares.
#include "engine/onnx/lowering.h"

#include <algorithm>
#include <mutex>

#include "engine/ops.h"

namespace sc::engine::onnx::detail {

NodeContext::NodeContext(const Model& model, const Node& node, std::vector<const ValueMeta*> inputs, Target target,
                         bool static_check)
    : model_(model),
      node_(node),
      inputs_(std::move(inputs)),
      target_(target),
      opset_(node.domain.empty() ? model.opset() : 0),
      static_check_(static_check) {}

std::string NodeContext::where() const {
  if (node_.internal) return fmt::format("{}: {} (made at load)", model_.where(), node_.label());
  return fmt::format("{}: {}, opset {}", model_.where(), node_.label(), opset_);
}

const ValueMeta& NodeContext::in(std::size_t i) const {
  if (static_check_) throw NeedsShapes{};
  if (!has(i)) fail("input {} is required but left out", i);
  if (i >= inputs_.size() || !inputs_[i]) fail("input {} ('{}') is unknown to the planner", i, node_.inputs[i]);
  return *inputs_[i];
}

bool NodeContext::all_known() const {
  for (std::size_t i = 0; i < node_.inputs.size(); ++i)
    if (has(i) && !in(i).known()) return false;
  return true;
}

const Tensor& NodeContext::value(std::size_t i, std::string_view what) const {
  const ValueMeta& m = in(i);
  if (!m.known()) {
    fail(
        "input {} ('{}', {}) must be known at load (a constant, an initializer or computed from shapes); values "
        "computed at run time are not supported there",
        i, node_.inputs[i], what);
  }
  return m.constant;
}

std::vector<std::int64_t> NodeContext::ints(std::size_t i, std::string_view what) const {
  const Tensor& t = value(i, what);
  if (t.dtype() != DType::kI64 && t.dtype() != DType::kI32) {
    fail("input {} ('{}', {}) must be an integer tensor; got {}", i, node_.inputs[i], what, elem_type_name(in(i).type));
  }
  return int_values(t);
}

double NodeContext::scalar(std::size_t i, std::string_view what) const {
  const Tensor& t = value(i, what);
  if (t.numel() != 1) fail("input {} ('{}', {}) must hold one value; got {}", i, node_.inputs[i], what, t.describe());
  if (t.dtype() == DType::kF32) return t.data<float>()[0];
  return static_cast<double>(int_values(t)[0]);
}

const Attribute* NodeContext::attr(std::string_view name, AttrType type) const {
  const Attribute* a = node_.attribute(name);
  if (a && a->type != type) {
    fail("attribute '{}' is {}, expected {}", name, a->type == AttrType::kOther ? a->other : to_string(a->type),
         to_string(type));
  }
  return a;
}

std::int64_t NodeContext::attr_int(std::string_view name, std::int64_t def) const {
  const Attribute* a = attr(name, AttrType::kInt);
  return a ? a->i : def;
}

float NodeContext::attr_float(std::string_view name, float def) const {
  const Attribute* a = attr(name, AttrType::kFloat);
  return a ? a->f : def;
}

std::string NodeContext::attr_string(std::string_view name, std::string_view def) const {
  const Attribute* a = attr(name, AttrType::kString);
  return a ? a->s : std::string(def);
}

std::optional<std::vector<std::int64_t>> NodeContext::attr_ints(std::string_view name) const {
  const Attribute* a = attr(name, AttrType::kInts);
  if (!a) return std::nullopt;
  return a->ints;
}

std::optional<std::vector<float>> NodeContext::attr_floats(std::string_view name) const {
  const Attribute* a = attr(name, AttrType::kFloats);
  if (!a) return std::nullopt;
  return a->floats;
}

const Constant* NodeContext::attr_tensor(std::string_view name) const {
  const Attribute* a = attr(name, AttrType::kTensor);
  return a ? &a->t : nullptr;
}

Tensor NodeContext::place(const Tensor& host) const {
  Tensor t = host;
  if (is_floating(t.dtype())) t = to_dtype(t, target_.device == Device::kCpu ? DType::kF32 : target_.float_dtype);
  return t.to(target_.device);
}

void NodeContext::check_size(const Shape& shape, std::size_t element_bytes, std::string_view what) const {
  const double bytes = static_cast<double>(shape.numel()) * static_cast<double>(element_bytes);
  if (target_.max_value_bytes && bytes > static_cast<double>(target_.max_value_bytes)) {
    fail("{} would be {} ({:.0f} bytes), over the limit of {} bytes", what, shape.to_string(), bytes,
         target_.max_value_bytes);
  }
}

std::int64_t NodeContext::bounded(std::int64_t v, std::string_view what, std::int64_t lo) const {
  if (v < lo || v > kMaxDim) fail("{} {} is outside [{}, {}]", what, v, lo, kMaxDim);
  return v;
}

int NodeContext::axis(std::int64_t axis, int rank, std::string_view what) const {
  if (axis < -rank || axis >= rank) fail("{} {} is out of range for rank {}", what, axis, rank);
  return static_cast<int>(axis < 0 ? axis + rank : axis);
}

// ---- the registry ------------------------------------------------------------------

namespace {

const std::vector<OpDef>& registry() {
  static const std::vector<OpDef> ops = [] {
    std::vector<OpDef> v;
    add_math_ops(v);
    add_shape_ops(v);
    add_nn_ops(v);
    std::sort(v.begin(), v.end(), [](const OpDef& a, const OpDef& b) {
      return a.domain != b.domain ? a.domain < b.domain : a.op_type < b.op_type;
    });
    return v;
  }();
  return ops;
}

}  // namespace

std::span<const OpDef> all_ops() { return registry(); }

const OpDef* find_op(std::string_view domain, std::string_view op_type) {
  for (const OpDef& d : registry())
    if (d.domain == domain && d.op_type == op_type) return &d;
  if (domain.empty() || domain == kInternalDomain) return nullptr;
  for (const OpDef& d : registry())
    if (d.domain == kAnyCustomDomain && d.op_type == op_type) return &d;
  return nullptr;
}

// ---- lowering and folding one node ---------------------------------------------------

void check_outputs(const NodeContext& ctx, const Lowered& lowered, std::span<const Tensor> outputs, Target target) {
  for (std::size_t i = 0; i < outputs.size(); ++i) {
    const ValueMeta& m = lowered.outputs[i];
    const Tensor& t = outputs[i];
    if (!ctx.output_used(i)) continue;
    // An internal error if it ever fires: the lowering's shape inference and
    // its computation disagree.
    if (!t.defined() || !(t.shape() == m.shape)) {
      ctx.fail("output {} came out as {} but planning inferred {} (a lowering bug; please report it)", i,
               t.defined() ? t.describe() : "nothing", m.shape.to_string());
    }
    const DType want = is_float_type(m.type) ? (target.device == Device::kCpu ? DType::kF32 : target.float_dtype)
                                             : *engine_dtype(m.type);
    if (t.dtype() != want) {
      ctx.fail("output {} came out as {} but {} {} was expected (a lowering bug; please report it)", i, t.describe(),
               to_string(want), elem_type_name(m.type));
    }
  }
}

PlannedNode lower_node(const Model& model, const Node& node, const std::vector<const ValueMeta*>& inputs,
                       Target target) {
  const OpDef* def = find_op(node.domain, node.op_type);
  if (!def) throw Error("{}: {}: no lowering for this op", model.where(), node.label());
  bool all_known = true;
  for (std::size_t i = 0; i < node.inputs.size(); ++i)
    if (!node.inputs[i].empty() && (!inputs[i] || !inputs[i]->known())) all_known = false;
  const Target cpu{Device::kCpu, DType::kF32, target.max_value_bytes};
  const NodeContext ctx(model, node, inputs, all_known ? cpu : target);
  PlannedNode p;
  p.lowered = def->lower(ctx);
  if (p.lowered.outputs.size() != node.outputs.size()) {
    ctx.fail("has {} outputs; this op gives {}", node.outputs.size(), p.lowered.outputs.size());
  }
  for (std::size_t i = 0; i < p.lowered.outputs.size(); ++i) {
    const ValueMeta& m = p.lowered.outputs[i];
    const auto dt = engine_dtype(m.type);
    ctx.check_size(m.shape, dt ? dtype_size(*dt) : 8, fmt::format("output {}", i));
  }
  bool outputs_known = true;
  for (const ValueMeta& m : p.lowered.outputs) outputs_known = outputs_known && m.known();
  if (outputs_known) {
    p.folded = true;
    return p;
  }
  if (!all_known) return p;
  std::vector<Tensor> in(node.inputs.size()), out(node.outputs.size());
  for (std::size_t i = 0; i < in.size(); ++i)
    if (!node.inputs[i].empty()) in[i] = inputs[i]->constant;
  try {
    p.lowered.run(in, out);
  } catch (const Error& e) {
    ctx.fail("computing it at load failed: {}", e.what());
  }
  check_outputs(ctx, p.lowered, out, cpu);
  for (std::size_t i = 0; i < out.size(); ++i) p.lowered.outputs[i].constant = out[i];
  p.folded = true;
  return p;
}

// ---- shared helpers ----------------------------------------------------------------

ValueMeta meta(const Shape& shape, ElemType type) {
  ValueMeta m;
  m.shape = shape;
  m.type = type;
  return m;
}

Shape broadcast(const NodeContext& ctx, const Shape& a, const Shape& b) {
  try {
    return broadcast_shapes(ctx.node().op_type.c_str(), a, b);
  } catch (const Error& e) {
    ctx.fail("{}", e.what());
  }
}

std::vector<std::int64_t> int_values(const Tensor& t) {
  std::vector<std::int64_t> v(static_cast<std::size_t>(t.numel()));
  switch (t.dtype()) {
    case DType::kI64:
      std::copy(t.data<std::int64_t>(), t.data<std::int64_t>() + t.numel(), v.begin());
      break;
    case DType::kI32:
      std::copy(t.data<std::int32_t>(), t.data<std::int32_t>() + t.numel(), v.begin());
      break;
    case DType::kU8:
      std::copy(t.data<std::uint8_t>(), t.data<std::uint8_t>() + t.numel(), v.begin());
      break;
    default:
      throw Error("ONNX: expected integer values; got {}", t.describe());
  }
  return v;
}

}  // namespace sc::engine::onnx::detail
