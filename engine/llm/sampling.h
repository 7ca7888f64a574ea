#pragma once
// Choosing the next token from a language model's logits, beyond greedy:
// repetition penalty, temperature, top-k and top-p, with a seed.
//
// The processors follow transformers 4.57's generate (do_sample=True,
// num_beams=1), in the order GenerationMixin._get_logits_processor applies
// them: RepetitionPenaltyLogitsProcessor over the context (prompt + the ids
// generated so far, each distinct id once: a logit x < 0 becomes x * penalty,
// otherwise x / penalty), then TemperatureLogitsWarper (x / temperature),
// TopKLogitsWarper (every id whose score is below the k-th largest becomes
// -inf: ids tied with the k-th are all kept; k past the vocabulary keeps
// all) and TopPLogitsWarper (sorted ascending, softmax, cumulative sum; ids
// whose cumulative probability is <= 1 - top_p become -inf, the most likely
// id always stays: min_tokens_to_keep 1), then a draw from the softmax of
// what is left. An option at its "off" value adds no stage, as there.
// Differences:
//   - transformers' GenerationConfig defaults top_k to 50; here 0 is the
//     default and means off. Pass top_k explicitly to match a run of theirs.
//   - Ties at the top-p boundary: transformers keeps whichever torch.sort's
//     (unstable) order puts last; here the lower id ranks higher, so of ids
//     with equal scores the lower ones are kept first (topk's order).
//   - Probabilities and the top-p cumulative sums are summed in double where
//     transformers sums in float32: a boundary within ~1e-7 of top_p may fall
//     the other way.
//   - The draw is not torch.multinomial: the same seed gives the same ids on
//     every run, machine and compiler (std::mt19937_64, whose output the C++
//     standard fixes, and a uniform in [0, 1) from its top 53 bits; no
//     std::uniform_real_distribution, whose output is implementation-
//     defined), but not the ids torch draws for the same seed. One uniform
//     per sampled token. CPU and CUDA logits differ in their last bits, so
//     the same seed on the two devices can differ where a draw falls near a
//     boundary.
//
// On the device: only a short candidate list crosses to the host. The
// candidates are the ids with the largest raw logits (engine topk, on the
// logits' device) and the context ids (gathered there with `embedding`); an
// id outside the list scores at most the list's last raw logit, so every
// decision that lies above that bound is exact. One that does not (a flat
// distribution under top-p, a long tail under plain temperature sampling,
// ties at the bound) takes a list 4 times longer, up to the whole
// vocabulary. top_p and plain temperature sampling need the softmax's total
// mass: one sum on the device (exp of the tempered logits), corrected on the
// host for the penalised context ids.
#include <cstdint>
#include <random>
#include <span>
#include <vector>

#include "engine/tensor.h"

namespace sc::engine {

struct SamplingOptions {
  float temperature = 0.0f;         // 0: greedy (argmax; top_k, top_p and seed unused)
  std::int64_t top_k = 0;           // 0: off
  float top_p = 1.0f;               // in (0, 1]; 1: off
  float repetition_penalty = 1.0f;  // > 0; 1: off. Applies to greedy decoding too, as in transformers
  std::uint64_t seed = 0;

  bool greedy() const { return temperature == 0.0f; }
  // Throws sc::Error naming the option, its value and the allowed range:
  // temperature >= 0, top_k >= 0, top_p in (0, 1], repetition_penalty > 0,
  // all finite.
  void validate() const;
};

// The host reference of each processor, over a whole row of float32 scores
// in place, computed as transformers does (float32 arithmetic; the tests
// compare them with its processors). Context ids outside the row are an
// error.
void apply_repetition_penalty(std::span<float> scores, std::span<const std::int64_t> context, float penalty);
void apply_temperature(std::span<float> scores, float temperature);
void apply_top_k(std::span<float> scores, std::int64_t top_k);
void apply_top_p(std::span<float> scores, float top_p);
// Every stage the options turn on, in transformers' order (greedy options:
// only the repetition penalty).
std::vector<float> process_logits(std::span<const float> logits, std::span<const std::int64_t> context,
                                  const SamplingOptions& options);

// What a sampler draws from: the ids left after the processors, most likely
// first (equal probabilities: lower id first), probabilities summing to 1.
struct TokenDistribution {
  std::vector<std::int64_t> ids;
  std::vector<double> probs;
};

class Sampler {
 public:
  // Validates the options; the generator starts from options.seed.
  explicit Sampler(const SamplingOptions& options);

  // The next id from the last row of `logits` ([..., V], any float dtype, on
  // any device), given the context the repetition penalty sees. Greedy
  // options without a penalty are argmax on the logits' device (first of
  // equal maxima), as the greedy decode loop has always done. Throws when
  // the candidates hold NaN or +inf, or every score is -inf.
  std::int64_t next(const Tensor& logits, std::span<const std::int64_t> context);

  // The distribution next() would draw from (greedy: one id, probability 1),
  // without drawing. Over the whole vocabulary when no top-k or top-p cuts
  // it.
  TokenDistribution distribution(const Tensor& logits, std::span<const std::int64_t> context) const;

  const SamplingOptions& options() const { return options_; }
  // How many candidates the first topk takes (default: top_k + 16 when top_k
  // is on, else 64); each retry takes 4 times more. Tests set it small to
  // make the list grow.
  void set_initial_candidates(std::int64_t n);
  // Candidates the last next() / distribution() moved to the host (topk
  // entries plus context ids), and how many topk calls it took.
  std::int64_t last_candidates() const { return last_candidates_; }
  int last_rounds() const { return last_rounds_; }

 private:
  SamplingOptions options_;
  std::mt19937_64 rng_;
  std::int64_t initial_candidates_ = 0;  // 0: the default above
  mutable std::int64_t last_candidates_ = 0;
  mutable int last_rounds_ = 0;
};

}  // namespace sc::engine
