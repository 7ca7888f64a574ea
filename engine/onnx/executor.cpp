// Loading (checks, topological order, rewrites), planning (shapes, folding,
// steps, last uses) and running an ONNX graph.
#include "engine/onnx/executor.h"

#include <algorithm>
#include <optional>
#include <queue>
#include <set>
#include <unordered_map>

#include "engine/cuda/runtime.h"
#include "engine/graph.h"
#include "engine/onnx/lowering.h"
#include "engine/onnx/rewrites.h"
#include "engine/ops.h"

namespace sc::engine::onnx {

namespace {

using detail::Lowered;
using detail::NodeContext;
using detail::OpDef;
using detail::Target;
using detail::ValueMeta;

bool is_supported_domain(const Node& n) {
  if (n.domain.empty() || (n.internal && n.domain == detail::kInternalDomain)) return true;
  // A custom domain only for the plugin ops lowered in any of them.
  const detail::OpDef* def = n.domain == detail::kInternalDomain ? nullptr : detail::find_op(n.domain, n.op_type);
  return def && def->domain == detail::kAnyCustomDomain;
}

// Why `node` cannot run, from its op type, domain and attributes; empty if it can.
std::string unsupported_reason(const Model& model, const Node& node) {
  const std::string domain = node.domain.empty() ? "ai.onnx" : node.domain;
  if (std::find(model.functions.begin(), model.functions.end(), node.domain + ":" + node.op_type) !=
      model.functions.end()) {
    return fmt::format("a model-local function ({}), which is not supported", domain);
  }
  if (!is_supported_domain(node)) return fmt::format("domain '{}' is not supported (only ai.onnx)", domain);
  for (const Attribute& a : node.attributes) {
    if (a.type == AttrType::kGraph) {
      return fmt::format("attribute '{}' holds a subgraph ({}); subgraphs (If, Loop, Scan) are not supported", a.name,
                         a.other);
    }
  }
  const OpDef* def = detail::find_op(node.domain, node.op_type);
  if (!def) return fmt::format("no lowering for {} (opset {})", node.op_type, model.opset());
  if (node.domain.empty() && model.opset() < def->since) {
    return fmt::format("{} does not exist before opset {} (the model imports opset {})", node.op_type, def->since,
                       model.opset());
  }
  for (const Attribute& a : node.attributes) {
    if (std::find(def->attributes.begin(), def->attributes.end(), a.name) == def->attributes.end()) {
      return fmt::format("attribute '{}' is not supported", a.name);
    }
    if (a.type == AttrType::kOther) return fmt::format("attribute '{}' is {}, which is not supported", a.name, a.other);
  }
  // What the lowering checks before it needs shapes (attribute values).
  try {
    (void)def->lower(NodeContext(model, node, {}, Target{}, true));
  } catch (const detail::NeedsShapes&) {
  } catch (const Error& e) {
    const std::string msg = e.what();
    const std::string prefix = NodeContext(model, node, {}, Target{}, true).where() + ": ";
    return msg.rfind(prefix, 0) == 0 ? msg.substr(prefix.size()) : msg;
  }
  return {};
}

// Kahn's algorithm, ties broken by file order so the order is reproducible.
std::vector<Node> topological_order(const Model& m) {
  std::unordered_map<std::string, std::size_t> producer;
  std::set<std::string> sources;
  for (const ValueInfo& in : m.inputs) sources.insert(in.name);
  for (const auto& [name, c] : m.initializers) sources.insert(name);
  for (std::size_t i = 0; i < m.nodes.size(); ++i) {
    for (const std::string& o : m.nodes[i].outputs) {
      if (o.empty()) continue;
      if (sources.count(o)) {
        throw Error("{}: {} writes '{}', which is already a graph input or initializer", m.where(), m.nodes[i].label(),
                    o);
      }
      const auto [it, inserted] = producer.emplace(o, i);
      if (!inserted) {
        throw Error("{}: value '{}' is written twice, by {} and {}", m.where(), o, m.nodes[it->second].label(),
                    m.nodes[i].label());
      }
    }
  }
  std::vector<std::vector<std::size_t>> users(m.nodes.size());
  std::vector<std::size_t> pending(m.nodes.size(), 0);
  for (std::size_t i = 0; i < m.nodes.size(); ++i) {
    std::set<std::size_t> deps;
    for (const std::string& in : m.nodes[i].inputs) {
      if (in.empty() || sources.count(in)) continue;
      const auto it = producer.find(in);
      if (it == producer.end()) {
        throw Error("{}: {} reads '{}', which no node, graph input or initializer provides", m.where(),
                    m.nodes[i].label(), in);
      }
      deps.insert(it->second);
    }
    pending[i] = deps.size();
    for (std::size_t d : deps) users[d].push_back(i);
  }
  for (const ValueInfo& o : m.outputs) {
    if (!sources.count(o.name) && !producer.count(o.name)) {
      throw Error("{}: graph output '{}' is not produced by any node", m.where(), o.name);
    }
  }
  std::priority_queue<std::size_t, std::vector<std::size_t>, std::greater<>> ready;
  for (std::size_t i = 0; i < m.nodes.size(); ++i)
    if (pending[i] == 0) ready.push(i);
  std::vector<Node> order;
  order.reserve(m.nodes.size());
  std::vector<bool> done(m.nodes.size(), false);
  while (!ready.empty()) {
    const std::size_t i = ready.top();
    ready.pop();
    done[i] = true;
    order.push_back(m.nodes[i]);
    for (std::size_t u : users[i])
      if (--pending[u] == 0) ready.push(u);
  }
  if (order.size() != m.nodes.size()) {
    std::string stuck;
    int listed = 0;
    for (std::size_t i = 0; i < m.nodes.size() && listed < 3; ++i) {
      if (done[i]) continue;
      stuck += (listed++ ? ", " : "") + m.nodes[i].label();
    }
    throw Error("{}: the graph has a cycle: {} nodes wait on each other ({}{})", m.where(),
                m.nodes.size() - order.size(), stuck, m.nodes.size() - order.size() > 3 ? ", ..." : "");
  }
  return order;
}

struct Step {
  std::size_t node = 0;  // index into model.nodes
  std::string op_type;   // the profile's key
  std::vector<int> inputs;
  std::vector<int> outputs;  // -1 where unused
  std::vector<int> release;  // values whose last reader this step is
  Lowered lowered;
};

}  // namespace

std::vector<Unsupported> find_unsupported(const Model& model) {
  std::vector<Unsupported> out;
  for (const Node& n : model.nodes) {
    std::string reason = unsupported_reason(model, n);
    if (!reason.empty()) out.push_back({n.label(), n.op_type, n.domain, std::move(reason)});
  }
  return out;
}

std::int64_t min_supported_opset() { return detail::kMinOpset; }
std::int64_t max_supported_opset() { return detail::kMaxOpset; }

std::vector<SupportedOp> supported_ops() {
  std::vector<SupportedOp> out;
  for (const OpDef& d : detail::all_ops()) {
    out.push_back({std::string(d.domain), std::string(d.op_type), d.since, std::string(d.source)});
  }
  return out;
}

struct Executor::Impl {
  Model model;
  ExecutorOptions options;
  Target target;
  LoadStats stats;

