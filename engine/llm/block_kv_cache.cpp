#include "engine/llm/block_kv_cache.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>

#include "base/error.h"
#include "engine/graph.h"
#include "engine/ops.h"

namespace sc::engine {

const char* to_string(BlockHome home) {
  switch (home) {
    case BlockHome::kDevice:
      return "device";
    case BlockHome::kHost:
      return "host";
    case BlockHome::kFile:
      return "file";
  }
  return "?";
}

// An anonymous file of fixed-size slots: created in the spill folder and
// unlinked at once, so only its descriptor keeps it.
struct BlockKvCache::SpillFile {
  int fd = -1;
  std::string where;  // the folder, for errors
  std::size_t slot_bytes = 0;
  std::int64_t slots = 0;
  std::vector<std::int64_t> free;

  SpillFile(const std::filesystem::path& dir, std::size_t bytes) : slot_bytes(bytes) {
    const std::filesystem::path folder = dir.empty() ? std::filesystem::temp_directory_path() : dir;
    where = folder.string();
    std::string name = (folder / "streamcanvas-kv-XXXXXX").string();
    fd = ::mkstemp(name.data());
    if (fd < 0) throw Error("KV cache: cannot create a spill file in {}: {}", where, std::strerror(errno));
    ::unlink(name.c_str());
  }
  ~SpillFile() {
    if (fd >= 0) ::close(fd);
  }
  std::int64_t take() {
    if (!free.empty()) {
      const std::int64_t s = free.back();
      free.pop_back();
      return s;
    }
    return slots++;
  }
  void write(std::int64_t slot, std::size_t offset, const void* data, std::size_t n) const {
    const auto* p = static_cast<const char*>(data);
    auto at = static_cast<off_t>(static_cast<std::size_t>(slot) * slot_bytes + offset);
    while (n > 0) {
      const ssize_t w = ::pwrite(fd, p, n, at);
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) throw Error("KV cache: writing the spill file in {} failed: {}", where, std::strerror(errno));
      p += w, at += w, n -= static_cast<std::size_t>(w);
    }
  }
  void read(std::int64_t slot, std::size_t offset, void* data, std::size_t n) const {
    auto* p = static_cast<char*>(data);
    auto at = static_cast<off_t>(static_cast<std::size_t>(slot) * slot_bytes + offset);
    while (n > 0) {
      const ssize_t r = ::pread(fd, p, n, at);
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) throw Error("KV cache: reading the spill file in {} failed: {}", where, std::strerror(errno));
      p += r, at += r, n -= static_cast<std::size_t>(r);
    }
  }
};

BlockKvCache::BlockKvCache(std::int64_t layers, std::int64_t kv_heads, std::int64_t head_dim, const Options& options,
                           DType dtype, Device device)
    : layers_(layers),
      kv_heads_(kv_heads),
      head_dim_(head_dim),
      block_tokens_(options.block_tokens),
      dtype_(dtype),
      device_(device),
      spill_dir_(options.spill_dir) {
  // No limit: as many rows as int64 positions allow, so free() never overflows.
  max_tokens_ = options.max_tokens > 0 ? options.max_tokens : (std::int64_t{1} << 62);
  if (layers <= 0 || kv_heads <= 0 || head_dim <= 0 || block_tokens_ <= 0) {
    throw Error("KV cache: layers {}, kv heads {}, head size {} and block size {} must all be positive", layers,
                kv_heads, head_dim, block_tokens_);
  }
  if (!is_floating(dtype)) throw Error("KV cache: {} is not a floating-point dtype", to_string(dtype));
}

BlockKvCache::~BlockKvCache() = default;
BlockKvCache::BlockKvCache(BlockKvCache&&) noexcept = default;
BlockKvCache& BlockKvCache::operator=(BlockKvCache&&) noexcept = default;

std::size_t BlockKvCache::block_bytes() const {
  return static_cast<std::size_t>(2 * layers_ * kv_heads_ * block_tokens_ * head_dim_) * dtype_size(dtype_);
}

void BlockKvCache::check_layer(std::int64_t layer) const {
  if (layer < 0 || layer >= layers_) throw Error("KV cache: layer {} of {}", layer, layers_);
}

void BlockKvCache::check_block(std::int64_t block) const {
  if (block < 0 || block >= static_cast<std::int64_t>(blocks_.size()) || block >= blocks()) {
    throw Error("KV cache: block {} does not exist; the cache holds {} blocks of {} tokens ({} tokens)", block,
                blocks(), block_tokens_, length_);
  }
}

BlockKvCache::Block BlockKvCache::new_block() const {
  Block b;
  for (std::int64_t l = 0; l < layers_; ++l) {
    b.k.push_back(Tensor::zeros({1, kv_heads_, block_tokens_, head_dim_}, dtype_, device_));
    b.v.push_back(Tensor::zeros({1, kv_heads_, block_tokens_, head_dim_}, dtype_, device_));
  }
  return b;
}

