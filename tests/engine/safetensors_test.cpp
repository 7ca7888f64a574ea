// The safetensors reader on good files, on every kind of bad file the issue
// names (each must be an sc::Error naming the file and the problem), and on
// sharded checkpoints.
#include "engine/safetensors.h"

#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "base/error.h"
#include "engine/half.h"
#include "engine/ops.h"

namespace sc::engine {
namespace {

namespace fs = std::filesystem;

fs::path tmp_dir(const std::string& name) {
  const fs::path dir = fs::path(SC_TEST_TMP_DIR) / "safetensors" / name;
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

// [u64 LE header length][header][data]
std::string file_bytes(const std::string& header, const std::string& data, std::uint64_t claimed_length = ~0ull) {
  const std::uint64_t n = claimed_length == ~0ull ? header.size() : claimed_length;
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) out[static_cast<std::size_t>(i)] = static_cast<char>((n >> (8 * i)) & 0xff);
  return out + header + data;
}

fs::path write(const fs::path& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
  return path;
}

template <typename T>
std::string raw(const std::vector<T>& v) {
  return std::string(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(T));
}

// Opens `bytes` as a file and expects an sc::Error whose message names the
// file and contains `problem`.
void expect_rejected(const std::string& bytes, const std::string& problem, const std::string& test_name) {
  const fs::path path = write(tmp_dir(test_name) / "bad.safetensors", bytes);
  try {
    SafetensorsFile::open(path);
    FAIL() << "accepted a bad file; expected an error about: " << problem;
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find(path.string()), std::string::npos) << "message does not name the file: " << msg;
    EXPECT_NE(msg.find(problem), std::string::npos) << "message does not say '" << problem << "': " << msg;
  }
  // The in-memory parser gives the same verdict.
  const auto* p = reinterpret_cast<const std::byte*>(bytes.data());
  EXPECT_THROW(SafetensorsFile::from_bytes({p, bytes.size()}, "mem"), Error);
}

const std::string kGoodHeader = R"({"__metadata__":{"format":"pt","note":"ok"},)"
                                R"("w":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]},)"
                                R"("h":{"dtype":"F16","shape":[4],"data_offsets":[24,32]},)"
                                R"("b":{"dtype":"BF16","shape":[2],"data_offsets":[32,36]},)"
                                R"("i":{"dtype":"I64","shape":[3],"data_offsets":[36,60]},)"
                                R"("u":{"dtype":"U8","shape":[4],"data_offsets":[60,64]}})";

std::string good_data() {
  const std::vector<float> w = {1, 2, 3, 4, 5, -6.5f};
  const std::vector<std::uint16_t> h = {f32_to_f16(1.5f), f32_to_f16(-2.0f), f32_to_f16(65504.0f),
                                        f32_to_f16(0.000061035156f)};
  const std::vector<std::uint16_t> b = {f32_to_bf16(3.0f), f32_to_bf16(-0.15625f)};
  const std::vector<std::int64_t> i = {-1, 0, 1LL << 40};
  const std::vector<std::uint8_t> u = {0, 7, 200, 255};
  return raw(w) + raw(h) + raw(b) + raw(i) + raw(u);
}

TEST(Safetensors, LoadsEveryEngineDtype) {
  // Pad the header to 8 bytes so the F32 data is aligned and shared.
  std::string header = kGoodHeader;
  while ((header.size() + 8) % 8) header += ' ';
  const fs::path path = write(tmp_dir("good") / "good.safetensors", file_bytes(header, good_data()));
  const SafetensorsFile f = SafetensorsFile::open(path);
  EXPECT_EQ(f.names(), (std::vector<std::string>{"b", "h", "i", "u", "w"}));
  EXPECT_EQ(f.metadata().at("note"), "ok");
  EXPECT_TRUE(f.contains("w"));
  EXPECT_FALSE(f.contains("x"));

  const Tensor w = f.load("w", {2, 3});
  EXPECT_EQ(w.to_vector<float>(), (std::vector<float>{1, 2, 3, 4, 5, -6.5f}));
  EXPECT_TRUE(w.shares_storage_with(f.load("w"))) << "aligned F32 should be a view of the mapping";
  EXPECT_EQ(f.load("h").to_vector<float>(), (std::vector<float>{1.5f, -2.0f, 65504.0f, 0.000061035156f}));
  EXPECT_EQ(f.load("b").dtype(), DType::kF32);
  EXPECT_EQ(f.load("b").to_vector<float>(), (std::vector<float>{3.0f, -0.15625f}));
  EXPECT_EQ(f.load("i", {3}, DType::kI64).to_vector<std::int64_t>(), (std::vector<std::int64_t>{-1, 0, 1LL << 40}));
  EXPECT_EQ(f.load("u").to_vector<std::uint8_t>(), (std::vector<std::uint8_t>{0, 7, 200, 255}));
  EXPECT_EQ(f.entry("h").dtype, "F16");
}

TEST(Safetensors, WritingAWeightViewNeverTouchesTheFile) {
  std::string header = kGoodHeader;
  while ((header.size() + 8) % 8) header += ' ';
  const std::string bytes = file_bytes(header, good_data());
  const fs::path path = write(tmp_dir("cow") / "cow.safetensors", bytes);
  {
    Tensor w = SafetensorsFile::open(path).load("w");
    w.data<float>()[0] = 42.0f;  // copy-on-write page, private to us
  }
  std::ifstream in(path, std::ios::binary);
  const std::string after((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(after, bytes);
}

TEST(Safetensors, MisalignedDataIsCopiedNotReadUnaligned) {
  // An odd-length header puts every tensor at an odd address.
  std::string header = R"({"w":{"dtype":"F32","shape":[3],"data_offsets":[0,12]}})";
  if ((header.size() + 8) % 2 == 0) header += ' ';
  const fs::path path = write(tmp_dir("odd") / "odd.safetensors", file_bytes(header, raw(std::vector<float>{1, 2, 3})));
  const Tensor w = SafetensorsFile::open(path).load("w");
  EXPECT_EQ(w.to_vector<float>(), (std::vector<float>{1, 2, 3}));
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(w.raw_data()) % 4, 0u);
}

TEST(Safetensors, EmptyHeaderIsAValidEmptyFile) {
  const fs::path path = write(tmp_dir("empty") / "empty.safetensors", file_bytes("{}", ""));
  EXPECT_TRUE(SafetensorsFile::open(path).names().empty());
}

TEST(Safetensors, ZeroSizedTensorsAreFine) {
  const std::string header =
      R"({"e":{"dtype":"F32","shape":[0,3],"data_offsets":[0,0]},"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})";
  const fs::path path = write(tmp_dir("zero") / "zero.safetensors", file_bytes(header, raw(std::vector<float>{7})));
  const SafetensorsFile f = SafetensorsFile::open(path);
  EXPECT_EQ(f.load("e").numel(), 0);
  EXPECT_EQ(f.load("w").item(), 7.0f);
}

