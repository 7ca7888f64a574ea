// Lowerings of shape, layout and constant ops. Data movement works on any
// dtype (the engine's layout ops copy bytes); what a shape depends on must be
// known at load, which it is once the graph's input shapes are given.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <numeric>

#include "engine/onnx/host_ops.h"
#include "engine/onnx/lowering.h"
#include "engine/ops.h"

namespace sc::engine::onnx::detail {

namespace {

ValueMeta like(const ValueMeta& m) { return meta(m.shape, m.type); }

Tensor i64_tensor(const std::vector<std::int64_t>& v) {
  return Tensor::from_vector_i64({static_cast<std::int64_t>(v.size())}, v);
}

// A shape from ONNX values: every entry >= 0, at most kMaxDims.
Shape to_shape(const NodeContext& ctx, const std::vector<std::int64_t>& dims, std::string_view what) {
  if (dims.size() > static_cast<std::size_t>(kMaxDims)) {
    ctx.fail("{} has {} dimensions; the engine supports at most {}", what, dims.size(), kMaxDims);
  }
  for (std::int64_t d : dims) {
    if (d < 0) ctx.fail("{} [{}] has a negative dimension", what, fmt::join(dims, ", "));
    ctx.bounded(d, "a dimension of " + std::string(what));
  }
  const Shape s(dims);
  (void)s.numel();  // throws where the product passes int64
  return s;
}

Lowered known_output(const Tensor& value, ElemType type) {
  ValueMeta m = meta(value.shape(), type);
  m.constant = value;
  return {{m}, [value](std::span<const Tensor>, std::span<Tensor> out) { out[0] = value; }};
}

// ---- shapes -------------------------------------------------------------------------

Lowered lower_shape(const NodeContext& ctx) {
  const std::int64_t start_attr = ctx.attr_int("start", 0);
  const Shape& s = ctx.in(0).shape;
  const std::int64_t r = s.rank();
  // (A plain default, not an optional: GCC 12 with the tsan preset's -O1 warns
  // that the optional's value may be read uninitialised.)
  const std::int64_t end_attr = ctx.attr_int("end", r);
  auto clip = [r](std::int64_t v) { return std::clamp<std::int64_t>(v < 0 ? v + r : v, 0, r); };
  const std::int64_t b = clip(start_attr), e = clip(end_attr);
  std::vector<std::int64_t> dims;
  for (std::int64_t i = b; i < e; ++i) dims.push_back(s[static_cast<int>(i)]);
  // Known whatever the input's values: shapes are fixed when planning.
  return known_output(i64_tensor(dims), ElemType::kInt64);
}

Lowered lower_size(const NodeContext& ctx) {
  return known_output(Tensor::from_vector_i64({}, std::vector<std::int64_t>{ctx.in(0).shape.numel()}),
                      ElemType::kInt64);
}

Lowered view_as(const ValueMeta& x, const Shape& shape) {
  return {{meta(shape, x.type)},
          [shape](std::span<const Tensor> in, std::span<Tensor> out) { out[0] = in[0].reshape(shape); }};
}

Lowered lower_reshape(const NodeContext& ctx) {
  const bool allowzero = ctx.attr_int("allowzero", 0) != 0;
  const ValueMeta& x = ctx.in(0);
  std::vector<std::int64_t> dims = ctx.ints(1, "the new shape");
  int infer = -1;
  std::int64_t known = 1;
  for (std::size_t i = 0; i < dims.size(); ++i) {
    std::int64_t& d = dims[i];
    if (d == 0 && !allowzero) {
      if (static_cast<int>(i) >= x.shape.rank())
        ctx.fail("shape entry {} is 0 (copy) but the input has rank {}", i, x.shape.rank());
      d = x.shape[static_cast<int>(i)];
    }
    if (d == -1) {
      if (infer >= 0) ctx.fail("the new shape [{}] has more than one -1", fmt::join(dims, ", "));
      infer = static_cast<int>(i);
      continue;
    }
    if (d < 0) ctx.fail("the new shape has a negative entry {}", d);
    if (__builtin_mul_overflow(known, ctx.bounded(d, "a shape entry"), &known)) ctx.fail("the new shape is too large");
  }
  if (infer >= 0) {
    if (known == 0 || x.shape.numel() % known != 0) {
      ctx.fail("cannot infer the -1 of [{}] from {} elements", fmt::join(dims, ", "), x.shape.numel());
    }
    dims[static_cast<std::size_t>(infer)] = x.shape.numel() / known;
  }
  const Shape shape = to_shape(ctx, dims, "the new shape");
  if (shape.numel() != x.shape.numel()) {
    ctx.fail("cannot reshape {} ({} elements) to {}", x.shape.to_string(), x.shape.numel(), shape.to_string());
  }
  return view_as(x, shape);
}

Lowered lower_flatten(const NodeContext& ctx) {
  const std::int64_t axis_attr = ctx.attr_int("axis", 1);
  const ValueMeta& x = ctx.in(0);
  const int r = x.shape.rank();
  if (axis_attr < -r || axis_attr > r) ctx.fail("axis {} is out of range for rank {}", axis_attr, r);
  const int axis = static_cast<int>(axis_attr < 0 ? axis_attr + r : axis_attr);
  std::int64_t rows = 1, cols = 1;
  for (int d = 0; d < r; ++d) (d < axis ? rows : cols) *= x.shape[d];
  return view_as(x, Shape{rows, cols});
}

std::optional<std::vector<std::int64_t>> axes_of(const NodeContext& ctx, std::int64_t input_since) {
  std::optional<std::vector<std::int64_t>> axes = ctx.attr_ints("axes");
  if (axes && ctx.opset() >= input_since) ctx.fail("axes is an input from opset {} on, not an attribute", input_since);
  if (ctx.opset() >= input_since && ctx.has(1)) axes = ctx.ints(1, "axes");
  return axes;
}

Lowered lower_squeeze(const NodeContext& ctx) {
  const std::optional<std::vector<std::int64_t>> axes = axes_of(ctx, 13);
  const ValueMeta& x = ctx.in(0);
  std::vector<bool> drop(static_cast<std::size_t>(x.shape.rank()), false);
  if (axes) {
    for (std::int64_t a : *axes) {
      const int d = ctx.axis(a, x.shape.rank(), "axis");
      if (x.shape[d] != 1) ctx.fail("cannot squeeze dimension {} of {}: it is not 1", d, x.shape.to_string());
      drop[static_cast<std::size_t>(d)] = true;
    }
  } else {
    for (int d = 0; d < x.shape.rank(); ++d) drop[static_cast<std::size_t>(d)] = x.shape[d] == 1;
  }
  std::vector<std::int64_t> dims;
  for (int d = 0; d < x.shape.rank(); ++d)
    if (!drop[static_cast<std::size_t>(d)]) dims.push_back(x.shape[d]);
  return view_as(x, Shape(dims));
}

Lowered lower_unsqueeze(const NodeContext& ctx) {
  const std::optional<std::vector<std::int64_t>> axes = axes_of(ctx, 13);
  if (!axes) ctx.fail("needs axes");
  const ValueMeta& x = ctx.in(0);
  const int rank = x.shape.rank() + static_cast<int>(axes->size());
  if (rank > kMaxDims) ctx.fail("the result has {} dimensions; the engine supports at most {}", rank, kMaxDims);
  std::vector<bool> added(static_cast<std::size_t>(rank), false);
  for (std::int64_t a : *axes) {
    const int d = ctx.axis(a, rank, "axis");
    if (added[static_cast<std::size_t>(d)]) ctx.fail("axes name dimension {} twice", d);
    added[static_cast<std::size_t>(d)] = true;
  }
  std::vector<std::int64_t> dims;
  int src = 0;
  for (int d = 0; d < rank; ++d) dims.push_back(added[static_cast<std::size_t>(d)] ? 1 : x.shape[src++]);
  return view_as(x, Shape(dims));
}

Lowered lower_transpose(const NodeContext& ctx) {
  std::optional<std::vector<std::int64_t>> perm_attr = ctx.attr_ints("perm");
  const ValueMeta& x = ctx.in(0);
  const int r = x.shape.rank();
  std::vector<int> perm(static_cast<std::size_t>(r));
  if (perm_attr) {
    if (static_cast<int>(perm_attr->size()) != r) ctx.fail("perm has {} entries for rank {}", perm_attr->size(), r);
    std::vector<bool> seen(static_cast<std::size_t>(r), false);
    for (int i = 0; i < r; ++i) {
      const int d = ctx.axis((*perm_attr)[static_cast<std::size_t>(i)], r, "perm entry");
      if (seen[static_cast<std::size_t>(d)]) ctx.fail("perm names dimension {} twice", d);
      seen[static_cast<std::size_t>(d)] = true;
      perm[static_cast<std::size_t>(i)] = d;
    }
  } else {
    for (int i = 0; i < r; ++i) perm[static_cast<std::size_t>(i)] = r - 1 - i;
  }
  Shape shape;
  for (int d : perm) shape.push_back(x.shape[d]);
  return {{meta(shape, x.type)}, [perm](std::span<const Tensor> in, std::span<Tensor> out) {
            out[0] = in[0].rank() < 2 ? in[0].clone() : permute(in[0], perm);
          }};
}

Lowered lower_concat(const NodeContext& ctx) {
  if (!ctx.has_attr("axis")) ctx.fail("needs the axis attribute");
  const std::int64_t axis_attr = ctx.attr_int("axis", 0);
  if (ctx.input_count() == 0) ctx.fail("needs at least one input");
  const ValueMeta& first = ctx.in(0);
  const int axis = ctx.axis(axis_attr, first.shape.rank(), "axis");
  Shape shape = first.shape;
  shape[axis] = 0;
  for (std::size_t i = 0; i < ctx.input_count(); ++i) {
    const ValueMeta& t = ctx.in(i);
    bool fits = t.type == first.type && t.shape.rank() == first.shape.rank();
    for (int d = 0; fits && d < t.shape.rank(); ++d) fits = d == axis || t.shape[d] == first.shape[d];
    if (!fits) {
      ctx.fail("input {} ({} {}) does not match input 0 ({} {}) outside axis {}", i, elem_type_name(t.type),
               t.shape.to_string(), elem_type_name(first.type), first.shape.to_string(), axis);
    }
    shape[axis] += t.shape[axis];
  }
  return {{meta(shape, first.type)},
          [axis](std::span<const Tensor> in, std::span<Tensor> out) { out[0] = concat(in, axis); }};
}

Lowered lower_split(const NodeContext& ctx) {
  const std::int64_t axis_attr = ctx.attr_int("axis", 0);
  std::optional<std::vector<std::int64_t>> sizes = ctx.attr_ints("split");
  if (sizes && ctx.opset() >= 13) ctx.fail("split is an input from opset 13 on, not an attribute");
  const std::int64_t num_outputs = ctx.attr_int("num_outputs", 0);
  const ValueMeta& x = ctx.in(0);
  const int axis = ctx.axis(axis_attr, x.shape.rank(), "axis");
  if (ctx.opset() >= 13 && ctx.has(1)) sizes = ctx.ints(1, "split");
  const std::int64_t n = x.shape[axis];
  const auto outputs = static_cast<std::int64_t>(ctx.output_count());
  if (!sizes) {
    sizes.emplace();
    if (num_outputs && num_outputs != outputs)
      ctx.fail("num_outputs = {} but the node has {} outputs", num_outputs, outputs);
    // Equal parts; from opset 18 the last one may be smaller.
    const std::int64_t part = ctx.opset() >= 18 ? (n + outputs - 1) / outputs : n / outputs;
    if (ctx.opset() < 18 && n % outputs != 0)
      ctx.fail("dimension {} of size {} does not split into {} equal parts", axis, n, outputs);
    for (std::int64_t i = 0; i < outputs; ++i) sizes->push_back(std::min(part, n - i * part));
  }
  if (static_cast<std::int64_t>(sizes->size()) != outputs)
    ctx.fail("split has {} sizes for {} outputs", sizes->size(), outputs);
  std::int64_t total = 0;
  for (std::int64_t s : *sizes) total += ctx.bounded(s, "a split size");
  if (total != n) ctx.fail("split sizes add up to {}, but dimension {} has {}", total, axis, n);
  Lowered l;
  std::vector<std::int64_t> starts;
  std::int64_t at = 0;
  for (std::int64_t s : *sizes) {
    Shape shape = x.shape;
    shape[axis] = s;
    l.outputs.push_back(meta(shape, x.type));
    starts.push_back(at);
    at += s;
  }
  l.run = [axis, starts, sizes = *sizes](std::span<const Tensor> in, std::span<Tensor> out) {
    for (std::size_t i = 0; i < out.size(); ++i) out[i] = slice(in[0], axis, starts[i], starts[i] + sizes[i]);
  };
  return l;
}

struct SliceAxis {
  int dim;
  std::int64_t start, end, step;
  std::vector<std::int64_t> reversed;  // a negative step: the indices taken, in order
};

// x's elements at `indices` along dim, in that order (one slice per index).
Tensor take(const Tensor& x, int dim, const std::vector<std::int64_t>& indices) {
  std::vector<Tensor> parts;
  parts.reserve(indices.size());
  for (std::int64_t i : indices) parts.push_back(slice(x, dim, i, i + 1));
  if (parts.empty()) {
    Shape shape = x.shape();
    shape[dim] = 0;
    return Tensor::empty(shape, x.dtype(), x.device());
  }
  return concat(parts, dim);
}

Lowered lower_slice(const NodeContext& ctx) {
  std::vector<std::int64_t> starts, ends, axes, steps;
  if (ctx.opset() < 10) {
    starts = ctx.attr_ints("starts").value_or(std::vector<std::int64_t>{});
    ends = ctx.attr_ints("ends").value_or(std::vector<std::int64_t>{});
    axes = ctx.attr_ints("axes").value_or(std::vector<std::int64_t>{});
  } else if (ctx.has_attr("starts") || ctx.has_attr("ends") || ctx.has_attr("axes")) {
    ctx.fail("starts / ends / axes are inputs from opset 10 on, not attributes");
  }
  const ValueMeta& x = ctx.in(0);
  if (ctx.opset() >= 10) {
    starts = ctx.ints(1, "starts");
    ends = ctx.ints(2, "ends");
    if (ctx.has(3)) axes = ctx.ints(3, "axes");
    if (ctx.has(4)) steps = ctx.ints(4, "steps");
  }
  if (starts.size() != ends.size()) ctx.fail("{} starts but {} ends", starts.size(), ends.size());
  if (axes.empty())
    for (std::size_t i = 0; i < starts.size(); ++i) axes.push_back(static_cast<std::int64_t>(i));
  if (steps.empty()) steps.assign(starts.size(), 1);
  if (axes.size() != starts.size() || steps.size() != starts.size())
    ctx.fail("starts, ends, axes and steps differ in length");
  std::vector<SliceAxis> plan;
  Shape shape = x.shape;
  std::vector<bool> seen(static_cast<std::size_t>(x.shape.rank()), false);
  for (std::size_t i = 0; i < starts.size(); ++i) {
    const int d = ctx.axis(axes[i], x.shape.rank(), "axis");
    if (seen[static_cast<std::size_t>(d)]) ctx.fail("axes name dimension {} twice", d);
    seen[static_cast<std::size_t>(d)] = true;
    const std::int64_t n = x.shape[d], step = steps[i];
    if (step == 0) ctx.fail("a step of 0");
    if (step < 0) {
      // Backwards: start clamped to [0, n - 1], end to [-1, n - 1] (ONNX).
      ctx.bounded(-step, "a step", 1);
      auto wrap = [n](std::int64_t v) { return v < 0 ? v + n : v; };
      SliceAxis a{d, 0, 0, step, {}};
      if (n > (std::int64_t{1} << 24))
        ctx.fail("reversing a slice of dimension {} of {} elements is not supported", d, n);
      if (n > 0) {
        const std::int64_t b = std::clamp<std::int64_t>(wrap(std::max<std::int64_t>(starts[i], -n - 1)), 0, n - 1);
        const std::int64_t e = std::clamp<std::int64_t>(wrap(std::max<std::int64_t>(ends[i], -n - 1)), -1, n - 1);
        for (std::int64_t k = b; k > e; k += step) a.reversed.push_back(k);
      }
      shape[d] = static_cast<std::int64_t>(a.reversed.size());
      plan.push_back(std::move(a));
      continue;
    }
    ctx.bounded(step, "a step", 1);
    auto clamp_index = [n](std::int64_t v) { return std::clamp<std::int64_t>(v < 0 ? (v < -n ? 0 : v + n) : v, 0, n); };
    const std::int64_t b = clamp_index(starts[i]), e = std::max(b, clamp_index(ends[i]));
    shape[d] = (e - b + step - 1) / step;
    if (b != 0 || e != n || step != 1) plan.push_back({d, b, e, step, {}});
  }
  return {{meta(shape, x.type)}, [plan](std::span<const Tensor> in, std::span<Tensor> out) {
            Tensor t = in[0];
            for (const SliceAxis& s : plan)
              t = s.step < 0 ? take(t, s.dim, s.reversed) : slice(t, s.dim, s.start, s.end, s.step);
            out[0] = plan.empty() ? t.clone() : t;
          }};
}

Lowered lower_gather(const NodeContext& ctx) {
  const std::int64_t axis_attr = ctx.attr_int("axis", 0);
  const ValueMeta& x = ctx.in(0);
  const ValueMeta& idx = ctx.in(1);
  if (idx.type != ElemType::kInt64 && idx.type != ElemType::kInt32) {
    ctx.fail("indices are {}; expected int32 or int64", elem_type_name(idx.type));
  }
  if (x.shape.rank() == 0) ctx.fail("cannot gather from a scalar");
  const int axis = ctx.axis(axis_attr, x.shape.rank(), "axis");
  std::vector<std::int64_t> dims;
  for (int d = 0; d < axis; ++d) dims.push_back(x.shape[d]);
  for (int d = 0; d < idx.shape.rank(); ++d) dims.push_back(idx.shape[d]);
  for (int d = axis + 1; d < x.shape.rank(); ++d) dims.push_back(x.shape[d]);
  const Shape shape = to_shape(ctx, dims, "the result");
  const std::int64_t n = x.shape[axis];
  Lowered l;
  l.outputs = {meta(shape, x.type)};
  if (!idx.known()) {
    // Run-time indices (token ids): rows of a float table through embedding,
    // which refuses ids outside [0, n) rather than reading past the table.
    if (!is_float_type(x.type))
      ctx.fail("gathering {} values at run-time indices is not supported", elem_type_name(x.type));
    std::vector<int> to_front, back;
    to_front.push_back(axis);
    for (int d = 0; d < x.shape.rank(); ++d)
      if (d != axis) to_front.push_back(d);
    const std::int64_t rest = n ? x.shape.numel() / n : 0;
    // After embedding: [indices..., other dims]; move the index dims to axis.
    const int ir = idx.shape.rank(), xr = x.shape.rank();
    for (int d = 0; d < axis; ++d) back.push_back(ir + d);
    for (int d = 0; d < ir; ++d) back.push_back(d);
    for (int d = axis + 1; d < xr; ++d) back.push_back(ir + d - 1);
    std::vector<std::int64_t> mid = idx.shape.to_vector();
    for (int d = 0; d < xr; ++d)
      if (d != axis) mid.push_back(x.shape[d]);
    if (mid.size() > static_cast<std::size_t>(kMaxDims)) ctx.fail("the result has too many dimensions");
    const Shape mid_shape(mid);
    l.run = [axis, to_front, back, n, rest, mid_shape](std::span<const Tensor> in, std::span<Tensor> out) {
      const Tensor table = (axis == 0 ? in[0] : permute(in[0], to_front)).reshape({n, rest});
      const Tensor rows = embedding(in[1], table).reshape(mid_shape);
      out[0] = axis == 0 ? rows : permute(rows, back);
    };
    return l;
  }
  std::vector<std::int64_t> iv = int_values(idx.constant);
  for (std::int64_t& i : iv) {
    if (i < -n || i >= n) ctx.fail("index {} is out of range for dimension {} of size {}", i, axis, n);
    if (i < 0) i += n;
  }
  const Shape idx_shape = idx.shape;
  if (x.known()) {
    l.run = [axis, iv, idx_shape](std::span<const Tensor> in, std::span<Tensor> out) {
      out[0] = host_gather(in[0], axis, iv, idx_shape);
    };
    return l;
  }
  // Known indices into run-time data: a run of consecutive indices is a slice.
  const bool run_of = !iv.empty() && std::adjacent_find(iv.begin(), iv.end(), [](std::int64_t a, std::int64_t b) {
                                       return b != a + 1;
                                     }) == iv.end();
  if (run_of) {
    const std::int64_t b = iv.front(), e = iv.back() + 1;
    l.run = [axis, b, e, shape](std::span<const Tensor> in, std::span<Tensor> out) {
      out[0] = slice(in[0], axis, b, e).reshape(shape);
    };
    return l;
  }
  l.run = [axis, iv, shape](std::span<const Tensor> in, std::span<Tensor> out) {
    std::vector<Tensor> parts;
    parts.reserve(iv.size());
    for (std::int64_t i : iv) parts.push_back(slice(in[0], axis, i, i + 1));
    if (parts.empty()) {
      out[0] = Tensor::empty(shape, in[0].dtype(), in[0].device());
      return;
    }
    out[0] = concat(parts, axis).reshape(shape);
  };
  return l;
}

// Element i of the result is element table[i] of a flat source (the data
// of GatherElements, data then updates for ScatterND): on the host for known
// values (any type, bytes), else rows of width 1 through embedding (floats).
Lowered take_elements(const NodeContext& ctx, const Shape& shape, ElemType type, std::vector<std::int64_t> table,
                      bool two_sources) {
  Lowered l;
  l.outputs = {meta(shape, type)};
  if (ctx.all_known()) {
    l.run = [table, shape, two_sources](std::span<const Tensor> in, std::span<Tensor> out) {
      const Tensor& a = in[0];
      const Tensor& b = two_sources ? in[2] : in[0];
      const std::size_t es = dtype_size(a.dtype());
      const auto* pa = static_cast<const std::byte*>(a.raw_data());
      const auto* pb = static_cast<const std::byte*>(b.raw_data());
      Tensor y = Tensor::empty(shape, a.dtype());
      auto* py = static_cast<std::byte*>(y.raw_data());
      const auto na = static_cast<std::size_t>(a.numel());
      for (std::size_t i = 0; i < table.size(); ++i) {
        const auto t = static_cast<std::size_t>(table[i]);
        std::memcpy(py + i * es, t < na ? pa + t * es : pb + (t - na) * es, es);
      }
      out[0] = y;
    };
    return l;
  }
  if (!is_float_type(type)) ctx.fail("moving {} values computed at run time is not supported", elem_type_name(type));
  const Tensor ids = ctx.place(Tensor::from_vector_i64({static_cast<std::int64_t>(table.size())}, table));
  l.run = [ids, shape, two_sources](std::span<const Tensor> in, std::span<Tensor> out) {
    Tensor source = in[0].reshape({in[0].numel(), 1});
    if (two_sources) source = concat(std::vector<Tensor>{source, in[2].reshape({in[2].numel(), 1})}, 0);
    out[0] = embedding(ids, source).reshape(shape);
  };
  return l;
}

std::int64_t wrap_index(const NodeContext& ctx, std::int64_t i, std::int64_t n, int dim) {
  if (i < -n || i >= n) ctx.fail("index {} is out of range for dimension {} of size {}", i, dim, n);
  return i < 0 ? i + n : i;
}

// GatherElements: indices known at load (any data), or computed at run time
// into a 1-D float table (LMDM's schedule lookup by the time step).
Lowered lower_gather_elements(const NodeContext& ctx) {
  const ValueMeta& x = ctx.in(0);
  const ValueMeta& idx = ctx.in(1);
  if (idx.type != ElemType::kInt64 && idx.type != ElemType::kInt32) {
    ctx.fail("indices are {}; expected int32 or int64", elem_type_name(idx.type));
  }
  const int r = x.shape.rank();
  if (r == 0 || idx.shape.rank() != r)
    ctx.fail("data {} and indices {} need one rank >= 1", x.shape.to_string(), idx.shape.to_string());
  const int axis = ctx.axis(ctx.attr_int("axis", 0), r, "axis");
  for (int d = 0; d < r; ++d) {
    if (d != axis && idx.shape[d] > x.shape[d]) {
      ctx.fail("indices {} exceed data {} along dimension {}", idx.shape.to_string(), x.shape.to_string(), d);
    }
  }
  if (!idx.known()) {
    if (r != 1 || !is_float_type(x.type)) {
      ctx.fail("run-time indices are supported into 1-D float data only; got {} {}", elem_type_name(x.type),
               x.shape.to_string());
    }
    const std::int64_t n = x.shape[0];
    return {{meta(idx.shape, x.type)}, [n](std::span<const Tensor> in, std::span<Tensor> out) {
              // embedding refuses an index outside the table (negative ones too).
              out[0] = embedding(in[1], in[0].reshape({n, 1})).reshape(in[1].shape());
            }};
  }
  ctx.check_size(idx.shape, 8, "the index table");
  const std::vector<std::int64_t> iv = int_values(idx.constant);
  std::vector<std::int64_t> table(iv.size());
  std::vector<std::int64_t> pos(static_cast<std::size_t>(r), 0);
  for (std::size_t i = 0; i < iv.size(); ++i) {
    std::int64_t flat = 0;
    for (int d = 0; d < r; ++d) {
      const std::int64_t c = d == axis ? wrap_index(ctx, iv[i], x.shape[d], d) : pos[static_cast<std::size_t>(d)];
      flat = flat * x.shape[d] + c;
    }
    table[i] = flat;
    for (int d = r - 1; d >= 0; --d) {
      if (++pos[static_cast<std::size_t>(d)] < idx.shape[d]) break;
      pos[static_cast<std::size_t>(d)] = 0;
    }
  }
  return take_elements(ctx, idx.shape, x.type, std::move(table), false);
}

// ScatterND (reduction none) with indices known at load: every element of the
// result is a data element or, where an index tuple points at it, an update
// (the last write wins, as onnxruntime does with duplicates).
Lowered lower_scatter_nd(const NodeContext& ctx) {
  const std::string reduction = ctx.attr_string("reduction", "none");
  if (reduction != "none") ctx.fail("reduction '{}' is not supported (none)", reduction);
  const ValueMeta& x = ctx.in(0);
  const ValueMeta& idx = ctx.in(1);
  const ValueMeta& upd = ctx.in(2);
  if (idx.type != ElemType::kInt64) ctx.fail("indices are {}; expected int64", elem_type_name(idx.type));
  if (upd.type != x.type) ctx.fail("updates are {}, data {}", elem_type_name(upd.type), elem_type_name(x.type));
  if (!idx.known()) ctx.fail("indices computed at run time are not supported (only ones known at load)");
  const int r = x.shape.rank(), q = idx.shape.rank();
  if (q < 1) ctx.fail("indices must have at least one dimension");
  const std::int64_t k = idx.shape[q - 1];
  if (k < 1 || k > r) ctx.fail("index tuples of {} for data of rank {}", k, r);
  Shape want;
  for (int d = 0; d < q - 1; ++d) want.push_back(idx.shape[d]);
  std::int64_t slice_size = 1, slices = 1;
  for (int d = 0; d < r; ++d) {
    if (d >= k) {
      want.push_back(x.shape[d]);
      slice_size *= x.shape[d];
    } else {
      slices *= x.shape[d];
    }
  }
  if (!(upd.shape == want)) ctx.fail("updates {} must be {}", upd.shape.to_string(), want.to_string());
  ctx.check_size(x.shape, 8, "the index table");
  const std::vector<std::int64_t> iv = int_values(idx.constant);
  std::vector<std::int64_t> table(static_cast<std::size_t>(x.shape.numel()));
  for (std::size_t i = 0; i < table.size(); ++i) table[i] = static_cast<std::int64_t>(i);
  const std::int64_t n = x.shape.numel();
  for (std::size_t u = 0; u * static_cast<std::size_t>(k) < iv.size(); ++u) {
    std::int64_t s = 0;
    for (std::int64_t d = 0; d < k; ++d) {
      s = s * x.shape[static_cast<int>(d)] +
          wrap_index(ctx, iv[u * static_cast<std::size_t>(k) + static_cast<std::size_t>(d)],
                     x.shape[static_cast<int>(d)], static_cast<int>(d));
    }
    for (std::int64_t e = 0; e < slice_size; ++e)
      table[static_cast<std::size_t>(s * slice_size + e)] = n + static_cast<std::int64_t>(u) * slice_size + e;
  }
  (void)slices;
  return take_elements(ctx, x.shape, x.type, std::move(table), true);
}

Lowered lower_expand(const NodeContext& ctx) {
  const ValueMeta& x = ctx.in(0);
  const Shape target = to_shape(ctx, ctx.ints(1, "the shape"), "the shape");
  const Shape shape = broadcast(ctx, x.shape, target);
  Lowered l;
  l.outputs = {meta(shape, x.type)};
  if (x.known()) {
    l.run = [shape](std::span<const Tensor> in, std::span<Tensor> out) { out[0] = host_expand(in[0], shape); };
    return l;
  }
  if (shape == x.shape) {
    l.run = [](std::span<const Tensor> in, std::span<Tensor> out) { out[0] = in[0].clone(); };
    return l;
  }
  if (!is_float_type(x.type))
    ctx.fail("expanding {} values computed at run time is not supported", elem_type_name(x.type));
  // x + (-0): every value exactly itself (signed zeros included), broadcast.
  ctx.check_size(shape, 4, "the result");
  const Tensor zeros = ctx.place(Tensor::full(shape, -0.0f));
  l.run = [zeros](std::span<const Tensor> in, std::span<Tensor> out) { out[0] = add(in[0], zeros); };
  return l;
}

Lowered lower_tile(const NodeContext& ctx) {
  const ValueMeta& x = ctx.in(0);
  const std::vector<std::int64_t> repeats = ctx.ints(1, "repeats");
  if (static_cast<int>(repeats.size()) != x.shape.rank())
    ctx.fail("{} repeats for rank {}", repeats.size(), x.shape.rank());
  Shape shape = x.shape;
  for (int d = 0; d < shape.rank(); ++d) {
    const std::int64_t r = ctx.bounded(repeats[static_cast<std::size_t>(d)], "a repeat count");
    std::int64_t n = 0;
    if (__builtin_mul_overflow(shape[d], r, &n)) ctx.fail("tiling dimension {} by {} is too large", d, r);
    shape[d] = ctx.bounded(n, "a tiled dimension");
  }
  (void)shape.numel();
  return {{meta(shape, x.type)}, [repeats, shape](std::span<const Tensor> in, std::span<Tensor> out) {
            Tensor t = in[0];
            for (int d = 0; d < t.rank(); ++d) {
              const std::int64_t r = repeats[static_cast<std::size_t>(d)];
              if (r == 1) continue;
              if (r == 0) {
                out[0] = Tensor::empty(shape, t.dtype(), t.device());
                return;
              }
              const std::vector<Tensor> copies(static_cast<std::size_t>(r), t);
              t = concat(copies, d);
            }
            out[0] = t.shares_storage_with(in[0]) ? t.clone() : t;
          }};
}

Lowered lower_range(const NodeContext& ctx) {
  const ElemType type = ctx.in(0).type;
  if (ctx.in(1).type != type || ctx.in(2).type != type) ctx.fail("start, limit and delta must share one type");
  const double start = ctx.scalar(0, "start"), limit = ctx.scalar(1, "limit"), delta = ctx.scalar(2, "delta");
  if (delta == 0) ctx.fail("delta is 0");
  const double count = std::ceil((limit - start) / delta);
  if (!(count < (1 << 28))) ctx.fail("the range holds {} values; more than 2^28 is refused", count);
  const auto n = static_cast<std::int64_t>(std::max(count, 0.0));
  ctx.check_size(Shape{n}, 8, "the range");
  Tensor t;
  if (type == ElemType::kFloat) {
    std::vector<float> v(static_cast<std::size_t>(n));
    for (std::int64_t i = 0; i < n; ++i)
      v[static_cast<std::size_t>(i)] = static_cast<float>(start) + static_cast<float>(i) * static_cast<float>(delta);
    t = Tensor::from_vector({n}, v);
  } else if (type == ElemType::kInt64 || type == ElemType::kInt32) {
    const std::int64_t s = int_values(ctx.value(0, "start"))[0], d = int_values(ctx.value(2, "delta"))[0];
    std::vector<std::int64_t> v(static_cast<std::size_t>(n));
    for (std::int64_t i = 0; i < n; ++i) {
      std::int64_t step = 0;
      if (__builtin_mul_overflow(i, d, &step) || __builtin_add_overflow(s, step, &v[static_cast<std::size_t>(i)])) {
        ctx.fail("the range overflows int64");
      }
    }
    t = i64_tensor(v);
    if (type == ElemType::kInt32) t = to_dtype(t, DType::kI32);
  } else {
    ctx.fail("Range of {} is not supported", elem_type_name(type));
  }
  return known_output(t, type);
}

Lowered lower_constant(const NodeContext& ctx) {
  for (const char* unsupported : {"sparse_value", "value_string", "value_strings"}) {
    if (ctx.has_attr(unsupported)) ctx.fail("attribute '{}' is not supported", unsupported);
  }
  if (const Constant* c = ctx.attr_tensor("value")) return known_output(c->value, c->type);
  if (ctx.has_attr("value_float"))
    return known_output(Tensor::full({}, ctx.attr_float("value_float", 0)), ElemType::kFloat);
  if (auto v = ctx.attr_floats("value_floats")) {
    return known_output(Tensor::from_vector({static_cast<std::int64_t>(v->size())}, *v), ElemType::kFloat);
  }
  if (ctx.has_attr("value_int")) {
    return known_output(Tensor::from_vector_i64({}, std::vector<std::int64_t>{ctx.attr_int("value_int", 0)}),
                        ElemType::kInt64);
  }
  if (auto v = ctx.attr_ints("value_ints")) return known_output(i64_tensor(*v), ElemType::kInt64);
  ctx.fail("has no value");
}

Lowered lower_constant_of_shape(const NodeContext& ctx) {
  const Constant* value = ctx.attr_tensor("value");
  if (value && value->value.numel() != 1) ctx.fail("value must hold one element; got {}", value->value.describe());
  const Shape shape = to_shape(ctx, ctx.ints(0, "the shape"), "the shape");
  const ElemType type = value ? value->type : ElemType::kFloat;
  const Tensor fill = (value ? value->value : Tensor::full({}, 0.0f)).reshape(Shape{});
  // Made when run (at load, the shape being known), after the size check.
  return {{meta(shape, type)},
          [fill, shape](std::span<const Tensor>, std::span<Tensor> out) { out[0] = host_expand(fill, shape); }};
}

Lowered lower_identity(const NodeContext& ctx) {
  return {{like(ctx.in(0))}, [](std::span<const Tensor> in, std::span<Tensor> out) { out[0] = in[0]; }};
}

Lowered lower_dropout(const NodeContext& ctx) {
  (void)ctx.attr_int("seed", 0);
  if (ctx.opset() < 7 || ctx.has_attr("is_test")) ctx.fail("Dropout before opset 7 is not supported");
  if (ctx.output_used(1)) ctx.fail("the mask output is not supported (inference only)");
  if (ctx.has(2) && ctx.scalar(2, "training_mode") != 0)
    ctx.fail("training_mode = true is not supported (inference only)");
  Lowered l = lower_identity(ctx);
  if (ctx.output_count() > 1) l.outputs.push_back(meta(ctx.in(0).shape, ElemType::kBool));
  return l;
}

Lowered lower_pad(const NodeContext& ctx) {
  const std::string mode = ctx.attr_string("mode", "constant");
  std::vector<std::int64_t> pads;
  float value = 0.0f;
  if (ctx.opset() < 11) {
    pads = ctx.attr_ints("pads").value_or(std::vector<std::int64_t>{});
    value = ctx.attr_float("value", 0.0f);
  } else if (ctx.has_attr("pads") || ctx.has_attr("value")) {
    ctx.fail("pads / value are inputs from opset 11 on, not attributes");
  }
  PadMode pm = PadMode::kConstant;
  if (mode == "reflect") {
    pm = PadMode::kReflect;
  } else if (mode == "edge") {
    pm = PadMode::kReplicate;
  } else if (mode != "constant") {
    ctx.fail("mode '{}' is not supported (constant, reflect, edge)", mode);
  }
  const ValueMeta& x = ctx.in(0);
  if (!is_float_type(x.type)) ctx.fail("padding {} values is not supported", elem_type_name(x.type));
  const int r = x.shape.rank();
  std::vector<std::int64_t> axes;
  if (ctx.opset() >= 11) {
    pads = ctx.ints(1, "pads");
    if (ctx.has(2)) value = static_cast<float>(ctx.scalar(2, "constant_value"));
    if (ctx.has(3)) {
      for (std::int64_t a : ctx.ints(3, "axes")) axes.push_back(ctx.axis(a, r, "axis"));
    }
  }
  if (axes.empty())
    for (int d = 0; d < r; ++d) axes.push_back(d);
  if (pads.size() != 2 * axes.size())
    ctx.fail("{} pads for {} axes; expected {}", pads.size(), axes.size(), 2 * axes.size());
  // ONNX lists every begin, then every end; the engine (begin, end) pairs from the last dim.
  std::vector<std::int64_t> begin(static_cast<std::size_t>(r), 0), end(static_cast<std::size_t>(r), 0);
  for (std::size_t i = 0; i < axes.size(); ++i) {
    begin[static_cast<std::size_t>(axes[i])] = ctx.bounded(pads[i], "a pad", -kMaxDim);
    end[static_cast<std::size_t>(axes[i])] = ctx.bounded(pads[i + axes.size()], "a pad", -kMaxDim);
  }
  Shape shape = x.shape;
  std::vector<std::int64_t> engine_pads;
  for (int d = r - 1; d >= 0; --d) {
    const std::int64_t b = begin[static_cast<std::size_t>(d)], e = end[static_cast<std::size_t>(d)];
    if (pm != PadMode::kConstant) {
      if (b < 0 || e < 0) ctx.fail("negative pads in {} mode are not supported", mode);
      if ((b || e) && x.shape[d] == 0) ctx.fail("cannot {}-pad the empty dimension {}", mode, d);
      if (pm == PadMode::kReflect && (b >= x.shape[d] || e >= x.shape[d])) {
        ctx.fail("reflect pads ({}, {}) must be smaller than dimension {} of size {}", b, e, d, x.shape[d]);
      }
    }
    if (x.shape[d] + b + e < 0) ctx.fail("pads ({}, {}) crop more than dimension {} of size {}", b, e, d, x.shape[d]);
    shape[d] = ctx.bounded(x.shape[d] + b + e, "a padded dimension");
    engine_pads.push_back(b);
    engine_pads.push_back(e);
  }
  // Trailing all-zero pairs (the leading dims) are dropped: nothing to pad there.
  while (engine_pads.size() >= 2 && engine_pads[engine_pads.size() - 1] == 0 &&
         engine_pads[engine_pads.size() - 2] == 0) {
    engine_pads.resize(engine_pads.size() - 2);
  }
  return {{meta(shape, x.type)}, [engine_pads, pm, value](std::span<const Tensor> in, std::span<Tensor> out) {
            out[0] = engine_pads.empty() ? in[0].clone() : pad(in[0], engine_pads, pm, value);
          }};
}

Lowered lower_depth_to_space(const NodeContext& ctx, bool to_space) {
  const std::int64_t b = ctx.attr_int("blocksize", 0);
  const std::string mode = to_space ? ctx.attr_string("mode", "DCR") : "DCR";
  if (b < 1 || b > kMaxWindow) ctx.fail("blocksize must be 1 to {}; got {}", kMaxWindow, b);
  if (mode != "DCR" && mode != "CRD") ctx.fail("mode '{}' is not supported (DCR, CRD)", mode);
  const ValueMeta& x = ctx.in(0);
  if (x.shape.rank() != 4) ctx.fail("input must be [N, C, H, W]; got {}", x.shape.to_string());
  const std::int64_t n = x.shape[0], c = x.shape[1], h = x.shape[2], w = x.shape[3];
  Shape mid, shape;
  std::vector<int> perm;
  if (to_space) {
    if (c % (b * b) != 0) ctx.fail("channels {} are not a multiple of blocksize^2 = {}", c, b * b);
    const std::int64_t co = c / (b * b);
    mid = mode == "DCR" ? Shape{n, b, b, co, h, w} : Shape{n, co, b, b, h, w};
    perm = mode == "DCR" ? std::vector<int>{0, 3, 4, 1, 5, 2} : std::vector<int>{0, 1, 4, 2, 5, 3};
    shape = Shape{n, co, h * b, w * b};
  } else {
    if (h % b != 0 || w % b != 0) ctx.fail("H and W ({}, {}) are not multiples of blocksize {}", h, w, b);
    mid = Shape{n, c, h / b, b, w / b, b};
    perm = {0, 3, 5, 1, 2, 4};
    shape = Shape{n, c * b * b, h / b, w / b};
  }
  return {{meta(shape, x.type)}, [mid, perm, shape](std::span<const Tensor> in, std::span<Tensor> out) {
            out[0] = permute(in[0].reshape(mid), perm).reshape(shape);
          }};
}

}  // namespace

void add_shape_ops(std::vector<OpDef>& ops) {
  ops.push_back({"", "Shape", 1, {"start", "end"}, lower_shape, "known at load"});
  ops.push_back({"", "Size", 1, {}, lower_size, "known at load"});
  ops.push_back({"", "Reshape", 5, {"allowzero"}, lower_reshape, "a view"});
  ops.push_back({"", "Flatten", 1, {"axis"}, lower_flatten, "a view"});
  ops.push_back({"", "Squeeze", 1, {"axes"}, lower_squeeze, "a view"});
  ops.push_back({"", "Unsqueeze", 1, {"axes"}, lower_unsqueeze, "a view"});
  ops.push_back({"", "Transpose", 1, {"perm"}, lower_transpose, "permute"});
  ops.push_back({"", "Concat", 4, {"axis"}, lower_concat, "concat"});
  ops.push_back({"", "Split", 2, {"axis", "split", "num_outputs"}, lower_split, "slice"});
  ops.push_back(
      {"", "Slice", 1, {"starts", "ends", "axes"}, lower_slice, "slice; negative steps: one slice per index, concat"});
  ops.push_back(
      {"", "Gather", 1, {"axis"}, lower_gather, "slice / concat (known indices), embedding (run-time indices)"});
  ops.push_back({"", "Expand", 8, {}, lower_expand, "add of -0 (broadcast); host at load"});
  ops.push_back({"",
                 "GatherElements",
                 11,
                 {"axis"},
                 lower_gather_elements,
                 "embedding of element rows (known indices; run-time ones into 1-D float data); host at load"});
  ops.push_back({"",
                 "ScatterND",
                 11,
                 {"reduction"},
                 lower_scatter_nd,
                 "embedding of element rows over data and updates (indices known at load); host at load"});
  ops.push_back({"", "Tile", 6, {}, lower_tile, "concat"});
  ops.push_back({"", "Range", 11, {}, lower_range, "known at load"});
  ops.push_back({"",
                 "Constant",
                 1,
                 {"value", "value_float", "value_floats", "value_int", "value_ints", "value_string", "value_strings",
                  "sparse_value"},
                 lower_constant,
                 "known at load"});
  ops.push_back({"", "ConstantOfShape", 9, {"value"}, lower_constant_of_shape, "known at load"});
  ops.push_back({"", "Identity", 1, {}, lower_identity, "the input itself"});
  ops.push_back({"", "Dropout", 7, {"ratio", "seed", "is_test"}, lower_dropout, "the input itself (inference)"});
  ops.push_back({"", "Pad", 2, {"mode", "pads", "value"}, lower_pad, "pad (constant, reflect, edge)"});
  ops.push_back({"",
                 "DepthToSpace",
                 1,
                 {"blocksize", "mode"},
                 [](const NodeContext& c) { return lower_depth_to_space(c, true); },
                 "reshape, permute"});
  ops.push_back({"",
                 "SpaceToDepth",
                 1,
                 {"blocksize"},
                 [](const NodeContext& c) { return lower_depth_to_space(c, false); },
                 "reshape, permute"});
}

}  // namespace sc::engine::onnx::detail