Tensor BlockKvCache::read_part(std::int64_t slot, std::int64_t i) const {
  const std::size_t one = block_bytes() / static_cast<std::size_t>(2 * layers_);
  Tensor t = Tensor::empty({1, kv_heads_, block_tokens_, head_dim_}, dtype_, Device::kCpu);
  file_->read(slot, static_cast<std::size_t>(i) * one, t.raw_data(), one);
  return t;
}

std::pair<Tensor, Tensor> BlockKvCache::on_device(const Block& b, std::int64_t layer) const {
  const auto l = static_cast<std::size_t>(layer);
  switch (b.home) {
    case BlockHome::kDevice:
      return {b.k[l], b.v[l]};
    case BlockHome::kHost:
      ++loads_from_host_;
      return {b.k[l].to(device_), b.v[l].to(device_)};
    case BlockHome::kFile:
      ++loads_from_file_;
      return {read_part(b.slot, 2 * layer).to(device_), read_part(b.slot, 2 * layer + 1).to(device_)};
  }
  throw Error("KV cache: block in an unknown place");
}

void BlockKvCache::move(std::int64_t block, BlockHome home) {
  check_block(block);
  relocate(blocks_[static_cast<std::size_t>(block)], home);
}

void BlockKvCache::relocate(Block& b, BlockHome home) {
  if (b.home == home) return;
  // Every layer's K and V, on the host (from wherever the block is).
  std::vector<Tensor> host;
  if (b.home == BlockHome::kFile) {
    for (std::int64_t i = 0; i < 2 * layers_; ++i) host.push_back(read_part(b.slot, i));
  } else {
    for (std::int64_t l = 0; l < layers_; ++l) {
      host.push_back(b.k[static_cast<std::size_t>(l)].to(Device::kCpu));
      host.push_back(b.v[static_cast<std::size_t>(l)].to(Device::kCpu));
    }
  }
  if (home == BlockHome::kFile) {
    if (!file_) file_ = std::make_unique<SpillFile>(spill_dir_, block_bytes());
    const std::int64_t slot = file_->take();
    const std::size_t one = block_bytes() / static_cast<std::size_t>(2 * layers_);
    try {
      for (std::size_t i = 0; i < host.size(); ++i) file_->write(slot, i * one, host[i].raw_data(), one);
    } catch (...) {
      file_->free.push_back(slot);
      throw;
    }
    b.k.clear();
    b.v.clear();
    b.slot = slot;
  } else {
    const Device to = home == BlockHome::kDevice ? device_ : Device::kCpu;
    std::vector<Tensor> k, v;
    for (std::int64_t l = 0; l < layers_; ++l) {
      k.push_back(host[static_cast<std::size_t>(2 * l)].to(to));
      v.push_back(host[static_cast<std::size_t>(2 * l + 1)].to(to));
    }
    b.k = std::move(k);
    b.v = std::move(v);
    if (b.slot >= 0) file_->free.push_back(b.slot);
    b.slot = -1;
  }
  b.home = home;
}

BlockHome BlockKvCache::home(std::int64_t block) const {
  check_block(block);
  return blocks_[static_cast<std::size_t>(block)].home;
}

BlockKvCache::Rows BlockKvCache::rows(std::int64_t layer, std::int64_t first, std::int64_t last) const {
  check_layer(layer);
  const auto written = static_cast<std::int64_t>(blocks_.size()) * block_tokens_;
  if (first < 0 || last < first || last > written) {
    throw Error("KV cache: rows [{}, {}) of layer {}: {} rows are written", first, last, layer, written);
  }
  std::vector<Tensor> ks, vs;
  for (std::int64_t b = first / block_tokens_; b * block_tokens_ < last; ++b) {
    const std::int64_t lo = std::max(first, b * block_tokens_) - b * block_tokens_;
    const std::int64_t hi = std::min(last, (b + 1) * block_tokens_) - b * block_tokens_;
    auto [k, v] = on_device(blocks_[static_cast<std::size_t>(b)], layer);
    ks.push_back(lo == 0 && hi == block_tokens_ ? k : slice(k, 2, lo, hi));
    vs.push_back(lo == 0 && hi == block_tokens_ ? v : slice(v, 2, lo, hi));
  }
  if (ks.empty()) {
    return {Tensor::empty({1, kv_heads_, 0, head_dim_}, dtype_, device_),
            Tensor::empty({1, kv_heads_, 0, head_dim_}, dtype_, device_)};
  }
  if (ks.size() == 1) return {ks[0].clone(), vs[0].clone()};
  return {concat(std::span<const Tensor>(ks), 2), concat(std::span<const Tensor>(vs), 2)};
}

