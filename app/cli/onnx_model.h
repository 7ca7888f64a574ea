#pragma once
// `streamcanvas-cli models inspect FILE.onnx` and `models run FILE.onnx`: what
// an ONNX graph holds and whether the engine runs it (engine/onnx does the
// work; this renders it), and running it on named inputs so anyone can check
// a model against another runtime.
#include <string>

#include "app/cli/model_inspect.h"

namespace sc::app {

// A .onnx file, or a folder holding .onnx files and no model config.
bool is_onnx_target(const std::string& path);

// Opset, inputs and outputs with shapes, nodes per op type, parameters and
// their types, and every node the engine cannot run. ok: every node runs.
// Throws sc::Error when a file cannot be read.
ModelInspectOutput inspect_onnx(const std::string& path, bool json);

struct OnnxRunOptions {
  std::string model;
  std::string inputs;           // safetensors: one tensor per graph input, by name
  std::string output;           // safetensors: every graph output, by name
  std::string device = "auto";  // auto, cpu, cuda
  std::string dtype = "auto";   // floats on the device: auto (f32 CPU, f16 CUDA), f32, f16, bf16
  int bench = 0;                // time this many more forwards
  bool profile = false;         // print the op-by-op table of one forward
};

// Runs the graph, writes its outputs (floats as f32) and prints what it did.
// Returns the exit code; throws sc::Error on bad input.
int run_onnx(const OnnxRunOptions& options);

}  // namespace sc::app