TEST(Safetensors, WrittenFilesReadBackInEveryDtype) {
  const fs::path path = tmp_dir("write") / "out.safetensors";
  const Tensor f = Tensor::from_vector({2, 3}, std::vector<float>{1, -2, 3.5f, 4, 5, 6});
  const Tensor h = to_dtype(Tensor::from_vector({3}, std::vector<float>{1.5f, -2, 0.1f}), DType::kF16);
  const Tensor b = to_dtype(Tensor::from_vector({2}, std::vector<float>{3, -0.15625f}), DType::kBF16);
  const Tensor i64 = Tensor::from_vector_i64({3}, std::vector<std::int64_t>{-1, 0, 1LL << 40});
  const Tensor i32 = Tensor::from_vector_i32({1, 1}, std::vector<std::int32_t>{-7});
  Tensor u8 = Tensor::empty({5}, DType::kU8);
  for (int k = 0; k < 5; ++k) u8.data<std::uint8_t>()[k] = static_cast<std::uint8_t>(50 * k + 3);
  const Tensor scalar = Tensor::full({}, 2.25f);
  const Tensor empty = Tensor::zeros({0, 4});
  write_safetensors(path,
                    {{"f", f}, {"h", h}, {"b", b}, {"i64", i64}, {"i32", i32}, {"u8", u8}, {"s", scalar}, {"e", empty}},
                    {{"producer", "test"}});
  EXPECT_FALSE(fs::exists(path.string() + ".partial"));
  const SafetensorsFile file = SafetensorsFile::open(path);
  EXPECT_EQ(file.metadata().at("producer"), "test");
  EXPECT_EQ(file.entry("h").dtype, "F16");
  EXPECT_EQ(file.entry("b").dtype, "BF16");
  EXPECT_EQ(file.load("f").to_vector<float>(), f.to_vector<float>());
  EXPECT_EQ(file.load("h").to_vector<float>(), to_dtype(h, DType::kF32).to_vector<float>());
  EXPECT_EQ(file.load("b").to_vector<float>(), to_dtype(b, DType::kF32).to_vector<float>());
  EXPECT_EQ(file.load("i64").to_vector<std::int64_t>(), i64.to_vector<std::int64_t>());
  EXPECT_EQ(file.load("i32").to_vector<std::int32_t>(), i32.to_vector<std::int32_t>());
  EXPECT_EQ(file.load("i32").shape(), (Shape{1, 1}));
  EXPECT_EQ(file.load("u8").to_vector<std::uint8_t>(), u8.to_vector<std::uint8_t>());
  EXPECT_EQ(file.load("s").rank(), 0);
  EXPECT_EQ(file.load("s").item(), 2.25f);
  EXPECT_EQ(file.load("e").shape(), (Shape{0, 4}));
  // The header is padded so the data starts 8-byte aligned.
  EXPECT_EQ((fs::file_size(path) - f.nbytes() - h.nbytes() - b.nbytes() - i64.nbytes() - i32.nbytes() - 5 - 4) % 8, 0u);
  // Overwriting replaces the file whole.
  write_safetensors(path, {{"only", f}});
  EXPECT_EQ(SafetensorsFile::open(path).names(), std::vector<std::string>{"only"});
}

