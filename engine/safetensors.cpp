#include "engine/safetensors.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <optional>
#include <set>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "base/error.h"
#include "engine/json_text.h"
#include "engine/mapped_file.h"
#include "engine/ops.h"

namespace sc::engine {

namespace {

using nlohmann::json;

struct DTypeInfo {
  std::string_view name;
  std::size_t bytes;
  std::optional<DType> ours;  // how load() returns it; none: not loadable
};

// Every dtype the format defines, so a valid file with, say, an F64 buffer
// we never read still opens; only loading that tensor is refused.
constexpr DTypeInfo kDTypes[] = {
    {"F32", 4, DType::kF32},   {"F16", 2, DType::kF16},      {"BF16", 2, DType::kBF16},    {"I32", 4, DType::kI32},
    {"I64", 8, DType::kI64},   {"U8", 1, DType::kU8},        {"F64", 8, std::nullopt},     {"I8", 1, std::nullopt},
    {"I16", 2, std::nullopt},  {"U16", 2, std::nullopt},     {"U32", 4, std::nullopt},     {"U64", 8, std::nullopt},
    {"BOOL", 1, std::nullopt}, {"F8_E4M3", 1, std::nullopt}, {"F8_E5M2", 1, std::nullopt},
};

const DTypeInfo* find_dtype(std::string_view name) {
  for (const DTypeInfo& d : kDTypes) {
    if (d.name == name) return &d;
  }
  return nullptr;
}

// Returns the offset of the first byte that breaks UTF-8 (overlong forms,
// surrogates and code points past U+10FFFF included), or npos.
std::size_t first_invalid_utf8(std::span<const std::byte> s) {
  std::size_t i = 0;
  const std::size_t n = s.size();
  while (i < n) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    std::size_t len;
    std::uint32_t cp;
    if ((c & 0xe0) == 0xc0) {
      len = 2;
      cp = c & 0x1fu;
    } else if ((c & 0xf0) == 0xe0) {
      len = 3;
      cp = c & 0x0fu;
    } else if ((c & 0xf8) == 0xf0) {
      len = 4;
      cp = c & 0x07u;
    } else {
      return i;
    }
    if (i + len > n) return i;
    for (std::size_t k = 1; k < len; ++k) {
      const auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xc0) != 0x80) return i;
      cp = (cp << 6) | (cc & 0x3fu);
    }
    const std::uint32_t min_cp = len == 2 ? 0x80 : len == 3 ? 0x800 : 0x10000;
    if (cp < min_cp || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return i;
    i += len;
  }
  return std::string_view::npos;
}

std::int64_t json_index(const json& v) {
  if (v.is_number_unsigned()) {
    const auto u = v.get<std::uint64_t>();
    return u > static_cast<std::uint64_t>(INT64_MAX) ? -1 : static_cast<std::int64_t>(u);
  }
  if (v.is_number_integer()) return v.get<std::int64_t>();
  return -1;
}

using detail::json_brief;
using detail::json_kind;

// Parses JSON, turning every nlohmann failure into sc::Error and noting
// duplicate keys at depth 1 (which JSON parsers silently collapse).
json parse_json(std::string_view text, const std::string& what, std::string* duplicate_key) {
  std::set<std::string> keys;
  auto callback = [&](int depth, json::parse_event_t event, json& parsed) {
    if (event == json::parse_event_t::key && depth == 1 && duplicate_key && duplicate_key->empty()) {
      const std::string& key = parsed.get_ref<const std::string&>();
      if (!keys.insert(key).second) *duplicate_key = key;
    }
    return true;
  };
  try {
    return json::parse(text.begin(), text.end(), callback, true, false);
  } catch (const json::exception& e) {
    throw Error("{} is not valid JSON: {}", what, e.what());
  }
}

}  // namespace

struct SafetensorsFile::Impl {
  std::string name;
  std::shared_ptr<const void> owner;  // the mapping or the copied bytes
  std::byte* base = nullptr;
  std::size_t size = 0;
  std::size_t data_offset = 0;
  std::map<std::string, std::string> metadata;
  std::map<std::string, TensorEntry, std::less<>> entries;
  std::shared_ptr<Storage> storage;  // the whole file, for zero-copy views

  template <typename... Args>
  [[noreturn]] void fail(fmt::format_string<Args...> f, Args&&... args) const {
    throw Error("safetensors file '{}': {}", name, fmt::format(f, std::forward<Args>(args)...));
  }