  // The plan.
  bool planned = false;
  std::map<std::string, Shape> shapes;  // the input shapes planned for
  std::unordered_map<std::string, int> ids;
  std::vector<ValueMeta> metas;
  std::vector<Tensor> placed;  // known values, on the device, for the steps that read them
  std::vector<int> input_ids, output_ids;
  std::vector<Step> steps;

  bool profiling = false;
  std::map<std::string, OpTime> profile;

  template <typename... Args>
  [[noreturn]] void fail(fmt::format_string<Args...> f, Args&&... args) const {
    throw Error("{}: {}", model.where(), fmt::format(f, std::forward<Args>(args)...));
  }

  int id_of(const std::string& name) {
    const auto [it, inserted] = ids.emplace(name, static_cast<int>(metas.size()));
    if (inserted) metas.emplace_back();
    return it->second;
  }

  void load() {
    stats.nodes = model.nodes.size();
    const std::int64_t opset = model.opset();
    if (opset < detail::kMinOpset || opset > detail::kMaxOpset) {
      fail("imports ai.onnx opset {}; the importer follows opsets {} to {} (re-export the model at one of them)", opset,
           detail::kMinOpset, detail::kMaxOpset);
    }
    const std::vector<Unsupported> bad = find_unsupported(model);
    if (!bad.empty()) {
      std::string list;
      for (std::size_t i = 0; i < bad.size() && i < 5; ++i)
        list += fmt::format("\n  {} (opset {}): {}", bad[i].node, opset, bad[i].reason);
      if (bad.size() > 5) list += fmt::format("\n  ... and {} more", bad.size() - 5);
      fail("{} of {} nodes cannot run (`streamcanvas-cli models inspect` lists them all):{}", bad.size(),
           model.nodes.size(), list);
    }
    for (const ValueInfo& in : model.inputs) {
      if (!in.is_tensor)
        fail("graph input '{}' is not a tensor (sequences, maps and optionals are not supported)", in.name);
      if (!engine_dtype(in.type))
        fail("graph input '{}' is {}, which the engine does not handle", in.name, elem_type_name(in.type));
    }
    for (const ValueInfo& out : model.outputs)
      if (!out.is_tensor) fail("graph output '{}' is not a tensor", out.name);
    model.nodes = topological_order(model);
    if (options.remove_identities) stats.removed_identities = remove_identities(model);
    if (options.fold_constants) stats.folded_at_load = fold_constants(model, options.max_value_bytes);
    if (options.fuse_batchnorm) stats.fused_batchnorms = fuse_batchnorm(model);
    if (options.fuse_matmul_add) stats.fused_matmul_adds = fuse_matmul_add(model);
    if (options.fuse_attention) stats.fused_attentions = fuse_attention(model);
    if (options.fuse_norm_activation) stats.fused_norms = fuse_norm_activation(model);
    drop_unused_initializers(model);
    std::map<std::string, Shape> fixed;
    for (const ValueInfo& in : model.inputs) {
      bool all = in.has_shape;
      std::vector<std::int64_t> dims;
      for (const Dim& d : in.dims) {
        all = all && d.known();
        dims.push_back(d.value);
      }
      if (!all) return;
      fixed.emplace(in.name, Shape(dims));
    }
    plan_for(fixed);
  }

