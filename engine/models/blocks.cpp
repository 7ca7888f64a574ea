#include "engine/models/blocks.h"

namespace sc::engine {

ResnetBlock2d ResnetBlock2d::load(WeightSource& w, const std::string& name, std::int64_t in, std::int64_t out,
                                  std::int64_t temb_channels, std::int64_t groups, float eps) {
  ResnetBlock2d r;
  r.norm1 = GroupNorm::load(w, name + ".norm1", in, groups, eps);
  r.conv1 = Conv2d::load(w, name + ".conv1", in, out, 3, 1, 1);
  if (temb_channels > 0) r.time_emb_proj = Linear::load(w, name + ".time_emb_proj", temb_channels, out);
  r.norm2 = GroupNorm::load(w, name + ".norm2", out, groups, eps);
  r.conv2 = Conv2d::load(w, name + ".conv2", out, out, 3, 1, 1);
  if (in != out) r.shortcut = Conv2d::load(w, name + ".conv_shortcut", in, out, 1);
  return r;
}

Tensor ResnetBlock2d::operator()(const Tensor& x, const Tensor& temb) const {
  Tensor h = conv1(norm1.with_silu(x));
  if (temb.defined() && time_emb_proj.weight.defined()) {
    const Tensor t = time_emb_proj(silu(temb));
    h = add(h, t.reshape({t.dim(0), t.dim(1), 1, 1}));
  }
  h = conv2(norm2.with_silu(h));
  return add(shortcut.weight.defined() ? shortcut(x) : x, h);
}

SpatialSelfAttention SpatialSelfAttention::load(WeightSource& w, const std::string& name, std::int64_t channels,
                                                std::int64_t head_dim, std::int64_t groups, float eps) {
  SpatialSelfAttention a;
  a.norm = GroupNorm::load(w, name + ".group_norm", channels, groups, eps);
  const bool legacy = w.contains(name + ".query.weight");
  a.q = Linear::load(w, name + (legacy ? ".query" : ".to_q"), channels, channels);
  a.k = Linear::load(w, name + (legacy ? ".key" : ".to_k"), channels, channels);
  a.v = Linear::load(w, name + (legacy ? ".value" : ".to_v"), channels, channels);
  a.out = Linear::load(w, name + (legacy ? ".proj_attn" : ".to_out.0"), channels, channels);
  a.heads = channels / head_dim;
  return a;
}

Tensor SpatialSelfAttention::operator()(const Tensor& x) const {
  const std::int64_t n = x.dim(0), c = x.dim(1), h = x.dim(2), wd = x.dim(3);
  const Tensor tokens = transpose(norm(x).reshape({n, c, h * wd}), 1, 2);  // [N, HW, C]
  const Tensor a =
      attention(split_heads(q(tokens), heads), split_heads(k(tokens), heads), split_heads(v(tokens), heads));
  const Tensor o = transpose(out(merge_heads(a)), 1, 2).reshape({n, c, h, wd});
  return add(x, o);
}

Downsample2d Downsample2d::load(WeightSource& w, const std::string& name, std::int64_t channels,
                                bool pad_right_bottom) {
  return Downsample2d{Conv2d::load(w, name + ".conv", channels, channels, 3, 2, pad_right_bottom ? 0 : 1),
                      pad_right_bottom};
}

Tensor Downsample2d::operator()(const Tensor& x) const {
  return pad_right_bottom ? conv(pad(x, {0, 1, 0, 1})) : conv(x);
}

Upsample2d Upsample2d::load(WeightSource& w, const std::string& name, std::int64_t channels) {
  return Upsample2d{Conv2d::load(w, name + ".conv", channels, channels, 3, 1, 1)};
}

}  // namespace sc::engine
