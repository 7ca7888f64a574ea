#pragma once
// The decode loop: one token per step, against a KV cache, greedy or sampled
// (engine/llm/sampling.h: repetition penalty, temperature, top-k, top-p, a
// seed). The model side is a function (any causal LM: Qwen2Model now, the
// VLM's language model later), so this file knows no model. Greedy decoding
// without a repetition penalty is argmax where the logits are, and only the
// chosen id crosses to the host; sampling moves a short candidate list.
// What comes later (engine/llm/README.md): graph-captured decode steps.
#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "engine/llm/kv_cache.h"
#include "engine/llm/sampling.h"
#include "engine/tensor.h"

namespace sc::engine {

// Logits for `ids` (i64 [S], on the host) appended to `cache` at positions
// cache.length() onwards; the last position's logits suffice ([..., V]: any
// shape whose last dimension is the vocabulary, the last row is read). It
// must advance the cache by S.
using CausalLmStep = std::function<Tensor(const Tensor& ids, KvStore& cache)>;

// Called with each generated id as it is chosen; false stops the loop
// (cancellation).
using TokenCallback = std::function<bool(std::int64_t id)>;

struct GreedyOptions {
  std::int64_t max_new_tokens = 128;
  std::vector<std::int64_t> stop_ids;  // e.g. the tokenizer's eos, <|im_end|>
};

// The greedy options plus how each id is chosen. The default (temperature 0,
// no repetition penalty) is the greedy loop, bit for bit.
struct GenerationOptions : GreedyOptions {
  SamplingOptions sampling;
};

enum class StopReason {
  kStopToken,  // a stop id was chosen (not passed to the callback nor kept in ids)
  kMaxTokens,  // max_new_tokens ids generated
  kCancelled,  // the callback returned false (the id it was given is kept)
  kCacheFull   // the cache has no room for the next token
};
const char* to_string(StopReason reason);

struct GreedyResult {
  std::vector<std::int64_t> ids;  // generated, in order (what the callback saw)
  StopReason reason = StopReason::kMaxTokens;
  std::int64_t stop_id = -1;  // the stop id chosen, with kStopToken
  // From the call to the first id chosen (prefill + one argmax), and the
  // whole call; seconds of wall-clock time.
  double first_token_s = 0;
  double total_s = 0;
};
using GenerationResult = GreedyResult;

// Greedy decoding from the logits of the last prompt position (`last_logits`,
// already in `cache`: a caller that prefilled with embeddings, e.g. a VLM
// splicing image features in, starts here). Each chosen id goes to the
// callback, then is fed back one at a time, so when the loop ends the cache
// holds everything but the last generated id (transformers' generate leaves
// its cache the same way).
GreedyResult decode_greedy(const CausalLmStep& step, KvStore& cache, const Tensor& last_logits,
                           const GreedyOptions& options = {}, const TokenCallback& on_token = {});

// Prefills `prompt` (at least one id) in one step, then decode_greedy.
GreedyResult generate_greedy(const CausalLmStep& step, KvStore& cache, std::span<const std::int64_t> prompt,
                             const GreedyOptions& options = {}, const TokenCallback& on_token = {});

// decode_greedy with the choice of options.sampling. `context` is the ids
// already in the cache that the repetition penalty sees (transformers'
// input_ids: the prompt, placeholder ids of spliced image features
// included); each generated id joins it. A seeded sampler starts afresh at
// every call, so the same call repeats its ids. Bad options are refused
// before the first step.
GenerationResult decode(const CausalLmStep& step, KvStore& cache, const Tensor& last_logits,
                        std::span<const std::int64_t> context, const GenerationOptions& options,
                        const TokenCallback& on_token = {});

// Prefills `prompt` (at least one id; the penalty's context) in one step,
// then decode.
GenerationResult generate(const CausalLmStep& step, KvStore& cache, std::span<const std::int64_t> prompt,
                          const GenerationOptions& options, const TokenCallback& on_token = {});

}  // namespace sc::engine