  void check_input_shapes(const std::map<std::string, Shape>& given) const {
    std::map<std::string, std::pair<std::int64_t, std::string>> symbols;
    for (const ValueInfo& in : model.inputs) {
      const auto it = given.find(in.name);
      if (it == given.end()) fail("graph input '{}' ({}) is not given", in.name, in.shape_string());
      const Shape& s = it->second;
      if (!in.has_shape) continue;
      if (static_cast<std::size_t>(s.rank()) != in.dims.size()) {
        fail("graph input '{}' is {} but the graph declares {} (rank {} vs {})", in.name, s.to_string(),
             in.shape_string(), s.rank(), in.dims.size());
      }
      for (int d = 0; d < s.rank(); ++d) {
        const Dim& want = in.dims[static_cast<std::size_t>(d)];
        if (want.known() && want.value != s[d]) {
          fail("graph input '{}' is {} but the graph declares {} (dimension {}: {} vs {})", in.name, s.to_string(),
               in.shape_string(), d, s[d], want.value);
        }
        if (!want.known() && !want.symbol.empty()) {
          const auto [sit, inserted] = symbols.emplace(want.symbol, std::make_pair(s[d], in.name));
          if (!inserted && sit->second.first != s[d]) {
            fail("dimension '{}' is {} in input '{}' but {} in input '{}'", want.symbol, sit->second.first,
                 sit->second.second, s[d], in.name);
          }
        }
      }
    }
    for (const auto& entry : given) {
      const std::string& name = entry.first;  // (a structured binding cannot be captured before clang 16)
      const bool is_input =
          std::any_of(model.inputs.begin(), model.inputs.end(), [&](const ValueInfo& v) { return v.name == name; });
      if (!is_input) fail("'{}' is not an input of the graph (its inputs: {})", name, input_names());
    }
  }

