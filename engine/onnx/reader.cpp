// Reading .onnx files: a wire-level walk that sets the initializers' bytes
// aside, libonnx's ModelProto parser for everything else, then conversion
// into engine tensors with every size checked.
#include "engine/onnx/reader.h"

#include <google/protobuf/io/coded_stream.h>
#include <onnx/onnx_pb.h>

#include <algorithm>
#include <bit>
#include <charconv>
#include <climits>
#include <cstring>
#include <functional>
#include <set>

#include <fmt/format.h>

#include "base/error.h"
#include "engine/half.h"
#include "engine/mapped_file.h"
#include "engine/ops.h"

namespace sc::engine::onnx {

namespace proto = ::onnx;

static_assert(std::endian::native == std::endian::little, "ONNX raw_data is little-endian; so must the host be");

std::string elem_type_name(ElemType type) {
  switch (type) {
    case ElemType::kUndefined:
      return "undefined";
    case ElemType::kFloat:
      return "float";
    case ElemType::kUint8:
      return "uint8";
    case ElemType::kInt8:
      return "int8";
    case ElemType::kUint16:
      return "uint16";
    case ElemType::kInt16:
      return "int16";
    case ElemType::kInt32:
      return "int32";
    case ElemType::kInt64:
      return "int64";
    case ElemType::kString:
      return "string";
    case ElemType::kBool:
      return "bool";
    case ElemType::kFloat16:
      return "float16";
    case ElemType::kDouble:
      return "double";
    case ElemType::kUint32:
      return "uint32";
    case ElemType::kUint64:
      return "uint64";
    case ElemType::kComplex64:
      return "complex64";
    case ElemType::kComplex128:
      return "complex128";
    case ElemType::kBFloat16:
      return "bfloat16";
  }
  return fmt::format("type {}", static_cast<int>(type));
}

bool is_float_type(ElemType type) {
  return type == ElemType::kFloat || type == ElemType::kFloat16 || type == ElemType::kBFloat16;
}

std::optional<DType> engine_dtype(ElemType type) {
  switch (type) {
    case ElemType::kFloat:
    case ElemType::kFloat16:
    case ElemType::kBFloat16:
      return DType::kF32;
    case ElemType::kInt32:
      return DType::kI32;
    case ElemType::kInt64:
      return DType::kI64;
    case ElemType::kUint8:
    case ElemType::kBool:
      return DType::kU8;
    default:
      return std::nullopt;
  }
}

std::string ValueInfo::shape_string() const {
  if (!is_tensor) return "not a tensor";
  if (!has_shape) return "unknown";
  std::string s = "[";
  for (std::size_t i = 0; i < dims.size(); ++i) {
    if (i) s += ", ";
    s += dims[i].known() ? std::to_string(dims[i].value) : (dims[i].symbol.empty() ? "?" : dims[i].symbol);
  }
  return s + "]";
}

const char* to_string(AttrType type) {
  switch (type) {
    case AttrType::kFloat:
      return "float";
    case AttrType::kInt:
      return "int";
    case AttrType::kString:
      return "string";
    case AttrType::kTensor:
      return "tensor";
    case AttrType::kFloats:
      return "floats";
    case AttrType::kInts:
      return "ints";
    case AttrType::kStrings:
      return "strings";
    case AttrType::kGraph:
      return "graph";
    case AttrType::kOther:
      return "other";
  }
  return "?";
}

const Attribute* Node::attribute(std::string_view attr) const {
  for (const Attribute& a : attributes)
    if (a.name == attr) return &a;
  return nullptr;
}

std::string Node::label() const {
  return name.empty() ? fmt::format("node #{} ({})", index, op_type) : fmt::format("node '{}' ({})", name, op_type);
}

std::int64_t Model::opset() const {
  const auto it = opsets.find("");
  return it == opsets.end() ? 0 : it->second;
}

std::string Model::where() const { return fmt::format("ONNX model '{}'", path); }

void Model::release(const Tensor& t) const {
  if (!t.defined() || t.device() != Device::kCpu) return;
  for (const auto& m : mappings) {
    if (m->data() && t.storage()->data() == m->data()) m->release(t.offset_bytes(), t.nbytes());
  }
}

namespace {

using google::protobuf::io::CodedInputStream;

// Field numbers of onnx.proto used by the wire-level walk.
constexpr std::uint32_t kModelGraph = 7;
constexpr std::uint32_t kGraphInitializer = 5;
constexpr std::uint32_t kTensorRawData = 9;
constexpr int kWireVarint = 0, kWireFixed64 = 1, kWireBytes = 2, kWireFixed32 = 5;

// Where framing broke, in bytes from the start of the file.
struct Corrupt {
  std::size_t at;
};

// One field of a protobuf message: [begin, end) is the whole field (tag
// included), [payload, end) a length-delimited field's contents.
struct Field {
  std::uint32_t number = 0;
  int wire = 0;
  std::size_t begin = 0, payload = 0, end = 0;
};

// The fields of one message walked in order, payloads skipped, not parsed.
// Offsets are absolute (base + position in the message).
class FieldWalker {
 public:
  FieldWalker(const std::byte* data, std::size_t base, std::size_t size)
      : in_(reinterpret_cast<const std::uint8_t*>(data + base), static_cast<int>(size)), base_(base), size_(size) {
    in_.SetTotalBytesLimit(INT_MAX);
  }

