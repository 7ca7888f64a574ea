#include "engine/models/layers.h"

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

Tensor split_heads(const Tensor& x, std::int64_t heads) {
  const std::int64_t b = x.dim(0), s = x.dim(1), c = x.dim(2);
  return permute(x.reshape({b, s, heads, c / heads}), {0, 2, 1, 3});
}

Tensor merge_heads(const Tensor& x) {
  const std::int64_t b = x.dim(0), h = x.dim(1), s = x.dim(2), d = x.dim(3);
  return permute(x, {0, 2, 1, 3}).reshape({b, s, h * d});
}

}  // namespace sc::engine
