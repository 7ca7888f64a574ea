#pragma once
// safetensors reader (https://github.com/huggingface/safetensors format):
//   [u64 little-endian N][N bytes of UTF-8 JSON header][data]
// The file is memory-mapped and the header validated before any tensor is
// touched: size limit, UTF-8, JSON shape of every entry, known dtype, byte
// size = element size x shape, offsets inside the data, and the data fully
// covered by tensors without overlaps or holes (the format's own rules).
// Anything else is an sc::Error naming the file and the problem; no input
// can make the reader read outside the file (tests/fuzz proves it).
//
// Checkpoint opens what users download: one .safetensors file, a sharded set
// through its *.safetensors.index.json, or a folder holding either.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "engine/tensor.h"

namespace sc::engine {

// The reference implementation's limit; real headers are a few MB at most.
inline constexpr std::uint64_t kMaxSafetensorsHeaderBytes = 100'000'000;

struct TensorEntry {
  std::string name;
  std::string dtype;  // as written in the file: "F32", "BF16", "I64", ...
  std::vector<std::int64_t> shape;
  std::uint64_t begin = 0;  // byte range within the data section
  std::uint64_t end = 0;
};

class SafetensorsFile {
 public:
  static SafetensorsFile open(const std::filesystem::path& path);
  // Parses a copy of bytes already in memory (tests, fuzzing); `name` stands
  // in for the path in errors.
  static SafetensorsFile from_bytes(std::span<const std::byte> bytes, std::string name);

  const std::string& name() const;
  const std::map<std::string, std::string>& metadata() const;
  std::vector<std::string> names() const;  // sorted
  bool contains(std::string_view tensor) const;
  const TensorEntry& entry(std::string_view tensor) const;

  // F16 and BF16 are converted to f32; F32, I32, I64 and U8 come as stored
  // (views of the mapping when aligned: copy-on-write, never written back).
  // Other dtypes the format allows (F64, I8, BOOL, ...) are an error here.
  Tensor load(std::string_view tensor) const;
  // Also checks the shape, and the kind of dtype: f32 expects a float tensor
  // (F32/F16/BF16, converted), an integer dtype expects exactly that dtype.
  Tensor load(std::string_view tensor, const Shape& expected, DType expected_dtype = DType::kF32) const;

  struct Impl;

 private:
  explicit SafetensorsFile(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}
  std::shared_ptr<const Impl> impl_;
};

// weight_map of a *.safetensors.index.json: tensor name -> shard file name.
// Shard names must be plain file names (no folders), since they are opened
// next to the index. Errors name `source`.
std::map<std::string, std::string> parse_safetensors_index(std::string_view json, const std::string& source);

// Writes `tensors` as a safetensors file (the format's own layout: names
// sorted, header padded with spaces to 8 bytes so every tensor is aligned).
// Any engine dtype; tensors on the GPU are copied to the host first. The file
// is written beside `path` under a temporary name and renamed into place, so
// a failed write never leaves a half file where the old one was. Errors name
// the file.
void write_safetensors(const std::filesystem::path& path, const std::map<std::string, Tensor>& tensors,
                       const std::map<std::string, std::string>& metadata = {});

class Checkpoint {
 public:
  // A .safetensors file, a .safetensors.index.json, or a folder with exactly
  // one of model / diffusion_pytorch_model (.safetensors or sharded index),
  // or else a single *.safetensors file.
  static Checkpoint open(const std::filesystem::path& path);

  const std::string& name() const { return name_; }  // what was opened
  std::vector<std::string> names() const;
  bool contains(std::string_view tensor) const;
  const TensorEntry& entry(std::string_view tensor) const;
  const SafetensorsFile& file_of(std::string_view tensor) const;
  Tensor load(std::string_view tensor) const;
  Tensor load(std::string_view tensor, const Shape& expected, DType expected_dtype = DType::kF32) const;
  std::size_t shard_count() const { return shards_.size(); }

 private:
  std::string name_;
  std::vector<SafetensorsFile> shards_;
  std::map<std::string, std::size_t, std::less<>> where_;  // tensor -> shard index
};

}  // namespace sc::engine
