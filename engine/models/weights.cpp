#include "engine/models/weights.h"

#include <fstream>
#include <sstream>

#include "base/error.h"
#include "engine/ops.h"

namespace sc::engine {
namespace {

std::string shape_text(const std::vector<std::int64_t>& shape) {
  std::string out = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (i) out += ", ";
    out += std::to_string(shape[i]);
  }
  return out + "]";
}

std::int64_t count(const std::vector<std::int64_t>& shape) {
  std::int64_t n = 1;
  for (std::int64_t d : shape) n *= d;
  return n;
}

}  // namespace

std::vector<ManifestEntry> parse_manifest(std::string_view text, const std::string& source) {
  std::vector<ManifestEntry> out;
  std::istringstream in{std::string(text)};
  std::string line;
  int number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (line.empty()) continue;
    std::istringstream fields(line);
    ManifestEntry e;
    std::string dims;
    if (!(fields >> e.name >> e.dtype >> dims)) {
      throw Error(source + ":" + std::to_string(number) + ": expected \"<name> <dtype> <d0,d1,...>\", found \"" + line +
                  "\"");
    }
    std::istringstream ds(dims);
    std::string d;
    while (std::getline(ds, d, ',')) {
      try {
        std::size_t used = 0;
        const long long v = std::stoll(d, &used);
        if (used != d.size() || v < 0) throw std::invalid_argument(d);
        e.shape.push_back(v);
      } catch (const std::exception&) {
        throw Error(source + ":" + std::to_string(number) + ": bad dimension \"" + d + "\" in \"" + line + "\"");
      }
    }
    out.push_back(std::move(e));
  }
  return out;
}

std::vector<ManifestEntry> load_manifest(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw Error("cannot open manifest " + file.string());
  std::ostringstream text;
  text << in.rdbuf();
  return parse_manifest(text.str(), file.string());
}

WeightSource WeightSource::from_checkpoint(std::shared_ptr<const Checkpoint> checkpoint, Mode mode) {
  WeightSource w;
  w.source_ = checkpoint->name();
  w.mode_ = mode;
  for (const std::string& name : checkpoint->names()) {
    const TensorEntry& e = checkpoint->entry(name);
    w.entries_[name] = ManifestEntry{name, e.dtype, e.shape};
  }
  w.checkpoint_ = std::move(checkpoint);
  return w;
}

WeightSource WeightSource::from_file(const std::filesystem::path& file, Mode mode) {
  return from_checkpoint(std::make_shared<const Checkpoint>(Checkpoint::open(file)), mode);
}

WeightSource WeightSource::from_manifest(std::vector<ManifestEntry> entries, std::string source, Mode mode) {
  WeightSource w;
  w.source_ = std::move(source);
  w.mode_ = mode;
  for (ManifestEntry& e : entries) {
    std::string name = e.name;
    w.entries_[name] = std::move(e);
  }
  return w;
}

WeightSource WeightSource::from_maker(std::vector<ManifestEntry> entries, std::string source, TensorMaker make) {
  WeightSource w = from_manifest(std::move(entries), std::move(source), Mode::kStrict);
  w.make_ = std::move(make);
  return w;
}

bool WeightSource::contains(std::string_view name) const { return entries_.find(name) != entries_.end(); }

std::vector<std::int64_t> WeightSource::shape_of(std::string_view name) const {
  const auto it = entries_.find(name);
  if (it == entries_.end()) throw Error(source_ + ": missing tensor " + std::string(name));
  return it->second.shape;
}

std::string WeightSource::dtype_of(std::string_view name) const {
  const auto it = entries_.find(name);
  if (it == entries_.end()) throw Error(source_ + ": missing tensor " + std::string(name));
  return it->second.dtype;
}

std::vector<std::string> WeightSource::names() const {
  std::vector<std::string> out;
  for (const auto& [name, e] : entries_) out.push_back(name);
  return out;
}

Tensor WeightSource::get(const std::string& name, const Shape& shape) {
  const auto it = entries_.find(name);
  if (it == entries_.end()) {
    if (mode_ == Mode::kStrict) {
      throw Error(source_ + ": missing tensor " + name + " (expected shape " + shape.to_string() + ")");
    }
    missing_.push_back(name);
    return Tensor();
  }
  used_.insert(name);
  if (Shape(it->second.shape) != shape) {
    const std::string what = name + ": expected shape " + shape.to_string() + ", found " + shape_text(it->second.shape);
    if (mode_ == Mode::kStrict) throw Error(source_ + ": tensor " + what);
    mismatched_.push_back(what);
    return Tensor();
  }
  used_parameters_ += count(it->second.shape);
  Tensor t;
  if (make_) {
    t = make_(it->second);
  } else if (checkpoint_) {
    t = checkpoint_->load(name, shape, DType::kF32);
  }
  if (!t.defined() || (device_ == Device::kCpu && dtype_ == DType::kF32)) return t;
  // Upload f32 and narrow on the device: one conversion per weight, at load.
  return to_dtype(t.to(device_), dtype_);
}

void WeightSource::set_placement(Device device, DType dtype) {
  if (!is_floating(dtype))
    throw Error("{}: weights must be stored as a floating-point dtype, not {}", source_, to_string(dtype));
  if (device == Device::kCpu && dtype != DType::kF32) {
    throw Error("{}: the CPU backend computes in f32; {} weights need the CUDA path", source_, to_string(dtype));
  }
  device_ = device;
  dtype_ = dtype;
}

void WeightSource::ignore(const std::string& name) {
  if (contains(name)) used_.insert(name);
}

std::vector<std::string> WeightSource::unused() const {
  std::vector<std::string> out;
  for (const auto& [name, e] : entries_) {
    if (!used_.contains(name)) out.push_back(name);
  }
  return out;
}

std::string join_name(std::string_view prefix, std::string_view name) {
  if (prefix.empty()) return std::string(name);
  std::string out(prefix);
  out += '.';
  out += name;
  return out;
}

std::filesystem::path find_weights_file(const std::filesystem::path& folder, std::string_view variant) {
  namespace fs = std::filesystem;
  if (!fs::is_directory(folder)) throw Error("model folder not found: " + folder.string());
  std::vector<std::string> tried;
  std::vector<std::string> suffixes;
  if (!variant.empty()) {
    std::string suffix = ".";
    suffix += variant;
    suffixes.push_back(suffix);
  }
  suffixes.push_back("");
  for (const std::string& suffix : suffixes) {
    for (const char* stem : {"diffusion_pytorch_model", "model"}) {
      for (const char* ext : {".safetensors", ".safetensors.index.json"}) {
        const std::string file = std::string(stem) + suffix + ext;
        tried.push_back(file);
        if (fs::is_regular_file(folder / file)) return folder / file;
      }
    }
  }
  // Only a variant present (e.g. just the .fp16 file): take it when it is the
  // only one, rather than make the user name it.
  std::vector<fs::path> variants;
  for (const auto& entry : fs::directory_iterator(folder)) {
    const std::string name = entry.path().filename().string();
    for (const char* stem : {"diffusion_pytorch_model.", "model."}) {
      if (name.rfind(stem, 0) == 0 && name.size() > 12 && name.ends_with(".safetensors")) {
        variants.push_back(entry.path());
      }
    }
  }
  if (variants.size() == 1) return variants.front();
  std::string list;
  for (const std::string& t : tried) {
    if (!list.empty()) list += ", ";
    list += t;
  }
  throw Error("no weights in " + folder.string() + ": looked for " + list);
}

}  // namespace sc::engine
