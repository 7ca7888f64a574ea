#include "engine/models/layers.h"

#include "base/error.h"

namespace sc::engine {

Linear Linear::load(WeightSource& w, const std::string& name, std::int64_t in, std::int64_t out, bool bias) {
  Linear l;
  l.weight = w.get(name + ".weight", {out, in});
  if (bias) l.bias = w.get(name + ".bias", {out});
  return l;
}

Conv2d Conv2d::load(WeightSource& w, const std::string& name, std::int64_t in, std::int64_t out, std::int64_t kernel,
                    std::int64_t stride, std::int64_t padding, bool bias) {
  Conv2d c;
  c.weight = w.get(name + ".weight", {out, in, kernel, kernel});
  if (bias) c.bias = w.get(name + ".bias", {out});
  c.params.stride = {stride, stride};
  c.params.padding = {padding, padding};
  return c;
}

LayerNorm LayerNorm::load(WeightSource& w, const std::string& name, std::int64_t dim, float eps) {
  return LayerNorm{w.get(name + ".weight", {dim}), w.get(name + ".bias", {dim}), eps};
}

GroupNorm GroupNorm::load(WeightSource& w, const std::string& name, std::int64_t channels, std::int64_t groups,
                          float eps) {
  return GroupNorm{w.get(name + ".weight", {channels}), w.get(name + ".bias", {channels}), groups, eps};
}

Activation parse_activation(const std::string& value, const std::string& source, const std::string& field) {
  if (value == "gelu") return Activation::kGelu;
  if (value == "gelu_pytorch_tanh") return Activation::kGeluTanh;
  if (value == "quick_gelu") return Activation::kQuickGelu;
  throw Error("{}: {}: expected \"gelu\", \"gelu_pytorch_tanh\" or \"quick_gelu\", found \"{}\"", source, field, value);
}

Tensor activate(const Tensor& x, Activation act) {
  switch (act) {
    case Activation::kGelu:
      return gelu(x);
    case Activation::kGeluTanh:
      return gelu(x, GeluApprox::kTanh);
    case Activation::kQuickGelu:
      return quick_gelu(x);
  }
  throw Error("activate: unknown activation {}", static_cast<int>(act));
}

EncoderLayer EncoderLayer::load(WeightSource& w, const std::string& prefix, std::int64_t hidden,
                                std::int64_t intermediate, float eps) {
  const std::string& p = prefix;
  const std::int64_t d = hidden;
  EncoderLayer l;
  l.norm1 = LayerNorm::load(w, p + "layer_norm1", d, eps);
  l.norm2 = LayerNorm::load(w, p + "layer_norm2", d, eps);
  l.q = Linear::load(w, p + "self_attn.q_proj", d, d);
  l.k = Linear::load(w, p + "self_attn.k_proj", d, d);
  l.v = Linear::load(w, p + "self_attn.v_proj", d, d);
  l.out = Linear::load(w, p + "self_attn.out_proj", d, d);
  l.fc1 = Linear::load(w, p + "mlp.fc1", d, intermediate);
  l.fc2 = Linear::load(w, p + "mlp.fc2", intermediate, d);
  return l;
}

Tensor EncoderLayer::operator()(const Tensor& x, std::int64_t heads, bool causal, Activation act) const {
  AttentionOptions options;
  options.causal = causal;
  const Tensor h = norm1(x);
  const Tensor a = attention(split_heads(q(h), heads), split_heads(k(h), heads), split_heads(v(h), heads), options);
  const Tensor y = add(x, out(merge_heads(a)));
  return add(y, fc2(activate(fc1(norm2(y)), act)));
}

Tensor split_heads(const Tensor& x, std::int64_t heads) {
  const std::int64_t b = x.dim(0), s = x.dim(1), c = x.dim(2);
  return permute(x.reshape({b, s, heads, c / heads}), {0, 2, 1, 3});
}

Tensor merge_heads(const Tensor& x) {
  const std::int64_t b = x.dim(0), h = x.dim(1), s = x.dim(2), d = x.dim(3);
  return permute(x, {0, 2, 1, 3}).reshape({b, s, h * d});
}

}  // namespace sc::engine