TEST(SafetensorsBadInput, WritingRefusesWhatCannotBeWritten) {
  const fs::path dir = tmp_dir("write_bad");
  try {
    write_safetensors(dir / "no_such_folder" / "x.safetensors", {{"a", Tensor::zeros({1})}});
    FAIL() << "wrote into a missing folder";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("no_such_folder"), std::string::npos) << e.what();
  }
  EXPECT_THROW(write_safetensors(dir / "x.safetensors", {{"a", Tensor()}}), Error);
  EXPECT_THROW(write_safetensors(dir / "x.safetensors", {{"__metadata__", Tensor::zeros({1})}}), Error);
}

TEST(SafetensorsBadInput, TruncatedBeforeTheHeaderLength) {
  expect_rejected(std::string("\x10\x00\x00", 3), "truncated", "trunc_len");
  expect_rejected("", "truncated", "trunc_empty");
}

TEST(SafetensorsBadInput, HeaderLengthLargerThanTheFile) {
  const std::string header = R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})";
  expect_rejected(file_bytes(header, "", header.size() + 100), "truncated", "trunc_header");
}

TEST(SafetensorsBadInput, TruncatedData) {
  const std::string header = R"({"w":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})";
  expect_rejected(file_bytes(header, std::string(10, '\0')), "run past the end of the data", "trunc_data");
}

TEST(SafetensorsBadInput, HeaderOverTheSizeLimit) {
  expect_rejected(file_bytes("{}", "", kMaxSafetensorsHeaderBytes + 1), "exceeds the limit", "oversized");
}

