#include "engine/llm/sampling.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <functional>
#include <limits>
#include <numeric>
#include <optional>

#include "base/error.h"
#include "engine/ops.h"

namespace sc::engine {
namespace {

constexpr float kNegInf = -std::numeric_limits<float>::infinity();

// transformers: torch.where(score < 0, score * penalty, score / penalty), in float32.
float penalise(float x, float penalty) { return x < 0.0f ? x * penalty : x / penalty; }

void check_temperature(float t) {
  if (!(t >= 0.0f) || !std::isfinite(t)) {
    throw Error("sampling: temperature {} must be finite and >= 0 (0 = greedy, 1 = the model's distribution)", t);
  }
}
void check_top_k(std::int64_t k) {
  if (k < 0) throw Error("sampling: top_k {} must be >= 0 (0 = off)", k);
}
void check_top_p(float p) {
  if (!(p > 0.0f && p <= 1.0f)) throw Error("sampling: top_p {} must be in (0, 1] (1 = off)", p);
}
void check_penalty(float p) {
  if (!(p > 0.0f) || !std::isfinite(p)) {
    throw Error("sampling: repetition_penalty {} must be finite and > 0 (1 = off; > 1 discourages repeats)", p);
  }
}

// The distinct context ids, sorted; each must index the vocabulary.
std::vector<std::int64_t> distinct_ids(std::span<const std::int64_t> context, std::int64_t vocab) {
  std::vector<std::int64_t> ids(context.begin(), context.end());
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  for (std::int64_t id : ids) {
    if (id < 0 || id >= vocab) {
      throw Error(
          "sampling: context id {} is outside the vocabulary of {} (the repetition penalty reads the logit of every "
          "prompt and generated id)",
          id, vocab);
    }
  }
  return ids;
}

// The last row of logits [..., V] as f32 [V], on the logits' device.
Tensor last_row(const Tensor& logits) {
  if (!logits.defined() || logits.rank() < 1 || logits.dim(-1) == 0 || logits.numel() == 0) {
    throw Error("sampling: the model returned {} logits; [..., vocabulary] expected",
                logits.defined() ? logits.describe() : "undefined");
  }
  const std::int64_t v = logits.dim(-1);
  const Tensor rows = logits.reshape({-1, v});
  Tensor row = rows.slice(0, rows.dim(0) - 1, rows.dim(0)).reshape({v});
  return row.dtype() == DType::kF32 ? row : to_dtype(row, DType::kF32);
}

struct Candidate {
  std::int64_t id;
  float score;  // after the penalty and the temperature
};

// A prefix of the vocabulary in (score desc, id asc) order, as far as it is
// known: every id not in `items` scores at most `bound`.
struct Candidates {
  std::vector<Candidate> items;
  float bound = kNegInf;
  bool complete = false;  // items is the whole vocabulary
  std::int64_t moved = 0;

  // Whether an item scoring `score` has its true place in the order: no id
  // outside the list can come before it (or, with bound -inf, what is
  // outside has probability 0).
  bool certain(float score) const { return complete || score > bound || bound == kNegInf; }
};

// The context's distinct ids and their raw logits, gathered on the device.
struct Context {
  std::vector<std::int64_t> ids;
  std::vector<float> raw;
};

Context gather_context(const Tensor& row, std::span<const std::int64_t> context) {
  Context c;
  const std::int64_t v = row.dim(0);
  c.ids = distinct_ids(context, v);
  if (c.ids.empty()) return c;
  Tensor idx = Tensor::from_vector_i64({static_cast<std::int64_t>(c.ids.size())}, c.ids);
  if (row.device() != Device::kCpu) idx = idx.to(row.device());
  c.raw = embedding(idx, row.reshape({v, 1})).to(Device::kCpu).to_vector<float>();
  return c;
}

class Selector {
 public:
  Selector(const Tensor& row, std::span<const std::int64_t> context, const SamplingOptions& o)
      : row_(row), options_(o), vocab_(row.dim(0)) {
    if (o.repetition_penalty != 1.0f) context_ = gather_context(row, context);
  }

  float temper(float x) const { return options_.greedy() ? x : x / options_.temperature; }

