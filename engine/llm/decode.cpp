#include "engine/llm/decode.h"

#include <algorithm>
#include <chrono>
#include <optional>

#include "base/error.h"
#include "engine/ops.h"

namespace sc::engine {
namespace {

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// argmax of the last row of logits [..., V], on the logits' device; one i64
// comes back.
std::int64_t pick_greedy(const Tensor& logits) {
  if (!logits.defined() || logits.rank() < 1 || logits.dim(-1) == 0 || logits.numel() == 0) {
    throw Error("greedy decoding: the model returned {} logits; [..., vocabulary] expected",
                logits.defined() ? logits.describe() : "undefined");
  }
  const std::int64_t v = logits.dim(-1);
  const Tensor rows = logits.reshape({-1, v});
  const Tensor last = rows.slice(0, rows.dim(0) - 1, rows.dim(0));
  return argmax(last, -1).to(Device::kCpu).data<std::int64_t>()[0];
}

GenerationOptions with_greedy(const GreedyOptions& greedy) {
  GenerationOptions o;
  static_cast<GreedyOptions&>(o) = greedy;
  return o;
}

const char* what_of(const GenerationOptions& options) {
  return options.sampling.greedy() ? "greedy decoding" : "sampled decoding";
}

// Greedy options without a penalty take pick_greedy, the loop's pick before
// sampling existed; everything else the sampler, with the context
// (prompt + generated ids) growing as ids are chosen.
GenerationResult run(const CausalLmStep& step, KvStore& cache, Tensor logits, std::span<const std::int64_t> context,
                     const GenerationOptions& options, const TokenCallback& on_token,
                     std::chrono::steady_clock::time_point start) {
  const char* what = what_of(options);
  if (options.max_new_tokens < 0) throw Error("{}: max_new_tokens {} < 0", what, options.max_new_tokens);
  const bool plain_greedy = options.sampling.greedy() && options.sampling.repetition_penalty == 1.0f;
  std::optional<Sampler> sampler;
  std::vector<std::int64_t> seen;
  if (!plain_greedy) {
    sampler.emplace(options.sampling);
    seen.assign(context.begin(), context.end());
  }
  GenerationResult result;
  while (true) {
    if (static_cast<std::int64_t>(result.ids.size()) >= options.max_new_tokens) {
      result.reason = StopReason::kMaxTokens;
      break;
    }
    const std::int64_t id = plain_greedy ? pick_greedy(logits) : sampler->next(logits, seen);
    if (sampler) seen.push_back(id);
    if (result.ids.empty()) result.first_token_s = seconds_since(start);
    if (std::find(options.stop_ids.begin(), options.stop_ids.end(), id) != options.stop_ids.end()) {
      result.reason = StopReason::kStopToken;
      result.stop_id = id;
      break;
    }
    result.ids.push_back(id);
    if (on_token && !on_token(id)) {
      result.reason = StopReason::kCancelled;
      break;
    }
    if (static_cast<std::int64_t>(result.ids.size()) >= options.max_new_tokens) {
      result.reason = StopReason::kMaxTokens;
      break;
    }
    if (cache.free() < 1) {
      result.reason = StopReason::kCacheFull;
      break;
    }
    const std::int64_t before = cache.length();
    logits = step(Tensor::from_vector_i64({1}, std::span<const std::int64_t>(&id, 1)), cache);
    if (cache.length() != before + 1) {
      throw Error("{}: the model step moved the cache from {} to {} tokens for one id", what, before, cache.length());
    }
  }
  result.total_s = seconds_since(start);
  return result;
}

}  // namespace

const char* to_string(StopReason reason) {
  switch (reason) {
    case StopReason::kStopToken:
      return "stop token";
    case StopReason::kMaxTokens:
      return "token limit";
    case StopReason::kCancelled:
      return "cancelled";
    case StopReason::kCacheFull:
      return "cache full";
  }
  return "?";
}

GreedyResult decode_greedy(const CausalLmStep& step, KvStore& cache, const Tensor& last_logits,
                           const GreedyOptions& options, const TokenCallback& on_token) {
  return run(step, cache, last_logits, {}, with_greedy(options), on_token, std::chrono::steady_clock::now());
}

GreedyResult generate_greedy(const CausalLmStep& step, KvStore& cache, std::span<const std::int64_t> prompt,
                             const GreedyOptions& options, const TokenCallback& on_token) {
  return generate(step, cache, prompt, with_greedy(options), on_token);
}

GenerationResult decode(const CausalLmStep& step, KvStore& cache, const Tensor& last_logits,
                        std::span<const std::int64_t> context, const GenerationOptions& options,
                        const TokenCallback& on_token) {
  options.sampling.validate();
  return run(step, cache, last_logits, context, options, on_token, std::chrono::steady_clock::now());
}

GenerationResult generate(const CausalLmStep& step, KvStore& cache, std::span<const std::int64_t> prompt,
                          const GenerationOptions& options, const TokenCallback& on_token) {
  const auto start = std::chrono::steady_clock::now();
  const char* what = what_of(options);
  options.sampling.validate();
  if (prompt.empty()) throw Error("{}: the prompt is empty (at least one id is needed)", what);
  if (cache.free() < static_cast<std::int64_t>(prompt.size())) {
    throw Error("{}: a prompt of {} tokens does not fit the KV cache ({} of {} free)", what, prompt.size(),
                cache.free(), cache.capacity());
  }
  const std::int64_t before = cache.length();
  Tensor logits = step(Tensor::from_vector_i64({static_cast<std::int64_t>(prompt.size())}, prompt), cache);
  if (cache.length() != before + static_cast<std::int64_t>(prompt.size())) {
    throw Error("{}: the model step moved the cache from {} to {} tokens for a prompt of {}", what, before,
                cache.length(), prompt.size());
  }
  return run(step, cache, std::move(logits), prompt, options, on_token, start);
}

}  // namespace sc::engine
