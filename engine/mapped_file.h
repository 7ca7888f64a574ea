#pragma once
// A whole file mapped into memory, private and copy-on-write: tensors can be
// views of it (engine/safetensors.h, engine/onnx/reader.h), and writing to
// one changes this process's pages only, never the file. Shared so the
// mapping lives as long as the last tensor viewing it.
#include <cstddef>
#include <filesystem>
#include <memory>
#include <string>

#include "engine/storage.h"

namespace sc::engine {

class MappedFile {
 public:
  // Throws sc::Error "<what> '<path>': <problem>" when the path cannot be
  // opened, is not a regular file or cannot be mapped. An empty file maps to
  // no memory (data() is null, size() 0).
  static std::shared_ptr<MappedFile> open(const std::filesystem::path& path, const std::string& what);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  std::byte* data() const { return data_; }
  std::size_t size() const { return size_; }
  // Storage over the whole mapping that keeps it alive, for Tensor::wrap.
  std::shared_ptr<Storage> storage() const;
  // Gives the pages wholly inside [offset, offset + bytes) back to the
  // kernel (they read again from the file if touched): after a tensor's bytes
  // were copied out, the copy alone counts toward the process's memory.
  void release(std::size_t offset, std::size_t bytes) const;

 private:
  MappedFile(std::byte* data, std::size_t size) : data_(data), size_(size) {}
  std::byte* data_;
  std::size_t size_;
  std::weak_ptr<const MappedFile> self_;
};

}  // namespace sc::engine
