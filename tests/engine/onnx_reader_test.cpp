// The ONNX reader on good files (every initializer encoding, attributes,
// shapes, external data, zero-copy views) and on every kind of bad file the
// issue names: each an sc::Error naming the file and what is wrong, never a
// crash.
#include "engine/onnx/reader.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <random>

#include "engine/half.h"
#include "onnx_test_util.h"
#include "tests/common/expect_error.h"

namespace sc::engine::onnx {
namespace {

namespace fs = std::filesystem;
using sc::test::expect_error;
using test::DimSpec;
using test::GraphBuilder;
namespace proto = ::onnx;

std::string f32_bytes(const std::vector<float>& v) {
  return std::string(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(float));
}

TEST(OnnxReader, ReadsOpsetsShapesAndAttributes) {
  GraphBuilder b(13);
  b.model().set_producer_name("pytorch");
  b.model().set_producer_version("2.1");
  auto* ml = b.model().add_opset_import();
  ml->set_domain("ai.onnx.ml");
  ml->set_version(3);
  b.input("x", {std::string("batch"), std::int64_t{3}, std::string()}).output("y");
  auto& n = b.node("Conv", {"x", "w"}, {"y"}, "conv1");
  test::set_attr(n, "group", std::int64_t{1});
  test::set_attr(n, "pads", std::vector<std::int64_t>{1, 1, 1, 1});
  test::set_attr(n, "auto_pad", std::string("NOTSET"));
  test::set_attr(n, "alpha", 0.5f);
  b.init("w", {2, 3, 1, 1}, {1, 2, 3, 4, 5, 6});
  // An initializer listed as a graph input too (older exporters): not an input to give.
  b.input("w", {std::int64_t{2}, std::int64_t{3}, std::int64_t{1}, std::int64_t{1}});
  const Model m = b.parse("conv.onnx");
  EXPECT_EQ(m.opset(), 13);
  EXPECT_EQ(m.opsets.at("ai.onnx.ml"), 3);
  EXPECT_EQ(m.producer, "pytorch 2.1");
  ASSERT_EQ(m.inputs.size(), 1u);
  EXPECT_EQ(m.inputs[0].shape_string(), "[batch, 3, ?]");
  EXPECT_EQ(m.inputs[0].type, ElemType::kFloat);
  ASSERT_EQ(m.nodes.size(), 1u);
  const Node& node = m.nodes[0];
  EXPECT_EQ(node.label(), "node 'conv1' (Conv)");
  EXPECT_EQ(node.attribute("group")->i, 1);
  EXPECT_EQ(node.attribute("pads")->ints, (std::vector<std::int64_t>{1, 1, 1, 1}));
  EXPECT_EQ(node.attribute("auto_pad")->s, "NOTSET");
  EXPECT_EQ(node.attribute("alpha")->f, 0.5f);
  EXPECT_EQ(m.initializers.at("w").value.shape(), (Shape{2, 3, 1, 1}));
  EXPECT_EQ(m.initializers.at("w").value.to_vector<float>(), (std::vector<float>{1, 2, 3, 4, 5, 6}));
}

TEST(OnnxReader, EveryInitializerEncoding) {
  GraphBuilder b;
  b.input("x", {std::int64_t{1}}).output("x");
  auto* g = &b.graph();
  auto add = [&](const std::string& name, int type, std::vector<std::int64_t> dims) {
    auto* t = g->add_initializer();
    t->set_name(name);
    t->set_data_type(type);
    for (std::int64_t d : dims) t->add_dims(d);
    return t;
  };
  add("f_typed", proto::TensorProto::FLOAT, {2})->add_float_data(1.5f);
  g->mutable_initializer(0)->add_float_data(-2.0f);
  auto* h = add("f16_raw", proto::TensorProto::FLOAT16, {2});
  const std::uint16_t hv[] = {f32_to_f16(0.5f), f32_to_f16(-3.0f)};
  h->set_raw_data(std::string(reinterpret_cast<const char*>(hv), sizeof hv));
  auto* h2 = add("f16_typed", proto::TensorProto::FLOAT16, {1});
  h2->add_int32_data(f32_to_f16(0.25f));
  auto* bf = add("bf16_typed", proto::TensorProto::BFLOAT16, {1});
  bf->add_int32_data(f32_to_bf16(-1.5f));
  auto* i64 = add("i64_typed", proto::TensorProto::INT64, {3});
  for (std::int64_t v : {std::int64_t{-1}, std::int64_t{0}, std::int64_t{1} << 40}) i64->add_int64_data(v);
  auto* i32 = add("i32_raw", proto::TensorProto::INT32, {2});
  const std::int32_t iv[] = {7, -9};
  i32->set_raw_data(std::string(reinterpret_cast<const char*>(iv), sizeof iv));
  auto* u8 = add("u8_typed", proto::TensorProto::UINT8, {2});
  u8->add_int32_data(200);
  u8->add_int32_data(3);
  auto* bl = add("bool_raw", proto::TensorProto::BOOL, {3});
  bl->set_raw_data(std::string("\x00\x01\x05", 3));
  add("scalar", proto::TensorProto::FLOAT, {})->add_float_data(4.0f);
  add("empty", proto::TensorProto::FLOAT, {0, 3});
  const Model m = b.parse();
  const auto& in = m.initializers;
  EXPECT_EQ(in.at("f_typed").value.to_vector<float>(), (std::vector<float>{1.5f, -2.0f}));
  EXPECT_EQ(in.at("f16_raw").value.to_vector<float>(), (std::vector<float>{0.5f, -3.0f}));
  EXPECT_EQ(in.at("f16_raw").type, ElemType::kFloat16);
  EXPECT_EQ(in.at("f16_typed").value.to_vector<float>(), std::vector<float>{0.25f});
  EXPECT_EQ(in.at("bf16_typed").value.to_vector<float>(), std::vector<float>{-1.5f});
  EXPECT_EQ(in.at("i64_typed").value.to_vector<std::int64_t>(), (std::vector<std::int64_t>{-1, 0, 1LL << 40}));
  EXPECT_EQ(in.at("i32_raw").value.to_vector<std::int32_t>(), (std::vector<std::int32_t>{7, -9}));
  EXPECT_EQ(in.at("u8_typed").value.to_vector<std::uint8_t>(), (std::vector<std::uint8_t>{200, 3}));
  EXPECT_EQ(in.at("bool_raw").value.to_vector<std::uint8_t>(), (std::vector<std::uint8_t>{0, 1, 1}));
  EXPECT_EQ(in.at("scalar").value.rank(), 0);
  EXPECT_EQ(in.at("scalar").value.item(), 4.0f);
  EXPECT_EQ(in.at("empty").value.shape(), (Shape{0, 3}));
}

// Aligned raw_data in the file is a view of its mapping; unaligned data is
// copied (and those pages given back).
TEST(OnnxReader, AlignedWeightsAreViewsOfTheFile) {
  const fs::path dir = test::tmp_dir("views");
  std::vector<float> values(4096);
  for (std::size_t i = 0; i < values.size(); ++i) values[i] = static_cast<float>(i) * 0.5f;
  int aligned = 0, unaligned = 0;
  // Names of different lengths shift the data: both cases come up.
  for (int len = 1; len <= 8; ++len) {
    GraphBuilder b;
    b.input("x", {std::int64_t{1}}).output("x");
    const std::string name(static_cast<std::size_t>(len), 'w');
    b.init(name, {4096}, values);
    const std::string bytes = b.bytes();
    const std::size_t at = bytes.find(f32_bytes({values.begin() + 1, values.begin() + 9}));  // skips value 0
    ASSERT_NE(at, std::string::npos);
    const fs::path path = b.write(dir / ("m" + std::to_string(len) + ".onnx"));
    const Model m = read_model(path);
    const Tensor& t = m.initializers.at(name).value;
    EXPECT_EQ(t.to_vector<float>(), values);
    const bool is_view = t.storage()->bytes() == fs::file_size(path);
    EXPECT_EQ(is_view, (at - 4) % 4 == 0) << "offset " << at - 4;
    (is_view ? aligned : unaligned)++;
  }
  EXPECT_GT(aligned, 0);
  EXPECT_GT(unaligned, 0);
}

TEST(OnnxReader, ExternalDataBesideTheModel) {
  const fs::path dir = test::tmp_dir("external");
  const std::vector<float> w = {1, 2, 3, 4, 5, 6};
  std::ofstream(dir / "w.bin", std::ios::binary) << std::string(12, '\0') << f32_bytes(w);
  auto model = [&](const std::string& location, const std::string& offset, const std::string& length) {
    GraphBuilder b;
    b.input("x", {std::int64_t{1}}).output("x");
    auto* t = b.graph().add_initializer();
    t->set_name("w");
    t->set_data_type(proto::TensorProto::FLOAT);
    t->add_dims(2);
    t->add_dims(3);
    t->set_data_location(proto::TensorProto::EXTERNAL);
    for (const auto& [k, v] :
         {std::pair{"location", location}, std::pair{"offset", offset}, std::pair{"length", length}}) {
      if (v.empty()) continue;
      auto* e = t->add_external_data();
      e->set_key(k);
      e->set_value(v);
    }
    return b;
  };
  const Model ok = read_model(model("w.bin", "12", "24").write(dir / "ok.onnx"));
  EXPECT_EQ(ok.initializers.at("w").value.to_vector<float>(), w);
  EXPECT_EQ(ok.external_bytes, 36u);

  const fs::path missing = model("gone.bin", "", "").write(dir / "missing.onnx");
  expect_error([&] { read_model(missing); }, {missing.string(), "initializer 'w'", "gone.bin", "missing"});
  for (const char* escape : {"../w.bin", "/etc/passwd", "sub/../../w.bin"}) {
    const fs::path p = model(escape, "", "").write(dir / "escape.onnx");
    expect_error([&] { read_model(p); }, {p.string(), "initializer 'w'", "inside the model's folder"});
  }
  const fs::path short_len = model("w.bin", "12", "20").write(dir / "length.onnx");
  expect_error([&] { read_model(short_len); }, {"initializer 'w'", "declares 20 bytes", "needs 24"});
  const fs::path past = model("w.bin", "20", "").write(dir / "past.onnx");
  expect_error([&] { read_model(past); }, {"initializer 'w'", "runs past the end", "truncated"});
  const fs::path bad_offset = model("w.bin", "-4", "").write(dir / "offset.onnx");
  expect_error([&] { read_model(bad_offset); }, {"initializer 'w'", "offset '-4'"});
  // A symlink out of the folder is caught after resolving it.
  fs::create_symlink("/etc", dir / "link");
  const fs::path link = model("link/hostname", "", "").write(dir / "link.onnx");
  expect_error([&] { read_model(link); }, {"initializer 'w'", "outside the model's folder"});
  // In memory there is no folder to look in.
  const std::string bytes = model("w.bin", "", "").bytes();
  expect_error(
      [&] {
        parse_model({reinterpret_cast<const std::byte*>(bytes.data()), bytes.size()}, "mem");
      },
      {"'mem'", "external data needs the model read from its file"});
}

TEST(OnnxReader, SubgraphsAreKeptAsMarkers) {
  GraphBuilder b;
  b.input("c", {std::int64_t{1}}, proto::TensorProto::BOOL).output("y");
  auto& n = b.node("If", {"c"}, {"y"}, "branch");
  auto* a = n.add_attribute();
  a->set_name("then_branch");
  a->set_type(proto::AttributeProto::GRAPH);
  a->mutable_g()->set_name("then");
  const Model m = b.parse();
  ASSERT_NE(m.nodes[0].attribute("then_branch"), nullptr);
  EXPECT_EQ(m.nodes[0].attribute("then_branch")->type, AttrType::kGraph);
}

// ---- bad files ---------------------------------------------------------------------

Model parse_bytes(const std::string& bytes, const std::string& name = "bad.onnx") {
  return parse_model({reinterpret_cast<const std::byte*>(bytes.data()), bytes.size()}, name);
}

TEST(OnnxReaderBadInput, EmptyMissingAndNotOnnx) {
  const fs::path dir = test::tmp_dir("bad");
  std::ofstream(dir / "empty.onnx").close();
  expect_error([&] { read_model(dir / "empty.onnx"); }, {(dir / "empty.onnx").string(), "empty"});
  expect_error([&] { read_model(dir / "nope.onnx"); }, {(dir / "nope.onnx").string(), "cannot open"});
  expect_error([&] { read_model(dir); }, {dir.string(), "not a regular file"});
  expect_error([&] { parse_bytes("hello, this is not protobuf\n"); }, {"'bad.onnx'", "ONNX model"});
  expect_error([&] { parse_bytes(std::string("\x0a\xff\xff\xff\xff\x0f", 6)); },
               {"'bad.onnx'", "corrupt or truncated"});
}

TEST(OnnxReaderBadInput, EveryTruncationIsAnErrorOrAValidPrefix) {
  GraphBuilder b = test::relu_graph();
  b.init("w", {64}, std::vector<float>(64, 1.0f));
  const std::string bytes = b.bytes();
  int errors = 0;
  for (std::size_t n = 0; n < bytes.size(); ++n) {
    try {
      parse_bytes(bytes.substr(0, n), "cut.onnx");  // a prefix can be a smaller valid model
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("'cut.onnx'"), std::string::npos) << e.what();
      ++errors;
    }
  }
  EXPECT_GT(errors, static_cast<int>(bytes.size()) / 2);
}

TEST(OnnxReaderBadInput, FlippedBytesNeverCrash) {
  GraphBuilder b = test::relu_graph();
  b.init("w", {8}, std::vector<float>(8, 1.0f));
  auto& n = b.node("Gemm", {"x", "w"}, {"z"});
  test::set_attr(n, "alpha", 2.0f);
  const std::string bytes = b.bytes();
  std::mt19937 rng(5);
  for (int i = 0; i < 2000; ++i) {
    std::string c = bytes;
    for (int k = 0; k < 3; ++k) c[rng() % c.size()] = static_cast<char>(rng());
    try {
      parse_bytes(c);
    } catch (const Error&) {
    }
  }
}

TEST(OnnxReaderBadInput, InitializerSizesAndTypes) {
  auto with = [](auto edit) {
    GraphBuilder b = test::relu_graph();
    auto* t = b.graph().add_initializer();
    test::fill_raw(t, "w", {2, 3}, {1, 2, 3, 4, 5, 6});
    edit(*t);
    return b.bytes();
  };
  expect_error([&] { parse_bytes(with([](proto::TensorProto& t) { t.set_raw_data(std::string(10, '\0')); })); },
               {"'bad.onnx'", "initializer 'w'", "10 bytes of raw_data", "needs 24 bytes"});
  expect_error(
      [&] {
        parse_bytes(with([](proto::TensorProto& t) {
          t.clear_raw_data();
          t.add_float_data(1.0f);
        }));
      },
      {"initializer 'w'", "1 values in float_data", "needs 6"});
  expect_error(
      [&] {
        parse_bytes(with([](proto::TensorProto& t) {
          t.clear_raw_data();
          for (int i = 0; i < 6; ++i) t.add_int64_data(i);
        }));
      },
      {"initializer 'w'", "float but stores its values in int64_data"});
  expect_error([&] { parse_bytes(with([](proto::TensorProto& t) { t.set_data_type(proto::TensorProto::DOUBLE); })); },
               {"initializer 'w'", "double", "does not load"});
  expect_error([&] { parse_bytes(with([](proto::TensorProto& t) { t.set_dims(0, -2); })); },
               {"initializer 'w'", "negative dimension -2"});
  expect_error(
      [&] {
        parse_bytes(with([](proto::TensorProto& t) {
          t.clear_dims();
          for (int i = 0; i < 9; ++i) t.add_dims(1);
        }));
      },
      {"initializer 'w'", "9 dimensions"});
  expect_error(
      [&] {
        parse_bytes(with([](proto::TensorProto& t) {
          t.clear_dims();
          t.add_dims(1LL << 40);
          t.add_dims(1LL << 40);
        }));
      },
      {"initializer 'w'", "too large"});
  expect_error([&] { parse_bytes(with([](proto::TensorProto& t) { t.add_float_data(1.0f); })); },
               {"initializer 'w'", "more than one place"});
  expect_error([&] { parse_bytes(with([](proto::TensorProto& t) { t.set_name(""); })); }, {"has no name"});
  expect_error(
      [&] {
        parse_bytes(with([](proto::TensorProto& t) {
          t.clear_raw_data();
          t.set_data_type(proto::TensorProto::UINT8);
          for (int i = 0; i < 6; ++i) t.add_int32_data(300);
        }));
      },
      {"initializer 'w'", "300", "uint8"});
  GraphBuilder twice = test::relu_graph();
  twice.init("w", {1}, {1});
  twice.init("w", {1}, {2});
  expect_error([&] { parse_bytes(twice.bytes()); }, {"initializer 'w' appears twice"});
}

TEST(OnnxReaderBadInput, ModelStructure) {
  GraphBuilder old = test::relu_graph();
  old.model().set_ir_version(2);
  expect_error([&] { parse_bytes(old.bytes()); }, {"'bad.onnx'", "IR version 2"});
  GraphBuilder none = test::relu_graph();
  none.model().clear_opset_import();
  expect_error([&] { parse_bytes(none.bytes()); }, {"imports no opset"});
  GraphBuilder twice = test::relu_graph();
  twice.model().add_opset_import()->set_version(13);
  expect_error([&] { parse_bytes(twice.bytes()); }, {"opset of domain 'ai.onnx' twice"});
  GraphBuilder no_out = test::relu_graph();
  no_out.graph().clear_output();
  expect_error([&] { parse_bytes(no_out.bytes()); }, {"no outputs"});
  GraphBuilder dup_in = test::relu_graph();
  dup_in.input("x", {std::int64_t{1}});
  expect_error([&] { parse_bytes(dup_in.bytes()); }, {"graph input 'x' appears twice"});
  GraphBuilder no_op = test::relu_graph();
  no_op.graph().mutable_node(0)->clear_op_type();
  expect_error([&] { parse_bytes(no_op.bytes()); }, {"node 'relu'", "no op type"});
  GraphBuilder dup_attr = test::relu_graph();
  test::set_attr(*dup_attr.graph().mutable_node(0), "a", std::int64_t{1});
  test::set_attr(*dup_attr.graph().mutable_node(0), "a", std::int64_t{2});
  expect_error([&] { parse_bytes(dup_attr.bytes()); }, {"node 'relu' (Relu)", "attribute 'a' twice"});
  GraphBuilder sparse = test::relu_graph();
  sparse.graph().add_sparse_initializer()->mutable_values()->set_name("s");
  expect_error([&] { parse_bytes(sparse.bytes()); }, {"sparse initializers"});
  GraphBuilder neg = test::relu_graph();
  neg.graph().mutable_input(0)->mutable_type()->mutable_tensor_type()->mutable_shape()->mutable_dim(0)->set_dim_value(
      -1);
  expect_error([&] { parse_bytes(neg.bytes()); }, {"graph input 'x'", "negative dimension"});
  GraphBuilder bad_attr = test::relu_graph();
  auto* a = bad_attr.graph().mutable_node(0)->add_attribute();
  a->set_name("t");
  a->set_type(proto::AttributeProto::TENSOR);
  test::fill_raw(a->mutable_t(), "t", {4}, {1, 2});
  expect_error([&] { parse_bytes(bad_attr.bytes()); }, {"node 'relu' (Relu) attribute 't'", "8 bytes of raw_data"});
}

}  // namespace
}  // namespace sc::engine::onnx
