#include "engine/mapped_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "base/error.h"

namespace sc::engine {

std::shared_ptr<MappedFile> MappedFile::open(const std::filesystem::path& path, const std::string& what) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw Error("{} '{}': cannot open: {}", what, path.string(), errno_text(errno));
  struct stat st {};
  if (fstat(fd, &st) != 0) {
    const int err = errno;
    ::close(fd);
    throw Error("{} '{}': cannot stat: {}", what, path.string(), errno_text(err));
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    throw Error("{} '{}': not a regular file", what, path.string());
  }
  const auto size = static_cast<std::size_t>(st.st_size);
  if (size == 0) {
    ::close(fd);
    std::shared_ptr<MappedFile> empty(new MappedFile(nullptr, 0));
    empty->self_ = empty;
    return empty;
  }
  // Private and writable: a weight view written in place (e.g. by a fused
  // model) changes this process's pages only, never the file.
  void* addr = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
  const int err = errno;
  ::close(fd);
  if (addr == MAP_FAILED)
    throw Error("{} '{}': cannot memory-map {} bytes: {}", what, path.string(), size, errno_text(err));
  std::shared_ptr<MappedFile> file(new MappedFile(static_cast<std::byte*>(addr), size));
  file->self_ = file;
  return file;
}

MappedFile::~MappedFile() {
  if (data_) munmap(data_, size_);
}

std::shared_ptr<Storage> MappedFile::storage() const {
  return std::make_shared<Storage>(data_, size_, Device::kCpu, std::shared_ptr<const void>(self_.lock()));
}

void MappedFile::release(std::size_t offset, std::size_t bytes) const {
  if (!data_ || offset >= size_) return;
  const auto page = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
  const std::size_t end = offset + bytes < size_ ? offset + bytes : size_;
  const std::size_t first = (offset + page - 1) / page * page;
  const std::size_t last = end / page * page;
  if (last > first) madvise(data_ + first, last - first, MADV_DONTNEED);
}

}  // namespace sc::engine
