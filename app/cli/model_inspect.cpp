#include "app/cli/model_inspect.h"

#include <nlohmann/json.hpp>

#include "engine/models/model_folder.h"

namespace sc::app {

ModelInspectOutput inspect_model_folder(const std::string& dir, const std::string& variant, bool json,
                                        const std::string& manifest) {
  const engine::ModelReport report = engine::inspect_model(dir, variant, manifest);
  ModelInspectOutput out;
  out.ok = report.ok();
  if (!json) {
    out.text = engine::format_report(report);
    return out;
  }
  nlohmann::json j;
  j["folder"] = report.folder.string();
  j["family"] = report.family;
  j["ok"] = report.ok();
  j["components"] = nlohmann::json::array();
  for (const engine::ComponentReport& c : report.components) {
    nlohmann::json parts = nlohmann::json::object();
    for (const auto& [part, n] : c.parts) parts[part] = n;
    j["components"].push_back({{"name", c.name},
                               {"parts", parts},
                               {"class", c.class_name},
                               {"weights", c.weights.string()},
                               {"tensors", c.tensors},
                               {"parameters", c.parameters},
                               {"dtypes", c.dtypes},
                               {"missing", c.missing},
                               {"wrong_shape", c.mismatched},
                               {"unused", c.unused},
                               {"error", c.error},
                               {"ok", c.ok()}});
  }
  out.text = j.dump(1) + "\n";
  return out;
}

}  // namespace sc::app