TEST(SafetensorsBadInput, HeaderNotUtf8) {
  expect_rejected(file_bytes("{\"w\xff\":{}}", ""), "not valid UTF-8", "utf8");
  // An overlong encoding of '/' and a lone surrogate are invalid too.
  expect_rejected(file_bytes("{\"\xc0\xaf\":{}}", ""), "not valid UTF-8", "utf8_overlong");
  expect_rejected(file_bytes("{\"\xed\xa0\x80\":{}}", ""), "not valid UTF-8", "utf8_surrogate");
}

TEST(SafetensorsBadInput, HeaderNotJson) {
  expect_rejected(file_bytes(R"({"w": {"dtype": )", ""), "not valid JSON", "json");
  expect_rejected(file_bytes("[1, 2]", ""), "does not start with '{'", "json_array");
  expect_rejected(file_bytes(R"({"w": 3})", ""), "expected an object", "json_entry");
}

TEST(SafetensorsBadInput, OffsetsOutsideTheData) {
  const std::string header = R"({"w":{"dtype":"F32","shape":[25],"data_offsets":[0,100]}})";
  expect_rejected(file_bytes(header, std::string(24, '\0')), "run past the end of the data", "outside");
  const std::string huge = R"({"w":{"dtype":"U8","shape":[1],"data_offsets":[18446744073709551615,0]}})";
  expect_rejected(file_bytes(huge, std::string(1, '\0')), "data_offsets", "outside_huge");
  const std::string reversed = R"({"w":{"dtype":"U8","shape":[0],"data_offsets":[4,2]}})";
  expect_rejected(file_bytes(reversed, std::string(4, '\0')), "end before they begin", "reversed");
  const std::string negative = R"({"w":{"dtype":"U8","shape":[1],"data_offsets":[-1,0]}})";
  expect_rejected(file_bytes(negative, std::string(1, '\0')), "not non-negative integers", "negative");
}

TEST(SafetensorsBadInput, OverlappingTensors) {
  const std::string header =
      R"({"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},"b":{"dtype":"F32","shape":[4],"data_offsets":[8,24]}})";
  expect_rejected(file_bytes(header, std::string(24, '\0')), "overlap", "overlap");
}

TEST(SafetensorsBadInput, HolesAndTrailingBytes) {
  const std::string hole =
      R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[12,20]}})";
  expect_rejected(file_bytes(hole, std::string(20, '\0')), "hole", "hole");
  const std::string tail = R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";
  expect_rejected(file_bytes(tail, std::string(12, '\0')), "not part of any tensor", "tail");
}

TEST(SafetensorsBadInput, ByteSizeDisagreesWithDtypeTimesShape) {
  const std::string header = R"({"w":{"dtype":"F32","shape":[2,3],"data_offsets":[0,20]}})";
  expect_rejected(file_bytes(header, std::string(20, '\0')), "= 24 bytes, but its data_offsets [0, 20] hold 20",
                  "size");
  const std::string overflow = R"({"w":{"dtype":"F32","shape":[4611686018427387904,8],"data_offsets":[0,0]}})";
  expect_rejected(file_bytes(overflow, ""), "too large", "size_overflow");
}

TEST(SafetensorsBadInput, UnknownDtype) {
  const std::string header = R"({"w":{"dtype":"F33","shape":[1],"data_offsets":[0,4]}})";
  expect_rejected(file_bytes(header, std::string(4, '\0')), "unknown dtype 'F33'", "dtype");
}

