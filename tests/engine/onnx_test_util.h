#pragma once
// Building ONNX models in C++ tests with libonnx's protobuf classes, so every
// good and bad case is made exactly where it is checked.
#include <onnx/onnx_pb.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <variant>
#include <vector>

#include "engine/onnx/reader.h"

namespace sc::engine::onnx::test {

namespace proto = ::onnx;
using DimSpec = std::variant<std::int64_t, std::string>;

inline std::filesystem::path tmp_dir(const std::string& name) {
  const std::filesystem::path dir = std::filesystem::path(SC_TEST_TMP_DIR) / "onnx" / name;
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

inline void add_dims(proto::ValueInfoProto* v, const std::vector<DimSpec>& dims) {
  auto* shape = v->mutable_type()->mutable_tensor_type()->mutable_shape();
  for (const DimSpec& d : dims) {
    auto* dim = shape->add_dim();
    if (std::holds_alternative<std::int64_t>(d)) {
      dim->set_dim_value(std::get<std::int64_t>(d));
    } else {
      dim->set_dim_param(std::get<std::string>(d));
    }
  }
}

inline void set_attr(proto::NodeProto& n, const std::string& name, std::int64_t v) {
  auto* a = n.add_attribute();
  a->set_name(name);
  a->set_type(proto::AttributeProto::INT);
  a->set_i(v);
}
inline void set_attr(proto::NodeProto& n, const std::string& name, float v) {
  auto* a = n.add_attribute();
  a->set_name(name);
  a->set_type(proto::AttributeProto::FLOAT);
  a->set_f(v);
}
inline void set_attr(proto::NodeProto& n, const std::string& name, const std::string& v) {
  auto* a = n.add_attribute();
  a->set_name(name);
  a->set_type(proto::AttributeProto::STRING);
  a->set_s(v);
}
inline void set_attr(proto::NodeProto& n, const std::string& name, const std::vector<std::int64_t>& v) {
  auto* a = n.add_attribute();
  a->set_name(name);
  a->set_type(proto::AttributeProto::INTS);
  for (std::int64_t x : v) a->add_ints(x);
}

inline void fill_raw(proto::TensorProto* t, const std::string& name, const std::vector<std::int64_t>& dims,
                     const std::vector<float>& values) {
  t->set_name(name);
  t->set_data_type(proto::TensorProto::FLOAT);
  for (std::int64_t d : dims) t->add_dims(d);
  t->set_raw_data(std::string(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(float)));
}

class GraphBuilder {
 public:
  explicit GraphBuilder(std::int64_t opset = 17) {
    model_.set_ir_version(8);
    model_.set_producer_name("onnx_test_util.h");
    auto* o = model_.add_opset_import();
    o->set_domain("");
    o->set_version(opset);
    model_.mutable_graph()->set_name("test");
  }

  GraphBuilder& input(const std::string& name, const std::vector<DimSpec>& dims, int elem = proto::TensorProto::FLOAT) {
    auto* v = graph().add_input();
    v->set_name(name);
    v->mutable_type()->mutable_tensor_type()->set_elem_type(elem);
    add_dims(v, dims);
    return *this;
  }
  GraphBuilder& output(const std::string& name, int elem = proto::TensorProto::FLOAT) {
    auto* v = graph().add_output();
    v->set_name(name);
    v->mutable_type()->mutable_tensor_type()->set_elem_type(elem);
    return *this;
  }
  proto::NodeProto& node(const std::string& op, const std::vector<std::string>& ins,
                         const std::vector<std::string>& outs, const std::string& name = "") {
    auto* n = graph().add_node();
    n->set_op_type(op);
    n->set_name(name.empty() ? op + "_" + std::to_string(graph().node_size()) : name);
    for (const std::string& i : ins) n->add_input(i);
    for (const std::string& o : outs) n->add_output(o);
    return *n;
  }
  proto::TensorProto& init(const std::string& name, const std::vector<std::int64_t>& dims,
                           const std::vector<float>& values) {
    auto* t = graph().add_initializer();
    fill_raw(t, name, dims, values);
    return *t;
  }
  proto::TensorProto& init_i64(const std::string& name, const std::vector<std::int64_t>& dims,
                               const std::vector<std::int64_t>& values) {
    auto* t = graph().add_initializer();
    t->set_name(name);
    t->set_data_type(proto::TensorProto::INT64);
    for (std::int64_t d : dims) t->add_dims(d);
    for (std::int64_t v : values) t->add_int64_data(v);
    return *t;
  }

  proto::ModelProto& model() { return model_; }
  proto::GraphProto& graph() { return *model_.mutable_graph(); }
  std::string bytes() const { return model_.SerializeAsString(); }
  Model parse(const std::string& name = "test.onnx") const {
    const std::string b = bytes();
    return parse_model({reinterpret_cast<const std::byte*>(b.data()), b.size()}, name);
  }
  std::filesystem::path write(const std::filesystem::path& path) const {
    std::ofstream(path, std::ios::binary) << bytes();
    return path;
  }

 private:
  proto::ModelProto model_;
};

// x [2, 3] -> Relu -> y: the smallest graph that runs.
inline GraphBuilder relu_graph() {
  GraphBuilder b;
  b.input("x", {std::int64_t{2}, std::int64_t{3}}).output("y");
  b.node("Relu", {"x"}, {"y"}, "relu");
  return b;
}

}  // namespace sc::engine::onnx::test
