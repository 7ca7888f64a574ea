#include "engine/llm/kv_cache.h"

#include "base/error.h"
#include "engine/graph.h"
#include "engine/ops.h"

namespace sc::engine {

void check_kv_rows(const KvStore& cache, std::int64_t layer, const Tensor& k, const Tensor& v) {
  for (const Tensor* t : {&k, &v}) {
    if (!t->defined() || t->rank() != 4 || t->dim(0) != 1 || t->dim(1) != cache.kv_heads() ||
        t->dim(3) != cache.head_dim() || t->dim(2) != k.dim(2) || t->dtype() != cache.dtype() ||
        t->device() != cache.device()) {
      throw Error("KV cache: layer {} was given k {} and v {}; it holds {}[1, {}, S, {}] on {}", layer,
                  k.defined() ? k.describe() : "undefined", v.defined() ? v.describe() : "undefined",
                  to_string(cache.dtype()), cache.kv_heads(), cache.head_dim(), to_string(cache.device()));
    }
  }
}

KvCache::KvCache(std::int64_t layers, std::int64_t kv_heads, std::int64_t head_dim, std::int64_t capacity, DType dtype,
                 Device device)
    : kv_heads_(kv_heads), head_dim_(head_dim), capacity_(capacity), dtype_(dtype), device_(device) {
  if (layers <= 0 || kv_heads <= 0 || head_dim <= 0 || capacity <= 0) {
    throw Error("KV cache: layers {}, kv heads {}, head size {} and capacity {} must all be positive", layers, kv_heads,
                head_dim, capacity);
  }
  if (!is_floating(dtype)) throw Error("KV cache: {} is not a floating-point dtype", to_string(dtype));
  keys_.reserve(static_cast<std::size_t>(layers));
  values_.reserve(static_cast<std::size_t>(layers));
  for (std::int64_t i = 0; i < layers; ++i) {
    keys_.push_back(Tensor::zeros({1, kv_heads, capacity, head_dim}, dtype, device));
    values_.push_back(Tensor::zeros({1, kv_heads, capacity, head_dim}, dtype, device));
  }
}

std::size_t KvCache::bytes() const {
  std::size_t n = 0;
  for (std::size_t i = 0; i < keys_.size(); ++i) n += keys_[i].nbytes() + values_[i].nbytes();
  return n;
}

void KvCache::check_layer(std::int64_t layer) const {
  if (layer < 0 || layer >= layers()) throw Error("KV cache: layer {} of {}", layer, layers());
}

KvCache::Rows KvCache::append(std::int64_t layer, const Tensor& k, const Tensor& v) {
  check_layer(layer);
  check_kv_rows(*this, layer, k, v);
  const std::int64_t s = k.dim(2), end = length_ + s;
  if (end > capacity_) {
    throw Error("KV cache: {} new tokens after {} do not fit its capacity of {} (layer {})", s, length_, capacity_,
                layer);
  }
  // Per head, the new rows are one contiguous run of the cache's storage and
  // of k's: a copy each, no kernel.
  const std::size_t li = static_cast<std::size_t>(layer);
  for (std::int64_t h = 0; h < kv_heads_; ++h) {
    Tensor kd = keys_[li].select(0).select(h).slice(0, length_, end);
    Tensor vd = values_[li].select(0).select(h).slice(0, length_, end);
    copy_into(kd, k.select(0).select(h));
    copy_into(vd, v.select(0).select(h));
  }
  return {slice(keys_[li], 2, 0, end), slice(values_[li], 2, 0, end)};
}

void KvCache::advance(std::int64_t tokens) {
  if (tokens < 0 || length_ + tokens > capacity_) {
    throw Error("KV cache: cannot advance {} tokens from {} (capacity {})", tokens, length_, capacity_);
  }
  length_ += tokens;
}

void KvCache::truncate(std::int64_t length) {
  if (length < 0 || length > length_) {
    throw Error("KV cache: cannot truncate to {} tokens; it holds {}", length, length_);
  }
  length_ = length;
}

Tensor KvCache::keys(std::int64_t layer) const {
  check_layer(layer);
  return slice(keys_[static_cast<std::size_t>(layer)], 2, 0, length_);
}

Tensor KvCache::values(std::int64_t layer) const {
  check_layer(layer);
  return slice(values_[static_cast<std::size_t>(layer)], 2, 0, length_);
}

}  // namespace sc::engine
