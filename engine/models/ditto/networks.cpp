#include "engine/models/ditto/networks.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "base/error.h"

namespace sc::engine::ditto {

OnnxNetwork OnnxNetwork::load(const std::filesystem::path& folder, Network id, const onnx::ExecutorOptions& options) {
  OnnxNetwork n;
  n.spec_ = &ditto::spec(id);
  n.file_ = require_file(folder, id);
  onnx::Model model = onnx::read_model(n.file_);
  const std::vector<std::string> problems = signature_problems(model, *n.spec_);
  if (!problems.empty()) {
    throw Error("'{}' is not the {} the talking-head pipeline follows (a different version of Ditto's models?): {}",
                n.file_.string(), n.spec_->key, fmt::join(problems, "; "));
  }
  for (const onnx::ValueInfo& v : model.inputs) n.input_names_.push_back(v.name);
  for (const onnx::ValueInfo& v : model.outputs) n.output_names_.push_back(v.name);
  n.executor_ = std::make_unique<onnx::Executor>(std::move(model), options);
  return n;
}

std::vector<Tensor> OnnxNetwork::run(const std::map<std::string, Tensor>& inputs) {
  std::map<std::string, Tensor> feed;
  for (std::size_t i = 0; i < spec_->inputs.size(); ++i) {
    const std::string& want = spec_->inputs[i].name;
    const std::string& actual = input_names_[i];
    const std::string key = want.empty() ? actual : want;
    auto it = inputs.find(key);
    if (it == inputs.end() && want.empty() && inputs.size() == 1) it = inputs.begin();
    if (it == inputs.end()) throw Error("{}: input '{}' was not given", file_.string(), key);
    feed[want.empty() ? actual : want] = it->second;
  }
  std::map<std::string, Tensor> out = executor_->run(feed);
  std::vector<Tensor> ordered;
  ordered.reserve(output_names_.size());
  for (const std::string& name : output_names_) ordered.push_back(out.at(name));
  return ordered;
}

std::vector<Tensor> OnnxNetwork::run(const Tensor& input) {
  if (spec_->inputs.size() != 1) throw Error("{}: takes {} inputs, not one", file_.string(), spec_->inputs.size());
  return run({{spec_->inputs[0].name.empty() ? input_names_[0] : spec_->inputs[0].name, input}});
}

LivePortrait LivePortrait::load(const std::filesystem::path& folder, const onnx::ExecutorOptions& options) {
  return {OnnxNetwork::load(folder, Network::kAppearanceExtractor, options),
          OnnxNetwork::load(folder, Network::kMotionExtractor, options),
          OnnxNetwork::load(folder, Network::kWarpNetwork, options),
          OnnxNetwork::load(folder, Network::kDecoder, options),
          OnnxNetwork::load(folder, Network::kStitchNetwork, options)};
}

Tensor LivePortrait::appearance_volume(const Tensor& image) { return appearance.run(image).at(0); }

KeypointInfo LivePortrait::keypoints(const Tensor& image) {
  std::vector<Tensor> o = motion.run(image);
  return {o.at(0), o.at(1), o.at(2), o.at(3), o.at(4), o.at(5), o.at(6)};
}

Tensor LivePortrait::stitched(const Tensor& kp_source, const Tensor& kp_driving) {
  return stitch.run({{"kp_source", kp_source}, {"kp_driving", kp_driving}}).at(0);
}

Tensor LivePortrait::warped(const Tensor& volume, const Tensor& kp_source, const Tensor& kp_driving) {
  return warp.run({{"feature_3d", volume}, {"kp_source", kp_source}, {"kp_driving", kp_driving}}).at(0);
}

Tensor LivePortrait::decoded(const Tensor& features) { return decoder.run(features).at(0); }

}  // namespace sc::engine::ditto
