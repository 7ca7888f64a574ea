#include "engine/onnx/rewrites.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <optional>
#include <set>

#include "engine/onnx/lowering.h"
#include "engine/ops.h"

namespace sc::engine::onnx {

namespace {

// How many times each value is read: by nodes, and once more per graph output.
std::map<std::string, std::size_t> readers(const Model& m) {
  std::map<std::string, std::size_t> n;
  for (const Node& node : m.nodes)
    for (const std::string& in : node.inputs)
      if (!in.empty()) ++n[in];
  for (const ValueInfo& o : m.outputs) ++n[o.name];
  return n;
}

bool is_output(const Model& m, const std::string& name) {
  for (const ValueInfo& o : m.outputs)
    if (o.name == name) return true;
  return false;
}

const Constant* initializer(const Model& m, const std::string& name) {
  const auto it = m.initializers.find(name);
  return it == m.initializers.end() ? nullptr : &it->second;
}

// A name no value of the model has yet.
std::string fresh_name(const Model& m, const std::string& base) {
  std::set<std::string> used;
  for (const Node& n : m.nodes) used.insert(n.outputs.begin(), n.outputs.end());
  std::string name = base;
  for (int i = 1; m.initializers.count(name) || used.count(name); ++i) name = base + "." + std::to_string(i);
  return name;
}

std::int64_t int_attr(const Node& n, const char* name, std::int64_t def) {
  const Attribute* a = n.attribute(name);
  return a && a->type == AttrType::kInt ? a->i : def;
}

float float_attr(const Node& n, const char* name, float def) {
  const Attribute* a = n.attribute(name);
  return a && a->type == AttrType::kFloat ? a->f : def;
}

// Which node makes each value.
std::map<std::string, std::size_t> producers(const Model& m) {
  std::map<std::string, std::size_t> producer;
  for (std::size_t i = 0; i < m.nodes.size(); ++i)
    for (const std::string& o : m.nodes[i].outputs)
      if (!o.empty()) producer[o] = i;
  return producer;
}

// Removes the nodes marked in `drop`, keeping the others' order.
void drop_nodes(Model& m, const std::vector<bool>& drop) {
  std::vector<Node> kept;
  for (std::size_t i = 0; i < m.nodes.size(); ++i)
    if (!drop[i]) kept.push_back(std::move(m.nodes[i]));
  m.nodes = std::move(kept);
}

// An initializer read by nothing any more: dropped now, its file pages
// given back, so a graph whose weights are all rewritten at load (transposed,
// folded) never holds them twice.
void drop_if_unread(Model& m, std::map<std::string, std::size_t>& reads, const std::string& name) {
  auto r = reads.find(name);
  if (r == reads.end() || r->second == 0 || --r->second > 0) return;
  const auto it = m.initializers.find(name);
  if (it == m.initializers.end()) return;
  m.release(it->second.value);
  m.initializers.erase(it);
}

}  // namespace

std::size_t fold_constants(Model& m, std::uint64_t max_value_bytes) {
  auto reads = readers(m);
  std::map<std::string, detail::ValueMeta> known;
  for (const auto& [name, c] : m.initializers) {
    detail::ValueMeta v = detail::meta(c.value.shape(), c.type);
    v.constant = c.value;
    known.emplace(name, v);
  }
  std::vector<Node> kept;
  std::size_t folded = 0;
  for (Node& node : m.nodes) {
    bool all = true;
    std::vector<const detail::ValueMeta*> ins;
    for (const std::string& in : node.inputs) {
      if (in.empty()) {
        ins.push_back(nullptr);
        continue;
      }
      const auto it = known.find(in);
      all = all && it != known.end();
      ins.push_back(it == known.end() ? nullptr : &it->second);
    }
    if (!all) {
      kept.push_back(std::move(node));
      continue;
    }
    const detail::PlannedNode p = detail::lower_node(m, node, ins, {Device::kCpu, DType::kF32, max_value_bytes});
    for (std::size_t i = 0; i < node.outputs.size(); ++i) {
      if (node.outputs[i].empty()) continue;
      known.emplace(node.outputs[i], p.lowered.outputs[i]);
      m.initializers[node.outputs[i]] = Constant{p.lowered.outputs[i].type, p.lowered.outputs[i].constant};
    }
    for (const std::string& in : node.inputs) {
      if (in.empty()) continue;
      if (reads.count(in) && reads[in] == 1) known.erase(in);
      drop_if_unread(m, reads, in);
    }
    ++folded;
  }
  m.nodes = std::move(kept);
  return folded;
}

std::size_t remove_identities(Model& m) {
  std::size_t removed = 0;
  std::vector<Node> kept;
  std::map<std::string, std::string> alias;  // removed output -> what it reads
  auto resolve = [&](const std::string& name) {
    const auto it = alias.find(name);
    return it == alias.end() ? name : it->second;
  };
  for (Node& node : m.nodes) {
    for (std::string& in : node.inputs)
      if (!in.empty()) in = resolve(in);
    const bool identity =
        node.domain.empty() && (node.op_type == "Identity" || (node.op_type == "Dropout" && node.inputs.size() == 1 &&
                                                               (node.outputs.size() < 2 || node.outputs[1].empty())));
    // A graph output keeps its node: the output needs a producer of that name.
    if (identity && node.outputs.size() >= 1 && !node.outputs[0].empty() && !node.inputs.empty() &&
        !node.inputs[0].empty() && !is_output(m, node.outputs[0])) {
      alias[node.outputs[0]] = node.inputs[0];
      ++removed;
      continue;
    }
    kept.push_back(std::move(node));
  }
  m.nodes = std::move(kept);
  return removed;
}

std::size_t fuse_batchnorm(Model& m) {
  std::size_t fused = 0;
  const std::map<std::string, std::size_t> producer = producers(m);
  auto reads = readers(m);
  std::vector<bool> drop(m.nodes.size(), false);
  for (std::size_t bi = 0; bi < m.nodes.size(); ++bi) {
    const Node& bn = m.nodes[bi];
    if (!bn.domain.empty() || bn.op_type != "BatchNormalization" || bn.inputs.size() != 5) continue;
    if (int_attr(bn, "training_mode", 0) != 0 || int_attr(bn, "spatial", 1) != 1) continue;
    bool extra = false;
    for (std::size_t i = 1; i < bn.outputs.size(); ++i) extra = extra || !bn.outputs[i].empty();
    if (extra) continue;
    const auto pit = producer.find(bn.inputs[0]);
    if (pit == producer.end() || reads.at(bn.inputs[0]) != 1) continue;
    Node& conv = m.nodes[pit->second];
    if (!conv.domain.empty() || conv.op_type != "Conv" || conv.inputs.size() < 2 || conv.outputs.size() != 1) continue;
    const Constant* w = initializer(m, conv.inputs[1]);
    const Constant* b = conv.inputs.size() > 2 && !conv.inputs[2].empty() ? initializer(m, conv.inputs[2]) : nullptr;
    if (!w || !is_float_type(w->type) || w->value.rank() < 3 ||
        (conv.inputs.size() > 2 && !conv.inputs[2].empty() && !b)) {
      continue;
    }
    const std::int64_t c = w->value.dim(0);
    std::vector<std::vector<float>> p;
    for (std::size_t i = 1; i <= 4; ++i) {
      const Constant* t = initializer(m, bn.inputs[i]);
      if (!t || !is_float_type(t->type) || !(t->value.shape() == Shape{c})) break;
      p.push_back(t->value.to_vector<float>());
    }
    if (p.size() != 4 || (b && !(b->value.shape() == Shape{c}))) continue;
    const float eps = float_attr(bn, "epsilon", 1e-5f);
    // W' = W * s and b' = (b - mean) * s + beta per output channel, with
    // s = gamma / sqrt(var + eps), in double.
    Tensor w2 = w->value.clone();
    std::vector<float> b2(static_cast<std::size_t>(c));
    const std::int64_t per = w2.numel() / std::max<std::int64_t>(c, 1);
    float* pw = w2.data<float>();
    const std::vector<float> bias =
        b ? b->value.to_vector<float>() : std::vector<float>(static_cast<std::size_t>(c), 0.0f);
    for (std::int64_t o = 0; o < c; ++o) {
      const auto u = static_cast<std::size_t>(o);
      const double s = p[0][u] / std::sqrt(static_cast<double>(p[3][u]) + eps);
      for (std::int64_t k = 0; k < per; ++k) pw[o * per + k] = static_cast<float>(pw[o * per + k] * s);
      b2[u] = static_cast<float>((bias[u] - p[2][u]) * s + p[1][u]);
    }
    const std::string base = conv.name.empty() ? conv.inputs[1] : conv.name;
    const std::string wn = fresh_name(m, base + ".bn_folded.weight");
    m.initializers[wn] = Constant{ElemType::kFloat, w2};
    const std::string bname = fresh_name(m, base + ".bn_folded.bias");
    m.initializers[bname] = Constant{ElemType::kFloat, Tensor::from_vector({c}, b2)};
    const std::string old_w = conv.inputs[1], old_b = conv.inputs.size() > 2 ? conv.inputs[2] : "";
    conv.inputs.resize(3);
    conv.inputs[1] = wn;
    conv.inputs[2] = bname;
    drop_if_unread(m, reads, old_w);
    if (!old_b.empty()) drop_if_unread(m, reads, old_b);
    conv.outputs[0] = bn.outputs[0];
    drop[bi] = true;
    ++fused;
  }
  drop_nodes(m, drop);
  return fused;
}

std::size_t fuse_matmul_add(Model& m) {
  std::size_t fused = 0;
  const std::map<std::string, std::size_t> producer = producers(m);
  auto reads = readers(m);
  std::vector<bool> drop(m.nodes.size(), false);
  for (std::size_t ai = 0; ai < m.nodes.size(); ++ai) {
    Node& add_node = m.nodes[ai];
    if (!add_node.domain.empty() || add_node.op_type != "Add" || add_node.inputs.size() != 2) continue;
    for (int side = 0; side < 2; ++side) {
      const std::string& mm_out = add_node.inputs[static_cast<std::size_t>(side)];
      const std::string& bias_name = add_node.inputs[static_cast<std::size_t>(1 - side)];
      const Constant* bias = initializer(m, bias_name);
      const auto pit = producer.find(mm_out);
      if (!bias || pit == producer.end() || drop[pit->second] || reads.at(mm_out) != 1) continue;
      const Node& mm = m.nodes[pit->second];
      if (!mm.domain.empty() || mm.op_type != "MatMul" || mm.inputs.size() != 2) continue;
      const Constant* w = initializer(m, mm.inputs[1]);
      if (!w || !is_float_type(w->type) || !is_float_type(bias->type) || w->value.rank() != 2) continue;
      const std::int64_t n = w->value.dim(1);
      // A bias of rank 1 keeps the MatMul's shape whatever x's rank is.
      if (!(bias->value.shape() == Shape{n})) continue;
      const std::string base = mm.name.empty() ? mm.inputs[1] : mm.name;
      const std::string wt = fresh_name(m, base + ".transposed");
      m.initializers[wt] = Constant{ElemType::kFloat, transpose(w->value, 0, 1)};
      Node linear;
      linear.name = mm.name;
      linear.op_type = "MatMul+Add";
      linear.domain = std::string(detail::kInternalDomain);
      linear.internal = true;
      linear.index = mm.index;
      linear.inputs = {mm.inputs[0], wt, bias_name};
      linear.outputs = {add_node.outputs[0]};
      const std::string old_w = mm.inputs[1];
      drop[pit->second] = true;
      add_node = std::move(linear);
      drop_if_unread(m, reads, old_w);
      ++fused;
      break;
    }
  }
  drop_nodes(m, drop);
  return fused;
}

namespace {

// The value of a one-element float initializer (a scale), if `name` is one.
std::optional<float> scalar_constant(const Model& m, const std::string& name) {
  const Constant* c = initializer(m, name);
  if (!c || !is_float_type(c->type) || c->value.numel() != 1) return std::nullopt;
  return to_dtype(c->value, DType::kF32).reshape({1}).data<float>()[0];
}

// Walks back from `value` through Mul / Div by scalar constants that only it
// reads, multiplying their factors into `scale` and marking them dropped.
// Returns the value the chain starts from.
std::string through_scales(const Model& m, const std::map<std::string, std::size_t>& producer,
                           const std::map<std::string, std::size_t>& reads, std::vector<bool>& drop,
                           std::vector<std::size_t>& dropped, std::string value, float& scale) {
  for (;;) {
    const auto pit = producer.find(value);
    if (pit == producer.end() || drop[pit->second] || reads.at(value) != 1 || is_output(m, value)) return value;
    const Node& n = m.nodes[pit->second];
    if (!n.domain.empty() || n.inputs.size() != 2 || (n.op_type != "Mul" && n.op_type != "Div")) return value;
    // Mul by a scalar on either side; Div only by a scalar divisor.
    int side = -1;
    std::optional<float> factor;
    if ((factor = scalar_constant(m, n.inputs[1]))) {
      side = 0;
      if (n.op_type == "Div") factor = 1.0f / *factor;
    } else if (n.op_type == "Mul" && (factor = scalar_constant(m, n.inputs[0]))) {
      side = 1;
    }
    // A scalar of rank > 0 would broadcast the result's rank up: only rank 0 or 1.
    if (side < 0 || initializer(m, n.inputs[static_cast<std::size_t>(1 - side)])->value.rank() > 1 ||
        !std::isfinite(*factor)) {
      return value;
    }
    scale *= *factor;
    drop[pit->second] = true;
    dropped.push_back(pit->second);
    value = n.inputs[static_cast<std::size_t>(side)];
  }
}

}  // namespace

std::size_t fuse_attention(Model& m) {
  const auto opset = m.opsets.find("");
  if (opset == m.opsets.end() || opset->second < 13) return 0;  // Softmax's axis semantics before 13 differ
  std::size_t fused = 0;
  const std::map<std::string, std::size_t> producer = producers(m);
  const auto reads = readers(m);
  std::map<std::string, std::size_t> consumer;  // the reader of values read once
  for (std::size_t i = 0; i < m.nodes.size(); ++i)
    for (const std::string& in : m.nodes[i].inputs)
      if (!in.empty()) consumer[in] = i;
  std::vector<bool> drop(m.nodes.size(), false);
  for (std::size_t si = 0; si < m.nodes.size(); ++si) {
    const Node& softmax = m.nodes[si];
    if (drop[si] || !softmax.domain.empty() || softmax.op_type != "Softmax" || softmax.inputs.size() != 1 ||
        softmax.outputs.size() != 1 || int_attr(softmax, "axis", -1) != -1) {
      continue;
    }
    const std::string& probs = softmax.outputs[0];
    if (reads.count(probs) == 0 || reads.at(probs) != 1 || is_output(m, probs)) continue;
    const std::size_t ci = consumer.at(probs);
    const Node& context = m.nodes[ci];
    if (drop[ci] || !context.domain.empty() || context.op_type != "MatMul" || context.inputs.size() != 2 ||
        context.inputs[0] != probs) {
      continue;
    }
    std::vector<bool> trial = drop;
    std::vector<std::size_t> dropped;
    float scale = 1.0f;
    const std::string scores = through_scales(m, producer, reads, trial, dropped, softmax.inputs[0], scale);
    const auto sit = producer.find(scores);
    if (sit == producer.end() || trial[sit->second] || reads.at(scores) != 1 || is_output(m, scores)) continue;
    const Node& product = m.nodes[sit->second];
    if (!product.domain.empty() || product.op_type != "MatMul" || product.inputs.size() != 2) continue;
    const std::string q = through_scales(m, producer, reads, trial, dropped, product.inputs[0], scale);
    const std::string kt = through_scales(m, producer, reads, trial, dropped, product.inputs[1], scale);
    const auto kit = producer.find(kt);
    if (kit == producer.end() || trial[kit->second] || reads.at(kt) != 1 || is_output(m, kt)) continue;
    Node& transpose = m.nodes[kit->second];
    const Attribute* perm_attr = transpose.attribute("perm");
    if (!transpose.domain.empty() || transpose.op_type != "Transpose" || !perm_attr ||
        perm_attr->type != AttrType::kInts || perm_attr->ints.size() < 2) {
      continue;
    }
    // The keys [..., Sk, D] are the Transpose's input permuted with the last
    // two axes of its perm swapped (none at all when that is the identity).
    std::vector<std::int64_t> perm = perm_attr->ints;
    std::swap(perm[perm.size() - 1], perm[perm.size() - 2]);
    bool identity = true;
    for (std::size_t i = 0; i < perm.size(); ++i) identity = identity && perm[i] == static_cast<std::int64_t>(i);
    std::string k = transpose.inputs[0];
    if (identity) {
      trial[kit->second] = true;
    } else {
      k = fresh_name(m, kt + ".keys");
      Node keys = transpose;
      keys.name = transpose.name.empty() ? "" : transpose.name + ".keys";
      keys.outputs = {k};
      for (Attribute& a : keys.attributes)
        if (a.name == "perm") a.ints = perm;
      keys.internal = true;
      transpose = std::move(keys);
    }
    trial[si] = true;
    trial[sit->second] = true;
    Node attention;
    attention.name = context.name.empty() ? softmax.name : context.name;
    attention.op_type = "Attention";
    attention.domain = std::string(detail::kInternalDomain);
    attention.internal = true;
    attention.index = context.index;
    attention.inputs = {q, k, context.inputs[1]};
    attention.outputs = {context.outputs[0]};
    Attribute sa;
    sa.name = "scale";
    sa.type = AttrType::kFloat;
    sa.f = scale;
    attention.attributes.push_back(sa);
    m.nodes[ci] = std::move(attention);
    drop = std::move(trial);
    ++fused;
  }
  drop_nodes(m, drop);
  return fused;
}

namespace {

Node internal_node(const Node& like, std::string op_type, std::vector<std::string> inputs,
                   std::vector<std::string> outputs) {
  Node n;
  n.name = like.name;
  n.op_type = std::move(op_type);
  n.domain = std::string(detail::kInternalDomain);
  n.internal = true;
  n.index = like.index;
  n.inputs = std::move(inputs);
  n.outputs = std::move(outputs);
  return n;
}

void set_attr(Node& n, const char* name, float f) {
  Attribute a;
  a.name = name;
  a.type = AttrType::kFloat;
  a.f = f;
  n.attributes.push_back(a);
}

void set_attr(Node& n, const char* name, std::int64_t i) {
  Attribute a;
  a.name = name;
  a.type = AttrType::kInt;
  a.i = i;
  n.attributes.push_back(a);
}

// The node making `value` when it is read once and not a graph output.
const Node* sole_producer(const Model& m, const std::map<std::string, std::size_t>& producer,
                          const std::map<std::string, std::size_t>& reads, const std::vector<bool>& drop,
                          const std::string& value, std::size_t* index = nullptr) {
  const auto it = producer.find(value);
  if (it == producer.end() || drop[it->second] || reads.at(value) != 1 || is_output(m, value)) return nullptr;
  if (index) *index = it->second;
  return &m.nodes[it->second];
}

bool is_op(const Node* n, const char* op) { return n && n->domain.empty() && n->op_type == op; }

// An initializer all of whose values are `v`.
bool all_equal(const Model& m, const std::string& name, float v) {
  const Constant* c = initializer(m, name);
  if (!c || !is_float_type(c->type)) return false;
  const std::vector<float> values = to_dtype(c->value, DType::kF32).to_vector<float>();
  return std::all_of(values.begin(), values.end(), [v](float x) { return x == v; });
}

}  // namespace

std::size_t fuse_norm_activation(Model& m) {
  std::size_t fused = 0;
  // 1. SiLU: Mul(x, Sigmoid(x)) (either side), the Sigmoid read only there.
  {
    const auto producer = producers(m);
    const auto reads = readers(m);
    std::vector<bool> drop(m.nodes.size(), false);
    for (std::size_t i = 0; i < m.nodes.size(); ++i) {
      Node& mul = m.nodes[i];
      if (!mul.domain.empty() || mul.op_type != "Mul" || mul.inputs.size() != 2) continue;
      for (int side = 0; side < 2; ++side) {
        std::size_t si = 0;
        const Node* sig = sole_producer(m, producer, reads, drop, mul.inputs[static_cast<std::size_t>(side)], &si);
        if (!is_op(sig, "Sigmoid") || sig->inputs.size() != 1 ||
            sig->inputs[0] != mul.inputs[static_cast<std::size_t>(1 - side)])
          continue;
        drop[si] = true;
        mul = internal_node(mul, "Silu", {sig->inputs[0]}, {mul.outputs[0]});
        ++fused;
        break;
      }
    }
    drop_nodes(m, drop);
  }
  // 2. GroupNorm as exporters before opset 18 write it: Reshape(x, [N, G, -1])
  //    -> InstanceNormalization (scale 1, bias 0) -> Reshape(back) -> Mul(gamma)
  //    -> Add(beta), the intermediates read once. One internal GroupNorm; its
  //    lowering checks the shapes at plan time and runs the ops themselves
  //    where they are not what the fusion assumes.
  {
    const auto producer = producers(m);
    const auto reads = readers(m);
    std::vector<bool> drop(m.nodes.size(), false);
    for (std::size_t ai = 0; ai < m.nodes.size(); ++ai) {
      Node& add_node = m.nodes[ai];
      if (!add_node.domain.empty() || add_node.op_type != "Add" || add_node.inputs.size() != 2) continue;
      std::size_t mi = 0, ri = 0, ii = 0, ri1 = 0;
      int bside = -1;
      const Node* mul = nullptr;
      for (int side = 0; side < 2 && !mul; ++side) {
        const Node* cand =
            sole_producer(m, producer, reads, drop, add_node.inputs[static_cast<std::size_t>(side)], &mi);
        if (is_op(cand, "Mul") && initializer(m, add_node.inputs[static_cast<std::size_t>(1 - side)])) {
          mul = cand;
          bside = 1 - side;
        }
      }
      if (!mul || mul->inputs.size() != 2) continue;
      int gside = -1;
      const Node* back = nullptr;
      for (int side = 0; side < 2 && !back; ++side) {
        const Node* cand = sole_producer(m, producer, reads, drop, mul->inputs[static_cast<std::size_t>(side)], &ri);
        if (is_op(cand, "Reshape") && initializer(m, mul->inputs[static_cast<std::size_t>(1 - side)])) {
          back = cand;
          gside = 1 - side;
        }
      }
      if (!back || back->inputs.size() != 2) continue;
      const Node* inorm = sole_producer(m, producer, reads, drop, back->inputs[0], &ii);
      if (!is_op(inorm, "InstanceNormalization") || inorm->inputs.size() != 3 ||
          !all_equal(m, inorm->inputs[1], 1.0f) || !all_equal(m, inorm->inputs[2], 0.0f)) {
        continue;
      }
      const Node* split = sole_producer(m, producer, reads, drop, inorm->inputs[0], &ri1);
      if (!is_op(split, "Reshape") || split->inputs.size() != 2 || !initializer(m, split->inputs[1])) continue;
      const std::int64_t groups = initializer(m, inorm->inputs[1])->value.numel();
      Node g = internal_node(add_node, "GroupNorm",
                             {split->inputs[0], mul->inputs[static_cast<std::size_t>(gside)],
                              add_node.inputs[static_cast<std::size_t>(bside)], split->inputs[1], back->inputs[1]},
                             {add_node.outputs[0]});
      set_attr(g, "groups", groups);
      set_attr(g, "epsilon", float_attr(*inorm, "epsilon", 1e-5f));
      set_attr(g, "silu", std::int64_t{0});
      drop[mi] = drop[ri] = drop[ii] = drop[ri1] = true;
      add_node = std::move(g);
      ++fused;
    }
    drop_nodes(m, drop);
  }
  // 3. A norm read only by a SiLU: the SiLU fused into the norm's pass.
  {
    const auto producer = producers(m);
    const auto reads = readers(m);
    std::vector<bool> drop(m.nodes.size(), false);
    for (std::size_t i = 0; i < m.nodes.size(); ++i) {
      Node& silu = m.nodes[i];
      if (!silu.internal || silu.op_type != "Silu") continue;
      std::size_t ni = 0;
      const Node* norm = sole_producer(m, producer, reads, drop, silu.inputs[0], &ni);
      if (!norm) continue;
      if (norm->internal && norm->op_type == "GroupNorm") {
        Node g = *norm;
        g.outputs = silu.outputs;
        for (Attribute& a : g.attributes)
          if (a.name == "silu") a.i = 1;
        drop[ni] = true;
        silu = std::move(g);
        ++fused;
      } else if (is_op(norm, "InstanceNormalization") && norm->inputs.size() == 3) {
        Node g = internal_node(*norm, "InstanceNorm+Silu", norm->inputs, silu.outputs);
        set_attr(g, "epsilon", float_attr(*norm, "epsilon", 1e-5f));
        drop[ni] = true;
        silu = std::move(g);
        ++fused;
      }
    }
    drop_nodes(m, drop);
  }
  return fused;
}

std::size_t drop_unused_initializers(Model& m) {
  const auto reads = readers(m);
  std::size_t dropped = 0;
  for (auto it = m.initializers.begin(); it != m.initializers.end();) {
    if (reads.count(it->first)) {
      ++it;
    } else {
      m.release(it->second.value);  // its pages, where it viewed the file
      it = m.initializers.erase(it);
      ++dropped;
    }
  }
  return dropped;
}

}  // namespace sc::engine::onnx
