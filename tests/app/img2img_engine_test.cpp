// The img2img mode as the studio runs it: Img2ImgEngine (models + stream,
// frames in and out, live updates) and as the live session's mode, on the
// tiny pipeline made from the golden fixtures.
#include "app/modes/img2img/img2img_engine.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <thread>

#include "app/session/live_session.h"
#include "base/error.h"
#include "tests/common/live_session_util.h"
#include "tests/common/img2img_fixture.h"

namespace sc::app {
namespace {

using test::same_pixels;
using test::wait_for_frames;

using namespace std::chrono_literals;

Img2ImgModels tiny_models(bool taesd = true) {
  Img2ImgModels m;
  m.model = test::tiny_img2img_pipeline().string();
  if (taesd) m.taesd = test::tiny_taesd().string();
  m.device = "cpu";
  return m;
}

Img2ImgSettings tiny_settings() {
  Img2ImgSettings s;
  s.prompt = "a watercolor city";
  s.width = s.height = 64;
  s.steps = 2;
  return s;
}

// A deterministic RGBA test frame of any size.
media::Frame pattern(int width, int height, int phase) {
  media::Frame f = media::Frame::make_rgba(width, height);
  for (int y = 0; y < height; ++y) {
    std::uint8_t* row = f.row(y);
    for (int x = 0; x < width; ++x) {
      row[4 * x + 0] = static_cast<std::uint8_t>((x * 4 + phase) & 255);
      row[4 * x + 1] = static_cast<std::uint8_t>((y * 4 + 2 * phase) & 255);
      row[4 * x + 2] = static_cast<std::uint8_t>(((x + y) * 2) & 255);
      row[4 * x + 3] = 255;
    }
  }
  return f;
}

TEST(Img2ImgEngine, WarmsUpThenReturnsFramesAtTheStreamSize) {
  Img2ImgEngine engine(tiny_models(), tiny_settings());
  EXPECT_EQ(engine.name(), "img2img");
  EXPECT_EQ(engine.compute(), "CPU fp32");
  EXPECT_EQ(engine.codec_name(), "TAESD");
  media::Frame in = pattern(96, 80, 0);  // not the stream's size: resized
  in.pts_us = 1234;
  EXPECT_FALSE(engine.process(in).has_value());  // two steps: the first frame fills the buffer
  in.pts_us = 5678;
  auto out = engine.process(in);
  ASSERT_TRUE(out.has_value());
  EXPECT_EQ(out->width, 64);
  EXPECT_EQ(out->height, 64);
  EXPECT_EQ(out->pts_us, 1234);  // the first frame's output: it carries its own input's pts
  EXPECT_EQ(engine.counters().frames, 2);
}

TEST(Img2ImgEngine, FrameBufferReturnsEveryFrameInOrderAfterTheFlush) {
  // Frame buffer 3, 2 steps: nothing comes out for the first 2 x 3 frames,
  // then one frame per frame; the flush returns the rest. Every input has
  // exactly one output, in order, with its own pts, at the stream's size.
  Img2ImgSettings s = tiny_settings();
  s.frame_buffer_size = 3;
  Img2ImgEngine engine(tiny_models(), s);
  std::vector<std::int64_t> pts;
  for (int i = 0; i < 7; ++i) {
    media::Frame in = pattern(80, 48, i);
    in.pts_us = 1000 * i;
    if (std::optional<media::Frame> out = engine.process(in)) {
      EXPECT_EQ(out->width, 64);
      pts.push_back(out->pts_us);
    }
  }
  // UNet calls at the 3rd frame (warm-up) and the 6th (out: the first
  // three frames, one per process() call from then on).
  EXPECT_EQ(pts, std::vector<std::int64_t>({0, 1000}));
  media::Frame last = pattern(80, 48, 6);
  last.pts_us = 6000;
  for (const media::Frame& out : engine.flush(last)) pts.push_back(out.pts_us);
  EXPECT_EQ(pts, std::vector<std::int64_t>({0, 1000, 2000, 3000, 4000, 5000, 6000}));
  EXPECT_EQ(engine.counters().unet_calls, 4);  // 7 frames + 2 padding = 3 calls, and 1 more to push the last out
  // The frame buffer size is a live setting (it restarts the stream).
  s.frame_buffer_size = 1;
  engine.update(s);
  EXPECT_FALSE(engine.process(pattern(64, 64, 0)).has_value());
  EXPECT_TRUE(engine.process(pattern(64, 64, 1)).has_value());
  s.frame_buffer_size = 0;
  EXPECT_THROW(engine.update(s), Error);
}

TEST(Img2ImgEngine, SimilarityFilterSkipsKeepTheOutputsInOrder) {
  // Still frames: after the first, the filter skips up to 2 in a row. A skip
  // repeats the last output, but behind the frame still in the latent buffer:
  // every input comes out once, in order, with its own pts.
  Img2ImgSettings s = tiny_settings();
  s.similarity_filter = true;
  s.max_skip_frames = 2;
  Img2ImgEngine engine(tiny_models(), s);
  std::vector<std::int64_t> pts;
  media::Frame still = pattern(64, 64, 5);
  for (int i = 0; i < 9; ++i) {
    still.pts_us = 1000 * i;
    if (std::optional<media::Frame> out = engine.process(still)) pts.push_back(out->pts_us);
  }
  EXPECT_GT(engine.counters().skipped, 0);
  for (const media::Frame& out : engine.flush(still)) pts.push_back(out.pts_us);
  std::vector<std::int64_t> want;
  for (int i = 0; i < 9; ++i) want.push_back(1000 * i);
  EXPECT_EQ(pts, want);
}

TEST(Img2ImgEngine, FlushWithoutAFrameBufferReturnsTheBufferedFrame) {
  Img2ImgEngine engine(tiny_models(), tiny_settings());
  media::Frame in = pattern(64, 64, 0);
  EXPECT_FALSE(engine.process(in).has_value());
  in.pts_us = 42;
  ASSERT_TRUE(engine.process(in).has_value());
  const std::vector<media::Frame> rest = engine.flush(in);
  ASSERT_EQ(rest.size(), 1u);
  EXPECT_EQ(rest[0].pts_us, 42);
  EXPECT_TRUE(engine.flush(in).empty());  // nothing owed any more
}

TEST(Img2ImgEngine, LivePromptChangeAppliesFromTheNextFrame) {
  Img2ImgEngine a(tiny_models(), tiny_settings());
  Img2ImgEngine b(tiny_models(), tiny_settings());
  std::optional<media::Frame> ra, rb;
  for (int i = 0; i < 3; ++i) {
    ra = a.process(pattern(64, 64, i));
    rb = b.process(pattern(64, 64, i));
  }
  ASSERT_TRUE(ra && rb);
  EXPECT_TRUE(same_pixels(*ra, *rb));  // same models, settings, seed and input: same output
  Img2ImgSettings changed = tiny_settings();
  changed.prompt = "an oil painting of a harbour at night";
  b.update(changed);
  EXPECT_EQ(b.settings().prompt, changed.prompt);
  ra = a.process(pattern(64, 64, 3));
  rb = b.process(pattern(64, 64, 3));
  ASSERT_TRUE(ra && rb);
  EXPECT_FALSE(same_pixels(*ra, *rb));
}

// Each live parameter reaches the stream: two engines run the same frames;
// after one of them changes the value, the next output differs. Values that
// keep the latent buffer give an output at once; the others restart it.
TEST(Img2ImgEngine, EveryLiveParameterChangesTheNextOutput) {
  struct Change {
    const char* what;
    const char* cfg;  // the mode in which the value matters
    void (*apply)(Img2ImgSettings&);
    bool restarts;
  };
  const Change changes[] = {
      {"negative prompt", "full", [](Img2ImgSettings& s) { s.negative_prompt = "blurry, grey"; }, false},
      {"guidance", "self", [](Img2ImgSettings& s) { s.guidance = 2.5f; }, false},
      {"delta", "self", [](Img2ImgSettings& s) { s.delta = 0.3f; }, false},
      // The tiny fixtures' VAE works at 1/2 scale, their TAESD at 1/8: a
      // restart (real ones share 1/8 and carry on: StreamDiffusion.TheCodec...).
      {"TAESD -> VAE", "self", [](Img2ImgSettings& s) { s.taesd = false; }, true},
      {"strength", "self", [](Img2ImgSettings& s) { s.strength = 0.9f; }, true},
      {"seed", "self", [](Img2ImgSettings& s) { s.seed = 99; }, true},
  };
  for (const Change& c : changes) {
    SCOPED_TRACE(c.what);
    Img2ImgSettings base = tiny_settings();
    base.cfg = c.cfg;
    base.guidance = 1.5f;
    Img2ImgEngine a(tiny_models(), base);
    Img2ImgEngine b(tiny_models(), base);
    for (int i = 0; i < 3; ++i) {
      a.process(pattern(64, 64, i));
      b.process(pattern(64, 64, i));
    }
    Img2ImgSettings changed = base;
    c.apply(changed);
    b.update(changed);
    std::optional<media::Frame> ra = a.process(pattern(64, 64, 3));
    std::optional<media::Frame> rb = b.process(pattern(64, 64, 3));
    ASSERT_TRUE(ra.has_value());
    if (c.restarts) {
      EXPECT_FALSE(rb.has_value()) << "a restart refills the latent buffer first";
      ra = a.process(pattern(64, 64, 4));
      rb = b.process(pattern(64, 64, 4));
      ASSERT_TRUE(ra.has_value());
    }
    ASSERT_TRUE(rb.has_value());
    EXPECT_FALSE(same_pixels(*ra, *rb));
  }
}

TEST(Img2ImgEngine, TheCodecSwitchesLiveAndBack) {
  Img2ImgEngine engine(tiny_models(), tiny_settings());
  ASSERT_TRUE(engine.has_taesd());
  EXPECT_EQ(engine.codec_name(), "TAESD");
  engine.process(pattern(64, 64, 0));
  ASSERT_TRUE(engine.process(pattern(64, 64, 1)).has_value());
  Img2ImgSettings s = tiny_settings();
  s.taesd = false;
  engine.update(s);
  // The tiny fixtures' codecs differ in scale, so the buffer refills first.
  EXPECT_FALSE(engine.process(pattern(64, 64, 2)).has_value());
  EXPECT_EQ(engine.codec_name(), "VAE");
  std::optional<media::Frame> out = engine.process(pattern(64, 64, 3));
  ASSERT_TRUE(out.has_value());
  EXPECT_EQ(out->width, 64);
  s.taesd = true;
  engine.update(s);
  engine.process(pattern(64, 64, 4));
  ASSERT_TRUE(engine.process(pattern(64, 64, 5)).has_value());
  EXPECT_EQ(engine.codec_name(), "TAESD");
  // Without a TAESD loaded, asking for it keeps the VAE.
  Img2ImgEngine vae_only(tiny_models(false), tiny_settings());
  EXPECT_FALSE(vae_only.has_taesd());
  EXPECT_EQ(vae_only.codec_name(), "VAE");
}

// A pipeline folder downloaded without vae/ runs on a TAESD; asking for the
// VAE then says what is missing, and without a TAESD the folder is refused.
TEST(Img2ImgEngine, APipelineWithoutAVaeRunsOnTheTaesd) {
  Img2ImgModels m = tiny_models();
  m.model = test::tiny_img2img_pipeline("img2img_model_no_vae", false).string();
  ASSERT_FALSE(std::filesystem::exists(std::filesystem::path(m.model) / "vae"));
  Img2ImgEngine engine(m, tiny_settings());
  EXPECT_FALSE(engine.has_vae());
  EXPECT_EQ(engine.codec_name(), "TAESD");
  engine.process(pattern(64, 64, 0));
  EXPECT_TRUE(engine.process(pattern(64, 64, 1)).has_value());
  Img2ImgSettings vae = tiny_settings();
  vae.taesd = false;
  try {
    engine.update(vae);
    FAIL() << "switched to a VAE that is not there";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("vae/"), std::string::npos) << e.what();
  }
  EXPECT_TRUE(engine.process(pattern(64, 64, 2)).has_value());  // still running on the TAESD
  // A saved "VAE" choice meets a folder without one: it loads on the TAESD.
  Img2ImgEngine saved_choice(m, vae);
  EXPECT_EQ(saved_choice.codec_name(), "TAESD");
  m.taesd.clear();
  try {
    Img2ImgEngine no_codec(m, tiny_settings());
    FAIL() << "loaded with nothing to code frames with";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("vae/ folder is missing"), std::string::npos) << e.what();
  }
}