  bool next(Field& f) {
    const auto pos = static_cast<std::size_t>(in_.CurrentPosition());
    if (pos >= size_) return false;
    f.begin = base_ + pos;
    const std::uint32_t tag = in_.ReadTag();
    f.number = tag >> 3;
    f.wire = static_cast<int>(tag & 7);
    if (tag == 0 || f.number == 0) throw Corrupt{f.begin};
    bool ok = true;
    switch (f.wire) {
      case kWireVarint: {
        std::uint64_t v = 0;
        ok = in_.ReadVarint64(&v);
        break;
      }
      case kWireFixed64:
        ok = in_.Skip(8);
        break;
      case kWireBytes: {
        std::uint32_t len = 0;
        ok = in_.ReadVarint32(&len) && len <= static_cast<std::uint32_t>(INT_MAX);
        f.payload = base_ + static_cast<std::size_t>(in_.CurrentPosition());
        ok = ok && in_.Skip(static_cast<int>(len));
        break;
      }
      case kWireFixed32:
        ok = in_.Skip(4);
        break;
      default:  // groups (deprecated, never in ONNX) or no wire type at all
        ok = false;
    }
    if (!ok) throw Corrupt{f.begin};
    f.end = base_ + static_cast<std::size_t>(in_.CurrentPosition());
    return true;
  }

