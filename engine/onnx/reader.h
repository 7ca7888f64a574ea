#pragma once
// ONNX model files read into a typed in-memory graph (no protobuf types in
// this header: users of the graph never see libonnx).
//
// A model file is untrusted input. Every size, index and name is checked
// before use, and each problem is an sc::Error naming the file, the node (name
// and op type) or the tensor, and what is wrong; no input makes the reader
// read outside its buffers (tests/fuzz/onnx_fuzz.cpp).
//
// Memory: the file is memory-mapped and walked at the protobuf wire level, so
// the bulk of it, the initializers' raw_data, is never copied into protobuf
// strings. A tensor whose bytes sit aligned in the file is a view of the
// mapping (copy-on-write, like safetensors); an unaligned one is copied and
// its pages of the mapping given back, so loading costs about the file's size
// once (engine/onnx/README.md has the measurement). Only what is left (nodes,
// attributes, value infos) goes through libonnx's ModelProto parser. Weights
// in external data files (`save_as_external_data`) are mapped the same way;
// their paths must stay inside the model's folder.
//
// Floating-point initializers (f32, f16, bf16) load as f32, as safetensors
// files do; int32, int64 and uint8 as they are; bool as u8 (0 or 1). Other
// element types are refused when a tensor of that type is read.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "engine/mapped_file.h"
#include "engine/tensor.h"

namespace sc::engine::onnx {

// The largest dimension the reader accepts in a tensor or a declared shape
// (real ones are far smaller; a hostile file could otherwise make sums and
// products of dimensions wrap).
inline constexpr std::int64_t kMaxDimension = std::int64_t{1} << 40;

// TensorProto.DataType (onnx.proto).
enum class ElemType : int {
  kUndefined = 0,
  kFloat = 1,
  kUint8 = 2,
  kInt8 = 3,
  kUint16 = 4,
  kInt16 = 5,
  kInt32 = 6,
  kInt64 = 7,
  kString = 8,
  kBool = 9,
  kFloat16 = 10,
  kDouble = 11,
  kUint32 = 12,
  kUint64 = 13,
  kComplex64 = 14,
  kComplex128 = 15,
  kBFloat16 = 16,
};
std::string elem_type_name(ElemType type);  // "float", "int64", ..., "type 23"
bool is_float_type(ElemType type);          // float, float16, bfloat16
// How the engine holds values of this type (floats as f32 on the CPU, bool as
// u8); nullopt for the types it does not handle (double, int8, string, ...).
std::optional<DType> engine_dtype(ElemType type);

// One dimension of a declared shape: a number, a symbol ("batch") or unknown.
struct Dim {
  std::int64_t value = -1;  // >= 0 when known
  std::string symbol;
  bool known() const { return value >= 0; }
};

struct ValueInfo {
  std::string name;
  ElemType type = ElemType::kUndefined;
  bool is_tensor = true;   // false for sequence / map / optional values
  bool has_shape = false;  // false: the rank is unknown too
  std::vector<Dim> dims;
  std::string shape_string() const;  // "[batch, 3, 224, 224]", "[?]", "unknown"
};

// A tensor value with the ONNX type it was declared with.
struct Constant {
  ElemType type = ElemType::kUndefined;
  Tensor value;
};

enum class AttrType { kFloat, kInt, kString, kTensor, kFloats, kInts, kStrings, kGraph, kOther };
const char* to_string(AttrType type);

struct Attribute {
  std::string name;
  AttrType type = AttrType::kOther;
  float f = 0.0f;
  std::int64_t i = 0;
  std::string s;
  Constant t;
  std::vector<float> floats;
  std::vector<std::int64_t> ints;
  std::vector<std::string> strings;
  // kGraph / kOther: what the file holds ("GRAPH", "SPARSE_TENSOR", ...),
  // kept so the executor can say why it refuses the node.
  std::string other;
};

struct Node {
  std::string name;
  std::string op_type;
  std::string domain;                // "" is ai.onnx ("ai.onnx" in the file reads as "")
  std::vector<std::string> inputs;   // "" marks an optional input left out
  std::vector<std::string> outputs;  // "" marks an optional output not produced
  std::vector<Attribute> attributes;
  std::size_t index = 0;  // position in the file's node list
  // Made by a load-time rewrite (engine/onnx/rewrites.h), not read from the
  // file: only these may use the engine's internal domain.
  bool internal = false;

  const Attribute* attribute(std::string_view attr) const;
  // "node 'conv1' (Conv)", or "node #12 (Conv)" when the file left it unnamed.
  std::string label() const;
};

struct Model {
  std::string path;  // as given; every error names it
  std::filesystem::path folder;
  std::int64_t ir_version = 0;
  std::string producer;                        // producer_name and version, as written
  std::map<std::string, std::int64_t> opsets;  // domain ("" for ai.onnx) -> version
  std::string graph_name;
  std::vector<ValueInfo> inputs;  // graph inputs a caller gives (initializers left out)
  std::vector<ValueInfo> outputs;
  std::vector<ValueInfo> value_infos;  // shapes the file declares for intermediate values
  std::map<std::string, Constant> initializers;
  std::vector<Node> nodes;             // in file order
  std::vector<std::string> functions;  // model-local functions, "domain:name"
  std::size_t file_bytes = 0;
  std::size_t external_bytes = 0;  // read from external data files

  // The file and its external data files, which initializers may view.
  std::vector<std::shared_ptr<MappedFile>> mappings;

  // The ai.onnx opset the graph was written against (0 if it imports none).
  std::int64_t opset() const;
  // Gives the pages of a tensor that views one of `mappings` back to the
  // kernel (they read again from the file if touched): for weights that were
  // copied (transposed, folded, uploaded to a GPU) and are not read here any
  // more. Anything else is left alone.
  void release(const Tensor& t) const;
  // "ONNX model 'path': " + message, for errors about this model.
  std::string where() const;
};

// Reads a .onnx file; external data files are looked up beside it.
Model read_model(const std::filesystem::path& path);
// Parses a model already in memory (tests, fuzzing): `name` stands in for the
// path in errors; external data is refused unless `folder` is given. The
// bytes are copied, so they need not outlive the model.
Model parse_model(std::span<const std::byte> bytes, const std::string& name, const std::filesystem::path& folder = {});

}  // namespace sc::engine::onnx