  void parse();
  void parse_entry(const std::string& key, const json& value, std::uint64_t data_size);
};

void SafetensorsFile::Impl::parse() {
  if (size < 8) fail("truncated: {} bytes, but a safetensors file starts with an 8-byte header length", size);
  std::uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | static_cast<std::uint8_t>(base[i]);
  if (n > kMaxSafetensorsHeaderBytes) {
    fail("header length {} exceeds the limit of {} bytes (corrupt, or not a safetensors file)", n,
         kMaxSafetensorsHeaderBytes);
  }
  if (n > size - 8) fail("truncated: the header claims {} bytes but only {} follow the length field", n, size - 8);
  if (n < 2) fail("header of {} bytes cannot hold a JSON object", n);
  const std::span<const std::byte> header(base + 8, static_cast<std::size_t>(n));
  if (const std::size_t bad = first_invalid_utf8(header); bad != std::string_view::npos) {
    fail("header is not valid UTF-8 (byte {} of the header)", bad);
  }
  if (static_cast<char>(header[0]) != '{') fail("header does not start with '{{' (not a JSON object)");
  data_offset = 8 + static_cast<std::size_t>(n);
  const std::uint64_t data_size = size - data_offset;

  std::string duplicate;
  const json root = [&] {
    try {
      return parse_json(std::string_view(reinterpret_cast<const char*>(header.data()), header.size()), "header",
                        &duplicate);
    } catch (const Error& e) {
      fail("{}", e.what());
    }
  }();
  if (!root.is_object()) fail("header is {}, expected a JSON object", json_kind(root));
  if (!duplicate.empty()) fail("header names '{}' twice", duplicate);

  for (const auto& [key, value] : root.items()) {
    if (key == "__metadata__") {
      if (!value.is_object()) fail("__metadata__ is {}, expected an object of strings", json_kind(value));
      for (const auto& [mk, mv] : value.items()) {
        if (!mv.is_string()) fail("__metadata__ entry '{}' is {}, expected a string", mk, json_kind(mv));
        metadata.emplace(mk, mv.get<std::string>());
      }
      continue;
    }
    parse_entry(key, value, data_size);
  }

  // The data must be covered exactly: sorted by range, each tensor starts
  // where the previous ended, the first at 0, the last at the end.
  std::vector<const TensorEntry*> order;
  order.reserve(entries.size());
  for (const auto& [k, e] : entries) order.push_back(&e);
  std::sort(order.begin(), order.end(), [](const TensorEntry* a, const TensorEntry* b) {
    return a->begin != b->begin ? a->begin < b->begin : a->end < b->end;
  });
  std::uint64_t at = 0;
  const TensorEntry* prev = nullptr;
  for (const TensorEntry* e : order) {
    if (e->begin < at) {
      fail("tensors '{}' [{}, {}) and '{}' [{}, {}) overlap", prev->name, prev->begin, prev->end, e->name, e->begin,
           e->end);
    }
    if (e->begin > at) fail("bytes [{}, {}) of the data are not part of any tensor (a hole)", at, e->begin);
    at = e->end;
    prev = e;
  }
  if (at != data_size) {
    fail("the last {} bytes of the data are not part of any tensor (data is {} bytes, tensors end at {})",
         data_size - at, data_size, at);
  }
}