  std::string input_names() const {
    std::string s;
    for (const ValueInfo& in : model.inputs) s += (s.empty() ? "" : ", ") + in.name;
    return s.empty() ? "none" : s;
  }

  void plan_for(const std::map<std::string, Shape>& given) {
    check_input_shapes(given);
    planned = false;
    ids.clear();
    metas.clear();
    placed.clear();
    steps.clear();
    input_ids.clear();
    output_ids.clear();
    stats.folded_at_plan = 0;
    for (const auto& [name, c] : model.initializers) {
      const int id = id_of(name);
      metas[static_cast<std::size_t>(id)] = detail::meta(c.value.shape(), c.type);
      metas[static_cast<std::size_t>(id)].constant = c.value;
    }
    for (const ValueInfo& in : model.inputs) {
      const int id = id_of(in.name);
      metas[static_cast<std::size_t>(id)] = detail::meta(given.at(in.name), in.type);
      input_ids.push_back(id);
    }
    for (std::size_t ni = 0; ni < model.nodes.size(); ++ni) {
      const Node& node = model.nodes[ni];
      std::vector<int> in_ids;
      std::vector<const ValueMeta*> ins;
      for (const std::string& in : node.inputs) {
        in_ids.push_back(in.empty() ? -1 : ids.at(in));
        ins.push_back(in.empty() ? nullptr : &metas[static_cast<std::size_t>(ids.at(in))]);
      }
      detail::PlannedNode p = detail::lower_node(model, node, ins, target);
      std::vector<int> out_ids;
      for (std::size_t i = 0; i < node.outputs.size(); ++i) {
        if (node.outputs[i].empty()) {
          out_ids.push_back(-1);
          continue;
        }
        const int id = id_of(node.outputs[i]);
        metas[static_cast<std::size_t>(id)] = p.lowered.outputs[i];
        out_ids.push_back(id);
      }
      if (p.folded) {
        ++stats.folded_at_plan;
        continue;
      }
      Step s;
      s.node = ni;
      s.op_type = node.op_type;
      s.inputs = std::move(in_ids);
      s.outputs = std::move(out_ids);
      s.lowered = std::move(p.lowered);
      steps.push_back(std::move(s));
    }
    for (const ValueInfo& o : model.outputs) output_ids.push_back(ids.at(o.name));
    // Last readers: a value is dropped after the step that reads it last,
    // unless it is a graph output or known (those live with the plan).
    std::vector<int> last(metas.size(), -1);
    for (std::size_t si = 0; si < steps.size(); ++si) {
      for (int id : steps[si].inputs)
        if (id >= 0) last[static_cast<std::size_t>(id)] = static_cast<int>(si);
      for (int id : steps[si].outputs)  // written and never read: dropped at once
        if (id >= 0 && last[static_cast<std::size_t>(id)] < static_cast<int>(si))
          last[static_cast<std::size_t>(id)] = static_cast<int>(si);
    }
    std::vector<bool> keep(metas.size(), false);
    for (int id : output_ids) keep[static_cast<std::size_t>(id)] = true;
    for (std::size_t id = 0; id < metas.size(); ++id) {
      if (keep[id] || metas[id].known() || last[id] < 0) continue;
      steps[static_cast<std::size_t>(last[id])].release.push_back(static_cast<int>(id));
    }
    // Known values the steps or the outputs read, placed on the device once.
    placed.assign(metas.size(), Tensor());
    auto place = [&](int id) {
      const ValueMeta& m = metas[static_cast<std::size_t>(id)];
      if (!m.known() || placed[static_cast<std::size_t>(id)].defined()) return;
      Tensor t = m.constant;
      if (is_floating(t.dtype())) t = to_dtype(t, target.float_dtype);
      placed[static_cast<std::size_t>(id)] = t.to(target.device);
      // On a GPU the host copy is only needed to plan again: its file pages go
      // back until then.
      if (target.device != Device::kCpu) model.release(m.constant);
    };
    for (const Step& s : steps)
      for (int id : s.inputs)
        if (id >= 0) place(id);
    for (int id : output_ids) place(id);
    stats.steps = steps.size();
    shapes = given;
    planned = true;
  }

