// config.json access: typed fields, and errors that name the file, the field
// and what was expected.
#include "engine/config.h"

#include <gtest/gtest.h>

#include "tests/common/expect_error.h"

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/error.h"

namespace sc::engine {
namespace {

namespace fs = std::filesystem;

const std::string kUnetLike = R"({
  "_class_name": "UNet2DConditionModel",
  "in_channels": 4,
  "sample_size": 64.0,
  "norm_eps": 1e-05,
  "center_input_sample": false,
  "block_out_channels": [320, 640, 1280, 1280],
  "down_block_types": ["CrossAttnDownBlock2D", "DownBlock2D"],
  "attention_head_dim": 8,
  "big": 5000000000,
  "ratio": 3.5,
  "cross_attention_dim": null,
  "vision_config": {"hidden_size": 1152, "layer_norm_eps": 1e-6, "name": "siglip"}
})";

fs::path write_config(const std::string& name, const std::string& text) {
  const fs::path dir = fs::path(SC_TEST_TMP_DIR) / "config";
  fs::create_directories(dir);
  const fs::path path = dir / name;
  std::ofstream(path, std::ios::binary) << text;
  return path;
}

using test::expect_error;

TEST(Config, ReadsTypedFields) {
  const Config c = Config::load(write_config("unet.json", kUnetLike));
  EXPECT_EQ(c.get<int>("in_channels"), 4);
  EXPECT_EQ(c.get<int>("sample_size"), 64);  // 64.0 is an integer value
  EXPECT_EQ(c.get<std::int64_t>("big"), 5000000000LL);
  EXPECT_FLOAT_EQ(c.get<float>("norm_eps"), 1e-5f);
  EXPECT_DOUBLE_EQ(c.get<double>("in_channels"), 4.0);
  EXPECT_FALSE(c.get<bool>("center_input_sample"));
  EXPECT_EQ(c.get<std::string>("_class_name"), "UNet2DConditionModel");
  EXPECT_EQ(c.get<std::vector<int>>("block_out_channels"), (std::vector<int>{320, 640, 1280, 1280}));
  EXPECT_EQ(c.get<std::vector<std::int64_t>>("block_out_channels").size(), 4u);
  EXPECT_EQ(c.get<std::vector<float>>("block_out_channels").front(), 320.0f);
  EXPECT_EQ(c.get<std::vector<std::string>>("down_block_types")[1], "DownBlock2D");
  EXPECT_TRUE(c.has("in_channels"));
  EXPECT_FALSE(c.has("cross_attention_dim"));  // null counts as absent
  EXPECT_FALSE(c.has("nope"));
  EXPECT_EQ(c.get_or<int>("cross_attention_dim", 768), 768);
  EXPECT_EQ(c.get_or<int>("nope", 3), 3);
  EXPECT_EQ(c.get_or<int>("in_channels", 3), 4);
  const Config v = c.child("vision_config");
  EXPECT_EQ(v.get<int>("hidden_size"), 1152);
  EXPECT_EQ(v.path(), "vision_config");
}

TEST(ConfigBadInput, MissingFieldNamesFileFieldAndExpectation) {
  const fs::path path = write_config("missing.json", kUnetLike);
  const Config c = Config::load(path);
  expect_error([&] { c.get<int>("out_channels"); },
               {path.string(), "field 'out_channels'", "is missing", "expected an integer"});
  expect_error([&] { c.get<std::vector<int>>("layers_per_block"); }, {"'layers_per_block'", "expected an array"});
  expect_error([&] { c.child("vision_config").get<int>("num_layers"); },
               {path.string(), "field 'vision_config.num_layers'", "is missing"});
  expect_error([&] { c.child("text_config"); }, {"field 'text_config'", "is missing (expected an object)"});
}

TEST(ConfigBadInput, WrongTypeNamesWhatWasFoundAndExpected) {
  const fs::path path = write_config("types.json", kUnetLike);
  const Config c = Config::load(path);
  expect_error([&] { c.get<int>("_class_name"); },
               {path.string(), "field '_class_name'", "is a string", "expected a 32-bit integer"});
  expect_error([&] { c.get<int>("ratio"); }, {"field 'ratio'", "= 3.5 is not a 32-bit integer"});
  expect_error([&] { c.get<int>("big"); }, {"field 'big'", "out of range"});
  expect_error([&] { c.get<bool>("in_channels"); }, {"field 'in_channels'", "is an integer", "expected true or false"});
  expect_error([&] { c.get<std::string>("block_out_channels"); }, {"is an array", "expected a string"});
  expect_error([&] { c.get<std::vector<int>>("down_block_types"); },
               {"field 'down_block_types[0]'", "is a string", "expected a 32-bit integer"});
  expect_error([&] { c.get_or<int>("_class_name", 1); }, {"field '_class_name'", "is a string"});
  expect_error([&] { c.child("in_channels"); }, {"field 'in_channels'", "expected an object"});
  expect_error([&] { c.get<int>("cross_attention_dim"); }, {"is null", "expected a 32-bit integer"});
}

TEST(ConfigBadInput, UnreadableOrInvalidFiles) {
  expect_error([] { Config::load("/nonexistent/config.json"); }, {"/nonexistent/config.json", "cannot read"});
  const fs::path bad = write_config("bad.json", R"({"in_channels": 4,)");
  expect_error([&] { Config::load(bad); }, {bad.string(), "not valid JSON"});
  const fs::path array = write_config("array.json", "[1, 2]");
  expect_error([&] { Config::load(array); }, {array.string(), "is an array, expected a JSON object"});
  const fs::path latin1 = write_config("latin1.json", "{\"name\": \"caf\xe9\"}");
  expect_error([&] { Config::load(latin1); }, {latin1.string(), "not valid JSON"});
}

TEST(ConfigBadInput, DeepNestingDoesNotOverflowTheStack) {
  const std::string deep = "{\"a\":" + std::string(100000, '[') + std::string(100000, ']') + "}";
  const Config c = Config::parse(deep, "<deep>");
  expect_error([&] { c.get<int>("a"); }, {"<deep>", "field 'a'", "is an array"});
}

}  // namespace
}  // namespace sc::engine
