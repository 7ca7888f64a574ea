#include "engine/pipelines/talking_head/talking_head.h"

#include <chrono>
#include <optional>

#include "base/error.h"
#include "engine/graph.h"
#include "engine/models/ditto/networks.h"
#include "engine/ops.h"
#include "engine/pipelines/talking_head/audio_features.h"
#include "engine/pipelines/talking_head/lmdm_sampler.h"
#include "engine/pipelines/talking_head/paste_back.h"

namespace sc::engine::talking_head {

namespace {

using ditto::Network;
using ditto::OnnxNetwork;

std::vector<float> host(const Tensor& t) {
  return to_dtype(t.device() == Device::kCpu ? t : t.to(Device::kCpu), DType::kF32).to_vector<float>();
}

Tensor keypoints_tensor(const ditto::Keypoints& k) {
  std::vector<float> v;
  v.reserve(ditto::kKeypoints * 3);
  for (const auto& p : k) v.insert(v.end(), p.begin(), p.end());
  return Tensor::from_vector({1, ditto::kKeypoints, 3}, v);
}

class Timed {
 public:
  Timed(Device device, double* total) : timer_(device), total_(total) { timer_.start(); }
  ~Timed() {
    timer_.stop();
    timer_.collect(total_);
  }

 private:
  StageTimer timer_;
  double* total_;
};

}  // namespace

struct TalkingHead::Impl {
  TalkingHeadOptions options;
  std::optional<OnnxNetwork> detector, landmark106, landmark203, hubert, lmdm;
  std::optional<ditto::LivePortrait> lp;
  std::optional<Avatar> avatar;
  std::optional<HubertStream> features;
  std::optional<LmdmSampler> sampler;
  std::optional<MotionStream> motion;
  std::optional<MotionStitcher> stitcher;
  std::int64_t frame_index = 0;
  TalkingHeadStats stats;

  Device device() const { return options.device; }
  Tensor on_device(const Tensor& t) const { return t.device() == device() ? t : t.to(device()); }

  NetworkCall call(OnnxNetwork& n) {
    return [this, &n](const Tensor& in) { return n.run(on_device(in)); };
  }

  void start_stream() {
    const Avatar& a = *avatar;
    features.emplace([this](std::span<const float> samples) {
      Timed t(device(), &stats.hubert_s);
      ++stats.hubert_windows;
      const Tensor in = Tensor::from_vector({1, static_cast<std::int64_t>(samples.size())}, samples);
      return host(hubert->run(on_device(in)).at(0));
    });
    sampler.emplace(options.sampling_steps, options.motion.window, options.seed);
    ConditionSource src;
    src.motion = a.motion.as_motion();
    for (int k = 0; k < ditto::kKeypoints; ++k)
      for (int c = 0; c < 3; ++c)
        src.canonical[static_cast<std::size_t>(3 * k + c)] =
            a.motion.kp[static_cast<std::size_t>(k)][static_cast<std::size_t>(c)];
    // Eye state (PIPELINE.md 2.7) is not measured yet: the condition's eye values stay 0.
    const FeatureFrames& silence = features->silence();
    FeatureFrames prefill;
    while (static_cast<int>(prefill.size()) < options.motion.overlap)
      for (const auto& f : silence)
        if (static_cast<int>(prefill.size()) < options.motion.overlap) prefill.push_back(f);
    const int window = options.motion.window;
    motion.emplace(
        [this, window](std::span<const float> cond_frame, std::span<const float> cond) {
          Timed t(device(), &stats.lmdm_s);
          ++stats.lmdm_windows;
          const std::int64_t c = static_cast<std::int64_t>(cond.size()) / window;
          const Tensor cf = on_device(Tensor::from_vector({1, kMotionDim}, cond_frame));
          const Tensor cd = on_device(Tensor::from_vector({1, window, c}, cond));
          const LmdmCall step = [&](std::span<const float> x, std::span<const float>, std::span<const float>,
                                    std::int64_t t_step, std::vector<float>& pred_noise, std::vector<float>& x_start) {
            const std::vector<Tensor> o =
                lmdm->run({{"x", on_device(Tensor::from_vector({1, window, kMotionDim}, x))},
                           {"cond_frame", cf},
                           {"cond", cd},
                           {"time_cond", on_device(Tensor::from_vector_i64({1}, std::vector<std::int64_t>{t_step}))}});
            pred_noise = host(o.at(0));
            x_start = host(o.at(1));
          };
          return sampler->sample(step, cond_frame, cond);
        },
        src, options.motion, prefill);
    stitcher.emplace(a.motion, options.stitch, options.seed + 1);
    frame_index = 0;
  }