  Tensor convert_input(const ValueInfo& in, const Tensor& t) const {
    if (!t.defined()) fail("graph input '{}' is an undefined tensor", in.name);
    if (is_float_type(in.type)) {
      if (!is_floating(t.dtype()))
        fail("graph input '{}' is {} but the graph wants {}", in.name, t.describe(), elem_type_name(in.type));
      return to_dtype(t.to(target.device), target.float_dtype);
    }
    const DType want = *engine_dtype(in.type);
    if (t.dtype() != want) {
      fail("graph input '{}' is {} but the graph wants {} ({})", in.name, t.describe(), elem_type_name(in.type),
           to_string(want));
    }
    return t.to(target.device);
  }

  std::map<std::string, Tensor> run(const std::map<std::string, Tensor>& given) {
    std::map<std::string, Shape> s;
    for (const auto& [name, t] : given) s.emplace(name, t.defined() ? t.shape() : Shape{});
    if (!planned || s != shapes) plan_for(s);
    std::vector<Tensor> values = placed;
    for (std::size_t i = 0; i < model.inputs.size(); ++i) {
      const ValueInfo& in = model.inputs[i];
      values[static_cast<std::size_t>(input_ids[i])] = convert_input(in, given.at(in.name));
    }
    std::vector<Tensor> ins, outs;
    for (const Step& step : steps) {
      ins.assign(step.inputs.size(), Tensor());
      for (std::size_t i = 0; i < step.inputs.size(); ++i)
        if (step.inputs[i] >= 0) ins[i] = values[static_cast<std::size_t>(step.inputs[i])];
      outs.assign(step.outputs.size(), Tensor());
      const Node& node = model.nodes[step.node];
      const NodeContext ctx(model, node, {}, target);
      std::optional<StageTimer> timer;
      if (profiling) {
        timer.emplace(target.device);
        timer->start();
      }
      try {
        step.lowered.run(ins, outs);
      } catch (const Error& e) {
        ctx.fail("{}", e.what());
      }
      if (timer) {
        timer->stop();
        double seconds = 0;
        timer->collect(&seconds);
        OpTime& p = profile[step.op_type];
        p.op_type = step.op_type;
        ++p.calls;
        p.ms += seconds * 1e3;
      }
      detail::check_outputs(ctx, step.lowered, outs, target);
      for (std::size_t i = 0; i < step.outputs.size(); ++i)
        if (step.outputs[i] >= 0) values[static_cast<std::size_t>(step.outputs[i])] = std::move(outs[i]);
      for (int id : step.release) values[static_cast<std::size_t>(id)] = Tensor();
    }
    std::map<std::string, Tensor> result;
    for (std::size_t i = 0; i < model.outputs.size(); ++i) {
      result[model.outputs[i].name] = values[static_cast<std::size_t>(output_ids[i])];
    }
    return result;
  }

  // One forward recorded as a device graph (engine/graph.h): the inputs it
  // reads are the executor's own tensors, refilled by replay().
  std::optional<Graph> graph;
  std::map<std::string, Tensor> graph_inputs, graph_outputs;
  std::map<std::string, Shape> graph_shapes;

  bool capture(const std::map<std::string, Tensor>& example) {
    graph.reset();
    if (!Graph::supported(target.device)) return false;
    // A first run outside the capture: the plan, the allocator's blocks and
    // every per-shape choice (cuDNN's algorithms) are made here, where work
    // may run and wait.
    (void)run(example);
    graph_inputs.clear();
    graph_shapes.clear();
    for (const ValueInfo& in : model.inputs) {
      graph_inputs[in.name] = convert_input(in, example.at(in.name)).clone();
      graph_shapes[in.name] = example.at(in.name).shape();
    }
    const bool was_profiling = profiling;
    profiling = false;  // a timer's wait cannot be recorded
    Graph g(target.device);
    try {
      g.capture([&] { graph_outputs = run(graph_inputs); });
    } catch (...) {
      profiling = was_profiling;
      throw;
    }
    profiling = was_profiling;
    graph = std::move(g);
    return true;
  }

