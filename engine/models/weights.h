#pragma once
// Where a model's weights come from, and the bookkeeping that makes a load
// trustworthy. A model's loader asks for every tensor by name and shape; the
// WeightSource answers from a checkpoint (real load), or from a manifest of
// names and shapes only (dry run: no data, tensors come back undefined), so the
// same loader code proves on a full-size manifest that a real download loads.
// Every request is recorded: what was used, what was missing, what had the
// wrong shape, and what the file holds that nobody asked for.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "engine/safetensors.h"
#include "engine/tensor.h"

namespace sc::engine {

struct ManifestEntry {
  std::string name;
  std::string dtype;  // "F32", "F16", ...
  std::vector<std::int64_t> shape;
};

// Lines "<name> <dtype> <d0,d1,...>" (tests/golden/manifests). Errors name the
// file and line.
std::vector<ManifestEntry> parse_manifest(std::string_view text, const std::string& source);
std::vector<ManifestEntry> load_manifest(const std::filesystem::path& file);

// Where a model's weights go at load: the CPU in f32 (the default), or e.g.
// CUDA in f16 for the GPU path.
struct Placement {
  Device device = Device::kCpu;
  DType dtype = DType::kF32;
};

class WeightSource {
 public:
  enum class Mode {
    kStrict,  // the first missing or misshapen tensor throws
    kSurvey   // problems are recorded and the tensor comes back undefined
  };

  static WeightSource from_checkpoint(std::shared_ptr<const Checkpoint> checkpoint, Mode mode = Mode::kStrict);
  static WeightSource from_file(const std::filesystem::path& file, Mode mode = Mode::kStrict);
  // Names and shapes only: every tensor comes back undefined.
  static WeightSource from_manifest(std::vector<ManifestEntry> entries, std::string source, Mode mode = Mode::kStrict);

  // Names and shapes from a manifest, tensors from `make` (benchmarks build
  // full-size models with random weights this way).
  using TensorMaker = std::function<Tensor(const ManifestEntry& entry)>;
  static WeightSource from_maker(std::vector<ManifestEntry> entries, std::string source, TensorMaker make);

  // Where loaded tensors go: by default f32 on the CPU. For the GPU path,
  // e.g. (Device::kCuda, DType::kF16): each weight is converted once, at load.
  void set_placement(Device device, DType dtype);
  void set_placement(const Placement& p) { set_placement(p.device, p.dtype); }
  Device device() const { return device_; }
  DType dtype() const { return dtype_; }

  const std::string& source() const { return source_; }
  bool dry() const { return checkpoint_ == nullptr && !make_; }
  bool contains(std::string_view name) const;
  // The stored shape; throws (naming the source) when absent.
  std::vector<std::int64_t> shape_of(std::string_view name) const;
  std::string dtype_of(std::string_view name) const;
  std::vector<std::string> names() const;

  // The tensor with exactly this shape, on the placement's device and dtype. Strict: throws naming the
  // source, the tensor and expected vs found shape. Survey: records it.
  Tensor get(const std::string& name, const Shape& shape);
  // Marks a tensor as knowingly ignored (e.g. buffers a reference library
  // saves but the math does not need).
  void ignore(const std::string& name);

  // Names stored but never asked for (nor ignored), sorted.
  std::vector<std::string> unused() const;
  const std::vector<std::string>& missing() const { return missing_; }
  const std::vector<std::string>& mismatched() const { return mismatched_; }  // "name: expected .. found .."
  std::int64_t used_parameters() const { return used_parameters_; }

 private:
  WeightSource() = default;

  std::string source_;
  Mode mode_ = Mode::kStrict;
  std::shared_ptr<const Checkpoint> checkpoint_;
  TensorMaker make_;
  std::map<std::string, ManifestEntry, std::less<>> entries_;
  std::set<std::string, std::less<>> used_;
  std::vector<std::string> missing_;
  std::vector<std::string> mismatched_;
  std::int64_t used_parameters_ = 0;
  Device device_ = Device::kCpu;
  DType dtype_ = DType::kF32;
};

// "a.b" + "." + "c", skipping the dot when the prefix is empty.
std::string join_name(std::string_view prefix, std::string_view name);

// The weights file of one component folder (unet/, vae/, text_encoder/, or a
// TAESD folder): model or diffusion_pytorch_model, .safetensors or a sharded
// .safetensors.index.json, the given variant ("fp16") preferred when present;
// a lone variant file is taken when no plain one exists.
// Throws naming the folder and the names it looked for.
std::filesystem::path find_weights_file(const std::filesystem::path& folder, std::string_view variant = "");

}  // namespace sc::engine
