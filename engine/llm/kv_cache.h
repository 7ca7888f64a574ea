#pragma once
// The first KV cache: one contiguous K and one V tensor per layer,
// [1, kv_heads, capacity, head_dim], allocated up front on the model's device
// in its dtype, and a length (the rows every layer holds). Keys are stored
// after the rotary embedding, so a cached row never needs rotating again.
// A forward writes its new rows at [length(), length() + S) layer by layer
// (append) and moves the length once every layer has written (advance), so a
// forward that throws part way leaves the cache as it was: the rows it wrote
// lie past length() and the next append overwrites them.
// What comes later (engine/llm/README.md): fixed-size blocks, a block table,
// blocks in pinned host memory or a file, gathered in any order.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "engine/tensor.h"

namespace sc::engine {

// What a model's forward needs of a KV cache: the contiguous KvCache below,
// or the BlockKvCache (engine/llm/block_kv_cache.h) whose blocks move and are
// gathered in any order. append() writes a layer's new rows and returns the
// rows attention reads (new ones included) as contiguous tensors; advance()
// moves the length once every layer has appended.
class KvStore {
 public:
  struct Rows {
    Tensor keys;    // [1, kv_heads, rows read, head_dim]
    Tensor values;  // the same
  };
  virtual ~KvStore() = default;
  virtual std::int64_t layers() const = 0;
  virtual std::int64_t kv_heads() const = 0;
  virtual std::int64_t head_dim() const = 0;
  virtual std::int64_t capacity() const = 0;
  virtual std::int64_t length() const = 0;
  std::int64_t free() const { return capacity() - length(); }
  virtual DType dtype() const = 0;
  virtual Device device() const = 0;
  virtual Rows append(std::int64_t layer, const Tensor& k, const Tensor& v) = 0;
  virtual void advance(std::int64_t tokens) = 0;
  virtual void truncate(std::int64_t length) = 0;
};

// Throws naming the layer, both tensors and what `cache` holds unless k and v
// are [1, kv_heads, S, head_dim] (the same S) in the cache's dtype on its
// device: what every append checks first.
void check_kv_rows(const KvStore& cache, std::int64_t layer, const Tensor& k, const Tensor& v);

class KvCache : public KvStore {
 public:
  KvCache() = default;
  // Zero-filled K and V for `layers` layers on `device` in `dtype`. Throws
  // when a size is not positive.
  KvCache(std::int64_t layers, std::int64_t kv_heads, std::int64_t head_dim, std::int64_t capacity,
          DType dtype = DType::kF32, Device device = Device::kCpu);

  std::int64_t layers() const override { return static_cast<std::int64_t>(keys_.size()); }
  std::int64_t kv_heads() const override { return kv_heads_; }
  std::int64_t head_dim() const override { return head_dim_; }
  std::int64_t capacity() const override { return capacity_; }
  std::int64_t length() const override { return length_; }
  DType dtype() const override { return dtype_; }
  Device device() const override { return device_; }
  std::size_t bytes() const;  // K and V of every layer

  // Writes k and v, [1, kv_heads, S, head_dim] in the cache's dtype on its
  // device, at rows [length(), length() + S) of `layer`, and returns that
  // layer's rows [0, length() + S) (copies, contiguous, what `attention`
  // takes). The length does not move. Throws naming the layer and the sizes
  // when the rows do not fit the capacity or the tensors the cache.
  Rows append(std::int64_t layer, const Tensor& k, const Tensor& v) override;
  // After every layer has appended S rows: length() += S.
  void advance(std::int64_t tokens) override;
  // Forgets rows [length, length()) (a rejected continuation, or a new turn
  // after a shared prefix); length must be <= length().
  void truncate(std::int64_t length) override;
  void clear() { truncate(0); }

  // Rows [0, length()) of a layer, [1, kv_heads, length(), head_dim] copies.
  Tensor keys(std::int64_t layer) const;
  Tensor values(std::int64_t layer) const;

 private:
  void check_layer(std::int64_t layer) const;

  std::vector<Tensor> keys_, values_;  // [1, kv_heads, capacity, head_dim] each
  std::int64_t kv_heads_ = 0, head_dim_ = 0, capacity_ = 0, length_ = 0;
  DType dtype_ = DType::kF32;
  Device device_ = Device::kCpu;
};

}  // namespace sc::engine