void SafetensorsFile::Impl::parse_entry(const std::string& key, const json& value, std::uint64_t data_size) {
  if (!value.is_object()) fail("entry '{}' is {}, expected an object", key, json_kind(value));
  TensorEntry e;
  e.name = key;
  const auto dt = value.find("dtype");
  if (dt == value.end() || !dt->is_string()) fail("tensor '{}' has no \"dtype\" string", key);
  e.dtype = dt->get<std::string>();
  const DTypeInfo* info = find_dtype(e.dtype);
  if (!info) fail("tensor '{}' has unknown dtype '{}'", key, e.dtype);

  const auto sh = value.find("shape");
  if (sh == value.end() || !sh->is_array()) fail("tensor '{}' has no \"shape\" array", key);
  std::uint64_t bytes = info->bytes;
  for (const json& d : *sh) {
    const std::int64_t v = json_index(d);
    if (v < 0) fail("tensor '{}' has a shape entry that is not a non-negative integer: {}", key, json_brief(d));
    e.shape.push_back(v);
    if (__builtin_mul_overflow(bytes, static_cast<std::uint64_t>(v), &bytes)) {
      fail("tensor '{}' shape {} is too large", key, json_brief(*sh));
    }
  }

  const auto off = value.find("data_offsets");
  if (off == value.end() || !off->is_array() || off->size() != 2) {
    fail("tensor '{}' needs \"data_offsets\": [begin, end]", key);
  }
  const std::int64_t b = json_index((*off)[0]), en = json_index((*off)[1]);
  if (b < 0 || en < 0) fail("tensor '{}' data_offsets {} are not non-negative integers", key, json_brief(*off));
  e.begin = static_cast<std::uint64_t>(b);
  e.end = static_cast<std::uint64_t>(en);
  if (e.begin > e.end) fail("tensor '{}' data_offsets [{}, {}] end before they begin", key, e.begin, e.end);
  if (e.end > data_size) {
    fail("tensor '{}' data_offsets [{}, {}] run past the end of the data ({} bytes; file truncated?)", key, e.begin,
         e.end, data_size);
  }
  if (e.end - e.begin != bytes) {
    fail("tensor '{}' is {} {} = {} bytes, but its data_offsets [{}, {}] hold {} bytes", key, e.dtype, json_brief(*sh),
         bytes, e.begin, e.end, e.end - e.begin);
  }
  entries.emplace(key, std::move(e));
}

SafetensorsFile SafetensorsFile::open(const std::filesystem::path& path) {
  auto impl = std::make_shared<Impl>();
  impl->name = path.string();
  const std::shared_ptr<MappedFile> mapping = MappedFile::open(path, "safetensors file");
  impl->base = mapping->data();
  impl->size = mapping->size();
  impl->owner = mapping;
  impl->parse();
  impl->storage = mapping->storage();
  return SafetensorsFile(std::move(impl));
}

SafetensorsFile SafetensorsFile::from_bytes(std::span<const std::byte> bytes, std::string name) {
  auto impl = std::make_shared<Impl>();
  impl->name = std::move(name);
  auto copy = std::make_shared<std::vector<std::byte>>(bytes.begin(), bytes.end());
  impl->base = copy->data();
  impl->size = copy->size();
  impl->owner = copy;
  impl->parse();
  return SafetensorsFile(std::move(impl));
}

const std::string& SafetensorsFile::name() const { return impl_->name; }
const std::map<std::string, std::string>& SafetensorsFile::metadata() const { return impl_->metadata; }

std::vector<std::string> SafetensorsFile::names() const {
  std::vector<std::string> out;
  out.reserve(impl_->entries.size());
  for (const auto& [k, e] : impl_->entries) out.push_back(k);
  return out;
}

bool SafetensorsFile::contains(std::string_view tensor) const {
  return impl_->entries.find(tensor) != impl_->entries.end();
}

const TensorEntry& SafetensorsFile::entry(std::string_view tensor) const {
  const auto it = impl_->entries.find(tensor);
  if (it == impl_->entries.end()) impl_->fail("has no tensor '{}'", tensor);
  return it->second;
}

Tensor SafetensorsFile::load(std::string_view tensor) const {
  const TensorEntry& e = entry(tensor);
  const DTypeInfo* info = find_dtype(e.dtype);
  if (!info->ours) {
    impl_->fail("tensor '{}' is {}, which the engine does not load (supported: F32, F16, BF16, I32, I64, U8)", e.name,
                e.dtype);
  }
  if (e.shape.size() > static_cast<std::size_t>(kMaxDims)) {
    impl_->fail("tensor '{}' has {} dimensions; the engine supports at most {}", e.name, e.shape.size(), kMaxDims);
  }
  const Shape shape(e.shape);
  const DType stored = *info->ours;
  const std::size_t offset = impl_->data_offset + static_cast<std::size_t>(e.begin);
  const std::byte* src = impl_->base + offset;
  Tensor raw;
  if (impl_->storage && reinterpret_cast<std::uintptr_t>(src) % info->bytes == 0) {
    raw = Tensor::wrap(impl_->storage, offset, shape, stored);
  } else {
    // Copied bytes, or data not aligned for its element type.
    raw = Tensor::empty(shape, stored);
    if (raw.nbytes()) std::memcpy(raw.raw_data(), src, raw.nbytes());
  }
  return stored == DType::kF16 || stored == DType::kBF16 ? to_dtype(raw, DType::kF32) : raw;
}

