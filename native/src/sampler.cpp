#include "sampler.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "kernels/fma_dispatch.h"

namespace ls {

namespace {

void require(bool ok, const char* field, const char* rule) {
  if (!ok) throw std::invalid_argument(std::string("sampler: ") + field + " " + rule);
}

uint64_t splitmix64(uint64_t& x) {
  uint64_t z = (x += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

}  // namespace

void validate_sampler_params(const SamplerParams& p) {
  require(std::isfinite(p.temperature), "temperature", "must be a finite number");
  require(p.top_k >= 0, "top_k", "must be >= 0 (0 = off)");
  require(std::isfinite(p.top_p) && p.top_p > 0.0f, "top_p", "must be a finite number > 0");
  require(std::isfinite(p.min_p) && p.min_p >= 0.0f && p.min_p <= 1.0f, "min_p",
          "must be in [0, 1]");
  require(std::isfinite(p.repeat_penalty) && p.repeat_penalty > 0.0f, "repeat_penalty",
          "must be a finite number > 0");
  require(p.repeat_last_n >= 0, "repeat_last_n", "must be >= 0");
  require(std::isfinite(p.frequency_penalty), "frequency_penalty", "must be a finite number");
  require(std::isfinite(p.presence_penalty), "presence_penalty", "must be a finite number");
}

Sampler::Sampler(const SamplerParams& params) : params_(params) {
  validate_sampler_params(params_);
  reset();
}

void Sampler::reset() {
  window_.clear();
  counts_.clear();
  uint64_t s = params_.seed;
  for (uint64_t& word : rng_) word = splitmix64(s);
}

double Sampler::next_uniform() {  // xoshiro256**
  const uint64_t result = rotl(rng_[1] * 5, 7) * 9;
  const uint64_t t = rng_[1] << 17;
  rng_[2] ^= rng_[0];
  rng_[3] ^= rng_[1];
  rng_[1] ^= rng_[2];
  rng_[0] ^= rng_[3];
  rng_[2] ^= t;
  rng_[3] = rotl(rng_[3], 45);
  return static_cast<double>(result >> 11) * 0x1.0p-53;
}

void Sampler::accept(int32_t token) {
  if (params_.repeat_last_n <= 0) return;
  window_.push_back(token);
  ++counts_[token];
  if (static_cast<int32_t>(window_.size()) > params_.repeat_last_n) {
    const int32_t old = window_.front();
    window_.pop_front();
    auto it = counts_.find(old);
    if (--it->second == 0) counts_.erase(it);
  }
}

bool Sampler::apply_penalties(float* logits, int32_t n_vocab) const {
  const bool active = params_.repeat_penalty != 1.0f || params_.frequency_penalty != 0.0f ||
                      params_.presence_penalty != 0.0f;
  if (!active || counts_.empty()) return false;
  for (const auto& [id, count] : counts_) {
    if (id < 0 || id >= n_vocab) continue;
    float& l = logits[id];
    if (std::isinf(l)) continue;  // masked stays masked
    l = l > 0.0f ? l / params_.repeat_penalty : l * params_.repeat_penalty;
    l -= static_cast<float>(count) * params_.frequency_penalty + params_.presence_penalty;
    // Extreme penalties may overflow; a penalised token stays drawable, just (im)probable.
    l = std::isnan(l) ? -std::numeric_limits<float>::max()
                      : std::clamp(l, -std::numeric_limits<float>::max(), std::numeric_limits<float>::max());
  }
  return true;
}

// Moves to the front the candidates top-p may keep and returns their count: a histogram of the
// weights by logit finds the logit bucket where the mass (highest first) reaches `target`;
// everything above that bucket's lower edge may be kept, everything below may not.
size_t Sampler::top_p_candidates(size_t n, double max_logit, double target) {
  constexpr int kBuckets = 256;
  double min_logit = max_logit;
  for (size_t i = 0; i < n; ++i) min_logit = std::min(min_logit, static_cast<double>(cand_[i].logit));
  const double span = max_logit - min_logit;
  if (!(span > 0)) return n;
  const double scale = kBuckets / span;
  const auto bucket = [&](const Candidate& c) {
    return std::min(kBuckets - 1, static_cast<int>((max_logit - c.logit) * scale));
  };
  double bucket_mass[kBuckets] = {};
  for (size_t i = 0; i < n; ++i) bucket_mass[bucket(cand_[i])] += std::exp(cand_[i].logit - max_logit);
  int last = 0;
  for (double cum = bucket_mass[0]; cum < target && last < kBuckets - 1;) cum += bucket_mass[++last];
  const auto end = std::partition(cand_.begin(), cand_.begin() + static_cast<std::ptrdiff_t>(n),
                                  [&](const Candidate& c) { return bucket(c) <= last; });
  return static_cast<size_t>(end - cand_.begin());
}

namespace {

// The highest of n logits, or NaN when one is NaN or +inf: one pass in 16 lanes (a running max
// per lane vectorises; a branch per element would not), sampled once a decode step over the
// whole vocabulary.
LS_FMA_DISPATCH
float max_logit_checked(const float* logits, int32_t n) {
  constexpr float kInf = std::numeric_limits<float>::infinity();
  float lanes[16];
  int32_t bad[16] = {};
  std::fill(lanes, lanes + 16, -kInf);
  int32_t i = 0;
  for (; i + 16 <= n; i += 16)
    for (int l = 0; l < 16; ++l) {
      const float x = logits[i + l];
      bad[l] |= int32_t(!(x < kInf));  // NaN or +inf
      lanes[l] = x > lanes[l] ? x : lanes[l];
    }
  for (; i < n; ++i) {
    bad[0] |= int32_t(!(logits[i] < kInf));
    lanes[0] = logits[i] > lanes[0] ? logits[i] : lanes[0];
  }
  float best = -kInf;
  for (int l = 0; l < 16; ++l) {
    if (bad[l]) return std::numeric_limits<float>::quiet_NaN();
    best = std::max(best, lanes[l]);
  }
  return best;
}

}  // namespace

int32_t Sampler::sample(float* logits, int32_t n_vocab) {
  if (n_vocab <= 0) throw std::invalid_argument("sampler: n_vocab must be > 0");
  float top = max_logit_checked(logits, n_vocab);
  if (std::isnan(top))
    for (int32_t i = 0; i < n_vocab; ++i)
      if (!(logits[i] < std::numeric_limits<float>::infinity()))
        throw std::invalid_argument("sampler: logit of token " + std::to_string(i) + " is NaN or +inf");
  if (apply_penalties(logits, n_vocab)) top = max_logit_checked(logits, n_vocab);
  if (params_.temperature <= 0.0f) {
    // Greedy without a candidate list (every decode step of a benchmark or a JSON outline):
    // the highest logit, the lowest id among equals.
    const float best_logit = top;
    if (best_logit == -std::numeric_limits<float>::infinity())
      throw std::invalid_argument("sampler: every token is masked (all logits -inf)");
    int32_t best = 0;
    while (best + 1 < n_vocab && logits[best] != best_logit) ++best;
    return best;
  }

  cand_.clear();
  for (int32_t i = 0; i < n_vocab; ++i)
    if (logits[i] != -std::numeric_limits<float>::infinity()) cand_.push_back({i, logits[i]});
  if (cand_.empty()) throw std::invalid_argument("sampler: every token is masked (all logits -inf)");

  // Higher logit first; equal logits by lower id, so every result is reproducible.
  const auto better = [](const Candidate& a, const Candidate& b) {
    return a.logit > b.logit || (a.logit == b.logit && a.id < b.id);
  };

  // Each filter keeps a highest-first prefix of the candidates, so the chain never needs to sort
  // the whole vocabulary: top-k selects (and sorts) k, min-p partitions, top-p sorts only the
  // tokens it may keep.
  const auto first = cand_.begin();
  const auto at = [&](size_t i) { return first + static_cast<std::ptrdiff_t>(i); };
  size_t n = cand_.size();
  bool sorted = false;
  if (params_.top_k > 0 && static_cast<size_t>(params_.top_k) < n) {
    n = static_cast<size_t>(params_.top_k);
    std::partial_sort(first, at(n), cand_.end(), better);
    sorted = true;
  }
  double max_logit = -std::numeric_limits<double>::infinity();
  for (size_t i = 0; i < n; ++i) max_logit = std::max(max_logit, static_cast<double>(cand_[i].logit));
  const auto weight = [&](const Candidate& c, double inv_t) {
    return std::exp((static_cast<double>(c.logit) - max_logit) * inv_t);
  };

  // top-p normalises over the top-k survivors, at temperature 1.
  double mass = 0.0;
  if (params_.top_p < 1.0f)
    for (size_t i = 0; i < n; ++i) mass += weight(cand_[i], 1.0);

  // min-p before top-p: both keep prefixes, so the result is the shorter one either way.
  if (params_.min_p > 0.0f) {
    const auto keep = [&](const Candidate& c) { return weight(c, 1.0) >= params_.min_p; };
    n = static_cast<size_t>((sorted ? std::partition_point(first, at(n), keep) : std::partition(first, at(n), keep)) - first);
  }

  if (params_.top_p < 1.0f) {
    const double target = params_.top_p * mass;
    if (!sorted) {
      n = top_p_candidates(n, max_logit, target);
      std::sort(first, at(n), better);
    }
    double cum = 0.0;
    size_t keep = 0;
    while (keep < n && cum < target) cum += weight(cand_[keep++], 1.0);
    n = std::max<size_t>(keep, 1);
  }

  // Temperature, then draw.
  const double inv_t = 1.0 / params_.temperature;
  weights_.resize(n);
  double sum = 0.0;
  for (size_t i = 0; i < n; ++i) sum += weights_[i] = weight(cand_[i], inv_t);
  const double target = next_uniform() * sum;
  double cum = 0.0;
  for (size_t i = 0; i < n; ++i) {
    cum += weights_[i];
    if (target < cum) return cand_[i].id;
  }
  return cand_[n - 1].id;  // rounding left target at the very top
}

}  // namespace ls
