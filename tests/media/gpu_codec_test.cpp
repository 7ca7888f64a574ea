// NVDEC / NVENC: skipped with a message without a usable NVIDIA GPU; they run
// in tests/device/run.sh, where they must pass.
#include <gtest/gtest.h>

#include "engine/device.h"
#include "tests/media/media_test_util.h"

namespace sc::media {
namespace {

#define SC_REQUIRE_GPU()                                                 \
  do {                                                                   \
    engine::CudaReport r = engine::probe_cuda();                         \
    if (!r.usable) GTEST_SKIP() << "no usable CUDA device: " << r.error; \
  } while (0)

TEST(GpuCodecs, NvdecDecodesH264) {
  SC_REQUIRE_GPU();
  const std::string path = test::tmp_path("nvdec.mp4");
  test::write_index_clip(path, 256, 144, 30, 30);
  VideoReader r(parse_source_spec(path));
  EXPECT_TRUE(r.info().hardware_decode) << r.info().decoder;
  EXPECT_EQ(r.info().decoder, "h264 (NVDEC)");
  Frame f;
  int n = 0;
  while (r.read(f)) {
    EXPECT_NEAR(f.row(72)[64 * 4], (n * 20) % 256, 12) << "frame " << n;
    ++n;
  }
  EXPECT_EQ(n, 30);
}

TEST(GpuCodecs, NvencRecords) {
  SC_REQUIRE_GPU();
  const std::string path = test::tmp_path("nvenc.mp4");
  WriterOptions o;
  o.width = 256;
  o.height = 144;
  o.fps = 30;
  o.encoder = "h264_nvenc";
  {
    VideoWriter w(path, o);
    EXPECT_EQ(w.encoder_name(), "h264_nvenc");
    for (int i = 0; i < 30; ++i) w.write(test::make_index_frame(256, 144, i));
    w.close();
  }
  EXPECT_EQ(test::count_frames(path), 30);
}

}  // namespace
}  // namespace sc::media