TEST(Img2ImgEngine, BadLiveValuesAreRefusedAndTheStreamKeepsRunning) {
  Img2ImgEngine engine(tiny_models(), tiny_settings());
  Img2ImgSettings bad = tiny_settings();
  bad.width = 60;
  try {
    engine.update(bad);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("not a multiple of 8"), std::string::npos) << e.what();
  }
  bad = tiny_settings();
  bad.steps = 7;
  EXPECT_THROW(engine.update(bad), Error);
  bad = tiny_settings();
  bad.cfg = "double";
  EXPECT_THROW(engine.update(bad), Error);
  EXPECT_EQ(engine.settings().width, 64);
  engine.process(pattern(64, 64, 0));
  auto out = engine.process(pattern(64, 64, 1));
  ASSERT_TRUE(out.has_value());
  EXPECT_EQ(out->width, 64);
  // A new size restarts the buffer (one warm-up frame again) and takes effect.
  Img2ImgSettings bigger = tiny_settings();
  bigger.width = 80;
  engine.update(bigger);
  EXPECT_FALSE(engine.process(pattern(64, 64, 2)).has_value());
  out = engine.process(pattern(64, 64, 3));
  ASSERT_TRUE(out.has_value());
  EXPECT_EQ(out->width, 80);
}

TEST(Img2ImgEngine, LoadErrorsNameTheProblem) {
  Img2ImgModels m = tiny_models();
  m.model = (std::filesystem::path(SC_TEST_TMP_DIR) / "no-such-model").string();
  EXPECT_THROW(Img2ImgEngine(m, tiny_settings()), Error);
  m = tiny_models();
  m.dtype = "fp8";
  try {
    Img2ImgEngine e(m, tiny_settings());
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("--dtype fp8"), std::string::npos) << e.what();
  }
}

