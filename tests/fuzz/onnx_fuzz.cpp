// libFuzzer target: the ONNX reader and the executor's load on arbitrary
// bytes. Reading, checking every node, sorting, rewriting, folding and (for
// graphs with fixed input shapes) one run on zeros may fail only with
// sc::Error; anything else (a crash, an out-of-bounds access under ASan, UB,
// another exception type, an allocation past the limit) is a finding.
#include <cstddef>
#include <cstdint>
#include <map>
#include <span>

#include "base/error.h"
#include "engine/onnx/executor.h"
#include "engine/onnx/reader.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace sc::engine;
  try {
    const onnx::Model model = onnx::parse_model(std::span(reinterpret_cast<const std::byte*>(data), size), "fuzz.onnx");
    for (const onnx::Unsupported& u : onnx::find_unsupported(model)) (void)u.reason.size();
    onnx::ExecutorOptions options;
    options.max_value_bytes = 16 << 20;  // a node asking for more is refused, not allocated
    onnx::Executor ex(model, options);
    if (!ex.planned()) return 0;
    std::map<std::string, Tensor> inputs;
    for (const onnx::ValueInfo& in : ex.model().inputs) {
      std::vector<std::int64_t> dims;
      for (const onnx::Dim& d : in.dims) dims.push_back(d.value);
      const Shape shape(dims);
      if (shape.numel() > (1 << 20)) return 0;
      inputs[in.name] = Tensor::zeros(shape, *onnx::engine_dtype(in.type));
    }
    for (const auto& [name, t] : ex.run(inputs)) (void)t.nbytes();
  } catch (const sc::Error&) {
  }
  return 0;
}