  std::vector<Tensor> render(const std::vector<MotionFrame>& frames) {
    std::vector<Tensor> out;
    if (!stitcher->has_reference() && motion->reference()) stitcher->set_reference(*motion->reference());
    const Avatar& a = *avatar;
    const Tensor x_s = on_device(keypoints_tensor(stitcher->source_keypoints()));
    for (const MotionFrame& f : frames) {
      Tensor stitched, warped, face;
      {
        Timed t(device(), &stats.stitch_s);
        const Tensor x_d = on_device(keypoints_tensor(stitcher->driving(f, frame_index)));
        stitched = lp->stitched(x_s, x_d);
      }
      {
        Timed t(device(), &stats.warp_s);
        warped = lp->warped(a.volume, x_s, stitched);
      }
      {
        Timed t(device(), &stats.decode_s);
        face = scale(clamp(lp->decoded(warped), 0.0f, 1.0f), 255.0f);
      }
      {
        Timed t(device(), &stats.paste_s);
        Tensor pasted = paste_back(a.frame, face, a.frame_mask, a.m_c2o);
        out.push_back(pasted.device() == Device::kCpu ? pasted : to_dtype(pasted.to(Device::kCpu), DType::kF32));
      }
      ++frame_index;
      ++stats.frames;
    }
    return out;
  }
};

TalkingHead::TalkingHead(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
TalkingHead::~TalkingHead() = default;

std::unique_ptr<TalkingHead> TalkingHead::load(const std::filesystem::path& folder, const TalkingHeadOptions& options) {
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  onnx::ExecutorOptions eo;
  eo.device = options.device;
  // f32 throughout: Ditto's TensorRT build keeps the motion extractor, HuBERT
  // and LMDM in f32 too; f16 for the render networks comes with the GPU work.
  eo.float_dtype = DType::kF32;
  impl->detector.emplace(OnnxNetwork::load(folder, Network::kFaceDetector, eo));
  impl->landmark106.emplace(OnnxNetwork::load(folder, Network::kLandmark106, eo));
  impl->landmark203.emplace(OnnxNetwork::load(folder, Network::kLandmark203, eo));
  impl->hubert.emplace(OnnxNetwork::load(folder, Network::kHubert, eo));
  impl->lmdm.emplace(OnnxNetwork::load(folder, Network::kLmdm, eo));
  impl->lp.emplace(ditto::LivePortrait::load(folder, eo));
  return std::unique_ptr<TalkingHead>(new TalkingHead(std::move(impl)));
}

void TalkingHead::set_portrait(const Tensor& rgb) {
  Impl& m = *impl_;
  RegistrationNets nets;
  nets.detector = m.call(*m.detector);
  nets.landmark106 = m.call(*m.landmark106);
  nets.landmark203 = m.call(*m.landmark203);
  nets.motion = m.call(m.lp->motion);
  nets.appearance = m.call(m.lp->appearance);
  {
    Timed t(m.device(), &m.stats.registration_s);
    // The paste back runs where the frame is: the portrait and its mask stay on the device.
    m.avatar = register_avatar(m.on_device(rgb), nets, m.options.registration);
  }
  m.stats.faces_found = m.avatar->faces_found;
  m.start_stream();
}

void TalkingHead::set_avatar(Avatar avatar) {
  Impl& m = *impl_;
  for (Tensor* t : {&avatar.frame, &avatar.crop, &avatar.input, &avatar.volume, &avatar.frame_mask})
    *t = m.on_device(*t);
  m.avatar = std::move(avatar);
  m.stats.faces_found = m.avatar->faces_found;
  m.start_stream();
}

const Avatar& TalkingHead::avatar() const {
  if (!impl_->avatar) throw Error("talking head: no portrait yet");
  return *impl_->avatar;
}

std::vector<Tensor> TalkingHead::push_audio(std::span<const float> samples) {
  Impl& m = *impl_;
  if (!m.avatar) throw Error("talking head: audio before a portrait");
  const FeatureFrames f = m.features->push(samples);
  if (f.empty()) return {};
  return m.render(m.motion->push(f));
}

std::vector<Tensor> TalkingHead::finish() {
  Impl& m = *impl_;
  if (!m.avatar) throw Error("talking head: finish before a portrait");
  const FeatureFrames f = m.features->finish();
  std::vector<MotionFrame> frames = m.motion->push(f);
  const std::vector<MotionFrame> rest = m.motion->finish();
  frames.insert(frames.end(), rest.begin(), rest.end());
  return m.render(frames);
}

void TalkingHead::set_emotion(std::vector<std::array<float, kEmotions>> rows) {
  if (impl_->motion) impl_->motion->set_emotion(rows);
  impl_->options.motion.emotion = std::move(rows);
}

void TalkingHead::set_stitch(const StitchSettings& s) {
  impl_->options.stitch = s;
  if (impl_->stitcher) impl_->stitcher->set_settings(s);
}

const TalkingHeadStats& TalkingHead::stats() const { return impl_->stats; }

}  // namespace sc::engine::talking_head
