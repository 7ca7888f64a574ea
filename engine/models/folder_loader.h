#pragma once
// The one load sequence of every model folder: open the weights file, place
// its tensors (device and dtype), run the model's loader over them, and refuse
// a file holding tensors the model never asked for: such a file is another
// model than its config describes (or the name mapping has a bug), and would
// otherwise run with part of its weights ignored. Missing and misshapen
// tensors are refused by the strict WeightSource as they are asked for.
// Every error names the file and the tensor.
#include <filesystem>
#include <string_view>
#include <utility>

#include "engine/config.h"
#include "engine/models/weights.h"

namespace sc::engine {

enum class UnusedWeights {
  kError,  // a tensor nobody asked for (nor ignored) fails the load
  kAllow
};

// Throws sc::Error "<file>: <n> tensors not used by <model>, e.g. <name>"
// when `weights` holds tensors never asked for nor ignored.
void require_all_used(const WeightSource& weights, std::string_view model);

// Opens `file` (strict), places its weights, returns load(WeightSource&) and,
// with UnusedWeights::kError, checks that every stored tensor was used.
// `model` names the model in errors ("UNet2DConditionModel").
template <typename Load>
auto load_weights_file(const std::filesystem::path& file, const Placement& placement, std::string_view model,
                       Load&& load, UnusedWeights unused = UnusedWeights::kError) {
  WeightSource weights = WeightSource::from_file(file);
  weights.set_placement(placement);
  auto loaded = std::forward<Load>(load)(weights);
  if (unused == UnusedWeights::kError) require_all_used(weights, model);
  return loaded;
}

// A component folder as diffusers / transformers save it: config.json parsed
// by ModelConfig::from_config, the weights file find_weights_file picks for
// `variant`, loaded by Model::load(WeightSource&, const ModelConfig&).
template <typename Model, typename ModelConfig>
Model load_model_folder(const std::filesystem::path& folder, std::string_view variant, const Placement& placement,
                        std::string_view model) {
  const ModelConfig config = ModelConfig::from_config(Config::load(folder / "config.json"));
  return load_weights_file(find_weights_file(folder, variant), placement, model,
                           [&](WeightSource& weights) { return Model::load(weights, config); });
}

}  // namespace sc::engine
