#pragma once
// A KV cache in fixed-size blocks of tokens, for streams longer than any
// device holds (streaming video QA: ReKV keeps every frame's keys and values
// and brings back the blocks a question needs; Flash-VStream's memory decides
// which to keep). Block b holds rows [b * block_tokens, (b + 1) * block_tokens)
// of every layer's K and V ([1, kv_heads, block_tokens, head_dim] each, keys
// after the rotary embedding, as KvCache stores them). A block lives on the
// cache's device, in host memory or in a spill file, and moves whole (every
// layer) between them; attention reads a chosen list of blocks in any order,
// gathered into one contiguous K and V.
//
// Which rows attention reads: by default every row in order, exactly what
// KvCache gives (the same values, bit for bit). After select(blocks) it reads
// those blocks' rows in the order given (their rows before the selection
// point), then every row written since the selection (the tail: the question
// after retrieved memories, or a new chunk after its local window).
//
// Moves and gathers copy; nothing here is a kernel. A block that is not on the
// device when attention needs it is copied in for that gather and stays where
// it is (usage() counts those loads). Host memory is ordinary memory: copies to
// and from a GPU go through the runtime's pinned staging buffer. The spill
// file is created in spill_dir on the first spill and unlinked at once, so it
// never outlives the process (nor survives a crash).
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "engine/llm/kv_cache.h"
#include "engine/tensor.h"

namespace sc::engine {

enum class BlockHome : std::uint8_t { kDevice, kHost, kFile };
const char* to_string(BlockHome home);

class BlockKvCache : public KvStore {
 public:
  struct Options {
    std::int64_t block_tokens = 64;
    std::filesystem::path spill_dir;  // empty: the system's temporary folder
    std::int64_t max_tokens = 0;      // the most rows it takes (0: no limit but memory)
  };
  // Throws when a size is not positive or the dtype is not floating point.
  BlockKvCache(std::int64_t layers, std::int64_t kv_heads, std::int64_t head_dim, const Options& options,
               DType dtype = DType::kF32, Device device = Device::kCpu);
  ~BlockKvCache();
  BlockKvCache(BlockKvCache&&) noexcept;
  BlockKvCache& operator=(BlockKvCache&&) noexcept;

  std::int64_t layers() const override { return layers_; }
  std::int64_t kv_heads() const override { return kv_heads_; }
  std::int64_t head_dim() const override { return head_dim_; }
  std::int64_t capacity() const override { return max_tokens_; }
  std::int64_t length() const override { return length_; }
  DType dtype() const override { return dtype_; }
  Device device() const override { return device_; }
  std::int64_t block_tokens() const { return block_tokens_; }
  // Blocks holding rows [0, length()) (the last may be partly filled).
  std::int64_t blocks() const { return (length_ + block_tokens_ - 1) / block_tokens_; }
  // One block's K and V of every layer.
  std::size_t block_bytes() const;

  // As KvCache::append: writes k and v ([1, kv_heads, S, head_dim] in the
  // cache's dtype on its device) at rows [length(), length() + S) of `layer`,
  // allocating blocks on the device as needed (a tail block that was moved
  // away comes back first), and returns the rows attention reads (above),
  // including the new ones. The length does not move.
  Rows append(std::int64_t layer, const Tensor& k, const Tensor& v) override;
  // After every layer has appended S rows: length() += S.
  void advance(std::int64_t tokens) override;
  // Forgets rows [length, length()): blocks past it are freed (file slots
  // too) and leave the selection.
  void truncate(std::int64_t length) override;

  // Attention reads `blocks` (each < blocks(), any order, repeats allowed)
  // and then the rows written from now on. Throws naming a block out of range.
  void select(std::vector<std::int64_t> blocks);
  // Back to every row in order.
  void select_all();
  // The selected blocks; nullopt when every row is read.
  const std::optional<std::vector<std::int64_t>>& selection() const { return selection_; }

  // Moves a block (every layer's K and V). Throws naming the block when it is
  // out of range or the spill file cannot be written or read.
  void move(std::int64_t block, BlockHome home);
  BlockHome home(std::int64_t block) const;

  // Rows [first, last) of one layer, contiguous on the device, wherever their
  // blocks are; what attention reads is built from these.
  Rows rows(std::int64_t layer, std::int64_t first, std::int64_t last) const;
  // The given blocks' rows of one layer, in order, contiguous on the device:
  // each block's rows before `limit` (default: length()).
  Rows gather(std::int64_t layer, std::span<const std::int64_t> blocks, std::int64_t limit = -1) const;

  struct Usage {
    std::int64_t device_blocks = 0, host_blocks = 0, file_blocks = 0;
    std::size_t device_bytes = 0, host_bytes = 0, file_bytes = 0;
    std::int64_t loads_from_host = 0, loads_from_file = 0;  // blocks copied in for a gather
  };
  Usage usage() const;

 private:
  struct Block {
    BlockHome home = BlockHome::kDevice;
    std::vector<Tensor> k, v;  // per layer; empty while in the file
    std::int64_t slot = -1;    // its place in the spill file
  };
  struct SpillFile;

  void check_layer(std::int64_t layer) const;
  void check_block(std::int64_t block) const;
  Block new_block() const;
  void relocate(Block& b, BlockHome home);
  // The block's layer on the device: itself, or a copy in (counted).
  std::pair<Tensor, Tensor> on_device(const Block& b, std::int64_t layer) const;
  // Part i of a spilled block (2 * layer: its K, 2 * layer + 1: its V), on the host.
  Tensor read_part(std::int64_t slot, std::int64_t i) const;

  std::int64_t layers_ = 0, kv_heads_ = 0, head_dim_ = 0, block_tokens_ = 0, length_ = 0, max_tokens_ = 0;
  DType dtype_ = DType::kF32;
  Device device_ = Device::kCpu;
  std::filesystem::path spill_dir_;
  std::vector<Block> blocks_;
  std::optional<std::vector<std::int64_t>> selection_;
  std::int64_t tail_start_ = 0;  // rows from here on are read after the selection
  std::unique_ptr<SpillFile> file_;
  mutable std::int64_t loads_from_host_ = 0, loads_from_file_ = 0;
};

}  // namespace sc::engine