  Candidates take(std::int64_t m) const {
    m = std::clamp<std::int64_t>(m, 1, vocab_);
    const TopK top = topk(row_, m);
    const std::vector<float> values = top.values.to(Device::kCpu).to_vector<float>();
    const std::vector<std::int64_t> ids = top.indices.to(Device::kCpu).to_vector<std::int64_t>();
    Candidates c;
    c.items.reserve(values.size() + context_.ids.size());
    for (std::size_t i = 0; i < values.size(); ++i) {
      if (!std::binary_search(context_.ids.begin(), context_.ids.end(), ids[i])) {
        c.items.push_back({ids[i], temper(values[i])});
      }
    }
    for (std::size_t i = 0; i < context_.ids.size(); ++i) {
      c.items.push_back({context_.ids[i], temper(penalise(context_.raw[i], options_.repetition_penalty))});
    }
    for (const Candidate& x : c.items) {
      if (std::isnan(x.score) || x.score == std::numeric_limits<float>::infinity()) {
        throw Error(
            "sampling: the score of id {} is {} (the model's logits hold NaN or infinity, or the temperature {} "
            "overflows them)",
            x.id, x.score, options_.temperature);
      }
    }
    std::sort(c.items.begin(), c.items.end(), [](const Candidate& a, const Candidate& b) {
      return a.score != b.score ? a.score > b.score : a.id < b.id;
    });
    c.complete = m == vocab_;
    c.bound = c.complete ? kNegInf : temper(values.back());
    c.moved = m + static_cast<std::int64_t>(context_.ids.size());
    if (c.items.front().score == kNegInf && c.certain(kNegInf)) {
      throw Error("sampling: every score is -inf (the logits of all {} ids, after the repetition penalty)", vocab_);
    }
    return c;
  }

  // The softmax's total mass over the whole vocabulary, relative to
  // exp(shift): one sum on the device over the tempered raw logits, then the
  // penalised context ids swapped in on the host.
  double total_mass(const Candidates& c, float shift) const {
    const float inv_t = 1.0f / options_.temperature;
    const std::array<int, 1> dims{0};
    const Tensor e = exp(add_scalar(scale(row_, inv_t), -shift));
    double z = sum(e, dims).to(Device::kCpu).to_vector<float>()[0];
    for (std::size_t i = 0; i < context_.ids.size(); ++i) {
      const double raw = static_cast<double>(temper(context_.raw[i])) - shift;
      const double pen = static_cast<double>(temper(penalise(context_.raw[i], options_.repetition_penalty))) - shift;
      z += std::exp(pen) - std::exp(raw);
    }
    // The device sums in f32 (the CPU in double); never less than what the
    // list alone holds.
    double known = 0;
    for (const Candidate& x : c.items) known += std::exp(static_cast<double>(x.score) - shift);
    return std::max(z, known);
  }

  std::int64_t vocab() const { return vocab_; }
  const SamplingOptions& options() const { return options_; }