 private:
  CodedInputStream in_;
  std::size_t base_, size_;
};

void append_varint(std::string& out, std::uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

struct Span {
  std::size_t offset = 0, size = 0;
};

// The model's bytes: a mapping of the file, or a private copy.
struct Source {
  std::shared_ptr<MappedFile> file;
  std::shared_ptr<std::vector<std::byte>> copy;
  const std::byte* data = nullptr;
  std::size_t size = 0;
  std::shared_ptr<Storage> storage;  // the whole buffer, for views

  void release(std::size_t offset, std::size_t bytes) const {
    if (file) file->release(offset, bytes);
  }
};

template <typename Message>
bool parse_message(Message& m, const std::string& bytes) {
  CodedInputStream in(reinterpret_cast<const std::uint8_t*>(bytes.data()), static_cast<int>(bytes.size()));
  in.SetTotalBytesLimit(INT_MAX);
  return m.ParseFromCodedStream(&in) && in.ConsumedEntireMessage();
}

std::size_t stored_size(ElemType type) {
  switch (type) {
    case ElemType::kFloat:
    case ElemType::kInt32:
      return 4;
    case ElemType::kInt64:
      return 8;
    case ElemType::kFloat16:
    case ElemType::kBFloat16:
      return 2;
    default:
      return 1;  // uint8, bool
  }
}

DType stored_dtype(ElemType type) {
  switch (type) {
    case ElemType::kFloat16:
      return DType::kF16;
    case ElemType::kBFloat16:
      return DType::kBF16;
    default:
      return *engine_dtype(type);
  }
}

class Reader {
 public:
  Reader(Model& model, Source source) : m_(model), src_(std::move(source)) {}

  void read() {
    m_.file_bytes = src_.size;
    if (src_.size == 0) fail("the file is empty (not an ONNX model)");
    if (src_.size > static_cast<std::size_t>(INT_MAX)) {
      fail(
          "the file is {} bytes; protobuf messages stop at 2 GiB, so larger models keep their weights in external "
          "data files (onnx.save_model(..., save_as_external_data=True))",
          src_.size);
    }
    std::string stripped;
    try {
      stripped = strip_model();
    } catch (const Corrupt& c) {
      fail("the protobuf data is corrupt or truncated at byte {} of {} (not an ONNX model, or a damaged download)",
           c.at, src_.size);
    }
    proto::ModelProto model;
    if (!parse_message(model, stripped)) {
      fail("libonnx cannot parse the model (not an ONNX model, or a damaged download)");
    }
    read_header(model);
    read_graph(model.graph());
  }

 private:
  template <typename... Args>
  [[noreturn]] void fail(fmt::format_string<Args...> f, Args&&... args) const {
    throw Error("{}: {}", m_.where(), fmt::format(f, std::forward<Args>(args)...));
  }

  // ---- the wire-level split -------------------------------------------------

  // The model with every initializer cut out of its graph (their spans kept
  // in initializers_): what libonnx parses is then small whatever the weights.
  std::string strip_model() {
    std::string out;
    FieldWalker w(src_.data, 0, src_.size);
    Field f;
    while (w.next(f)) {
      if (f.number == kModelGraph && f.wire == kWireBytes) {
        const std::string graph = strip_graph(f.payload, f.end - f.payload);
        append_varint(out, (kModelGraph << 3) | kWireBytes);
        append_varint(out, graph.size());
        out += graph;
      } else {
        out.append(reinterpret_cast<const char*>(src_.data + f.begin), f.end - f.begin);
      }
    }
    return out;
  }

  std::string strip_graph(std::size_t begin, std::size_t size) {
    std::string out;
    FieldWalker w(src_.data, begin, size);
    Field f;
    while (w.next(f)) {
      if (f.number == kGraphInitializer && f.wire == kWireBytes) {
        initializers_.push_back({f.payload, f.end - f.payload});
      } else {
        out.append(reinterpret_cast<const char*>(src_.data + f.begin), f.end - f.begin);
      }
    }
    return out;
  }

  // One initializer: its raw_data span set aside (the last one wins, as in
  // protobuf), the rest parsed.
  std::pair<std::string, Constant> initializer(Span span) {
    std::string rest;
    std::optional<Span> raw;
    try {
      FieldWalker w(src_.data, span.offset, span.size);
      Field f;
      while (w.next(f)) {
        if (f.number == kTensorRawData && f.wire == kWireBytes) {
          raw = Span{f.payload, f.end - f.payload};
        } else {
          rest.append(reinterpret_cast<const char*>(src_.data + f.begin), f.end - f.begin);
        }
      }
    } catch (const Corrupt& c) {
      fail("an initializer's protobuf data is corrupt at byte {}", c.at);
    }
    proto::TensorProto t;
    if (!parse_message(t, rest)) fail("the initializer at byte {} cannot be parsed (damaged file)", span.offset);
    if (t.name().empty()) fail("the initializer at byte {} has no name", span.offset);
    return {t.name(), tensor(t, raw, fmt::format("initializer '{}'", t.name()))};
  }

  // ---- tensors ---------------------------------------------------------------

  Constant tensor(const proto::TensorProto& t, std::optional<Span> raw, const std::string& what) {
    Constant c;
    c.type = static_cast<ElemType>(t.data_type());
    if (!engine_dtype(c.type)) {
      fail(
          "{} is {}, which the engine does not load (it loads float, float16, bfloat16, int32, int64, uint8 and "
          "bool)",
          what, elem_type_name(c.type));
    }
    if (t.dims_size() > kMaxDims)
      fail("{} has {} dimensions; the engine supports at most {}", what, t.dims_size(), kMaxDims);
    std::vector<std::int64_t> dims;
    std::uint64_t count = 1;
    for (std::int64_t d : t.dims()) {
      if (d < 0) fail("{} has a negative dimension {}", what, d);
      if (d > kMaxDimension) fail("{} has a dimension of {}, more than 2^40", what, d);
      if (__builtin_mul_overflow(count, static_cast<std::uint64_t>(d), &count)) fail("{} is too large", what);
      dims.push_back(d);
    }
    std::uint64_t bytes = 0;
    if (__builtin_mul_overflow(count, stored_size(c.type), &bytes) || bytes > (1ull << 48)) {
      fail("{} of shape [{}] is too large", what, fmt::join(dims, ", "));
    }
    const Shape shape(dims);
    if (t.has_segment()) fail("{} is split into segments, which ONNX files no longer use; re-export the model", what);

    const bool external = t.data_location() == proto::TensorProto::EXTERNAL;
    if (!raw && t.has_raw_data()) raw = Span{};  // an attribute tensor: raw_data lives in the message
    const int typed = (t.float_data_size() > 0) + (t.int32_data_size() > 0) + (t.int64_data_size() > 0) +
                      (t.double_data_size() > 0) + (t.uint64_data_size() > 0) + (t.string_data_size() > 0);
    const int sources = typed + (raw ? 1 : 0) + (external ? 1 : 0);
    if (sources > 1) fail("{} holds its values in more than one place (raw_data, typed fields, external data)", what);

    if (external) {
      c.value = external_tensor(t, c.type, shape, static_cast<std::size_t>(bytes), what);
    } else if (raw) {
      const bool in_message = raw->size == 0 && raw->offset == 0 && t.has_raw_data();
      const std::size_t have = in_message ? t.raw_data().size() : raw->size;
      if (have != bytes) {
        fail("{} has {} bytes of raw_data, but {} {} needs {} bytes", what, have, elem_type_name(c.type),
             shape.to_string(), bytes);
      }
      if (in_message) {
        c.value = from_bytes(c.type, shape, reinterpret_cast<const std::byte*>(t.raw_data().data()), nullptr, 0, {});
      } else {
        c.value = from_bytes(c.type, shape, src_.data + raw->offset, src_.storage, raw->offset,
                             [this, r = *raw] { src_.release(r.offset, r.size); });
      }
    } else if (typed) {
      c.value = typed_tensor(t, c.type, shape, static_cast<std::int64_t>(count), what);
    } else if (count == 0) {
      c.value = Tensor::empty(shape, *engine_dtype(c.type));
    } else {
      fail("{} ({} {}) holds no values", what, elem_type_name(c.type), shape.to_string());
    }
    return c;
  }

  // Bytes laid out as the type stores them, as an engine tensor: a view of
  // `storage` where aligned and already in the engine's dtype, else a copy,
  // after which `release` gives the source pages back.
  Tensor from_bytes(ElemType type, const Shape& shape, const std::byte* src, const std::shared_ptr<Storage>& storage,
                    std::size_t offset, const std::function<void()>& release) {
    const DType dtype = stored_dtype(type);
    const bool view =
        storage && reinterpret_cast<std::uintptr_t>(src) % stored_size(type) == 0 && type != ElemType::kBool;
    Tensor raw;
    if (view) {
      raw = Tensor::wrap(storage, offset, shape, dtype);
    } else {
      raw = Tensor::empty(shape, dtype);
      if (raw.nbytes()) std::memcpy(raw.raw_data(), src, raw.nbytes());
      if (type == ElemType::kBool) {
        auto* p = raw.data<std::uint8_t>();
        for (std::int64_t i = 0; i < raw.numel(); ++i) p[i] = p[i] != 0;
      }
    }
    if (dtype == DType::kF16 || dtype == DType::kBF16) raw = to_dtype(raw, DType::kF32);  // no longer a view
    if (release && raw.storage() != storage) release();
    return raw;
  }

  Tensor typed_tensor(const proto::TensorProto& t, ElemType type, const Shape& shape, std::int64_t count,
                      const std::string& what) {
    auto wrong = [&](const char* field) {
      fail("{} is {} but stores its values in {}", what, elem_type_name(type), field);
    };
    auto expect = [&](int n, const char* field) {
      if (n != count)
        fail("{} has {} values in {}; {} {} needs {}", what, n, field, elem_type_name(type), shape.to_string(), count);
    };
    if (t.double_data_size() || t.uint64_data_size() || t.string_data_size()) {
      wrong(t.double_data_size() ? "double_data" : t.uint64_data_size() ? "uint64_data" : "string_data");
    }
    switch (type) {
      case ElemType::kFloat: {
        if (!t.float_data_size()) wrong(t.int32_data_size() ? "int32_data" : "int64_data");
        expect(t.float_data_size(), "float_data");
        return Tensor::from_vector(shape, std::span<const float>(t.float_data().data(), t.float_data().size()));
      }
      case ElemType::kInt64: {
        if (!t.int64_data_size()) wrong(t.float_data_size() ? "float_data" : "int32_data");
        expect(t.int64_data_size(), "int64_data");
        return Tensor::from_vector_i64(shape,
                                       std::span<const std::int64_t>(t.int64_data().data(), t.int64_data().size()));
      }
      default:
        break;
    }
    // int32_data carries int32, uint8, bool and the bit patterns of float16 / bfloat16.
    if (!t.int32_data_size()) wrong(t.float_data_size() ? "float_data" : "int64_data");
    expect(t.int32_data_size(), "int32_data");
    const auto& v = t.int32_data();
    if (type == ElemType::kInt32)
      return Tensor::from_vector_i32(shape, std::span<const std::int32_t>(v.data(), v.size()));
    if (type == ElemType::kUint8 || type == ElemType::kBool) {
      Tensor out = Tensor::empty(shape, DType::kU8);
      auto* p = out.data<std::uint8_t>();
      for (int i = 0; i < v.size(); ++i) {
        if (v[i] < 0 || v[i] > 255)
          fail("{} holds {} at index {}, outside {}'s range", what, v[i], i, elem_type_name(type));
        p[i] = static_cast<std::uint8_t>(type == ElemType::kBool ? v[i] != 0 : v[i]);
      }
      return out;
    }
    Tensor out = Tensor::empty(shape, DType::kF32);
    float* p = out.data<float>();
    for (int i = 0; i < v.size(); ++i) {
      if (v[i] < 0 || v[i] > 0xffff) fail("{} holds {} at index {}, not a 16-bit pattern", what, v[i], i);
      const auto bits = static_cast<std::uint16_t>(v[i]);
      p[i] = type == ElemType::kFloat16 ? f16_to_f32(bits) : bf16_to_f32(bits);
    }
    return out;
  }

  Tensor external_tensor(const proto::TensorProto& t, ElemType type, const Shape& shape, std::size_t bytes,
                         const std::string& what) {
    std::string location;
    std::optional<std::uint64_t> offset, length;
    auto number = [&](const std::string& key, const std::string& text) {
      std::uint64_t v = 0;
      const auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
      if (ec != std::errc() || p != text.data() + text.size()) {
        fail("{}: external data {} '{}' is not a non-negative integer", what, key, text);
      }
      return v;
    };
    for (const proto::StringStringEntryProto& e : t.external_data()) {
      if (e.key() == "location") {
        location = e.value();
      } else if (e.key() == "offset") {
        offset = number("offset", e.value());
      } else if (e.key() == "length") {
        length = number("length", e.value());
      }
    }
    if (location.empty()) fail("{} is stored externally but names no location", what);
    const std::filesystem::path rel(location);
    bool escapes = rel.is_absolute() || location.find('\0') != std::string::npos;
    for (const auto& part : rel) escapes = escapes || part == "..";
    if (escapes) {
      fail("{}: external data location '{}' must be a relative path inside the model's folder", what, location);
    }
    if (m_.folder.empty())
      fail("{} is stored externally in '{}'; external data needs the model read from its file", what, location);
    const std::filesystem::path file = m_.folder / rel;
    std::error_code ec;
    const auto canonical_folder = std::filesystem::weakly_canonical(m_.folder, ec);
    const auto canonical_file = std::filesystem::weakly_canonical(file, ec);
    const auto [f_end, c_end] =
        std::mismatch(canonical_folder.begin(), canonical_folder.end(), canonical_file.begin(), canonical_file.end());
    if (ec || f_end != canonical_folder.end()) {
      fail("{}: external data '{}' resolves outside the model's folder ({})", what, location, canonical_file.string());
    }
    if (!std::filesystem::exists(file)) {
      fail("{} is stored in the external data file '{}', which is missing (expected at {}); copy it next to the model",
           what, location, file.string());
    }
    auto& mapping = external_[file.string()];
    if (!mapping.file) {
      mapping.file = MappedFile::open(file, fmt::format("{}: external data file", m_.where()));
      m_.mappings.push_back(mapping.file);
      mapping.storage = mapping.file->storage();
      m_.external_bytes += mapping.file->size();
    }
    const std::uint64_t at = offset.value_or(0);
    const std::uint64_t size = mapping.file->size();
    if (length && *length != bytes) {
      fail("{} declares {} bytes of external data, but {} {} needs {} bytes", what, *length, elem_type_name(type),
           shape.to_string(), bytes);
    }
    if (at > size || bytes > size - at) {
      fail("{}: external data [{}, {}) runs past the end of '{}' ({} bytes; truncated?)", what, at, at + bytes,
           location, size);
    }
    const MappedFile& mf = *mapping.file;
    return from_bytes(type, shape, mf.data() + at, mapping.storage, static_cast<std::size_t>(at),
                      [&mf, at, bytes] { mf.release(static_cast<std::size_t>(at), bytes); });
  }

  // ---- the rest of the model ---------------------------------------------------

  void read_header(const proto::ModelProto& model) {
    m_.ir_version = model.ir_version();
    if (m_.ir_version < 3) {
      fail("IR version {} predates opset imports (ONNX 1.0); re-export the model with a current exporter",
           m_.ir_version);
    }
    m_.producer = model.producer_name();
    if (!model.producer_version().empty()) m_.producer += " " + model.producer_version();
    for (const proto::OperatorSetIdProto& o : model.opset_import()) {
      const std::string domain = o.domain() == "ai.onnx" ? "" : o.domain();
      if (!m_.opsets.emplace(domain, o.version()).second) {
        fail("imports the opset of domain '{}' twice", domain.empty() ? "ai.onnx" : domain);
      }
      if (o.version() < 1) fail("imports domain '{}' at version {}", domain.empty() ? "ai.onnx" : domain, o.version());
    }
    if (m_.opsets.empty()) fail("imports no opset");
    if (!model.has_graph()) fail("has no graph");
    for (const proto::FunctionProto& fn : model.functions()) m_.functions.push_back(fn.domain() + ":" + fn.name());
  }

  ValueInfo value_info(const proto::ValueInfoProto& v, const char* what) {
    ValueInfo out;
    out.name = v.name();
    if (out.name.empty()) fail("a graph {} has no name", what);
    if (!v.type().has_tensor_type()) {
      out.is_tensor = false;
      return out;
    }
    const proto::TypeProto::Tensor& t = v.type().tensor_type();
    out.type = static_cast<ElemType>(t.elem_type());
    out.has_shape = t.has_shape();
    if (t.shape().dim_size() > kMaxDims) {
      fail("graph {} '{}' has {} dimensions; the engine supports at most {}", what, out.name, t.shape().dim_size(),
           kMaxDims);
    }
    for (const proto::TensorShapeProto::Dimension& d : t.shape().dim()) {
      Dim dim;
      if (d.has_dim_value()) {
        if (d.dim_value() < 0) fail("graph {} '{}' has a negative dimension {}", what, out.name, d.dim_value());
        if (d.dim_value() > kMaxDimension) {
          fail("graph {} '{}' has a dimension of {}, more than 2^40", what, out.name, d.dim_value());
        }
        dim.value = d.dim_value();
      } else {
        dim.symbol = d.dim_param();
      }
      out.dims.push_back(dim);
    }
    return out;
  }

  Attribute attribute(const proto::AttributeProto& a, const Node& node) {
    Attribute out;
    out.name = a.name();
    if (out.name.empty()) fail("{} has an attribute without a name", node.label());
    if (!a.ref_attr_name().empty()) {
      out.other = "a reference to a function's attribute";
      return out;
    }
    using A = proto::AttributeProto;
    A::AttributeType type = a.type();
    if (type == A::UNDEFINED) {  // IR version 1-2 files left it out: infer it from the field that is set
      type = a.has_f()              ? A::FLOAT
             : a.has_i()            ? A::INT
             : a.has_s()            ? A::STRING
             : a.has_t()            ? A::TENSOR
             : a.has_g()            ? A::GRAPH
             : a.floats_size() > 0  ? A::FLOATS
             : a.ints_size() > 0    ? A::INTS
             : a.strings_size() > 0 ? A::STRINGS
                                    : A::UNDEFINED;
    }
    switch (type) {
      case A::FLOAT:
        out.type = AttrType::kFloat;
        out.f = a.f();
        break;
      case A::INT:
        out.type = AttrType::kInt;
        out.i = a.i();
        break;
      case A::STRING:
        out.type = AttrType::kString;
        out.s = a.s();
        break;
      case A::TENSOR:
        out.type = AttrType::kTensor;
        out.t = tensor(a.t(), std::nullopt, fmt::format("{} attribute '{}'", node.label(), out.name));
        break;
      case A::FLOATS:
        out.type = AttrType::kFloats;
        out.floats.assign(a.floats().begin(), a.floats().end());
        break;
      case A::INTS:
        out.type = AttrType::kInts;
        out.ints.assign(a.ints().begin(), a.ints().end());
        break;
      case A::STRINGS:
        out.type = AttrType::kStrings;
        out.strings.assign(a.strings().begin(), a.strings().end());
        break;
      case A::GRAPH:
      case A::GRAPHS:
        out.type = AttrType::kGraph;
        out.other = A::AttributeType_Name(type);
        break;
      default:
        out.other = A::AttributeType_IsValid(type) ? A::AttributeType_Name(type)
                                                   : fmt::format("type {}", static_cast<int>(type));
        break;
    }
    return out;
  }

  void read_graph(const proto::GraphProto& g) {
    m_.graph_name = g.name();
    if (g.sparse_initializer_size() > 0) {
      fail("graph holds {} sparse initializers ('{}' first), which the engine does not load",
           g.sparse_initializer_size(), g.sparse_initializer(0).values().name());
    }
    for (const Span& span : initializers_) {
      auto [name, c] = initializer(span);
      if (!m_.initializers.emplace(name, std::move(c)).second) fail("initializer '{}' appears twice", name);
    }
    std::set<std::string> seen;
    for (const proto::ValueInfoProto& v : g.input()) {
      if (!seen.insert(v.name()).second) fail("graph input '{}' appears twice", v.name());
      if (m_.initializers.count(v.name())) continue;  // an initializer listed as an input (IR < 4 habit)
      m_.inputs.push_back(value_info(v, "input"));
    }
    seen.clear();
    for (const proto::ValueInfoProto& v : g.output()) {
      if (!seen.insert(v.name()).second) fail("graph output '{}' appears twice", v.name());
      m_.outputs.push_back(value_info(v, "output"));
    }
    if (m_.outputs.empty()) fail("graph has no outputs");
    for (const proto::ValueInfoProto& v : g.value_info()) m_.value_infos.push_back(value_info(v, "value"));
    m_.nodes.reserve(static_cast<std::size_t>(g.node_size()));
    for (const proto::NodeProto& n : g.node()) {
      Node node;
      node.index = m_.nodes.size();
      node.name = n.name();
      node.op_type = n.op_type();
      node.domain = n.domain() == "ai.onnx" ? "" : n.domain();
      if (node.op_type.empty()) fail("{} has no op type", node.label());
      node.inputs.assign(n.input().begin(), n.input().end());
      node.outputs.assign(n.output().begin(), n.output().end());
      std::set<std::string> names;
      for (const proto::AttributeProto& a : n.attribute()) {
        Attribute attr = attribute(a, node);
        if (!names.insert(attr.name).second) fail("{} has attribute '{}' twice", node.label(), attr.name);
        node.attributes.push_back(std::move(attr));
      }
      m_.nodes.push_back(std::move(node));
    }
  }

  struct External {
    std::shared_ptr<MappedFile> file;
    std::shared_ptr<Storage> storage;
  };
  Model& m_;
  Source src_;
  std::vector<Span> initializers_;
  std::map<std::string, External> external_;
};

}  // namespace

Model read_model(const std::filesystem::path& path) {
  Model m;
  m.path = path.string();
  m.folder = path.parent_path().empty() ? std::filesystem::path(".") : path.parent_path();
  Source src;
  src.file = MappedFile::open(path, "ONNX model");
  src.data = src.file->data();
  src.size = src.file->size();
  src.storage = src.file->storage();
  m.mappings.push_back(src.file);
  Reader(m, std::move(src)).read();
  return m;
}

Model parse_model(std::span<const std::byte> bytes, const std::string& name, const std::filesystem::path& folder) {
  Model m;
  m.path = name;
  m.folder = folder;
  Source src;
  src.copy = std::make_shared<std::vector<std::byte>>(bytes.begin(), bytes.end());
  src.data = src.copy->data();
  src.size = src.copy->size();
  src.storage = std::make_shared<Storage>(src.copy->data(), src.copy->size(), Device::kCpu, src.copy);
  Reader(m, std::move(src)).read();
  return m;
}

}  // namespace sc::engine::onnx