BlockKvCache::Rows BlockKvCache::gather(std::int64_t layer, std::span<const std::int64_t> which,
                                        std::int64_t limit) const {
  check_layer(layer);
  if (limit < 0 || limit > length_) limit = length_;
  std::vector<Tensor> ks, vs;
  for (std::int64_t b : which) {
    check_block(b);
    const std::int64_t first = b * block_tokens_, last = std::min(limit, (b + 1) * block_tokens_);
    if (last <= first) continue;  // a block that starts at or after the limit has nothing before it
    const BlockKvCache::Rows r = rows(layer, first, last);
    ks.push_back(r.keys);
    vs.push_back(r.values);
  }
  if (ks.empty()) return rows(layer, 0, 0);
  if (ks.size() == 1) return {ks[0], vs[0]};
  return {concat(std::span<const Tensor>(ks), 2), concat(std::span<const Tensor>(vs), 2)};
}

BlockKvCache::Rows BlockKvCache::append(std::int64_t layer, const Tensor& k, const Tensor& v) {
  check_layer(layer);
  check_kv_rows(*this, layer, k, v);
  const std::int64_t s = k.dim(2), end = length_ + s;
  if (end > max_tokens_) {
    throw Error("KV cache: {} new tokens after {} do not fit its limit of {} (layer {})", s, length_, max_tokens_,
                layer);
  }
  while (static_cast<std::int64_t>(blocks_.size()) * block_tokens_ < end) blocks_.push_back(new_block());
  // A block being written must be on the device.
  for (std::int64_t b = length_ / block_tokens_; b * block_tokens_ < end; ++b) {
    Block& blk = blocks_[static_cast<std::size_t>(b)];
    if (blk.home != BlockHome::kDevice) relocate(blk, BlockHome::kDevice);
  }
  const auto l = static_cast<std::size_t>(layer);
  for (std::int64_t b = length_ / block_tokens_; b * block_tokens_ < end; ++b) {
    Block& blk = blocks_[static_cast<std::size_t>(b)];
    const std::int64_t lo = std::max(length_, b * block_tokens_), hi = std::min(end, (b + 1) * block_tokens_);
    for (std::int64_t h = 0; h < kv_heads_; ++h) {
      Tensor kd = blk.k[l].select(0).select(h).slice(0, lo - b * block_tokens_, hi - b * block_tokens_);
      Tensor vd = blk.v[l].select(0).select(h).slice(0, lo - b * block_tokens_, hi - b * block_tokens_);
      copy_into(kd, k.select(0).select(h).slice(0, lo - length_, hi - length_));
      copy_into(vd, v.select(0).select(h).slice(0, lo - length_, hi - length_));
    }
  }
  if (!selection_) return rows(layer, 0, end);
  // The selected blocks' rows from before the selection; rows written since
  // are the tail's, read once.
  const BlockKvCache::Rows chosen = gather(layer, *selection_, tail_start_);
  const BlockKvCache::Rows tail = rows(layer, tail_start_, end);
  return {concat({chosen.keys, tail.keys}, 2), concat({chosen.values, tail.values}, 2)};
}

void BlockKvCache::advance(std::int64_t tokens) {
  if (tokens < 0 || length_ + tokens > static_cast<std::int64_t>(blocks_.size()) * block_tokens_) {
    throw Error("KV cache: cannot advance {} tokens from {}: only {} rows are written", tokens, length_,
                static_cast<std::int64_t>(blocks_.size()) * block_tokens_ - length_);
  }
  length_ += tokens;
}

void BlockKvCache::truncate(std::int64_t length) {
  if (length < 0 || length > length_) {
    throw Error("KV cache: cannot truncate to {} tokens; it holds {}", length, length_);
  }
  length_ = length;
  const std::int64_t keep = blocks();
  for (auto b = static_cast<std::int64_t>(blocks_.size()) - 1; b >= keep; --b) {
    if (blocks_[static_cast<std::size_t>(b)].slot >= 0)
      file_->free.push_back(blocks_[static_cast<std::size_t>(b)].slot);
    blocks_.pop_back();
  }
  if (selection_) std::erase_if(*selection_, [&](std::int64_t b) { return b >= keep; });
  tail_start_ = std::min(tail_start_, length_);
}

void BlockKvCache::select(std::vector<std::int64_t> which) {
  for (std::int64_t b : which) check_block(b);
  selection_ = std::move(which);
  tail_start_ = length_;
}

void BlockKvCache::select_all() {
  selection_.reset();
  tail_start_ = 0;
}

BlockKvCache::Usage BlockKvCache::usage() const {
  Usage u;
  const std::size_t bytes = block_bytes();
  for (const Block& b : blocks_) {
    switch (b.home) {
      case BlockHome::kDevice:
        ++u.device_blocks, u.device_bytes += bytes;
        break;
      case BlockHome::kHost:
        ++u.host_blocks, u.host_bytes += bytes;
        break;
      case BlockHome::kFile:
        ++u.file_blocks, u.file_bytes += bytes;
        break;
    }
  }
  u.loads_from_host = loads_from_host_;
  u.loads_from_file = loads_from_file_;
  return u;
}

}  // namespace sc::engine