  std::map<std::string, Tensor> replay(const std::map<std::string, Tensor>& given) {
    if (!graph) return run(given);
    for (const ValueInfo& in : model.inputs) {
      const auto it = given.find(in.name);
      if (it == given.end()) fail("graph input '{}' was not given", in.name);
      // Other shapes than the recording's: an eager run (which re-plans).
      if (!(it->second.shape() == graph_shapes.at(in.name))) return run(given);
    }
    for (const ValueInfo& in : model.inputs) {
      Tensor& dst = graph_inputs.at(in.name);
      const Tensor& src = given.at(in.name);
      copy_into(dst, src.dtype() == dst.dtype() ? src : to_dtype(src, dst.dtype()));
    }
    graph->replay();
    return graph_outputs;
  }
};

Executor::Executor(Model model, ExecutorOptions options) : impl_(std::make_unique<Impl>()) {
  impl_->model = std::move(model);
  impl_->options = options;
  impl_->target.device = options.device;
  const DType dt = options.float_dtype.value_or(options.device == Device::kCuda ? DType::kF16 : DType::kF32);
  if (!is_floating(dt) || (options.device == Device::kCpu && dt != DType::kF32)) {
    throw Error("{}: floats cannot be stored as {} on the {} (the CPU computes in f32; CUDA takes f32, f16 or bf16)",
                impl_->model.where(), to_string(dt), to_string(options.device));
  }
  impl_->target.float_dtype = dt;
  impl_->target.max_value_bytes = options.max_value_bytes;
  if (options.device == Device::kCuda) {
    const std::string what = fmt::format("{}: running on CUDA", impl_->model.where());
    cuda::require_available(what.c_str());
  }
  impl_->load();
}

Executor::~Executor() = default;
Executor::Executor(Executor&&) noexcept = default;
Executor& Executor::operator=(Executor&&) noexcept = default;

const Model& Executor::model() const { return impl_->model; }
const LoadStats& Executor::stats() const { return impl_->stats; }
Device Executor::device() const { return impl_->target.device; }
DType Executor::float_dtype() const { return impl_->target.float_dtype; }
void Executor::plan(const std::map<std::string, Shape>& input_shapes) { impl_->plan_for(input_shapes); }
bool Executor::planned() const { return impl_->planned; }

std::map<std::string, Tensor> Executor::run(const std::map<std::string, Tensor>& inputs) { return impl_->run(inputs); }

bool Executor::capture(const std::map<std::string, Tensor>& example_inputs) { return impl_->capture(example_inputs); }
bool Executor::captured() const { return impl_->graph.has_value(); }
std::size_t Executor::captured_nodes() const { return impl_->graph ? impl_->graph->nodes() : 0; }
std::map<std::string, Tensor> Executor::replay(const std::map<std::string, Tensor>& inputs) {
  return impl_->replay(inputs);
}

void Executor::set_profiling(bool on) { impl_->profiling = on; }

std::vector<OpTime> Executor::profile() const {
  std::vector<OpTime> out;
  for (const auto& [name, t] : impl_->profile) out.push_back(t);
  std::sort(out.begin(), out.end(), [](const OpTime& a, const OpTime& b) { return a.ms > b.ms; });
  return out;
}

void Executor::reset_profile() { impl_->profile.clear(); }

std::string format_profile(const std::vector<OpTime>& ops, const std::string& title) {
  double total = 0;
  for (const OpTime& t : ops) total += t.ms;
  std::string text = fmt::format("== {}, op by op (sum {:.2f} ms)\n", title, total);
  text += fmt::format("{:<24} {:>8} {:>11} {:>7}\n", "op", "calls", "total ms", "share");
  for (const OpTime& t : ops) {
    text += fmt::format("{:<24} {:>8} {:>11.3f} {:>6.1f}%\n", t.op_type, t.calls, t.ms,
                        total > 0 ? 100.0 * t.ms / total : 0.0);
  }
  return text;
}

}  // namespace sc::engine::onnx