 private:
  Tensor row_;
  SamplingOptions options_;
  std::int64_t vocab_;
  Context context_;
};

// What one round decides: an id, the kept distribution, or that the list
// must grow.
struct Decision {
  bool grow = false;
  std::int64_t id = -1;
  TokenDistribution distribution;
};

// `u` in [0, 1): draw with it; none: return the distribution.
Decision decide(const Selector& sel, const Candidates& c, std::optional<double> u) {
  const SamplingOptions& o = sel.options();
  const auto& items = c.items;
  Decision d;
  d.grow = true;
  if (o.greedy()) {  // argmax of the penalised logits: the first of equal maxima
    if (!c.certain(items.front().score)) return d;
    d.grow = false;
    d.id = items.front().id;
    d.distribution = {{d.id}, {1.0}};
    return d;
  }
  // Weights relative to the largest score anywhere (outside ids score at
  // most the bound).
  const float shift = std::max(items.front().score, c.bound);
  auto weight = [&](std::size_t i) { return std::exp(static_cast<double>(items[i].score) - shift); };
  std::size_t end = items.size();  // the kept ids are items [0, end) when `cut`
  bool cut = false;
  if (o.top_k > 0) {
    const auto k = static_cast<std::size_t>(std::min<std::int64_t>(o.top_k, sel.vocab()));
    if (items.size() < k) return d;
    const float threshold = items[k - 1].score;
    if (!c.certain(threshold)) return d;
    end = k;
    while (end < items.size() && items[end].score >= threshold) ++end;  // ties with the k-th stay
    cut = true;
  }
  while (end > 1 && items[end - 1].score == kNegInf) --end;  // probability 0
  double z = 0;
  if (cut || c.complete) {
    for (std::size_t i = 0; i < end; ++i) z += weight(i);
  } else if (o.top_p < 1.0f || u) {
    z = sel.total_mass(c, shift);
  }
  if (o.top_p < 1.0f) {
    // transformers removes an id when the ascending cumulative probability up
    // to and including it is <= 1 - top_p, i.e. (z - mass above it) / z.
    double above = 0;
    std::size_t j = 0;
    for (; j < end; ++j) {
      if (j > 0 && (z - above) / z <= 1.0 - static_cast<double>(o.top_p)) break;
      above += weight(j);
    }
    if (j == end && !cut && !c.complete) return d;  // the kept set runs past the list
    if (!cut && !c.certain(items[j - 1].score)) return d;
    end = j;
    cut = true;
    z = above;
  }
  if (!u) {
    if (!cut && !c.complete) return d;  // the whole vocabulary stays: take it all
    d.grow = false;
    for (std::size_t i = 0; i < end; ++i) {
      d.distribution.ids.push_back(items[i].id);
      d.distribution.probs.push_back(weight(i) / z);
    }
    return d;
  }
  const double target = *u * z;
  double cum = 0;
  for (std::size_t i = 0; i < end; ++i) {
    cum += weight(i);
    if (cum > target) {
      if (!cut && !c.certain(items[i].score)) return d;
      d.grow = false;
      d.id = items[i].id;
      return d;
    }
  }
  if (!cut && !c.complete) return d;  // the draw lies in the tail past the list
  // Rounding left the target at the very end: the last id with a weight.
  std::size_t last = end - 1;
  while (last > 0 && weight(last) == 0.0) --last;
  d.grow = false;
  d.id = items[last].id;
  return d;
}

}  // namespace

void SamplingOptions::validate() const {
  check_temperature(temperature);
  check_top_k(top_k);
  check_top_p(top_p);
  check_penalty(repetition_penalty);
}

void apply_repetition_penalty(std::span<float> scores, std::span<const std::int64_t> context, float penalty) {
  check_penalty(penalty);
  // Each distinct id once: transformers gathers, penalises and scatters back,
  // so a repeated id is not penalised twice.
  for (std::int64_t id : distinct_ids(context, static_cast<std::int64_t>(scores.size()))) {
    float& x = scores[static_cast<std::size_t>(id)];
    x = penalise(x, penalty);
  }
}

void apply_temperature(std::span<float> scores, float temperature) {
  check_temperature(temperature);
  if (temperature == 0.0f) throw Error("sampling: temperature 0 is greedy decoding; it scales nothing");
  for (float& x : scores) x = x / temperature;
}

namespace {

void check_no_nan(std::span<const float> scores, const char* what) {
  for (std::size_t i = 0; i < scores.size(); ++i) {
    if (std::isnan(scores[i])) throw Error("sampling: {}: the score of id {} is NaN", what, i);
  }
}

}  // namespace

void apply_top_k(std::span<float> scores, std::int64_t top_k) {
  if (top_k < 1) throw Error("sampling: top_k {} must be >= 1 here (0, off, adds no stage)", top_k);
  check_no_nan(scores, "top_k");
  if (scores.empty()) return;
  const std::size_t k =
      static_cast<std::size_t>(std::min<std::int64_t>(top_k, static_cast<std::int64_t>(scores.size())));
  std::vector<float> sorted(scores.begin(), scores.end());
  std::nth_element(sorted.begin(), sorted.begin() + static_cast<std::ptrdiff_t>(k - 1), sorted.end(),
                   std::greater<float>());
  const float threshold = sorted[k - 1];
  for (float& x : scores) {
    if (x < threshold) x = kNegInf;
  }
}

void apply_top_p(std::span<float> scores, float top_p) {
  check_top_p(top_p);
  check_no_nan(scores, "top_p");
  if (scores.empty()) return;
  // Ascending, equal scores with the higher id first: the lower id is last,
  // so it is the one kept.
  std::vector<std::size_t> order(scores.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    return scores[a] != scores[b] ? scores[a] < scores[b] : a > b;
  });
  const double shift = scores[order.back()];
  std::vector<double> cum(order.size());
  double total = 0;
  for (std::size_t i = 0; i < order.size(); ++i) {
    total += std::exp(static_cast<double>(scores[order[i]]) - shift);
    cum[i] = total;
  }
  for (std::size_t i = 0; i + 1 < order.size(); ++i) {  // the last (most likely) always stays
    if (cum[i] / total <= 1.0 - static_cast<double>(top_p)) scores[order[i]] = kNegInf;
  }
}

