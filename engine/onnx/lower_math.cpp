// Lowerings of elementwise, comparison, cast, softmax and reduction ops.
#include <algorithm>
#include <cctype>
#include <cmath>
#include <limits>
#include <map>

#include "engine/onnx/host_ops.h"
#include "engine/onnx/lowering.h"
#include "engine/ops.h"

namespace sc::engine::onnx::detail {

namespace {

using TensorFn = std::function<Tensor(const Tensor&)>;
using Tensor2Fn = std::function<Tensor(const Tensor&, const Tensor&)>;

void require_float(const NodeContext& ctx, std::size_t i) {
  if (!is_float_type(ctx.in(i).type)) {
    ctx.fail("input {} ('{}') is {}; this op takes floating-point values here", i, ctx.node().inputs[i],
             elem_type_name(ctx.in(i).type));
  }
}

// Integer and bool arithmetic runs on the host, on values known at load only.
void require_known(const NodeContext& ctx, std::string_view why) {
  if (!ctx.all_known()) {
    ctx.fail("{} is supported only on values known at load (constants, shapes), but an input is computed at run time",
             why);
  }
}

ValueMeta like(const ValueMeta& m) { return meta(m.shape, m.type); }

// ---- unary -------------------------------------------------------------------------

OpDef unary(std::string_view op, std::int64_t since, TensorFn f, TensorFn on_integers = nullptr,
            std::vector<std::string_view> attrs = {}, std::string_view source = "") {
  return OpDef{"",
               op,
               since,
               std::move(attrs),
               [f, on_integers](const NodeContext& ctx) {
                 const ValueMeta& x = ctx.in(0);
                 Lowered l;
                 l.outputs = {like(x)};
                 if (is_float_type(x.type)) {
                   l.run = [f](std::span<const Tensor> in, std::span<Tensor> out) { out[0] = f(in[0]); };
                 } else if (on_integers && x.type != ElemType::kBool) {
                   require_known(ctx, fmt::format("{} of {} values", ctx.node().op_type, elem_type_name(x.type)));
                   l.run = [on_integers](std::span<const Tensor> in, std::span<Tensor> out) {
                     out[0] = on_integers(in[0]);
                   };
                 } else {
                   require_float(ctx, 0);
                 }
                 return l;
               },
               source};
}

// Ops with attributes read them first, so the load-time check sees them.
Lowered lower_leaky_relu(const NodeContext& ctx) {
  const float alpha = ctx.attr_float("alpha", 0.01f);
  require_float(ctx, 0);
  return {{like(ctx.in(0))},
          [alpha](std::span<const Tensor> in, std::span<Tensor> out) { out[0] = leaky_relu(in[0], alpha); }};
}

Lowered lower_hard_sigmoid(const NodeContext& ctx) {
  const float alpha = ctx.attr_float("alpha", 0.2f), beta = ctx.attr_float("beta", 0.5f);
  require_float(ctx, 0);
  return {{like(ctx.in(0))}, [alpha, beta](std::span<const Tensor> in, std::span<Tensor> out) {
            out[0] = clamp(add_scalar(scale(in[0], alpha), beta), 0.0f, 1.0f);
          }};
}

Lowered lower_hard_swish(const NodeContext& ctx) {
  require_float(ctx, 0);
  return {{like(ctx.in(0))}, [](std::span<const Tensor> in, std::span<Tensor> out) {
            out[0] = mul(in[0], clamp(add_scalar(scale(in[0], 1.0f / 6.0f), 0.5f), 0.0f, 1.0f));
          }};
}

Lowered lower_gelu(const NodeContext& ctx) {
  const std::string approx = ctx.attr_string("approximate", "none");
  if (approx != "none" && approx != "tanh") ctx.fail("approximate = '{}' is not supported (none, tanh)", approx);
  require_float(ctx, 0);
  const GeluApprox a = approx == "tanh" ? GeluApprox::kTanh : GeluApprox::kNone;
  return {{like(ctx.in(0))}, [a](std::span<const Tensor> in, std::span<Tensor> out) { out[0] = gelu(in[0], a); }};
}

Lowered lower_prelu(const NodeContext& ctx) {
  require_float(ctx, 0);
  require_float(ctx, 1);
  // The slope broadcasts to x (unidirectionally).
  const Shape s = broadcast(ctx, ctx.in(0).shape, ctx.in(1).shape);
  if (!(s == ctx.in(0).shape))
    ctx.fail("slope {} does not broadcast to x {}", ctx.in(1).shape.to_string(), ctx.in(0).shape.to_string());
  // max(x, 0) + slope * min(x, 0): exact, one of the two terms is zero.
  return {{like(ctx.in(0))}, [](std::span<const Tensor> in, std::span<Tensor> out) {
            const float inf = std::numeric_limits<float>::infinity();
            out[0] = add(clamp(in[0], 0.0f, inf), mul(in[1], clamp(in[0], -inf, 0.0f)));
          }};
}

// ---- binary and variadic ---------------------------------------------------------

OpDef binary(std::string_view op, std::int64_t since, Tensor2Fn f, std::optional<HostBinary> on_integers) {
  return OpDef{"",
               op,
               since,
               {},
               [f, on_integers](const NodeContext& ctx) {
                 const ValueMeta& a = ctx.in(0);
                 const ValueMeta& b = ctx.in(1);
                 if (a.type != b.type) {
                   ctx.fail("inputs are {} and {}; {} needs one type", elem_type_name(a.type), elem_type_name(b.type),
                            ctx.node().op_type);
                 }
                 const Shape shape = broadcast(ctx, a.shape, b.shape);
                 Lowered l;
                 l.outputs = {meta(shape, a.type)};
                 if (is_float_type(a.type)) {
                   l.run = [f](std::span<const Tensor> in, std::span<Tensor> out) { out[0] = f(in[0], in[1]); };
                 } else if (on_integers && a.type != ElemType::kBool) {
                   require_known(ctx, fmt::format("{} of {} values", ctx.node().op_type, elem_type_name(a.type)));
                   const HostBinary op = *on_integers;
                   l.run = [op, shape](std::span<const Tensor> in, std::span<Tensor> out) {
                     out[0] = host_binary(op, in[0], in[1], shape);
                   };
                 } else {
                   require_float(ctx, 0);
                 }
                 return l;
               },
               "binary (broadcasting); host arithmetic for integers known at load"};
}

Lowered lower_pow(const NodeContext& ctx) {
  require_float(ctx, 0);
  const ValueMeta& x = ctx.in(0);
  const ValueMeta& e = ctx.in(1);
  const Shape shape = broadcast(ctx, x.shape, e.shape);
  Lowered l;
  l.outputs = {meta(shape, x.type)};
  if (e.known() && e.constant.numel() == 1) {
    const auto exponent = static_cast<float>(ctx.scalar(1, "the exponent"));
    l.run = [exponent, shape](std::span<const Tensor> in, std::span<Tensor> out) {
      out[0] = pow_scalar(in[0], exponent).reshape(shape);
    };
    return l;
  }
  if (!is_float_type(e.type)) {
    // An integer exponent tensor: exact in f32 below 2^24, so convert it once.
    const Tensor ef = ctx.place(to_dtype(ctx.value(1, "an integer exponent"), DType::kF32));
    l.run = [ef](std::span<const Tensor> in, std::span<Tensor> out) { out[0] = pow(in[0], ef); };
    return l;
  }
  l.run = [](std::span<const Tensor> in, std::span<Tensor> out) { out[0] = pow(in[0], in[1]); };
  return l;
}

enum class Variadic { kSum, kMean, kMax, kMin };

Lowered lower_variadic(const NodeContext& ctx, Variadic kind) {
  if (ctx.input_count() == 0) ctx.fail("needs at least one input");
  const ElemType type = ctx.in(0).type;
  Shape shape = ctx.in(0).shape;
  for (std::size_t i = 1; i < ctx.input_count(); ++i) {
    if (ctx.in(i).type != type)
      ctx.fail("inputs are {} and {}; one type is needed", elem_type_name(type), elem_type_name(ctx.in(i).type));
    shape = broadcast(ctx, shape, ctx.in(i).shape);
  }
  Lowered l;
  l.outputs = {meta(shape, type)};
  const std::size_t n = ctx.input_count();
  if (is_float_type(type)) {
    l.run = [kind, n, shape](std::span<const Tensor> in, std::span<Tensor> out) {
      Tensor acc = in[0];
      for (std::size_t i = 1; i < n; ++i) {
        acc = kind == Variadic::kMax   ? maximum(acc, in[i])
              : kind == Variadic::kMin ? minimum(acc, in[i])
                                       : add(acc, in[i]);
      }
      if (kind == Variadic::kMean) acc = scale(acc, 1.0f / static_cast<float>(n));
      // One input: still a new tensor of the broadcast shape.
      out[0] = n == 1 ? acc.clone() : acc.reshape(shape);
    };
    return l;
  }
  if (kind == Variadic::kMean || type == ElemType::kBool) require_float(ctx, 0);
  require_known(ctx, fmt::format("{} of {} values", ctx.node().op_type, elem_type_name(type)));
  const HostBinary op = kind == Variadic::kMax   ? HostBinary::kMax
                        : kind == Variadic::kMin ? HostBinary::kMin
                                                 : HostBinary::kAdd;
  l.run = [op, n, shape](std::span<const Tensor> in, std::span<Tensor> out) {
    Tensor acc = host_expand(in[0], shape);
    for (std::size_t i = 1; i < n; ++i) acc = host_binary(op, acc, in[i], shape);
    out[0] = acc;
  };
  return l;
}

Lowered lower_mod(const NodeContext& ctx) {
  if (ctx.attr_int("fmod", 0) != 0) ctx.fail("fmod = 1 is not supported");
  const ValueMeta& a = ctx.in(0);
  if (a.type != ctx.in(1).type || is_float_type(a.type) || a.type == ElemType::kBool) {
    ctx.fail("Mod is supported on integers of one type (got {} and {})", elem_type_name(a.type),
             elem_type_name(ctx.in(1).type));
  }
  require_known(ctx, "Mod");
  const Shape shape = broadcast(ctx, a.shape, ctx.in(1).shape);
  return {{meta(shape, a.type)}, [shape](std::span<const Tensor> in, std::span<Tensor> out) {
            out[0] = host_binary(HostBinary::kMod, in[0], in[1], shape);
          }};
}

// Comparisons and logic give bool; evaluated on the host, on known values.
OpDef comparison(std::string_view op, std::int64_t since, HostBinary kind, bool logical) {
  return OpDef{"",
               op,
               since,
               {},
               [kind, logical](const NodeContext& ctx) {
                 const ValueMeta& a = ctx.in(0);
                 const ValueMeta& b = ctx.in(1);
                 if (a.type != b.type)
                   ctx.fail("inputs are {} and {}; one type is needed", elem_type_name(a.type), elem_type_name(b.type));
                 if (logical && a.type != ElemType::kBool)
                   ctx.fail("takes bool inputs; got {}", elem_type_name(a.type));
                 require_known(ctx, ctx.node().op_type);
                 const Shape shape = broadcast(ctx, a.shape, b.shape);
                 return Lowered{{meta(shape, ElemType::kBool)},
                                [kind, shape](std::span<const Tensor> in, std::span<Tensor> out) {
                                  out[0] = host_binary(kind, in[0], in[1], shape);
                                }};
               },
               "host comparison (values known at load only)"};
}

Lowered lower_not(const NodeContext& ctx) {
  if (ctx.in(0).type != ElemType::kBool) ctx.fail("takes a bool input; got {}", elem_type_name(ctx.in(0).type));
  require_known(ctx, "Not");
  return {{like(ctx.in(0))}, [](std::span<const Tensor> in, std::span<Tensor> out) { out[0] = host_not(in[0]); }};
}

Lowered lower_where(const NodeContext& ctx) {
  const ValueMeta& c = ctx.in(0);
  const ValueMeta& a = ctx.in(1);
  const ValueMeta& b = ctx.in(2);
  if (c.type != ElemType::kBool) ctx.fail("condition is {}; expected bool", elem_type_name(c.type));
  if (a.type != b.type)
    ctx.fail("X and Y are {} and {}; one type is needed", elem_type_name(a.type), elem_type_name(b.type));
  const Shape shape = broadcast(ctx, broadcast(ctx, c.shape, a.shape), b.shape);
  if (ctx.all_known()) {
    return {{meta(shape, a.type)}, [shape](std::span<const Tensor> in, std::span<Tensor> out) {
              out[0] = host_where(in[0], in[1], in[2], shape);
            }};
  }
  // A condition known at load selecting between float values computed at run
  // time (LMDM's guidance masks): X * m + Y * (1 - m) with m the 0 / 1 mask,
  // which is each selected value exactly while the other is finite.
  if (!c.known()) ctx.fail("a condition computed at run time is not supported (only one known at load)");
  if (!is_float_type(a.type)) ctx.fail("selecting {} values at run time is not supported", elem_type_name(a.type));
  const Tensor mask = host_cast(c.constant, ElemType::kFloat);
  const Tensor inverse = host_cast(host_not(c.constant), ElemType::kFloat);
  const Tensor m = ctx.place(mask), mi = ctx.place(inverse);
  return {{meta(shape, a.type)},
          [m, mi](std::span<const Tensor> in, std::span<Tensor> out) { out[0] = add(mul(in[1], m), mul(in[2], mi)); }};
}

// Einsum of values known at load (LMDM's rotary frequencies: an outer
// product of two constants), on the host in double: every output element
// the sum over the unnamed-in-the-output labels of the operands' product.
// Explicit ("->") and implicit outputs, "..." broadcast right-aligned.
Lowered lower_einsum(const NodeContext& ctx) {
  std::string eq;
  for (char ch : ctx.attr_string("equation", "")) {
    if (ch != ' ') eq.push_back(ch);
  }
  const std::size_t n_in = ctx.input_count();
  if (n_in == 0) ctx.fail("needs at least one input");
  for (std::size_t i = 0; i < n_in; ++i) require_float(ctx, i);
  if (!ctx.all_known()) ctx.fail("einsum of values computed at run time is not supported (only of ones known at load)");
  constexpr int kEllipsis = 256;  // labels 256 + i: the broadcast "..." dims
  const std::size_t arrow = eq.find("->");
  const std::string lhs = eq.substr(0, arrow);
  // Labels of one term; "..." becomes `ellipsis_rank` labels (or -1 marks it for later).
  auto parse = [&](const std::string& term, int rank, int& ell_rank) {
    std::vector<int> labels;
    int letters = 0;
    for (std::size_t i = 0; i < term.size(); ++i) {
      if (term.compare(i, 3, "...") == 0) {
        if (ell_rank != -2) ctx.fail("equation '{}': '...' twice in a term", eq);
        labels.push_back(-1);
        i += 2;
        ell_rank = -1;
      } else if (std::isalpha(static_cast<unsigned char>(term[i]))) {
        labels.push_back(static_cast<unsigned char>(term[i]));
        ++letters;
      } else {
        ctx.fail("equation '{}': unexpected character '{}'", eq, term[i]);
      }
    }
    if (rank >= 0) {
      if (ell_rank == -1) {
        ell_rank = rank - letters;
        if (ell_rank < 0) ctx.fail("equation '{}': term '{}' names more dims than rank {}", eq, term, rank);
      } else if (letters != rank) {
        ctx.fail("equation '{}': term '{}' does not fit an input of rank {}", eq, term, rank);
      }
    }
    return labels;
  };
  std::vector<std::string> terms;
  for (std::size_t b = 0;;) {
    const std::size_t c = lhs.find(',', b);
    terms.push_back(lhs.substr(b, c == std::string::npos ? std::string::npos : c - b));
    if (c == std::string::npos) break;
    b = c + 1;
  }
  if (terms.size() != n_in) ctx.fail("equation '{}' has {} terms for {} inputs", eq, terms.size(), n_in);
  std::map<int, std::int64_t> size;  // label -> extent
  std::vector<std::vector<int>> op_labels(n_in);
  int ell_max = 0;
  std::vector<int> ell_ranks(n_in, 0);
  for (std::size_t i = 0; i < n_in; ++i) {
    int ell = -2;
    std::vector<int> l = parse(terms[i], ctx.in(i).shape.rank(), ell);
    ell_ranks[i] = std::max(ell, 0);
    ell_max = std::max(ell_max, ell_ranks[i]);
    op_labels[i] = std::move(l);
  }
  // Expand each operand's "..." into its (right-aligned) broadcast labels.
  for (std::size_t i = 0; i < n_in; ++i) {
    std::vector<int> full;
    for (int l : op_labels[i]) {
      if (l != -1) {
        full.push_back(l);
        continue;
      }
      for (int e = 0; e < ell_ranks[i]; ++e) full.push_back(kEllipsis + ell_max - ell_ranks[i] + e);
    }
    const Shape& sh = ctx.in(i).shape;
    for (int d = 0; d < sh.rank(); ++d) {
      const int l = full[static_cast<std::size_t>(d)];
      auto [it, fresh] = size.emplace(l, sh[d]);
      if (!fresh && it->second != sh[d]) {
        if (l >= kEllipsis && (it->second == 1 || sh[d] == 1)) {
          it->second = std::max(it->second, sh[d]);
        } else {
          ctx.fail("equation '{}': a label has extents {} and {}", eq, it->second, sh[d]);
        }
      }
    }
    op_labels[i] = std::move(full);
  }
  std::vector<int> out_labels;
  if (arrow != std::string::npos) {
    int ell = -2;
    std::vector<int> l = parse(eq.substr(arrow + 2), -1, ell);
    for (int x : l) {
      if (x == -1) {
        for (int e = 0; e < ell_max; ++e) out_labels.push_back(kEllipsis + e);
      } else {
        if (!size.count(x)) ctx.fail("equation '{}': output label '{}' is in no input", eq, static_cast<char>(x));
        out_labels.push_back(x);
      }
    }
  } else {
    std::map<int, int> count;
    for (const auto& ls : op_labels)
      for (int l : ls) ++count[l];
    for (int e = 0; e < ell_max; ++e) out_labels.push_back(kEllipsis + e);
    for (const auto& [l, c] : count)
      if (l < kEllipsis && c == 1) out_labels.push_back(l);
  }
  std::vector<int> sum_labels;
  for (const auto& [l, n] : size)
    if (std::find(out_labels.begin(), out_labels.end(), l) == out_labels.end()) sum_labels.push_back(l);
  Shape shape;
  for (int l : out_labels) shape.push_back(size.at(l));
  std::int64_t work = shape.numel();
  for (int l : sum_labels) work *= std::max<std::int64_t>(size.at(l), 1);
  if (work > (std::int64_t{1} << 26)) ctx.fail("einsum of {} products at load is too large", work);
  return {{meta(shape, ctx.in(0).type)},
          [op_labels, out_labels, sum_labels, size, shape](std::span<const Tensor> in, std::span<Tensor> out) {
            std::vector<Tensor> f32;
            for (const Tensor& t : in) f32.push_back(to_dtype(t, DType::kF32));
            std::map<int, std::int64_t> at;
            for (const auto& [l, n] : size) at[l] = 0;
            std::vector<float> result(static_cast<std::size_t>(shape.numel()));
            auto element = [&](std::size_t i) {
              const Tensor& t = f32[i];
              std::int64_t off = 0;
              for (int d = 0; d < t.rank(); ++d) {
                const std::int64_t ext = t.dim(d);
                off = off * ext + (ext == 1 ? 0 : at[op_labels[i][static_cast<std::size_t>(d)]]);
              }
              return static_cast<double>(t.data<float>()[off]);
            };
            // Odometer over labels (last fastest).
            auto advance = [&](const std::vector<int>& labels) {
              for (std::size_t j = labels.size(); j-- > 0;) {
                if (++at[labels[j]] < size.at(labels[j])) return true;
                at[labels[j]] = 0;
              }
              return false;
            };
            for (std::size_t o = 0; o < result.size(); ++o) {
              double acc = 0.0;
              bool empty = false;
              for (int l : sum_labels) empty = empty || size.at(l) == 0;
              if (!empty) {
                do {
                  double p = 1.0;
                  for (std::size_t i = 0; i < f32.size(); ++i) p *= element(i);
                  acc += p;
                } while (advance(sum_labels));
              }
              result[o] = static_cast<float>(acc);
              advance(out_labels);
            }
            out[0] = to_dtype(Tensor::from_vector(shape, result), in[0].dtype());
          }};
}

// log(1 + exp(x)), as max(x, 0) + log(1 + exp(-|x|)) so that neither side
// overflows (the exporter writes Mish as Softplus, Tanh, Mul).
Lowered lower_softplus(const NodeContext& ctx) {
  require_float(ctx, 0);
  return {{like(ctx.in(0))}, [](std::span<const Tensor> in, std::span<Tensor> out) {
            out[0] = add(relu(in[0]), log(add_scalar(exp(scale(abs(in[0]), -1.0f)), 1.0f)));
          }};
}

Lowered lower_clip(const NodeContext& ctx) {
  float lo = -std::numeric_limits<float>::infinity(), hi = std::numeric_limits<float>::infinity();
  if (ctx.opset() < 11) {
    lo = ctx.attr_float("min", std::numeric_limits<float>::lowest());
    hi = ctx.attr_float("max", std::numeric_limits<float>::max());
  } else if (ctx.has_attr("min") || ctx.has_attr("max")) {
    ctx.fail("min / max are inputs from opset 11 on, not attributes");
  }
  require_float(ctx, 0);
  if (ctx.opset() >= 11) {
    if (ctx.has(1)) lo = static_cast<float>(ctx.scalar(1, "min"));
    if (ctx.has(2)) hi = static_cast<float>(ctx.scalar(2, "max"));
  }
  return {{like(ctx.in(0))}, [lo, hi](std::span<const Tensor> in, std::span<Tensor> out) {
            // min(max(x, lo), hi), also when lo > hi (then everything is hi).
            const float inf = std::numeric_limits<float>::infinity();
            out[0] = lo <= hi ? clamp(in[0], lo, hi) : clamp(clamp(in[0], lo, inf), -inf, hi);
          }};
}

// ---- casts -----------------------------------------------------------------------

Lowered lower_cast_to(const NodeContext& ctx, ElemType to) {
  if (!engine_dtype(to)) ctx.fail("casting to {} is not supported", elem_type_name(to));
  const ValueMeta& x = ctx.in(0);
  Lowered l;
  l.outputs = {meta(x.shape, to)};
  if (x.known()) {
    l.run = [to](std::span<const Tensor> in, std::span<Tensor> out) { out[0] = host_cast(in[0], to); };
    return l;
  }
  const bool from_float = is_float_type(x.type), to_float = is_float_type(to);
  if (to == ElemType::kBool || (to == ElemType::kUint8 && from_float)) {
    ctx.fail("Cast from {} to {} on values computed at run time is not supported", elem_type_name(x.type),
             elem_type_name(to));
  }
  if (from_float && to_float) {
    // Narrower float types round as the stored value would.
    const std::optional<DType> narrow = to == ElemType::kFloat16    ? std::optional(DType::kF16)
                                        : to == ElemType::kBFloat16 ? std::optional(DType::kBF16)
                                                                    : std::nullopt;
    l.run = [narrow](std::span<const Tensor> in, std::span<Tensor> out) {
      out[0] = narrow && in[0].dtype() != *narrow ? to_dtype(to_dtype(in[0], *narrow), in[0].dtype()) : in[0].clone();
    };
    return l;
  }
  const DType float_dtype = ctx.target().device == Device::kCpu ? DType::kF32 : ctx.target().float_dtype;
  const DType dt = to_float ? float_dtype : *engine_dtype(to);
  l.run = [dt](std::span<const Tensor> in, std::span<Tensor> out) { out[0] = to_dtype(in[0], dt).clone(); };
  return l;
}

Lowered lower_cast(const NodeContext& ctx) {
  const auto to = static_cast<ElemType>(ctx.attr_int("to", 0));
  (void)ctx.attr_int("saturate", 1);  // only float8 casts saturate; the engine has none
  return lower_cast_to(ctx, to);
}

Lowered lower_cast_like(const NodeContext& ctx) {
  (void)ctx.attr_int("saturate", 1);
  return lower_cast_to(ctx, ctx.in(1).type);
}

// ---- softmax and reductions --------------------------------------------------------

// Softmax-13 normalises along one axis; before opset 13 the input is coerced
// to 2-D at `axis` and normalised over everything from there on.
std::vector<int> softmax_dims(const NodeContext& ctx) {
  const int rank = ctx.in(0).shape.rank();
  const int axis = ctx.axis(ctx.attr_int("axis", ctx.opset() < 13 ? 1 : -1), rank, "axis");
  std::vector<int> dims;
  for (int d = axis; d < (ctx.opset() < 13 ? rank : axis + 1); ++d) dims.push_back(d);
  return dims;
}

Lowered lower_softmax(const NodeContext& ctx, bool log_softmax) {
  (void)ctx.attr_int("axis", 0);
  require_float(ctx, 0);
  const std::vector<int> dims = softmax_dims(ctx);
  const Shape shape = ctx.in(0).shape;
  return {{like(ctx.in(0))}, [dims, shape, log_softmax](std::span<const Tensor> in, std::span<Tensor> out) {
            const Tensor& x = in[0];
            if (!log_softmax) {
              if (dims.size() == 1) {
                out[0] = softmax(x, dims[0]);
                return;
              }
              // The coerced 2-D form: the trailing dims merged into one.
              std::int64_t rows = 1;
              for (int d = 0; d < dims.front(); ++d) rows *= shape[d];
              out[0] = softmax(x.reshape({rows, shape.numel() / std::max<std::int64_t>(rows, 1)}), -1).reshape(shape);
              return;
            }
            // x - max - log(sum(exp(x - max))): no log of an underflowed probability.
            const Tensor s = sub(x, amax(x, dims, true));
            out[0] = sub(s, log(sum(exp(s), dims, true)));
          }};
}

enum class Reduce { kSum, kMean, kMax, kMin, kSumSquare, kL1, kL2, kLogSumExp };

Lowered lower_reduce(const NodeContext& ctx, Reduce kind) {
  const bool keep = ctx.attr_int("keepdims", 1) != 0;
  const bool noop_empty = ctx.attr_int("noop_with_empty_axes", 0) != 0;
  // The axes became an input in opset 13 for ReduceSum, in 18 for the others.
  const std::int64_t axes_input_since = kind == Reduce::kSum ? 13 : 18;
  std::optional<std::vector<std::int64_t>> axes = ctx.attr_ints("axes");
  if (axes && ctx.opset() >= axes_input_since)
    ctx.fail("axes is an input from opset {} on, not an attribute", axes_input_since);
  require_float(ctx, 0);
  if (ctx.opset() >= axes_input_since && ctx.has(1)) axes = ctx.ints(1, "axes");
  const ValueMeta& x = ctx.in(0);
  std::vector<int> dims;
  if (!axes || axes->empty()) {
    if (noop_empty) {
      return {{like(x)}, [](std::span<const Tensor> in, std::span<Tensor> out) { out[0] = in[0].clone(); }};
    }
    for (int d = 0; d < x.shape.rank(); ++d) dims.push_back(d);
  } else {
    for (std::int64_t a : *axes) dims.push_back(ctx.axis(a, x.shape.rank(), "axis"));
    std::vector<int> sorted = dims;
    std::sort(sorted.begin(), sorted.end());
    if (std::adjacent_find(sorted.begin(), sorted.end()) != sorted.end()) ctx.fail("axes name a dimension twice");
  }
  std::vector<std::int64_t> out_dims;
  for (int d = 0; d < x.shape.rank(); ++d) {
    const bool reduced = std::find(dims.begin(), dims.end(), d) != dims.end();
    if (reduced && x.shape[d] == 0 && (kind == Reduce::kMax || kind == Reduce::kMin)) {
      ctx.fail("reduces the empty dimension {} of {}", d, x.shape.to_string());
    }
    if (!reduced)
      out_dims.push_back(x.shape[d]);
    else if (keep)
      out_dims.push_back(1);
  }
  const Shape out_shape(out_dims);
  return {{meta(out_shape, x.type)}, [dims, keep, kind, out_shape](std::span<const Tensor> in, std::span<Tensor> out) {
            const Tensor& t = in[0];
            switch (kind) {
              case Reduce::kSum:
                out[0] = sum(t, dims, keep);
                break;
              case Reduce::kMean:
                out[0] = mean(t, dims, keep);
                break;
              case Reduce::kMax:
                out[0] = amax(t, dims, keep);
                break;
              case Reduce::kMin:
                out[0] = amin(t, dims, keep);
                break;
              case Reduce::kSumSquare:
                out[0] = sum(mul(t, t), dims, keep);
                break;
              case Reduce::kL1:
                out[0] = sum(abs(t), dims, keep);
                break;
              case Reduce::kL2:
                out[0] = sqrt(sum(mul(t, t), dims, keep));
                break;
              case Reduce::kLogSumExp: {
                const Tensor m = amax(t, dims, true);
                out[0] = add(log(sum(exp(sub(t, m)), dims, true)), m).reshape(out_shape);
                break;
              }
            }
          }};
}

Lowered lower_argmax(const NodeContext& ctx) {
  const std::int64_t axis_attr = ctx.attr_int("axis", 0);
  const bool keep = ctx.attr_int("keepdims", 1) != 0;
  if (ctx.attr_int("select_last_index", 0) != 0) ctx.fail("select_last_index = 1 is not supported");
  require_float(ctx, 0);
  const ValueMeta& x = ctx.in(0);
  const int axis = ctx.axis(axis_attr, x.shape.rank(), "axis");
  if (x.shape[axis] == 0) ctx.fail("takes the argmax of the empty dimension {}", axis);
  std::vector<std::int64_t> dims = x.shape.to_vector();
  if (keep) {
    dims[static_cast<std::size_t>(axis)] = 1;
  } else {
    dims.erase(dims.begin() + axis);
  }
  return {{meta(Shape(dims), ElemType::kInt64)},
          [axis, keep](std::span<const Tensor> in, std::span<Tensor> out) { out[0] = argmax(in[0], axis, keep); }};
}

Lowered lower_cumsum(const NodeContext& ctx) {
  if (ctx.attr_int("exclusive", 0) != 0 || ctx.attr_int("reverse", 0) != 0) {
    ctx.fail("exclusive / reverse cumulative sums are not supported");
  }
  const ValueMeta& x = ctx.in(0);
  const int axis = ctx.axis(static_cast<std::int64_t>(ctx.scalar(1, "axis")), x.shape.rank(), "axis");
  if (!is_float_type(x.type) && x.type != ElemType::kInt32 && x.type != ElemType::kInt64) require_float(ctx, 0);
  const bool int32 = x.type == ElemType::kInt32;
  return {{like(x)}, [axis, int32](std::span<const Tensor> in, std::span<Tensor> out) {
            const Tensor c = cumsum(in[0], axis);  // integers widen to i64
            out[0] = int32 ? to_dtype(c, DType::kI32) : c;
          }};
}

}  // namespace

void add_math_ops(std::vector<OpDef>& ops) {
  const TensorFn neg = [](const Tensor& x) { return scale(x, -1.0f); };
  ops.push_back(unary(
      "Relu", 1, [](const Tensor& x) { return relu(x); }, nullptr, {}, "relu"));
  ops.push_back(unary(
      "Sigmoid", 1, [](const Tensor& x) { return sigmoid(x); }, nullptr, {}, "sigmoid"));
  ops.push_back(unary(
      "Tanh", 1, [](const Tensor& x) { return tanh(x); }, nullptr, {}, "tanh"));
  ops.push_back(unary(
      "Exp", 1, [](const Tensor& x) { return exp(x); }, nullptr, {}, "exp"));
  ops.push_back(unary(
      "Log", 1, [](const Tensor& x) { return log(x); }, nullptr, {}, "log"));
  ops.push_back(unary(
      "Sqrt", 1, [](const Tensor& x) { return sqrt(x); }, nullptr, {}, "sqrt"));
  ops.push_back(unary(
      "Abs", 1, [](const Tensor& x) { return abs(x); }, host_abs, {}, "abs; host for integers"));
  ops.push_back(unary("Neg", 1, neg, host_neg, {}, "scale(x, -1); host for integers"));
  ops.push_back(unary(
      "Reciprocal", 1, [](const Tensor& x) { return reciprocal(x); }, nullptr, {}, "reciprocal"));
  ops.push_back(unary(
      "Erf", 9, [](const Tensor& x) { return erf(x); }, nullptr, {}, "erf"));
  ops.push_back(unary(
      "Sin", 7, [](const Tensor& x) { return sin(x); }, nullptr, {}, "sin"));
  ops.push_back(unary(
      "Cos", 7, [](const Tensor& x) { return cos(x); }, nullptr, {}, "cos"));
  ops.push_back({"", "LeakyRelu", 1, {"alpha"}, lower_leaky_relu, "leaky_relu"});
  ops.push_back({"", "HardSigmoid", 1, {"alpha", "beta"}, lower_hard_sigmoid, "scale, add_scalar, clamp"});
  ops.push_back({"", "HardSwish", 14, {}, lower_hard_swish, "scale, add_scalar, clamp, mul"});
  ops.push_back({"", "Gelu", 20, {"approximate"}, lower_gelu, "gelu (erf or tanh)"});
  ops.push_back({"", "PRelu", 1, {}, lower_prelu, "clamp, mul, add"});

  ops.push_back(binary(
      "Add", 1, [](const Tensor& a, const Tensor& b) { return add(a, b); }, HostBinary::kAdd));
  ops.push_back(binary(
      "Sub", 1, [](const Tensor& a, const Tensor& b) { return sub(a, b); }, HostBinary::kSub));
  ops.push_back(binary(
      "Mul", 1, [](const Tensor& a, const Tensor& b) { return mul(a, b); }, HostBinary::kMul));
  ops.push_back(binary(
      "Div", 1, [](const Tensor& a, const Tensor& b) { return div(a, b); }, HostBinary::kDiv));
  ops.push_back({"", "Pow", 1, {}, lower_pow, "pow_scalar (a known scalar exponent) or pow"});
  ops.push_back({"", "Mod", 10, {"fmod"}, lower_mod, "host (integers known at load)"});
  ops.push_back({"", "Sum", 1, {}, [](const NodeContext& c) { return lower_variadic(c, Variadic::kSum); }, "add"});
  ops.push_back(
      {"", "Mean", 1, {}, [](const NodeContext& c) { return lower_variadic(c, Variadic::kMean); }, "add, scale"});
  ops.push_back({"", "Max", 1, {}, [](const NodeContext& c) { return lower_variadic(c, Variadic::kMax); }, "maximum"});
  ops.push_back({"", "Min", 1, {}, [](const NodeContext& c) { return lower_variadic(c, Variadic::kMin); }, "minimum"});

  ops.push_back(comparison("Equal", 1, HostBinary::kEqual, false));
  ops.push_back(comparison("Less", 1, HostBinary::kLess, false));
  ops.push_back(comparison("Greater", 1, HostBinary::kGreater, false));
  ops.push_back(comparison("LessOrEqual", 12, HostBinary::kLessOrEqual, false));
  ops.push_back(comparison("GreaterOrEqual", 12, HostBinary::kGreaterOrEqual, false));
  ops.push_back(comparison("And", 1, HostBinary::kAnd, true));
  ops.push_back(comparison("Or", 1, HostBinary::kOr, true));
  ops.push_back(comparison("Xor", 1, HostBinary::kXor, true));
  ops.push_back({"", "Not", 1, {}, lower_not, "host (values known at load only)"});
  ops.push_back({"",
                 "Where",
                 9,
                 {},
                 lower_where,
                 "host when known; a condition known at load over run-time floats: mul, add with its 0 / 1 masks"});
  ops.push_back({"", "Softplus", 1, {}, lower_softplus, "relu, abs, exp, log, add (the stable form)"});
  ops.push_back({"", "Einsum", 12, {"equation"}, lower_einsum, "host (values known at load only)"});
  ops.push_back({"", "Clip", 1, {"min", "max"}, lower_clip, "clamp"});
  ops.push_back({"", "Cast", 1, {"to", "saturate"}, lower_cast, "to_dtype; host at load (bool rules)"});
  ops.push_back({"", "CastLike", 15, {"saturate"}, lower_cast_like, "to_dtype; host at load (bool rules)"});

  ops.push_back({"", "Softmax", 1, {"axis"}, [](const NodeContext& c) { return lower_softmax(c, false); }, "softmax"});
  ops.push_back({"",
                 "LogSoftmax",
                 1,
                 {"axis"},
                 [](const NodeContext& c) { return lower_softmax(c, true); },
                 "amax, sub, exp, sum, log"});
  const std::vector<std::string_view> reduce_attrs = {"axes", "keepdims", "noop_with_empty_axes"};
  auto reduce = [&](std::string_view op, Reduce kind, std::string_view source) {
    ops.push_back({"", op, 1, reduce_attrs, [kind](const NodeContext& c) { return lower_reduce(c, kind); }, source});
  };
  reduce("ReduceSum", Reduce::kSum, "sum");
  reduce("ReduceMean", Reduce::kMean, "mean");
  reduce("ReduceMax", Reduce::kMax, "amax");
  reduce("ReduceMin", Reduce::kMin, "amin");
  reduce("ReduceSumSquare", Reduce::kSumSquare, "mul, sum");
  reduce("ReduceL1", Reduce::kL1, "abs, sum");
  reduce("ReduceL2", Reduce::kL2, "mul, sum, sqrt");
  reduce("ReduceLogSumExp", Reduce::kLogSumExp, "amax, sub, exp, sum, log, add");
  ops.push_back({"", "ArgMax", 1, {"axis", "keepdims", "select_last_index"}, lower_argmax, "argmax"});
  ops.push_back({"", "CumSum", 11, {"exclusive", "reverse"}, lower_cumsum, "cumsum"});
}

}  // namespace sc::engine::onnx::detail
