#pragma once
// config.json access with errors a user can act on: every failure names the
// file, the field (as a path, e.g. "vision_config.hidden_size" or
// "block_out_channels[2]") and what was expected.
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace sc::engine {

// Files bigger than this are not configs; refusing them early keeps a wrong
// path (a checkpoint, say) from being read into memory.
inline constexpr std::uintmax_t kMaxConfigBytes = 16u << 20;

class Config {
 public:
  static Config load(const std::filesystem::path& file);
  // `source` names the text in errors (a path, or "<test>").
  static Config parse(std::string_view text, std::string source);

  const std::string& source() const { return source_; }
  // The dotted path of this object within the file ("" at the top), and of
  // one of its fields ("vision_config.hidden_size"), as errors name them.
  const std::string& path() const { return prefix_; }
  std::string path_of(std::string_view field) const;

  // Present and not null.
  bool has(std::string_view field) const;

  // Required field. T is one of bool, int, std::int64_t, float, double,
  // std::string, std::vector<int>, std::vector<std::int64_t>,
  // std::vector<float>, std::vector<std::string>.
  template <typename T>
  T get(std::string_view field) const;
  // Optional field: fallback when absent or null, an error when present with
  // the wrong type (a typo in a value should not be silently ignored).
  template <typename T>
  T get_or(std::string_view field, T fallback) const;
  // A nested object (e.g. text_config in a VLM's config).
  Config child(std::string_view field) const;

  const nlohmann::json& json() const;

 private:
  Config(std::shared_ptr<const nlohmann::json> root, const nlohmann::json* node, std::string source, std::string prefix)
      : root_(std::move(root)), node_(node), source_(std::move(source)), prefix_(std::move(prefix)) {}

  std::shared_ptr<const nlohmann::json> root_;  // keeps node_ alive
  const nlohmann::json* node_;
  std::string source_;
  std::string prefix_;
};

}  // namespace sc::engine