Tensor SafetensorsFile::load(std::string_view tensor, const Shape& expected, DType expected_dtype) const {
  const TensorEntry& e = entry(tensor);
  const DTypeInfo* info = find_dtype(e.dtype);
  const bool is_float = info->ours && is_floating(*info->ours);
  if (expected_dtype == DType::kF32 ? !is_float : info->ours != expected_dtype) {
    impl_->fail("tensor '{}' is {}; expected {}", e.name, e.dtype,
                expected_dtype == DType::kF32 ? "a float tensor (F32, F16 or BF16)" : to_string(expected_dtype));
  }
  if (e.shape != expected.to_vector()) {
    impl_->fail("tensor '{}' has shape [{}]; expected {}", e.name, fmt::join(e.shape, ", "), expected.to_string());
  }
  return load(tensor);
}

// ---- writing ----------------------------------------------------------------

namespace {

const char* safetensors_dtype(DType dtype) {
  switch (dtype) {
    case DType::kF32:
      return "F32";
    case DType::kF16:
      return "F16";
    case DType::kBF16:
      return "BF16";
    case DType::kI32:
      return "I32";
    case DType::kI64:
      return "I64";
    case DType::kU8:
      return "U8";
  }
  return "?";
}

}  // namespace

void write_safetensors(const std::filesystem::path& path, const std::map<std::string, Tensor>& tensors,
                       const std::map<std::string, std::string>& metadata) {
  json header = json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  std::vector<Tensor> host;
  host.reserve(tensors.size());
  std::uint64_t offset = 0;
  for (const auto& [name, t] : tensors) {
    if (name == "__metadata__")
      throw Error("safetensors file '{}': '__metadata__' cannot name a tensor", path.string());
    if (!t.defined()) throw Error("safetensors file '{}': tensor '{}' is undefined", path.string(), name);
    host.push_back(t.to(Device::kCpu));
    header[name] = {{"dtype", safetensors_dtype(t.dtype())},
                    {"shape", t.shape().to_vector()},
                    {"data_offsets", {offset, offset + t.nbytes()}}};
    offset += t.nbytes();
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');
  const std::filesystem::path tmp = path.string() + ".partial";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) throw Error("safetensors file '{}': cannot create: {}", tmp.string(), errno_text(errno));
    char length[8];
    for (int i = 0; i < 8; ++i) length[i] = static_cast<char>((text.size() >> (8 * i)) & 0xff);
    out.write(length, 8);
    out.write(text.data(), static_cast<std::streamsize>(text.size()));
    for (const Tensor& t : host)
      out.write(static_cast<const char*>(t.raw_data()), static_cast<std::streamsize>(t.nbytes()));
    out.flush();
    if (!out) {
      std::error_code ec;
      std::filesystem::remove(tmp, ec);
      throw Error("safetensors file '{}': writing failed (disk full?)", path.string());
    }
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) {
    std::filesystem::remove(tmp, ec);
    throw Error("safetensors file '{}': cannot move the written file into place: {}", path.string(), ec.message());
  }
}

// ---- sharded checkpoints ---------------------------------------------------

std::map<std::string, std::string> parse_safetensors_index(std::string_view text, const std::string& source) {
  const json root = parse_json(text, fmt::format("safetensors index '{}'", source), nullptr);
  if (!root.is_object()) throw Error("safetensors index '{}' is {}, expected a JSON object", source, json_kind(root));
  const auto wm = root.find("weight_map");
  if (wm == root.end() || !wm->is_object()) {
    throw Error("safetensors index '{}' has no \"weight_map\" object (tensor name -> shard file)", source);
  }
  std::map<std::string, std::string> out;
  for (const auto& [tensor, shard] : wm->items()) {
    if (!shard.is_string()) {
      throw Error("safetensors index '{}': weight_map['{}'] is {}, expected a shard file name", source, tensor,
                  json_kind(shard));
    }
    const std::string file = shard.get<std::string>();
    // Shards live next to the index; a path here would let an index reach
    // any file on the machine.
    if (file.empty() || file == "." || file == ".." || file.find('/') != std::string::npos ||
        file.find('\\') != std::string::npos || file.find('\0') != std::string::npos) {
      throw Error("safetensors index '{}': weight_map['{}'] = '{}' is not a plain file name in the index's folder",
                  source, tensor, file);
    }
    out.emplace(tensor, file);
  }
  if (out.empty()) throw Error("safetensors index '{}' has an empty weight_map", source);
  return out;
}

