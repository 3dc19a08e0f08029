// Token sampling from a row of logits.
//
// The chain, in the order llama.cpp's common sampler applies it:
//   1. penalties   over the last `repeat_last_n` accepted tokens (a token seen c > 0 times):
//                  logit /= repeat_penalty if logit > 0, else logit *= repeat_penalty;
//                  then logit -= c * frequency_penalty + presence_penalty
//   2. top-k       keep the k highest logits (ties broken by lower id)
//   3. top-p       keep the smallest highest-first prefix whose softmax mass (over the top-k
//                  survivors, at temperature 1) reaches top_p
//   4. min-p       keep tokens whose probability (temperature 1) is >= min_p * the highest one
//   5. temperature divide the surviving logits by `temperature`
//   6. draw        from the softmax of what is left, with a seeded xoshiro256** generator
// temperature <= 0 means greedy: penalties, then argmax (ties → lowest id); steps 2–6 are skipped.
// Logits of -inf are masked tokens (e.g. by JsonConstraint::mask) and can never be drawn.
// Draws are reproducible: the same params, seed, accepted tokens and logits give the same ids.
//
// Typical use in a generate loop:
//   Sampler s(params);                          // validates params, seeds the generator
//   for (int32_t t : prompt) s.accept(t);       // optional: let penalties see the prompt
//   loop: constraint.mask(logits, n);  id = s.sample(logits, n);  s.accept(id);  constraint.accept(id);
// From JS options (camelCase names, see src/engine/sampling.ts): napi/sampler_napi.h.
#pragma once
#include <cstdint>
#include <deque>
#include <stdexcept>
#include <unordered_map>
#include <vector>

namespace ls {

struct SamplerParams {
  float temperature = 0.8f;      // <= 0 → greedy
  int32_t top_k = 40;            // <= 0 → off
  float top_p = 0.95f;           // >= 1 → off; must be > 0
  float min_p = 0.05f;           // <= 0 → off; must be <= 1
  float repeat_penalty = 1.0f;   // 1 → off; must be > 0
  int32_t repeat_last_n = 64;    // penalty window in accepted tokens; 0 → penalties off
  float frequency_penalty = 0.0f;
  float presence_penalty = 0.0f;
  uint64_t seed = 0;
};

// Throws std::invalid_argument naming the offending field (NaN/inf, out of range).
void validate_sampler_params(const SamplerParams& p);

class Sampler {
 public:
  explicit Sampler(const SamplerParams& params);  // validates; throws std::invalid_argument

  // Picks a token id in [0, n_vocab). `logits` is used as scratch and modified.
  // Throws std::invalid_argument when a logit is NaN or +inf, or when every logit is -inf.
  int32_t sample(float* logits, int32_t n_vocab);

  // Records a token for the penalty window (generated tokens, and prompt tokens if wanted).
  void accept(int32_t token);

  // Forgets the accepted tokens and re-seeds the generator: the same calls then repeat exactly.
  void reset();

  const SamplerParams& params() const { return params_; }

 private:
  // Returns whether it changed any logit.
  bool apply_penalties(float* logits, int32_t n_vocab) const;
  double next_uniform();  // in [0, 1)
  size_t top_p_candidates(size_t n, double max_logit, double target);

  SamplerParams params_;
  uint64_t rng_[4];
  std::deque<int32_t> window_;                   // last repeat_last_n accepted tokens
  std::unordered_map<int32_t, int32_t> counts_;  // occurrences inside window_
  struct Candidate {
    int32_t id;
    float logit;
  };
  std::vector<Candidate> cand_;  // reused between calls
  std::vector<double> weights_;
};

}  // namespace ls