TEST(SafetensorsBadInput, MalformedEntries) {
  expect_rejected(file_bytes(R"({"w":{"shape":[1],"data_offsets":[0,4]}})", std::string(4, '\0')), "\"dtype\"",
                  "no_dtype");
  expect_rejected(file_bytes(R"({"w":{"dtype":"F32","shape":[1.5],"data_offsets":[0,4]}})", std::string(4, '\0')),
                  "shape entry", "shape_float");
  expect_rejected(file_bytes(R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[0]}})", std::string(4, '\0')),
                  "data_offsets", "offsets_short");
  expect_rejected(file_bytes(R"({"__metadata__":{"a":1}})", ""), "__metadata__", "metadata");
  expect_rejected(file_bytes(R"({"w":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},)"
                             R"("w":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}})",
                             std::string(2, '\0')),
                  "names 'w' twice", "duplicate");
}

TEST(SafetensorsBadInput, WrongDtypeOrShapeAtLoad) {
  std::string header = kGoodHeader;
  const fs::path path = write(tmp_dir("load") / "model.safetensors", file_bytes(header, good_data()));
  const SafetensorsFile f = SafetensorsFile::open(path);
  auto expect_error = [&](auto&& fn, const std::string& problem) {
    try {
      fn();
      FAIL() << "expected: " << problem;
    } catch (const Error& e) {
      const std::string msg = e.what();
      EXPECT_NE(msg.find(path.string()), std::string::npos) << msg;
      EXPECT_NE(msg.find(problem), std::string::npos) << msg;
    }
  };
  expect_error([&] { f.load("w", {3, 2}); }, "tensor 'w' has shape [2, 3]; expected [3, 2]");
  expect_error([&] { f.load("i", {3}); }, "tensor 'i' is I64; expected a float tensor");
  expect_error([&] { f.load("w", {2, 3}, DType::kI64); }, "tensor 'w' is F32; expected i64");
  expect_error([&] { f.load("missing"); }, "has no tensor 'missing'");
}

TEST(SafetensorsBadInput, DtypesTheEngineDoesNotLoad) {
  // F64 is valid safetensors: the file opens, only loading it is refused.
  const std::string header = R"({"d":{"dtype":"F64","shape":[1],"data_offsets":[0,8]}})";
  const fs::path path = write(tmp_dir("f64") / "f64.safetensors", file_bytes(header, std::string(8, '\0')));
  const SafetensorsFile f = SafetensorsFile::open(path);
  EXPECT_THROW(
      {
        try {
          f.load("d");
        } catch (const Error& e) {
          EXPECT_NE(std::string(e.what()).find("F64, which the engine does not load"), std::string::npos);
          throw;
        }
      },
      Error);
}

TEST(SafetensorsBadInput, TooManyDimensionsAtLoad) {
  const std::string header = R"({"w":{"dtype":"U8","shape":[1,1,1,1,1,1,1,1,1],"data_offsets":[0,1]}})";
  const fs::path path = write(tmp_dir("rank") / "rank.safetensors", file_bytes(header, std::string(1, '\0')));
  EXPECT_THROW(SafetensorsFile::open(path).load("w"), Error);
}

TEST(SafetensorsBadInput, MissingFile) {
  try {
    SafetensorsFile::open("/nonexistent/x.safetensors");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/x.safetensors"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("cannot open"), std::string::npos);
  }
}

// ---- sharded checkpoints ---------------------------------------------------

void write_shards(const fs::path& dir) {
  write(dir / "model-00001-of-00002.safetensors",
        file_bytes(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})", raw(std::vector<float>{1, 2})));
  write(dir / "model-00002-of-00002.safetensors",
        file_bytes(R"({"b":{"dtype":"BF16","shape":[1],"data_offsets":[0,2]},)"
                   R"("c":{"dtype":"I32","shape":[1],"data_offsets":[2,6]}})",
                   raw(std::vector<std::uint16_t>{f32_to_bf16(4.0f)}) + raw(std::vector<std::int32_t>{9})));
}

const std::string kIndex = R"({"metadata":{"total_size":14},"weight_map":{
  "a":"model-00001-of-00002.safetensors","b":"model-00002-of-00002.safetensors",
  "c":"model-00002-of-00002.safetensors"}})";

