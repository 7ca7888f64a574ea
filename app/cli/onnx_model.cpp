#include "app/cli/onnx_model.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>

#include "base/error.h"
#include "engine/device.h"
#include "engine/ops.h"
#include "engine/safetensors.h"

#if SC_HAVE_ONNX
#include "engine/models/ditto/ditto_folder.h"
#include "engine/onnx/executor.h"
#include "engine/onnx/reader.h"
#endif

namespace sc::app {

namespace fs = std::filesystem;

namespace {

std::vector<fs::path> onnx_files(const fs::path& dir) {
  std::vector<fs::path> files;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec))
    if (e.is_regular_file() && e.path().extension() == ".onnx") files.push_back(e.path());
  std::sort(files.begin(), files.end());
  return files;
}

}  // namespace

bool is_onnx_target(const std::string& path) {
  const fs::path p(path);
  if (p.extension() == ".onnx") return true;
  std::error_code ec;
  if (!fs::is_directory(p, ec)) return false;
  for (const char* config : {"model_index.json", "config.json"})
    if (fs::exists(p / config)) return false;
  return !onnx_files(p).empty();
}

#if SC_HAVE_ONNX

namespace {

// 1234567 -> "1,234,567". Built forwards (GCC 12 at -O3 mistakes string::insert
// here for an overlapping memcpy and -Werror stops the release build).
std::string with_commas(std::int64_t n) {
  const std::string digits = std::to_string(n);
  const std::size_t lead = digits[0] == '-' ? 1 : 0;
  std::string out = digits.substr(0, lead);
  for (std::size_t i = lead; i < digits.size(); ++i) {
    if (i > lead && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

struct Report {
  nlohmann::json json;
  std::string text;
  bool ok = false;
};

Report inspect_one(const fs::path& file) {
  const engine::onnx::Model m = engine::onnx::read_model(file);
  Report r;
  std::map<std::string, int> op_counts;
  for (const engine::onnx::Node& n : m.nodes) {
    op_counts[n.domain.empty() ? n.op_type : n.domain + ":" + n.op_type]++;
  }
  std::map<std::string, int> types;
  std::int64_t params = 0;
  for (const auto& [name, c] : m.initializers) {
    types[engine::onnx::elem_type_name(c.type)]++;
    params += c.value.numel();
  }
  const std::vector<engine::onnx::Unsupported> bad = engine::onnx::find_unsupported(m);
  const bool opset_ok =
      m.opset() >= engine::onnx::min_supported_opset() && m.opset() <= engine::onnx::max_supported_opset();
  r.ok = bad.empty() && opset_ok;

  std::string& t = r.text;
  t += fmt::format("model: {} ({}", file.string(), with_commas(static_cast<std::int64_t>(m.file_bytes)));
  t += m.external_bytes
           ? fmt::format(" bytes + {} of external data)\n", with_commas(static_cast<std::int64_t>(m.external_bytes)))
           : " bytes)\n";
  std::string opsets;
  for (const auto& [domain, v] : m.opsets) {
    opsets += fmt::format("{}{} {}", opsets.empty() ? "" : ", ", domain.empty() ? "ai.onnx" : domain, v);
  }
  t += fmt::format("producer: {}, IR version {}, opsets: {}\n", m.producer.empty() ? "unknown" : m.producer,
                   m.ir_version, opsets);
  if (!opset_ok) {
    t += fmt::format("  the engine follows ai.onnx opsets {} to {}; this model imports {}\n",
                     engine::onnx::min_supported_opset(), engine::onnx::max_supported_opset(), m.opset());
  }
  auto values = [&](const char* title, const std::vector<engine::onnx::ValueInfo>& vs) {
    t += fmt::format("{}:\n", title);
    for (const auto& v : vs)
      t += fmt::format("  {:<24} {:<8} {}\n", v.name, engine::onnx::elem_type_name(v.type), v.shape_string());
  };
  values("inputs", m.inputs);
  values("outputs", m.outputs);
  t += fmt::format("nodes: {}\n", m.nodes.size());
  std::vector<std::pair<std::string, int>> sorted(op_counts.begin(), op_counts.end());
  std::sort(sorted.begin(), sorted.end(), [](const auto& a, const auto& b) {
    return a.second != b.second ? a.second > b.second : a.first < b.first;
  });
  for (const auto& [op, n] : sorted) t += fmt::format("  {:<24} {}\n", op, n);
  std::string type_list;
  for (const auto& [type, n] : types) type_list += fmt::format("{}{} {}", type_list.empty() ? "" : ", ", type, n);
  t += fmt::format("parameters: {} in {} initializers ({})\n", with_commas(params), m.initializers.size(),
                   type_list.empty() ? "none" : type_list);
  if (bad.empty()) {
    t += "unsupported: none\n";
  } else {
    t += fmt::format("unsupported: {} of {} nodes\n", bad.size(), m.nodes.size());
    for (const auto& u : bad) t += fmt::format("  {}: {}\n", u.node, u.reason);
  }
  t += r.ok ? "status: the engine runs this graph\n" : "status: the engine cannot run this graph\n";

  nlohmann::json& j = r.json;
  j["file"] = file.string();
  j["bytes"] = m.file_bytes;
  j["external_bytes"] = m.external_bytes;
  j["producer"] = m.producer;
  j["ir_version"] = m.ir_version;
  j["opsets"] = nlohmann::json::object();
  for (const auto& [domain, v] : m.opsets) j["opsets"][domain.empty() ? "ai.onnx" : domain] = v;
  auto value_json = [](const std::vector<engine::onnx::ValueInfo>& vs) {
    nlohmann::json a = nlohmann::json::array();
    for (const auto& v : vs)
      a.push_back({{"name", v.name}, {"type", engine::onnx::elem_type_name(v.type)}, {"shape", v.shape_string()}});
    return a;
  };
  j["inputs"] = value_json(m.inputs);
  j["outputs"] = value_json(m.outputs);
  j["nodes"] = m.nodes.size();
  j["op_types"] = op_counts;
  j["parameters"] = params;
  j["initializer_types"] = types;
  j["unsupported"] = nlohmann::json::array();
  for (const auto& u : bad) {
    j["unsupported"].push_back({{"node", u.node}, {"op_type", u.op_type}, {"domain", u.domain}, {"reason", u.reason}});
  }
  j["opset_supported"] = opset_ok;
  j["ok"] = r.ok;
  return r;
}

engine::Device choose_device(const std::string& device) {
  if (device == "cpu") return engine::Device::kCpu;
  if (device == "cuda") return engine::Device::kCuda;
  return engine::compute_path() == engine::ComputePath::kCuda ? engine::Device::kCuda : engine::Device::kCpu;
}

double ms_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

// The outputs on the host, floats as f32, for writing.
std::map<std::string, engine::Tensor> to_host(const std::map<std::string, engine::Tensor>& outputs) {
  std::map<std::string, engine::Tensor> host;
  for (const auto& [name, t] : outputs) {
    const engine::Tensor h = t.to(engine::Device::kCpu);
    host[name] = engine::is_floating(h.dtype()) ? engine::to_dtype(h, engine::DType::kF32) : h;
  }
  return host;
}

}  // namespace

ModelInspectOutput inspect_onnx(const std::string& path, bool json) {
  std::vector<fs::path> files;
  if (fs::is_directory(path)) {
    files = onnx_files(path);
  } else {
    files.push_back(path);
  }
  ModelInspectOutput out;
  out.ok = true;
  nlohmann::json all = nlohmann::json::array();
  // Ditto's ditto_onnx folder: the network-by-network check first (missing
  // files, another version's inputs), then every graph as below.
  nlohmann::json ditto;
  if (fs::is_directory(path) && engine::ditto::looks_like_ditto_folder(path)) {
    const engine::ditto::FolderReport r = engine::ditto::inspect_folder(path);
    out.ok = r.ok();
    out.text = engine::ditto::format_report(r);
    ditto = {{"family", "ditto"}, {"ok", r.ok()}, {"networks", nlohmann::json::array()}};
    for (const engine::ditto::FileReport& f : r.files) {
      ditto["networks"].push_back({{"network", f.spec->key},
                                   {"file", f.file.empty() ? nlohmann::json() : nlohmann::json(f.file.string())},
                                   {"problems", f.problems},
                                   {"ok", f.ok()}});
    }
  }
  for (const fs::path& f : files) {
    const Report r = inspect_one(f);
    out.ok = out.ok && r.ok;
    out.text += (out.text.empty() ? "" : "\n") + r.text;
    all.push_back(r.json);
  }
  if (json) {
    nlohmann::json j = files.size() == 1 && ditto.is_null() ? all[0] : nlohmann::json{{"models", all}, {"ok", out.ok}};
    if (!ditto.is_null()) j["ditto"] = ditto;
    out.text = j.dump(1) + "\n";
  }
  return out;
}

int run_onnx(const OnnxRunOptions& o) {
  const engine::Device device = choose_device(o.device);
  engine::onnx::ExecutorOptions eo;
  eo.device = device;
  if (o.dtype == "f32") {
    eo.float_dtype = engine::DType::kF32;
  } else if (o.dtype == "f16") {
    eo.float_dtype = engine::DType::kF16;
  } else if (o.dtype == "bf16") {
    eo.float_dtype = engine::DType::kBF16;
  } else if (o.dtype != "auto") {
    throw Error("--dtype '{}' must be auto, f32, f16 or bf16", o.dtype);
  }
  auto t0 = std::chrono::steady_clock::now();
  engine::onnx::Executor ex(engine::onnx::read_model(o.model), eo);
  const double load_ms = ms_since(t0);

  const engine::SafetensorsFile in = engine::SafetensorsFile::open(o.inputs);
  std::string wanted;
  for (const engine::onnx::ValueInfo& v : ex.model().inputs) wanted += (wanted.empty() ? "" : ", ") + v.name;
  std::map<std::string, engine::Tensor> inputs;
  for (const engine::onnx::ValueInfo& v : ex.model().inputs) {
    if (!in.contains(v.name)) {
      throw Error("inputs file '{}' has no tensor '{}' (the graph's inputs: {})", o.inputs, v.name, wanted);
    }
    inputs[v.name] = in.load(v.name);  // a bool input comes as U8: safetensors has no bool
  }
  for (const std::string& name : in.names()) {
    if (!inputs.count(name)) {
      throw Error("inputs file '{}' holds '{}', which is not a graph input ({})", o.inputs, name, wanted);
    }
  }

  t0 = std::chrono::steady_clock::now();
  std::map<std::string, engine::Tensor> outputs = ex.run(inputs);
  const std::map<std::string, engine::Tensor> host = to_host(outputs);  // waits for the device
  const double first_ms = ms_since(t0);

  fmt::print(
      "model: {} ({} nodes: {} folded at load, {} at plan, {} fused; {} steps per forward)\n", o.model,
      ex.stats().nodes, ex.stats().folded_at_load, ex.stats().folded_at_plan,
      ex.stats().fused_batchnorms + ex.stats().fused_matmul_adds + ex.stats().fused_attentions + ex.stats().fused_norms,
      ex.stats().steps);
  fmt::print("device: {}, floats as {}; loaded in {:.1f} ms, first forward {:.1f} ms\n", engine::to_string(device),
             engine::to_string(ex.float_dtype()), load_ms, first_ms);
  if (o.bench > 0) {
    double total = 0, best = 1e300;
    for (int i = 0; i < o.bench; ++i) {
      t0 = std::chrono::steady_clock::now();
      const auto r = to_host(ex.run(inputs));
      const double ms = ms_since(t0);
      total += ms;
      best = std::min(best, ms);
    }
    fmt::print("bench: {} forwards, {:.3f} ms each on average, {:.3f} ms the fastest\n", o.bench, total / o.bench,
               best);
  }
  if (o.profile) {
    ex.reset_profile();
    ex.set_profiling(true);
    const auto r = to_host(ex.run(inputs));
    ex.set_profiling(false);
    fmt::print("{}", engine::onnx::format_profile(ex.profile(), fs::path(o.model).filename().string()));
  }
  engine::write_safetensors(o.output, host, {{"model", o.model}, {"device", engine::to_string(device)}});
  for (const auto& [name, t] : host) fmt::print("output {}: {}\n", name, t.describe());
  fmt::print("wrote {}\n", o.output);
  return 0;
}

#else

ModelInspectOutput inspect_onnx(const std::string& path, bool) {
  throw Error("'{}': this build has no ONNX support (install libonnx-dev and libprotobuf-dev, then rebuild)", path);
}

int run_onnx(const OnnxRunOptions& o) {
  throw Error("'{}': this build has no ONNX support (install libonnx-dev and libprotobuf-dev, then rebuild)", o.model);
}

#endif

}  // namespace sc::app
