// Lowerings of the network layers: convolution, matrix products,
// normalisations, pooling and resizing.
#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>

#include "engine/onnx/lowering.h"
#include "engine/ops.h"

namespace sc::engine::onnx::detail {

namespace {

void require_float(const NodeContext& ctx, std::size_t i) {
  if (!is_float_type(ctx.in(i).type)) {
    ctx.fail("input {} ('{}') is {}; expected floating-point values", i, ctx.node().inputs[i],
             elem_type_name(ctx.in(i).type));
  }
}

void refuse_extra_outputs(const NodeContext& ctx, std::string_view what) {
  for (std::size_t i = 1; i < ctx.output_count(); ++i)
    if (ctx.output_used(i)) ctx.fail("output {} ({}) is not supported (inference only)", i, what);
}

// Per spatial axis: padding before and after, kernel, stride, dilation.
struct Window {
  std::vector<std::int64_t> kernel, stride, dilation, begin, end, out;
};

// The spatial geometry of Conv / MaxPool / AveragePool from their
// attributes, ONNX's rules for auto_pad and ceil_mode included.
Window window(const NodeContext& ctx, const Shape& x, const std::vector<std::int64_t>& kernel, bool ceil_mode) {
  const std::size_t n = kernel.size();
  Window w;
  w.kernel = kernel;
  w.stride = ctx.attr_ints("strides").value_or(std::vector<std::int64_t>(n, 1));
  w.dilation = ctx.attr_ints("dilations").value_or(std::vector<std::int64_t>(n, 1));
  const std::string auto_pad = ctx.attr_string("auto_pad", "NOTSET");
  std::vector<std::int64_t> pads = ctx.attr_ints("pads").value_or(std::vector<std::int64_t>(2 * n, 0));
  if (w.stride.size() != n || w.dilation.size() != n || pads.size() != 2 * n) {
    ctx.fail("strides, dilations and pads must have {}, {} and {} entries for a {}-D window", n, n, 2 * n, n);
  }
  if (auto_pad != "NOTSET" && auto_pad != "SAME_UPPER" && auto_pad != "SAME_LOWER" && auto_pad != "VALID") {
    ctx.fail("auto_pad = '{}' is not an ONNX value", auto_pad);
  }
  if (auto_pad != "NOTSET" && ctx.has_attr("pads"))
    ctx.fail("auto_pad = '{}' and explicit pads are exclusive", auto_pad);
  for (std::size_t i = 0; i < n; ++i) {
    for (std::int64_t v : {w.kernel[i], w.stride[i], w.dilation[i], pads[i], pads[i + n]}) {
      if (v > kMaxWindow) ctx.fail("window parameter {} is over {}", v, kMaxWindow);
    }
    if (w.kernel[i] < 1 || w.stride[i] < 1 || w.dilation[i] < 1 || pads[i] < 0 || pads[i + n] < 0) {
      ctx.fail(
          "kernel, strides and dilations must be >= 1 and pads >= 0 (kernel [{}], strides [{}], dilations [{}], "
          "pads [{}])",
          fmt::join(w.kernel, ", "), fmt::join(w.stride, ", "), fmt::join(w.dilation, ", "), fmt::join(pads, ", "));
    }
    const std::int64_t in = x[static_cast<int>(2 + i)];
    const std::int64_t reach = w.dilation[i] * (w.kernel[i] - 1) + 1;
    std::int64_t b = pads[i], e = pads[i + n];
    if (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") {
      const std::int64_t out = (in + w.stride[i] - 1) / w.stride[i];
      const std::int64_t total = std::max<std::int64_t>(0, (out - 1) * w.stride[i] + reach - in);
      b = auto_pad == "SAME_UPPER" ? total / 2 : total - total / 2;
      e = total - b;
    } else if (auto_pad == "VALID") {
      b = e = 0;
    }
    const std::int64_t span = in + b + e - reach;
    if (span < 0)
      ctx.fail("spatial size {} (padded to {}) is smaller than the window's reach {}", in, in + b + e, reach);
    std::int64_t out = span / w.stride[i] + 1;
    if (ceil_mode) {
      out = (span + w.stride[i] - 1) / w.stride[i] + 1;
      // A last window starting in the end padding is dropped (PyTorch, onnxruntime).
      if ((out - 1) * w.stride[i] >= in + b) --out;
    }
    w.begin.push_back(b);
    w.end.push_back(e);
    w.out.push_back(out);
  }
  return w;
}

// ---- convolution ------------------------------------------------------------------

Lowered lower_conv(const NodeContext& ctx) {
  const std::int64_t group = ctx.attr_int("group", 1);
  const std::optional<std::vector<std::int64_t>> kernel_attr = ctx.attr_ints("kernel_shape");
  (void)ctx.attr_string("auto_pad", "NOTSET");
  const ValueMeta& x = ctx.in(0);
  const ValueMeta& wt = ctx.in(1);
  require_float(ctx, 0);
  require_float(ctx, 1);
  const int r = x.shape.rank();
  if (r < 3 || r > 5) {
    ctx.fail("input must be [N, C, L], [N, C, H, W] or [N, C, D, H, W]; got {}", x.shape.to_string());
  }
  if (wt.shape.rank() != r) ctx.fail("weight {} does not match the input's rank {}", wt.shape.to_string(), r);
  std::vector<std::int64_t> kernel;
  for (int d = 2; d < r; ++d) kernel.push_back(wt.shape[d]);
  if (kernel_attr && *kernel_attr != kernel) {
    ctx.fail("kernel_shape [{}] does not match the weight {}", fmt::join(*kernel_attr, ", "), wt.shape.to_string());
  }
  const std::int64_t c = x.shape[1], o = wt.shape[0];
  if (group < 1 || c % group != 0 || o % group != 0 || wt.shape[1] != c / group) {
    ctx.fail("group {} does not fit input channels {} and weight {}", group, c, wt.shape.to_string());
  }
  if (ctx.has(2)) {
    require_float(ctx, 2);
    if (!(ctx.in(2).shape == Shape{o})) ctx.fail("bias {} must be [{}]", ctx.in(2).shape.to_string(), o);
  }
  const Window w = window(ctx, x.shape, kernel, false);
  std::vector<std::int64_t> extra;  // asymmetric pads: the surplus padded explicitly
  bool asymmetric = false;
  // pad() takes (before, after) pairs from the last dim.
  for (std::size_t i = kernel.size(); i-- > 0;) {
    const std::int64_t common = std::min(w.begin[i], w.end[i]);
    extra.push_back(w.begin[i] - common);
    extra.push_back(w.end[i] - common);
    asymmetric = asymmetric || w.begin[i] != w.end[i];
  }
  Shape shape{x.shape[0], o};
  for (std::int64_t v : w.out) shape.push_back(v);
  const bool has_bias = ctx.has(2);
  if (r == 5) {
    Conv3dParams p;
    p.groups = group;
    for (std::size_t i = 0; i < 3; ++i) {
      p.stride[i] = w.stride[i];
      p.dilation[i] = w.dilation[i];
      p.padding[i] = std::min(w.begin[i], w.end[i]);
    }
    return {{meta(shape, x.type)}, [p, extra, asymmetric, has_bias](std::span<const Tensor> in, std::span<Tensor> out) {
              const Tensor xi = asymmetric ? pad(in[0], extra) : in[0];
              out[0] = conv3d(xi, in[1], has_bias ? in[2] : Tensor(), p);
            }};
  }
  // 1-D runs as 2-D over a height of 1.
  const bool one_d = r == 3;
  Conv2dParams p;
  p.groups = group;
  for (std::size_t i = 0; i < kernel.size(); ++i) {
    const std::size_t j = one_d ? 1 : i;
    p.stride[j] = w.stride[i];
    p.dilation[j] = w.dilation[i];
    p.padding[j] = std::min(w.begin[i], w.end[i]);
  }
  return {{meta(shape, x.type)},
          [p, extra, asymmetric, one_d, has_bias, shape](std::span<const Tensor> in, std::span<Tensor> out) {
            Tensor xi = in[0], wi = in[1];
            if (one_d) {
              xi = xi.reshape({xi.dim(0), xi.dim(1), 1, xi.dim(2)});
              wi = wi.reshape({wi.dim(0), wi.dim(1), 1, wi.dim(2)});
            }
            if (asymmetric) xi = pad(xi, extra);
            out[0] = conv2d(xi, wi, has_bias ? in[2] : Tensor(), p).reshape(shape);
          }};
}

// ---- matrix products ----------------------------------------------------------------

Lowered lower_matmul(const NodeContext& ctx) {
  require_float(ctx, 0);
  require_float(ctx, 1);
  const Shape a = ctx.in(0).shape, b = ctx.in(1).shape;
  if (a.rank() < 1 || b.rank() < 1) ctx.fail("operands must have at least one dimension");
  // NumPy's vector rules: a vector a is [1, K], a vector b is [K, 1], and
  // the added dimension is dropped from the result.
  const Shape a2 = a.rank() == 1 ? Shape{1, a[0]} : a;
  const Shape b2 = b.rank() == 1 ? Shape{b[0], 1} : b;
  if (a2[a2.rank() - 1] != b2[b2.rank() - 2]) {
    ctx.fail("inner sizes differ: {} @ {}", a.to_string(), b.to_string());
  }
  std::vector<std::int64_t> ba = a2.to_vector(), bb = b2.to_vector();
  ba.resize(ba.size() - 2);
  bb.resize(bb.size() - 2);
  std::vector<std::int64_t> dims = broadcast(ctx, Shape(ba), Shape(bb)).to_vector();
  if (a.rank() > 1) dims.push_back(a2[a2.rank() - 2]);
  if (b.rank() > 1) dims.push_back(b2[b2.rank() - 1]);
  const Shape shape(dims);
  return {{meta(shape, ctx.in(0).type)}, [a2, b2, shape](std::span<const Tensor> in, std::span<Tensor> out) {
            out[0] = matmul(in[0].reshape(a2), in[1].reshape(b2)).reshape(shape);
          }};
}

Lowered lower_gemm(const NodeContext& ctx) {
  const float alpha = ctx.attr_float("alpha", 1.0f), beta = ctx.attr_float("beta", 1.0f);
  const bool ta = ctx.attr_int("transA", 0) != 0, tb = ctx.attr_int("transB", 0) != 0;
  require_float(ctx, 0);
  require_float(ctx, 1);
  const Shape a = ctx.in(0).shape, b = ctx.in(1).shape;
  if (a.rank() != 2 || b.rank() != 2) ctx.fail("A and B must be matrices; got {} and {}", a.to_string(), b.to_string());
  const std::int64_t m = ta ? a[1] : a[0], k = ta ? a[0] : a[1];
  const std::int64_t kb = tb ? b[1] : b[0], n = tb ? b[0] : b[1];
  if (k != kb)
    ctx.fail("inner sizes differ: A {} (transA {}) and B {} (transB {})", a.to_string(), ta, b.to_string(), tb);
  const Shape shape{m, n};
  const bool has_c = ctx.has(2) && beta != 0.0f;
  if (ctx.has(2)) {
    require_float(ctx, 2);
    if (!(broadcast(ctx, ctx.in(2).shape, shape) == shape))
      ctx.fail("C {} does not broadcast to [{}, {}]", ctx.in(2).shape.to_string(), m, n);
  }
  Lowered l;
  l.outputs = {meta(shape, ctx.in(0).type)};
  // B stored [N, K] with a known per-column C is torch's nn.Linear: one
  // linear call with the bias fused.
  const bool row_bias = has_c && ctx.known(2) && ctx.in(2).shape.numel() == n && ctx.in(2).shape.rank() <= 2 &&
                        (ctx.in(2).shape.rank() == 0 || ctx.in(2).shape[ctx.in(2).shape.rank() - 1] == n);
  if (tb && alpha == 1.0f && (!has_c || row_bias)) {
    const Tensor bias = has_c ? ctx.place(scale(ctx.value(2, "C").reshape({n}), beta)) : Tensor();
    l.run = [ta, bias](std::span<const Tensor> in, std::span<Tensor> out) {
      out[0] = linear(ta ? transpose(in[0], 0, 1) : in[0], in[1], bias);
    };
    return l;
  }
  l.run = [ta, tb, alpha, beta, has_c](std::span<const Tensor> in, std::span<Tensor> out) {
    Tensor y = matmul(ta ? transpose(in[0], 0, 1) : in[0], tb ? transpose(in[1], 0, 1) : in[1]);
    if (alpha != 1.0f) y = scale(y, alpha);
    if (has_c) y = add(y, beta != 1.0f ? scale(in[2], beta) : in[2]);
    out[0] = y;
  };
  return l;
}

// MatMul + Add fused at load (rewrites.cpp): x [..., K], weight [N, K], bias [N].
Lowered lower_linear(const NodeContext& ctx) {
  const Shape x = ctx.in(0).shape, w = ctx.in(1).shape;
  if (x.rank() < 1 || w.rank() != 2 || x[x.rank() - 1] != w[1])
    ctx.fail("x {} does not fit weight {}", x.to_string(), w.to_string());
  Shape shape = x;
  shape[shape.rank() - 1] = w[0];
  return {{meta(shape, ctx.in(0).type)},
          [](std::span<const Tensor> in, std::span<Tensor> out) { out[0] = linear(in[0], in[1], in[2]); }};
}

// The attention fusion's node (engine/onnx/rewrites.h): q [..., Sq, D],
// k [..., Sk, D], v [..., Sk, Dv]. With the same leading dims the engine's
// attention runs them as heads of one batch; otherwise (broadcast leading
// dims) the three ops it replaced, so the rewrite never refuses a graph.
Lowered lower_attention(const NodeContext& ctx) {
  const float scale = ctx.attr_float("scale", 1.0f);
  for (std::size_t i = 0; i < 3; ++i) require_float(ctx, i);
  const Shape q = ctx.in(0).shape, k = ctx.in(1).shape, v = ctx.in(2).shape;
  if (q.rank() < 2 || k.rank() < 2 || v.rank() < 2) {
    ctx.fail("q {}, k {} and v {} need at least two dimensions (load with fuse_attention off for vector queries)",
             q.to_string(), k.to_string(), v.to_string());
  }
  const std::int64_t sq = q[q.rank() - 2], d = q[q.rank() - 1], sk = k[k.rank() - 2], dv = v[v.rank() - 1];
  if (k[k.rank() - 1] != d || v[v.rank() - 2] != sk) {
    ctx.fail("q {}, k {} and v {} do not fit q k^T v", q.to_string(), k.to_string(), v.to_string());
  }
  auto lead = [](const Shape& s) {
    std::vector<std::int64_t> l = s.to_vector();
    l.resize(l.size() - 2);
    return Shape(std::span<const std::int64_t>(l));
  };
  const Shape ql = lead(q), kl = lead(k), vl = lead(v);
  if (ql == kl && ql == vl) {
    Shape shape = ql;
    shape.push_back(sq);
    shape.push_back(dv);
    const std::int64_t heads = ql.numel();
    return {{meta(shape, ctx.in(0).type)},
            [scale, heads, sq, sk, d, dv, shape](std::span<const Tensor> in, std::span<Tensor> out) {
              AttentionOptions o;
              o.scale = scale;
              out[0] = attention(in[0].reshape({1, heads, sq, d}), in[1].reshape({1, heads, sk, d}),
                                 in[2].reshape({1, heads, sk, dv}), o)
                           .reshape(shape);
            }};
  }
  Shape shape = broadcast(ctx, broadcast(ctx, ql, kl), vl);
  shape.push_back(sq);
  shape.push_back(dv);
  return {{meta(shape, ctx.in(0).type)}, [scale](std::span<const Tensor> in, std::span<Tensor> out) {
            const Tensor scores = matmul(in[0], transpose(in[1], -1, -2));
            out[0] = matmul(softmax(engine::scale(scores, scale), -1), in[2]);
          }};
}

// ---- normalisation ----------------------------------------------------------------

// Per-channel factors shaped [C, 1, ...] to broadcast over [N, C, ...].
Shape channel_shape(std::int64_t c, int rank) {
  Shape s{c};
  for (int d = 2; d < rank; ++d) s.push_back(1);
  return s;
}

Lowered lower_batch_norm(const NodeContext& ctx) {
  const float eps = ctx.attr_float("epsilon", 1e-5f);
  (void)ctx.attr_float("momentum", 0.9f);
  if (ctx.attr_int("spatial", 1) != 1) ctx.fail("spatial = 0 is not supported");
  if (ctx.attr_int("training_mode", 0) != 0) ctx.fail("training_mode = 1 is not supported (inference only)");
  refuse_extra_outputs(ctx, "running statistics");
  require_float(ctx, 0);
  const ValueMeta& x = ctx.in(0);
  if (x.shape.rank() < 2) ctx.fail("input must be [N, C, ...]; got {}", x.shape.to_string());
  const std::int64_t c = x.shape[1];
  const char* names[] = {"scale", "B", "mean", "var"};
  std::vector<std::vector<float>> p;
  for (std::size_t i = 1; i <= 4; ++i) {
    const Tensor& t = ctx.value(i, names[i - 1]);
    if (!(t.shape() == Shape{c})) ctx.fail("{} {} must be [{}]", names[i - 1], t.shape().to_string(), c);
    p.push_back(t.to_vector<float>());
  }
  // y = x * s + t with s = scale / sqrt(var + eps), t = B - mean * s, in double.
  std::vector<float> s(static_cast<std::size_t>(c)), t(static_cast<std::size_t>(c));
  for (std::size_t i = 0; i < s.size(); ++i) {
    const double si = p[0][i] / std::sqrt(static_cast<double>(p[3][i]) + eps);
    s[i] = static_cast<float>(si);
    t[i] = static_cast<float>(p[1][i] - p[2][i] * si);
  }
  const Shape cs = channel_shape(c, x.shape.rank());
  const Tensor st = ctx.place(Tensor::from_vector(cs, s)), tt = ctx.place(Tensor::from_vector(cs, t));
  return {{meta(x.shape, x.type)},
          [st, tt](std::span<const Tensor> in, std::span<Tensor> out) { out[0] = add(mul(in[0], st), tt); }};
}

Lowered lower_instance_norm(const NodeContext& ctx) {
  const float eps = ctx.attr_float("epsilon", 1e-5f);
  require_float(ctx, 0);
  const ValueMeta& x = ctx.in(0);
  if (x.shape.rank() < 3) ctx.fail("input must be [N, C, D1, ...]; got {}", x.shape.to_string());
  const std::int64_t c = x.shape[1];
  for (std::size_t i = 1; i <= 2; ++i) {
    require_float(ctx, i);
    if (!(ctx.in(i).shape == Shape{c}))
      ctx.fail("{} {} must be [{}]", i == 1 ? "scale" : "B", ctx.in(i).shape.to_string(), c);
  }
  // One group per channel: GroupNorm is InstanceNorm then.
  return {{meta(x.shape, x.type)}, [c, eps](std::span<const Tensor> in, std::span<Tensor> out) {
            out[0] = group_norm(in[0], c, in[1], in[2], eps);
          }};
}

Lowered lower_layer_norm(const NodeContext& ctx) {
  const std::int64_t axis_attr = ctx.attr_int("axis", -1);
  const float eps = ctx.attr_float("epsilon", 1e-5f);
  if (ctx.attr_int("stash_type", 1) != 1) ctx.fail("stash_type other than 1 (float) is not supported");
  refuse_extra_outputs(ctx, "mean / inverse standard deviation");
  require_float(ctx, 0);
  const ValueMeta& x = ctx.in(0);
  const int axis = ctx.axis(axis_attr, x.shape.rank(), "axis");
  std::int64_t rows = 1, cols = 1;
  for (int d = 0; d < x.shape.rank(); ++d) (d < axis ? rows : cols) *= x.shape[d];
  const bool has_bias = ctx.has(2);
  for (std::size_t i = 1; i <= (has_bias ? 2u : 1u); ++i) {
    require_float(ctx, i);
    // Scale and B cover the normalised dims exactly (broadcast forms are refused).
    Shape want;
    for (int d = axis; d < x.shape.rank(); ++d) want.push_back(x.shape[d]);
    if (!(ctx.in(i).shape == want) && !(ctx.in(i).shape == Shape{cols})) {
      ctx.fail("{} {} must be {}", i == 1 ? "Scale" : "B", ctx.in(i).shape.to_string(), want.to_string());
    }
  }
  const Shape shape = x.shape;
  return {{meta(shape, x.type)}, [rows, cols, eps, has_bias, shape](std::span<const Tensor> in, std::span<Tensor> out) {
            out[0] = layer_norm(in[0].reshape({rows, cols}), in[1].reshape({cols}),
                                has_bias ? in[2].reshape({cols}) : Tensor(), eps)
                         .reshape(shape);
          }};
}

// ---- the norm + activation fusions' nodes (engine/onnx/rewrites.h) -------------------

Lowered lower_silu(const NodeContext& ctx) {
  require_float(ctx, 0);
  return {{meta(ctx.in(0).shape, ctx.in(0).type)},
          [](std::span<const Tensor> in, std::span<Tensor> out) { out[0] = silu(in[0]); }};
}

Lowered lower_instance_norm_silu(const NodeContext& ctx) {
  Lowered l = lower_instance_norm(ctx);
  const std::int64_t c = ctx.in(0).shape[1];
  const float eps = ctx.attr_float("epsilon", 1e-5f);
  l.run = [c, eps](std::span<const Tensor> in, std::span<Tensor> out) {
    out[0] = group_norm(in[0], c, in[1], in[2], eps, /*fuse_silu=*/true);
  };
  return l;
}

// Reshape's target with 0 (copy the dimension) and one -1 (inferred) resolved.
std::optional<Shape> reshaped(const Shape& x, const std::vector<std::int64_t>& target) {
  std::vector<std::int64_t> dims;
  std::int64_t known = 1, infer = -1;
  for (std::size_t i = 0; i < target.size(); ++i) {
    std::int64_t d = target[i];
    if (d == 0) {
      if (static_cast<int>(i) >= x.rank()) return std::nullopt;
      d = x[static_cast<int>(i)];
    }
    if (d == -1) {
      if (infer >= 0) return std::nullopt;
      infer = static_cast<std::int64_t>(i);
      dims.push_back(1);
      continue;
    }
    if (d < 0 || d > kMaxDim || __builtin_mul_overflow(known, d, &known)) return std::nullopt;
    dims.push_back(d);
  }
  if (infer >= 0) {
    if (known == 0 || x.numel() % known != 0) return std::nullopt;
    dims[static_cast<std::size_t>(infer)] = x.numel() / known;
  }
  const Shape s{std::span<const std::int64_t>(dims)};
  if (s.numel() != x.numel()) return std::nullopt;
  return s;
}

// GroupNorm from its unfused export: group_norm itself where the reshapes are
// [N, G, -1] and back to x's shape and gamma / beta are per channel; the
// reshape / normalise / reshape / mul / add it replaced otherwise.
Lowered lower_group_norm_pattern(const NodeContext& ctx) {
  const std::int64_t groups = ctx.attr_int("groups", 1);
  const float eps = ctx.attr_float("epsilon", 1e-5f);
  const bool fuse_silu = ctx.attr_int("silu", 0) != 0;
  for (std::size_t i = 0; i < 3; ++i) require_float(ctx, i);
  const Shape x = ctx.in(0).shape;
  const std::optional<Shape> s1 = reshaped(x, ctx.ints(3, "the split shape"));
  if (!s1 || s1->rank() < 2 || (*s1)[1] != groups) ctx.fail("the split reshape does not give {} groups", groups);
  const std::optional<Shape> s2 = reshaped(*s1, ctx.ints(4, "the merge shape"));
  if (!s2) ctx.fail("the merge reshape does not fit");
  const Shape gamma = ctx.in(1).shape, beta = ctx.in(2).shape;
  const Shape shape = broadcast(ctx, broadcast(ctx, *s2, gamma), beta);
  // Per channel of x: [C, 1, ..., 1] (or with leading ones) aligned at dim 1.
  auto per_channel = [&](const Shape& p) {
    if (x.rank() < 2 || p.numel() != x[1] || p.rank() > x.rank() - 1 + 1) return false;
    const int offset = x.rank() - p.rank();  // p's dim j sits at x's dim offset + j
    for (int j = 0; j < p.rank(); ++j) {
      const int d = offset + j;
      if (d == 1 ? p[j] != x[1] : p[j] != 1) return false;
    }
    return offset <= 1;
  };
  const bool direct =
      *s2 == x && shape == x && x[1] % groups == 0 && (*s1)[0] == x[0] && per_channel(gamma) && per_channel(beta);
  const std::int64_t c = x.rank() >= 2 ? x[1] : 0;
  if (direct) {
    return {{meta(x, ctx.in(0).type)}, [groups, eps, fuse_silu, c](std::span<const Tensor> in, std::span<Tensor> out) {
              out[0] = group_norm(in[0], groups, in[1].reshape({c}), in[2].reshape({c}), eps, fuse_silu);
            }};
  }
  const Shape split = *s1, merged = *s2;
  return {{meta(shape, ctx.in(0).type)},
          [split, merged, eps, fuse_silu](std::span<const Tensor> in, std::span<Tensor> out) {
            const Tensor n = group_norm(in[0].reshape(split), split[1], Tensor(), Tensor(), eps).reshape(merged);
            const Tensor y = add(mul(n, in[1]), in[2]);
            out[0] = fuse_silu ? silu(y) : y;
          }};
}

// ---- pooling ------------------------------------------------------------------------

// 3-D pooling as two 2-D pools, since a box is separable (the max of
// maxes, the mean of means): over (H, W) on [N, C * D, H, W], then over D on
// [N * C, 1, D, Ho * Wo]. Averages divide by the fraction of cells counted,
// a product of one factor per axis for the same reason.
Lowered lower_pool3d(const NodeContext& ctx, const Window& w, bool is_max, bool count_pad) {
  const Shape& x = ctx.in(0).shape;
  std::array<std::int64_t, 3> padded_size{};
  std::vector<std::int64_t> pads;              // pad()'s order: last dim first
  std::array<std::vector<float>, 3> fraction;  // per axis and output index: counted cells / kernel
  bool partial = false;
  ctx.check_size(Shape{x[0], x[1], w.out[0], w.out[1], w.out[2]}, 4, "the result");
  for (std::size_t i = 3; i-- > 0;) {
    const std::int64_t in = x[static_cast<int>(2 + i)];
    const std::int64_t extra =
        std::max<std::int64_t>(0, (w.out[i] - 1) * w.stride[i] + w.kernel[i] - (in + w.begin[i] + w.end[i]));
    pads.push_back(w.begin[i]);
    pads.push_back(w.end[i] + extra);
    padded_size[i] = in + w.begin[i] + w.end[i] + extra;
    // The cells of window o that count: its overlap with the input (and the
    // explicit pads when they count), never ceil_mode's overhang.
    const std::int64_t lo = count_pad ? 0 : w.begin[i];
    const std::int64_t hi = count_pad ? in + w.begin[i] + w.end[i] : w.begin[i] + in;
    for (std::int64_t o = 0; o < w.out[i]; ++o) {
      const std::int64_t a = o * w.stride[i], b = a + w.kernel[i];
      const std::int64_t counted = std::max<std::int64_t>(0, std::min(hi, b) - std::max(lo, a));
      fraction[i].push_back(static_cast<float>(counted) / static_cast<float>(w.kernel[i]));
      partial = partial || counted != w.kernel[i];
    }
  }
  const bool padded = std::any_of(pads.begin(), pads.end(), [](std::int64_t v) { return v != 0; });
  const Shape shape{x[0], x[1], w.out[0], w.out[1], w.out[2]};
  Tensor counts;
  if (!is_max && partial) {
    const Shape cshape{1, 1, w.out[0], w.out[1], w.out[2]};
    ctx.check_size(cshape, 4, "the average's divisors");
    std::vector<float> c;
    c.reserve(static_cast<std::size_t>(cshape.numel()));
    for (float fz : fraction[0])
      for (float fy : fraction[1])
        for (float fx : fraction[2]) c.push_back(fz * fy * fx);
    counts = ctx.place(Tensor::from_vector(cshape, c));
  }
  Pool2dParams plane, depth;
  plane.kernel = {w.kernel[1], w.kernel[2]};
  plane.stride = {w.stride[1], w.stride[2]};
  plane.padding = {0, 0};
  depth.kernel = {w.kernel[0], 1};
  depth.stride = {w.stride[0], 1};
  depth.padding = {0, 0};
  const float pad_value = is_max ? -std::numeric_limits<float>::infinity() : 0.0f;
  return {{meta(shape, ctx.in(0).type)},
          [plane, depth, pads, padded, pad_value, counts, is_max, padded_size, shape](std::span<const Tensor> in,
                                                                                      std::span<Tensor> out) {
            const Tensor xi = padded ? pad(in[0], pads, PadMode::kConstant, pad_value) : in[0];
            const std::int64_t n = shape[0], c = shape[1];
            const Tensor planes = xi.reshape({n, c * padded_size[0], padded_size[1], padded_size[2]});
            const Tensor a = is_max ? max_pool2d(planes, plane) : avg_pool2d(planes, plane);
            const Tensor columns = a.reshape({n * c, 1, padded_size[0], shape[3] * shape[4]});
            Tensor y = (is_max ? max_pool2d(columns, depth) : avg_pool2d(columns, depth)).reshape(shape);
            if (counts.defined()) y = div(y, counts);
            out[0] = y;
          }};
}

Lowered lower_pool(const NodeContext& ctx, bool is_max) {
  const std::optional<std::vector<std::int64_t>> kernel = ctx.attr_ints("kernel_shape");
  const bool ceil_mode = ctx.attr_int("ceil_mode", 0) != 0;
  const bool count_pad = ctx.attr_int("count_include_pad", 0) != 0;
  (void)ctx.attr_int("storage_order", 0);  // only the Indices output depends on it
  (void)ctx.attr_string("auto_pad", "NOTSET");
  if (!kernel) ctx.fail("needs kernel_shape");
  if (is_max) refuse_extra_outputs(ctx, "Indices");
  if (auto d = ctx.attr_ints("dilations");
      d && std::any_of(d->begin(), d->end(), [](std::int64_t v) { return v != 1; })) {
    ctx.fail("dilations other than 1 are not supported for pooling");
  }
  require_float(ctx, 0);
  const ValueMeta& x = ctx.in(0);
  const int r = x.shape.rank();
  if (r < 3 || r > 5) {
    ctx.fail("input must be [N, C, L], [N, C, H, W] or [N, C, D, H, W]; got {}", x.shape.to_string());
  }
  if (kernel->size() != static_cast<std::size_t>(r - 2))
    ctx.fail("kernel_shape has {} entries for rank {}", kernel->size(), r);
  const Window w = window(ctx, x.shape, *kernel, ceil_mode);
  if (r == 5) return lower_pool3d(ctx, w, is_max, count_pad);
  const bool one_d = r == 3;
  const std::int64_t h = one_d ? 1 : x.shape[2], wd = x.shape[r - 1];
  Pool2dParams p;
  p.kernel = {1, 1};
  p.stride = {1, 1};
  p.padding = {0, 0};
  // Padding done explicitly (before, after per axis, any amount), plus the
  // extra end padding ceil_mode's last window reaches into.
  std::vector<std::int64_t> pads;  // pad()'s order: last dim first
  std::array<std::int64_t, 2> before{0, 0}, after{0, 0}, extra{0, 0};
  for (std::size_t i = 0; i < kernel->size(); ++i) {
    const std::size_t j = one_d ? 1 : i;
    p.kernel[j] = w.kernel[i];
    p.stride[j] = w.stride[i];
    const std::int64_t in = x.shape[static_cast<int>(2 + i)];
    before[j] = w.begin[i];
    after[j] = w.end[i];
    extra[j] = std::max<std::int64_t>(0, (w.out[i] - 1) * w.stride[i] + w.kernel[i] - (in + w.begin[i] + w.end[i]));
  }
  for (int j = 1; j >= 0; --j) {
    pads.push_back(before[static_cast<std::size_t>(j)]);
    pads.push_back(after[static_cast<std::size_t>(j)] + extra[static_cast<std::size_t>(j)]);
  }
  const bool padded = std::any_of(pads.begin(), pads.end(), [](std::int64_t v) { return v != 0; });
  Shape shape{x.shape[0], x.shape[1]};
  for (std::int64_t v : w.out) shape.push_back(v);
  // Averages divide by the count of cells that count: the input (and the
  // explicit pads when count_include_pad), never ceil_mode's overhang. The
  // counts are one pool of a 0/1 mask, made here once.
  Tensor counts;
  if (!is_max && padded) {
    const std::int64_t mh = h + before[0] + after[0] + extra[0], mw = wd + before[1] + after[1] + extra[1];
    ctx.check_size(Shape{mh, mw}, 4, "the padded plane");
    std::vector<float> mask(static_cast<std::size_t>(mh * mw), 0.0f);
    for (std::int64_t y = 0; y < mh; ++y) {
      for (std::int64_t xx = 0; xx < mw; ++xx) {
        const bool in_y = count_pad ? y < h + before[0] + after[0] : (y >= before[0] && y < before[0] + h);
        const bool in_x = count_pad ? xx < wd + before[1] + after[1] : (xx >= before[1] && xx < before[1] + wd);
        mask[static_cast<std::size_t>(y * mw + xx)] = in_y && in_x ? 1.0f : 0.0f;
      }
    }
    const Tensor m = avg_pool2d(Tensor::from_vector({1, 1, mh, mw}, mask), p);
    const std::vector<float> mv = m.to_vector<float>();
    const bool all_full = std::all_of(mv.begin(), mv.end(), [](float v) { return v == 1.0f; });
    if (!all_full) counts = ctx.place(m);
  }
  const float pad_value = is_max ? -std::numeric_limits<float>::infinity() : 0.0f;
  return {
      {meta(shape, x.type)},
      [p, pads, padded, pad_value, counts, is_max, one_d, shape](std::span<const Tensor> in, std::span<Tensor> out) {
        Tensor xi = one_d ? in[0].reshape({in[0].dim(0), in[0].dim(1), 1, in[0].dim(2)}) : in[0];
        if (padded) xi = pad(xi, pads, PadMode::kConstant, pad_value);
        Tensor y = is_max ? max_pool2d(xi, p) : avg_pool2d(xi, p);
        if (counts.defined()) y = div(y, counts);
        out[0] = y.reshape(shape);
      }};
}

Lowered lower_global_pool(const NodeContext& ctx, bool is_max) {
  require_float(ctx, 0);
  const ValueMeta& x = ctx.in(0);
  if (x.shape.rank() < 3) ctx.fail("input must be [N, C, D1, ...]; got {}", x.shape.to_string());
  std::vector<int> dims;
  Shape shape{x.shape[0], x.shape[1]};
  for (int d = 2; d < x.shape.rank(); ++d) {
    if (is_max && x.shape[d] == 0) ctx.fail("takes the max of the empty dimension {}", d);
    dims.push_back(d);
    shape.push_back(1);
  }
  return {{meta(shape, x.type)}, [dims, is_max](std::span<const Tensor> in, std::span<Tensor> out) {
            out[0] = is_max ? amax(in[0], dims, true) : mean(in[0], dims, true);
          }};
}

// ---- resizing ----------------------------------------------------------------------

Lowered lower_resize(const NodeContext& ctx, bool upsample) {
  const std::string mode = ctx.attr_string("mode", "nearest");
  const std::string coords = ctx.attr_string("coordinate_transformation_mode", "half_pixel");
  const std::string nearest = ctx.attr_string("nearest_mode", "round_prefer_floor");
  (void)ctx.attr_float("cubic_coeff_a", -0.75f);
  (void)ctx.attr_int("exclude_outside", 0);           // cubic only
  (void)ctx.attr_float("extrapolation_value", 0.0f);  // tf_crop_and_resize only
  if (ctx.attr_int("antialias", 0) != 0) ctx.fail("antialias = 1 is not supported");
  const std::string aspect = ctx.attr_string("keep_aspect_ratio_policy", "stretch");
  if (aspect != "stretch") ctx.fail("keep_aspect_ratio_policy = '{}' is not supported (stretch)", aspect);
  Resize2dParams p;
  if (mode == "linear" || mode == "bilinear") {
    p.mode = ResizeMode::kLinear;
  } else if (mode != "nearest") {
    ctx.fail("mode '{}' is not supported (nearest, linear)", mode);
  }
  // Upsample (opsets 7 to 9) and Resize-10 map source coordinates as
  // o / scale and take the floor for nearest.
  const bool legacy = upsample || ctx.opset() < 11;
  if (legacy) {
    p.coords = ResizeCoords::kAsymmetric;
    p.rounding = ResizeRounding::kFloor;
  } else {
    if (coords == "half_pixel") {
      p.coords = ResizeCoords::kHalfPixel;
    } else if (coords == "pytorch_half_pixel") {
      p.coords = ResizeCoords::kPytorchHalfPixel;
    } else if (coords == "align_corners") {
      p.coords = ResizeCoords::kAlignCorners;
    } else if (coords == "asymmetric") {
      p.coords = ResizeCoords::kAsymmetric;
    } else {
      ctx.fail(
          "coordinate_transformation_mode '{}' is not supported (half_pixel, pytorch_half_pixel, "
          "align_corners, asymmetric)",
          coords);
    }
    if (nearest == "round_prefer_floor") {
      p.rounding = ResizeRounding::kRoundPreferFloor;
    } else if (nearest == "round_prefer_ceil") {
      p.rounding = ResizeRounding::kRoundPreferCeil;
    } else if (nearest == "floor") {
      p.rounding = ResizeRounding::kFloor;
    } else if (nearest == "ceil") {
      p.rounding = ResizeRounding::kCeil;
    } else {
      ctx.fail("nearest_mode '{}' is not an ONNX value", nearest);
    }
  }
  if (upsample && ctx.opset() >= 10) ctx.fail("Upsample is deprecated from opset 10 on; exporters write Resize there");
  std::optional<std::vector<float>> scales_attr = upsample ? ctx.attr_floats("scales") : std::nullopt;
  if (scales_attr && ctx.opset() >= 9) ctx.fail("scales is an input from opset 9 on, not an attribute");
  require_float(ctx, 0);
  const ValueMeta& x = ctx.in(0);
  const int r = x.shape.rank();
  std::vector<std::int64_t> axes;
  if (auto a = ctx.attr_ints("axes")) {
    for (std::int64_t v : *a) axes.push_back(ctx.axis(v, r, "axis"));
  } else {
    for (int d = 0; d < r; ++d) axes.push_back(d);
  }
  std::vector<double> scales;
  std::vector<std::int64_t> sizes;
  const std::size_t scales_input = upsample ? 1 : (ctx.opset() < 11 ? 1 : 2);
  if (scales_attr) {
    scales.assign(scales_attr->begin(), scales_attr->end());
  } else if (ctx.has(scales_input) && ctx.in(scales_input).shape.numel() > 0) {
    const Tensor& t = ctx.value(scales_input, "scales");
    if (t.dtype() != DType::kF32) ctx.fail("scales must be floats");
    for (float v : t.to_vector<float>()) scales.push_back(v);
  }
  if (!upsample && ctx.opset() >= 11 && ctx.has(3)) {
    if (!scales.empty()) ctx.fail("gives both scales and sizes");
    sizes = ctx.ints(3, "sizes");
  }
  if (scales.empty() && sizes.empty()) ctx.fail("needs scales or sizes");
  const std::size_t n = scales.empty() ? sizes.size() : scales.size();
  if (n != axes.size()) ctx.fail("{} scales / sizes for {} axes", n, axes.size());
  Shape shape = x.shape;
  std::array<float, 2> spatial_scale{0.0f, 0.0f};
  float depth_scale = 0.0f;  // the third axis from the end, resized as a second pass
  for (std::size_t i = 0; i < n; ++i) {
    const int d = static_cast<int>(axes[i]);
    std::int64_t size;
    if (!scales.empty()) {
      const auto s = static_cast<float>(scales[i]);
      if (!(s > 0.0f) || std::isinf(s)) ctx.fail("scale {} must be positive", scales[i]);
      const float scaled = static_cast<float>(x.shape[d]) * s;
      if (!(scaled < static_cast<float>(kMaxDim))) ctx.fail("scale {} makes dimension {} too large", scales[i], d);
      size = static_cast<std::int64_t>(scaled);  // floor, as onnxruntime computes it
      if (d >= r - 2) spatial_scale[static_cast<std::size_t>(d - (r - 2))] = s;
      if (d == r - 3) depth_scale = s;
    } else {
      size = ctx.bounded(sizes[i], "a size");
    }
    if (size < 1) ctx.fail("output dimension {} would be {}", d, size);
    if (d < r - 3 && size != x.shape[d]) {
      ctx.fail("resizing dimension {} (not one of the last three) is not supported", d);
    }
    shape[d] = size;
  }
  if (r < 2) ctx.fail("input must have at least two dimensions; got {}", x.shape.to_string());
  if (legacy && p.mode == ResizeMode::kNearest && (shape[r - 2] < x.shape[r - 2] || shape[r - 1] < x.shape[r - 1])) {
    ctx.fail("nearest downsampling before opset 11 is not supported");
  }
  p.out_h = shape[r - 2];
  p.out_w = shape[r - 1];
  p.scale = spatial_scale;
  if (r < 3 || shape[r - 3] == x.shape[r - 3]) {
    return {{meta(shape, x.type)},
            [p](std::span<const Tensor> in, std::span<Tensor> out) { out[0] = resize2d(in[0], p); }};
  }
  if (x.shape[r - 3] * x.shape[r - 2] * x.shape[r - 1] == 0)
    ctx.fail("cannot resize the empty {}", x.shape.to_string());
  if (legacy && p.mode == ResizeMode::kNearest && shape[r - 3] < x.shape[r - 3]) {
    ctx.fail("nearest downsampling before opset 11 is not supported");
  }
  // Depth too (a 3-D resize): nearest and linear are separable, so the depth
  // axis is a second resize2d over [outer, D, Ho * Wo], whose width keeps its
  // size and so maps every column onto itself in any coordinate mode.
  Resize2dParams pd = p;
  pd.out_h = shape[r - 3];
  pd.out_w = shape[r - 2] * shape[r - 1];
  pd.scale = {depth_scale, 1.0f};
  const std::int64_t outer = x.shape.numel() / (x.shape[r - 3] * x.shape[r - 2] * x.shape[r - 1]);
  const std::int64_t depth = x.shape[r - 3];
  return {{meta(shape, x.type)}, [p, pd, outer, depth, shape](std::span<const Tensor> in, std::span<Tensor> out) {
            const Tensor planes = resize2d(in[0], p);
            out[0] = resize2d(planes.reshape({outer, depth, pd.out_w}), pd).reshape(shape);
          }};
}

// ---- grid sampling ------------------------------------------------------------------

// GridSample (opset 16: bilinear / nearest / bicubic; opset 20 renamed them
// linear / nearest / cubic and allowed N-d inputs). 5-D inputs are taken at
// any opset: exporters of LivePortrait-style warps write them at 16 and 17.
Lowered grid_sample_node(const NodeContext& ctx, const GridSampleParams& p);

// GridSample's string attributes (also on the GridSample3D nodes that keep
// them, renamed from a GridSample by exporters for TensorRT's plugin).
Lowered lower_grid_sample(const NodeContext& ctx) {
  const std::string mode = ctx.attr_string("mode", ctx.opset() >= 20 ? "linear" : "bilinear");
  const std::string padding = ctx.attr_string("padding_mode", "zeros");
  GridSampleParams p;
  p.align_corners = ctx.attr_int("align_corners", 0) != 0;
  if (mode == "linear" || mode == "bilinear") {
    p.mode = GridSampleMode::kLinear;
  } else if (mode == "nearest") {
    p.mode = GridSampleMode::kNearest;
  } else {
    ctx.fail("mode '{}' is not supported (linear / bilinear, nearest)", mode);
  }
  if (padding == "zeros") {
    p.padding = GridSamplePadding::kZeros;
  } else if (padding == "border") {
    p.padding = GridSamplePadding::kBorder;
  } else if (padding == "reflection") {
    p.padding = GridSamplePadding::kReflection;
  } else {
    ctx.fail("padding_mode '{}' is not an ONNX value (zeros, border, reflection)", padding);
  }
  return grid_sample_node(ctx, p);
}

// The TensorRT GridSample3D plugin's form in a custom domain: PyTorch's enum
// values as ints (interpolation_mode 0 bilinear, 1 nearest; padding_mode 0
// zeros, 1 border, 2 reflection), each 0 when absent.
Lowered lower_grid_sample_plugin(const NodeContext& ctx) {
  GridSampleParams p;
  const std::int64_t mode = ctx.attr_int("interpolation_mode", 0);
  const std::int64_t padding = ctx.attr_int("padding_mode", 0);
  p.align_corners = ctx.attr_int("align_corners", 0) != 0;
  if (mode != 0 && mode != 1) ctx.fail("interpolation_mode {} is not supported (0 bilinear, 1 nearest)", mode);
  if (padding < 0 || padding > 2)
    ctx.fail("padding_mode {} is not supported (0 zeros, 1 border, 2 reflection)", padding);
  p.mode = mode == 0 ? GridSampleMode::kLinear : GridSampleMode::kNearest;
  p.padding = padding == 0 ? GridSamplePadding::kZeros
                           : (padding == 1 ? GridSamplePadding::kBorder : GridSamplePadding::kReflection);
  return grid_sample_node(ctx, p);
}

Lowered grid_sample_node(const NodeContext& ctx, const GridSampleParams& p) {
  require_float(ctx, 0);
  require_float(ctx, 1);
  const Shape& x = ctx.in(0).shape;
  const Shape& g = ctx.in(1).shape;
  const int r = x.rank();
  if (r != 4 && r != 5) ctx.fail("input must be [N, C, H, W] or [N, C, D, H, W]; got {}", x.to_string());
  if (g.rank() != r || g[0] != x[0] || g[r - 1] != r - 2) {
    ctx.fail("grid {} must be [{}, ..., {}] for the input {}", g.to_string(), x[0], r - 2, x.to_string());
  }
  for (int d = 2; d < r; ++d) {
    if (x[d] == 0) ctx.fail("cannot sample the empty input {}", x.to_string());
  }
  Shape shape{x[0], x[1]};
  for (int d = 1; d < r - 1; ++d) shape.push_back(g[d]);
  const bool cast_grid = ctx.in(1).type != ctx.in(0).type;
  return {{meta(shape, ctx.in(0).type)}, [p, cast_grid](std::span<const Tensor> in, std::span<Tensor> out) {
            const Tensor grid = cast_grid ? to_dtype(in[1], in[0].dtype()) : in[1];
            out[0] = grid_sample(in[0], grid, p);
          }};
}

}  // namespace

void add_nn_ops(std::vector<OpDef>& ops) {
  const std::vector<std::string_view> conv_attrs = {"auto_pad",     "dilations", "group",
                                                    "kernel_shape", "pads",      "strides"};
  ops.push_back({"", "Conv", 1, conv_attrs, lower_conv, "conv2d (1-D as 2-D), conv3d; asymmetric pads through pad"});
  ops.push_back({"", "MatMul", 1, {}, lower_matmul, "matmul (vectors reshaped)"});
  ops.push_back(
      {"", "Gemm", 1, {"alpha", "beta", "transA", "transB"}, lower_gemm, "linear (transB, row bias) or matmul"});
  ops.push_back({kInternalDomain, "MatMul+Add", 1, {}, lower_linear, "linear with bias (a load-time fusion)"});
  ops.push_back({kInternalDomain, "Silu", 1, {}, lower_silu, "silu (a load-time fusion of Mul(x, Sigmoid(x)))"});
  ops.push_back({kInternalDomain,
                 "InstanceNorm+Silu",
                 1,
                 {"epsilon"},
                 lower_instance_norm_silu,
                 "group_norm with SiLU fused (a load-time fusion)"});
  ops.push_back({kInternalDomain,
                 "GroupNorm",
                 1,
                 {"groups", "epsilon", "silu"},
                 lower_group_norm_pattern,
                 "group_norm, SiLU fused when asked (a load-time fusion of the unfused export)"});
  ops.push_back({kInternalDomain,
                 "Attention",
                 1,
                 {"scale"},
                 lower_attention,
                 "attention (a load-time fusion; matmul, softmax, matmul where leading dims broadcast)"});
  ops.push_back({"",
                 "BatchNormalization",
                 1,
                 {"epsilon", "momentum", "spatial", "training_mode"},
                 lower_batch_norm,
                 "mul, add (per-channel factors folded at load)"});
  ops.push_back(
      {"", "InstanceNormalization", 1, {"epsilon"}, lower_instance_norm, "group_norm (one group per channel)"});
  ops.push_back({"", "LayerNormalization", 17, {"axis", "epsilon", "stash_type"}, lower_layer_norm, "layer_norm"});
  const std::vector<std::string_view> pool_attrs = {"auto_pad", "ceil_mode",     "dilations", "kernel_shape",
                                                    "pads",     "storage_order", "strides"};
  ops.push_back({"", "MaxPool", 1, pool_attrs, [](const NodeContext& c) { return lower_pool(c, true); },
                 "max_pool2d (pads through pad with -inf)"});
  std::vector<std::string_view> avg_attrs = pool_attrs;
  avg_attrs.push_back("count_include_pad");
  ops.push_back({"", "AveragePool", 1, avg_attrs, [](const NodeContext& c) { return lower_pool(c, false); },
                 "avg_pool2d (pads through pad, divided by the cells counted)"});
  ops.push_back(
      {"", "GlobalAveragePool", 1, {}, [](const NodeContext& c) { return lower_global_pool(c, false); }, "mean"});
  ops.push_back({"", "GlobalMaxPool", 1, {}, [](const NodeContext& c) { return lower_global_pool(c, true); }, "amax"});
  ops.push_back({"",
                 "Resize",
                 10,
                 {"mode", "coordinate_transformation_mode", "nearest_mode", "cubic_coeff_a", "exclude_outside",
                  "extrapolation_value", "antialias", "axes", "keep_aspect_ratio_policy"},
                 [](const NodeContext& c) { return lower_resize(c, false); },
                 "resize2d (nearest, linear)"});
  ops.push_back({"",
                 "Upsample",
                 7,
                 {"mode", "scales"},
                 [](const NodeContext& c) { return lower_resize(c, true); },
                 "resize2d (asymmetric)"});
  ops.push_back({"",
                 "GridSample",
                 16,
                 {"align_corners", "mode", "padding_mode"},
                 lower_grid_sample,
                 "grid_sample (2-D and 3-D)"});
  ops.push_back({"",
                 "GridSample3D",
                 1,
                 {"align_corners", "mode", "padding_mode"},
                 lower_grid_sample,
                 "grid_sample (GridSample's attributes under the TensorRT plugin's name)"});
  ops.push_back({kAnyCustomDomain,
                 "GridSample3D",
                 1,
                 {"align_corners", "interpolation_mode", "padding_mode"},
                 lower_grid_sample_plugin,
                 "grid_sample (the TensorRT plugin's int attributes, any custom domain)"});
}

}  // namespace sc::engine::onnx::detail