TEST(Checkpoint, ShardedThroughTheIndexOrTheFolder) {
  const fs::path dir = tmp_dir("sharded");
  write_shards(dir);
  write(dir / "model.safetensors.index.json", kIndex);
  for (const fs::path& p : {dir / "model.safetensors.index.json", dir}) {
    const Checkpoint c = Checkpoint::open(p);
    EXPECT_EQ(c.shard_count(), 2u);
    EXPECT_EQ(c.names(), (std::vector<std::string>{"a", "b", "c"}));
    EXPECT_EQ(c.load("a", {2}).to_vector<float>(), (std::vector<float>{1, 2}));
    EXPECT_EQ(c.load("b").item(), 4.0f);
    EXPECT_EQ(c.load("c", {1}, DType::kI32).to_vector<std::int32_t>(), std::vector<std::int32_t>{9});
    EXPECT_EQ(fs::path(c.file_of("b").name()).filename(), "model-00002-of-00002.safetensors");
    EXPECT_THROW(c.load("zzz"), Error);
  }
}

TEST(Checkpoint, SingleFileAndFolderWithOneFile) {
  const fs::path dir = tmp_dir("single");
  write(dir / "diffusion_pytorch_model.safetensors",
        file_bytes(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})", raw(std::vector<float>{5})));
  EXPECT_EQ(Checkpoint::open(dir).load("a").item(), 5.0f);
  EXPECT_EQ(Checkpoint::open(dir / "diffusion_pytorch_model.safetensors").shard_count(), 1u);
}

void expect_checkpoint_error(const fs::path& path, const std::string& problem) {
  try {
    Checkpoint::open(path);
    FAIL() << "expected: " << problem;
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find(path.string()), std::string::npos) << msg;
    EXPECT_NE(msg.find(problem), std::string::npos) << msg;
  }
}

TEST(CheckpointBadInput, IndexPointsToAMissingShard) {
  const fs::path dir = tmp_dir("missing_shard");
  write_shards(dir);
  fs::remove(dir / "model-00002-of-00002.safetensors");
  write(dir / "model.safetensors.index.json", kIndex);
  expect_checkpoint_error(dir / "model.safetensors.index.json", "shard 'model-00002-of-00002.safetensors'");
  expect_checkpoint_error(dir / "model.safetensors.index.json", "is missing");
}

TEST(CheckpointBadInput, IndexNamesATensorItsShardLacks) {
  const fs::path dir = tmp_dir("lacking");
  write_shards(dir);
  write(dir / "model.safetensors.index.json",
        R"({"weight_map":{"a":"model-00001-of-00002.safetensors","zz":"model-00002-of-00002.safetensors"}})");
  expect_checkpoint_error(dir / "model.safetensors.index.json", "maps 'zz' to shard");
}

TEST(CheckpointBadInput, MalformedIndexes) {
  const fs::path dir = tmp_dir("bad_index");
  write_shards(dir);
  const fs::path index = dir / "model.safetensors.index.json";
  write(index, R"({"weight_map":{"a":"../etc/passwd"}})");
  expect_checkpoint_error(index, "not a plain file name");
  write(index, R"({"weight_map":{"a":7}})");
  expect_checkpoint_error(index, "expected a shard file name");
  write(index, R"({"metadata":{}})");
  expect_checkpoint_error(index, "no \"weight_map\"");
  write(index, R"({"weight_map":)");
  expect_checkpoint_error(index, "not valid JSON");
  write(index, R"({"weight_map":{}})");
  expect_checkpoint_error(index, "empty weight_map");
}

TEST(CheckpointBadInput, FoldersWithoutOneClearCheckpoint) {
  expect_checkpoint_error(tmp_dir("none"), "holds no .safetensors file");
  const fs::path dir = tmp_dir("several");
  write(dir / "x.safetensors", file_bytes("{}", ""));
  write(dir / "y.safetensors", file_bytes("{}", ""));
  expect_checkpoint_error(dir, "several candidates");
}

}  // namespace
}  // namespace sc::engine