namespace {

constexpr std::uintmax_t kMaxIndexBytes = 64u << 20;

std::string read_text_file(const std::filesystem::path& path, const char* what) {
  std::error_code ec;
  const std::uintmax_t size = std::filesystem::file_size(path, ec);
  if (ec) throw Error("{} '{}': cannot read: {}", what, path.string(), ec.message());
  if (size > kMaxIndexBytes)
    throw Error("{} '{}' is {} bytes; more than {} is not a real index", what, path.string(), size, kMaxIndexBytes);
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error("{} '{}': cannot open: {}", what, path.string(), errno_text(errno));
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

bool ends_with(const std::string& s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::filesystem::path resolve_folder(const std::filesystem::path& dir) {
  for (const char* name : {"model.safetensors.index.json", "diffusion_pytorch_model.safetensors.index.json",
                           "model.safetensors", "diffusion_pytorch_model.safetensors"}) {
    if (std::filesystem::exists(dir / name)) return dir / name;
  }
  std::vector<std::filesystem::path> found;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
    const std::string n = e.path().filename().string();
    if (ends_with(n, ".safetensors") || ends_with(n, ".safetensors.index.json")) found.push_back(e.path());
  }
  if (ec) throw Error("checkpoint folder '{}': cannot list: {}", dir.string(), ec.message());
  if (found.size() == 1) return found.front();
  if (found.empty()) throw Error("checkpoint folder '{}' holds no .safetensors file", dir.string());
  std::sort(found.begin(), found.end());
  std::string list;
  for (const auto& f : found) list += fmt::format(" {}", f.filename().string());
  throw Error("checkpoint folder '{}' holds several candidates ({} ); open one of them by name", dir.string(), list);
}

}  // namespace

Checkpoint Checkpoint::open(const std::filesystem::path& path) {
  std::filesystem::path target = path;
  if (std::filesystem::is_directory(path)) target = resolve_folder(path);
  Checkpoint c;
  c.name_ = target.string();
  if (!ends_with(target.filename().string(), ".index.json")) {
    c.shards_.push_back(SafetensorsFile::open(target));
    for (const std::string& n : c.shards_.front().names()) c.where_.emplace(n, 0);
    return c;
  }
  const auto map = parse_safetensors_index(read_text_file(target, "safetensors index"), c.name_);
  std::map<std::string, std::size_t> shard_index;
  for (const auto& [tensor, file] : map) {
    auto [it, inserted] = shard_index.emplace(file, c.shards_.size());
    if (inserted) {
      const std::filesystem::path shard_path = target.parent_path() / file;
      if (!std::filesystem::exists(shard_path)) {
        throw Error("safetensors index '{}': shard '{}' (holding '{}') is missing; download it next to the index",
                    c.name_, file, tensor);
      }
      c.shards_.push_back(SafetensorsFile::open(shard_path));
    }
    const SafetensorsFile& shard = c.shards_[it->second];
    if (!shard.contains(tensor)) {
      throw Error("safetensors index '{}' maps '{}' to shard '{}', which does not hold it", c.name_, tensor, file);
    }
    c.where_.emplace(tensor, it->second);
  }
  return c;
}

std::vector<std::string> Checkpoint::names() const {
  std::vector<std::string> out;
  out.reserve(where_.size());
  for (const auto& [k, v] : where_) out.push_back(k);
  return out;
}

bool Checkpoint::contains(std::string_view tensor) const { return where_.find(tensor) != where_.end(); }

const SafetensorsFile& Checkpoint::file_of(std::string_view tensor) const {
  const auto it = where_.find(tensor);
  if (it == where_.end()) throw Error("checkpoint '{}' has no tensor '{}'", name_, tensor);
  return shards_[it->second];
}

const TensorEntry& Checkpoint::entry(std::string_view tensor) const { return file_of(tensor).entry(tensor); }
Tensor Checkpoint::load(std::string_view tensor) const { return file_of(tensor).load(tensor); }
Tensor Checkpoint::load(std::string_view tensor, const Shape& expected, DType expected_dtype) const {
  return file_of(tensor).load(tensor, expected, expected_dtype);
}

}  // namespace sc::engine