// ---- img2img as the live session's mode --------------------------------------
// (The session's own behaviour with any mode: tests/app/live_session_test.cpp.)

TEST(LiveSessionProcessor, Img2ImgRunsLiveAndRecords) {
  auto engine = std::make_shared<Img2ImgEngine>(tiny_models(), tiny_settings());
  LiveSession s;
  s.set_mode(engine);
  s.start("test:96x64@20");
  DisplayFrames f;
  std::uint64_t seq = 0;
  ASSERT_TRUE(wait_for_frames(s, f, &seq, 2));
  EXPECT_EQ(f.output.width, 64);  // the stream's size, not the source's
  EXPECT_EQ(f.input.width, 96);
  const std::filesystem::path out = std::filesystem::path(SC_TEST_TMP_DIR) / "img2img_live.mp4";
  std::filesystem::remove(out);
  s.start_recording({out.string(), 23, "auto"});
  Img2ImgSettings changed = tiny_settings();
  changed.prompt = "neon";
  engine->update(changed);
  ASSERT_TRUE(wait_for_frames(s, f, &seq, 4));
  const RecordingStatus st = s.stop_recording();
  EXPECT_GE(st.frames, 2);
  EXPECT_TRUE(std::filesystem::exists(out));
  EXPECT_TRUE(s.take_errors().empty());
  s.stop();
}

}  // namespace
}  // namespace sc::app