std::vector<float> process_logits(std::span<const float> logits, std::span<const std::int64_t> context,
                                  const SamplingOptions& options) {
  options.validate();
  std::vector<float> s(logits.begin(), logits.end());
  if (options.repetition_penalty != 1.0f) apply_repetition_penalty(s, context, options.repetition_penalty);
  if (options.greedy()) return s;
  if (options.temperature != 1.0f) apply_temperature(s, options.temperature);
  if (options.top_k > 0) apply_top_k(s, options.top_k);
  if (options.top_p < 1.0f) apply_top_p(s, options.top_p);
  return s;
}

Sampler::Sampler(const SamplingOptions& options) : options_(options), rng_(options.seed) { options_.validate(); }

void Sampler::set_initial_candidates(std::int64_t n) {
  if (n < 1) throw Error("sampling: the initial candidate count {} must be >= 1", n);
  initial_candidates_ = n;
}

namespace {

std::int64_t first_candidates(const SamplingOptions& o, std::int64_t initial) {
  if (initial > 0) return initial;
  return o.top_k > 0 ? o.top_k + 16 : 64;
}

}  // namespace

std::int64_t Sampler::next(const Tensor& logits, std::span<const std::int64_t> context) {
  if (options_.greedy() && options_.repetition_penalty == 1.0f) {
    // The greedy decode loop's pick, unchanged: argmax on the logits' device
    // in their dtype; one i64 comes back.
    if (!logits.defined() || logits.rank() < 1 || logits.dim(-1) == 0 || logits.numel() == 0) {
      throw Error("sampling: the model returned {} logits; [..., vocabulary] expected",
                  logits.defined() ? logits.describe() : "undefined");
    }
    const std::int64_t v = logits.dim(-1);
    const Tensor rows = logits.reshape({-1, v});
    last_candidates_ = 1;
    last_rounds_ = 0;
    return argmax(rows.slice(0, rows.dim(0) - 1, rows.dim(0)), -1).to(Device::kCpu).data<std::int64_t>()[0];
  }
  // One uniform per sampled token, drawn before any retry, so the ids
  // depend on the seed and the logits only.
  std::optional<double> u;
  if (!options_.greedy()) u = static_cast<double>(rng_() >> 11) * 0x1.0p-53;
  const Tensor row = last_row(logits);
  const Selector sel(row, context, options_);
  std::int64_t m = first_candidates(options_, initial_candidates_);
  for (int round = 1;; ++round) {
    const Candidates c = sel.take(m);
    const Decision d = decide(sel, c, u);  // greedy options decide without u
    last_candidates_ = c.moved;
    last_rounds_ = round;
    if (!d.grow) return d.id;
    m = std::min(m * 4, sel.vocab());
  }
}

TokenDistribution Sampler::distribution(const Tensor& logits, std::span<const std::int64_t> context) const {
  const Tensor row = last_row(logits);
  const Selector sel(row, context, options_);
  std::int64_t m = first_candidates(options_, initial_candidates_);
  for (int round = 1;; ++round) {
    const Candidates c = sel.take(m);
    Decision d = decide(sel, c, std::nullopt);
    last_candidates_ = c.moved;
    last_rounds_ = round;
    if (!d.grow) return std::move(d.distribution);
    m = std::min(m * 4, sel.vocab());
  }
}

}  // namespace sc::engine
