#include "app/modes/volumetric/v3_sequence.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <optional>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "base/bounded_queue.h"
#include "base/error.h"
#include "base/log.h"
#include "media/source.h"
#include "media/source_spec.h"
#include "media/video_reader.h"
#include "media/video_writer.h"

namespace sc::app {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

std::string read_text(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) throw Error("{}: cannot open: {}", p.string(), errno_text(errno));
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// Natural order: compare runs of digits as numbers.
bool natural_less(const std::string& a, const std::string& b) {
  std::size_t i = 0, j = 0;
  while (i < a.size() && j < b.size()) {
    if (std::isdigit(static_cast<unsigned char>(a[i])) && std::isdigit(static_cast<unsigned char>(b[j]))) {
      std::size_t i2 = i, j2 = j;
      while (i2 < a.size() && std::isdigit(static_cast<unsigned char>(a[i2]))) ++i2;
      while (j2 < b.size() && std::isdigit(static_cast<unsigned char>(b[j2]))) ++j2;
      std::string na = a.substr(i, i2 - i), nb = b.substr(j, j2 - j);
      na.erase(0, std::min(na.find_first_not_of('0'), na.size()));
      nb.erase(0, std::min(nb.find_first_not_of('0'), nb.size()));
      if (na.size() != nb.size()) return na.size() < nb.size();
      if (na != nb) return na < nb;
      i = i2;
      j = j2;
    } else {
      if (a[i] != b[j]) return a[i] < b[j];
      ++i;
      ++j;
    }
  }
  return a.size() - i < b.size() - j;
}

}  // namespace

V3Sequence V3Sequence::open(const fs::path& dir) {
  if (!fs::is_directory(dir)) throw Error("{}: not a V^3 sequence folder (it does not exist)", dir.string());
  V3Sequence s;
  s.dir_ = dir;
  const fs::path gi = dir / "group_info.json", mm = dir / "viewer_min_max.json";
  if (!fs::exists(gi)) throw Error("{}: not a V^3 sequence: group_info.json is missing", dir.string());
  if (!fs::exists(mm)) throw Error("{}: not a V^3 sequence: viewer_min_max.json is missing", dir.string());
  s.groups_ = parse_v3_group_info(read_text(gi), gi.string());
  s.frames_ = parse_v3_min_max(read_text(mm), mm.string(), &s.layout_.sh_degree);
  const int covered = s.groups_.back().last_frame + 1;
  if (covered > s.frame_count())
    throw Error("{}: groups cover {} frames but viewer_min_max.json has {}", dir.string(), covered, s.frame_count());
  s.frames_.resize(std::size_t(covered));  // V^3 drops a trailing partial group
  for (std::size_t g = 0; g < s.groups_.size(); ++g)
    for (int v = 0; v < s.layout_.videos(); ++v)
      if (!fs::exists(s.video_path(int(g), v)))
        throw Error("{}: stream {} of group {} is missing ({})", dir.string(), v, g, s.video_path(int(g), v).string());
  media::VideoReader probe(media::parse_source_spec(s.video_path(0, 0).string()),
                           media::ReaderOptions{0, 0, false, true});
  if (probe.info().fps > 0 && probe.info().fps < 1000) s.fps_ = probe.info().fps;
  return s;
}

int V3Sequence::group_of(int frame) const {
  for (std::size_t g = 0; g < groups_.size(); ++g)
    if (frame >= groups_[g].first_frame && frame <= groups_[g].last_frame) return int(g);
  throw Error("{}: frame {} is outside the sequence (0..{})", dir_.string(), frame, frame_count() - 1);
}

std::uint32_t V3Sequence::max_gaussians() const {
  std::uint32_t m = 0;
  for (auto& f : frames_) m = std::max(m, f.count);
  return m;
}

fs::path V3Sequence::video_path(int group, int video) const {
  return dir_ / ("group" + std::to_string(group)) / (std::to_string(video) + ".mp4");
}

// ---------------------------------------------------------------- decoding

struct V3Decoder::Impl {
  const V3Sequence& seq;
  int group = -1;
  int next_frame = 0;  // what the streams deliver next
  struct Stream {
    std::unique_ptr<BoundedQueue<media::Frame>> queue;
    std::unique_ptr<media::SourceThread> source;
  };
  std::vector<Stream> streams;
  V3Frame frame;

  explicit Impl(const V3Sequence& s) : seq(s) {}
  ~Impl() { close(); }

  void close() {
    for (auto& s : streams) {
      if (s.queue) s.queue->close();
      if (s.source) s.source->stop();
    }
    streams.clear();
  }

  void open_group(int g) {
    close();
    media::ReaderOptions ro;
    ro.luma_only = true;
    ro.hardware_decode = false;
    streams.resize(std::size_t(seq.layout().videos()));
    for (int v = 0; v < seq.layout().videos(); ++v) {
      auto& st = streams[std::size_t(v)];
      st.queue = std::make_unique<BoundedQueue<media::Frame>>(3, QueuePolicy::kBlocking);
      auto* q = st.queue.get();
      media::SourceSpec spec = media::parse_source_spec(seq.video_path(g, v).string(), media::Pacing::kFast);
      st.source = std::make_unique<media::SourceThread>(
          spec, [q](media::Frame&& f) { return q->push(std::move(f)); }, ro);
    }
    group = g;
    next_frame = seq.groups()[std::size_t(g)].first_frame;
  }

  // Pulls the next frame from every stream into `frame`.
  void pull() {
    const std::size_t videos = streams.size();
    std::uint32_t side = 0;
    for (std::size_t v = 0; v < videos; ++v) {
      std::optional<media::Frame> f;
      while (!(f = streams[v].queue->pop_for(std::chrono::milliseconds(100)))) {
        media::SourceStatus st = streams[v].source->status();
        if (st.end != media::SourceEnd::kRunning && streams[v].queue->size() == 0)
          throw Error("{}: stream {} of group {} ended before frame {} ({})", seq.dir().string(), v, group, next_frame,
                      st.message);
      }
      if (v == 0) {
        side = std::uint32_t(f->width);
        if (f->width != f->height)
          throw Error("{}: group {} images are {}x{}, V^3 images are square", seq.dir().string(), group, f->width,
                      f->height);
        frame.planes.resize(std::size_t(side) * side * videos);
      } else if (std::uint32_t(f->width) != side || std::uint32_t(f->height) != side) {
        throw Error("{}: group {} stream {} is {}x{}, stream 0 is {}x{}", seq.dir().string(), group, v, f->width,
                    f->height, side, side);
      }
      std::uint8_t* dst = &frame.planes[std::size_t(side) * side * v];
      for (std::uint32_t y = 0; y < side; ++y) std::memcpy(dst + std::size_t(y) * side, f->row(int(y)), side);
    }
    frame.side = side;
  }
};

V3Decoder::V3Decoder(const V3Sequence& sequence) : impl_(std::make_unique<Impl>(sequence)) {}
V3Decoder::~V3Decoder() = default;

const V3Frame& V3Decoder::decode(int index) {
  Impl& m = *impl_;
  const int g = m.seq.group_of(index);
  if (g != m.group || index < m.next_frame) m.open_group(g);
  while (m.next_frame <= index) {
    m.pull();
    ++m.next_frame;
  }
  const V3FrameInfo& info = m.seq.frame_info(index);
  if (std::uint64_t(m.frame.side) * m.frame.side < info.count)
    throw Error("{}: frame {} has {} Gaussians but its images hold only {}", m.seq.dir().string(), index, info.count,
                std::uint64_t(m.frame.side) * m.frame.side);
  m.frame.count = info.count;
  m.frame.sh_degree = m.seq.sh_degree();
  m.frame.minmax = info.minmax;
  return m.frame;
}

// ---------------------------------------------------------------- encoding

std::vector<fs::path> list_ply_frames(const fs::path& dir) {
  if (!fs::is_directory(dir)) throw Error("{}: not a folder", dir.string());
  std::vector<fs::path> out;
  for (auto& e : fs::directory_iterator(dir)) {
    std::string ext = e.path().extension().string();
    std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return char(std::tolower(c)); });
    if (e.is_regular_file() && ext == ".ply") out.push_back(e.path());
  }
  std::sort(out.begin(), out.end(), [](const fs::path& a, const fs::path& b) {
    return natural_less(a.filename().string(), b.filename().string());
  });
  if (out.empty()) throw Error("{}: no .ply files (one per frame) in this folder", dir.string());
  return out;
}

void v3_encode(int frames, const std::function<render::GaussianCloud(int)>& frame_of, const fs::path& out_dir,
               const V3EncodeOptions& o, const std::function<void(int)>& progress) {
  if (frames <= 0) throw Error("V^3 encode: no frames");
  if (o.group_size <= 0 || o.group_size > 1000) throw Error("V^3 encode: group size {} is out of range", o.group_size);
  if (o.qp < 0 || o.qp > 51) throw Error("V^3 encode: qp {} must be 0..51", o.qp);
  fs::create_directories(out_dir);
  json group_info = json::object(), min_max = json::object();
  const int groups = (frames + o.group_size - 1) / o.group_size;
  int degree = -1;
  for (int g = 0; g < groups; ++g) {
    const int first = g * o.group_size, last = std::min(frames, first + o.group_size) - 1;
    // The group's images share one size: the largest frame's.
    std::vector<render::GaussianCloud> clouds;
    std::uint32_t max_n = 0;
    for (int f = first; f <= last; ++f) {
      clouds.push_back(frame_of(f));
      if (degree < 0) degree = clouds.back().sh_degree;
      if (clouds.back().sh_degree != degree)
        throw Error("V^3 encode: frame {} has SH degree {}, earlier frames {}", f, clouds.back().sh_degree, degree);
      max_n = std::max(max_n, std::uint32_t(clouds.back().size()));
    }
    const std::uint32_t side = v3_image_side(max_n);
    V3Layout layout{degree};
    const fs::path gdir = out_dir / ("group" + std::to_string(g));
    fs::create_directories(gdir);
    std::vector<std::unique_ptr<media::VideoWriter>> writers;
    for (int v = 0; v < layout.videos(); ++v) {
      media::WriterOptions w;
      w.width = int(side);
      w.height = int(side);
      w.fps = o.fps;
      w.qp = v3_video_qp(layout, v, o.qp);
      w.preset = "medium";
      // Playback speed over a few percent of size: see WriterOptions::cavlc.
      w.cavlc = true;
      w.deblock = false;
      writers.push_back(std::make_unique<media::VideoWriter>((gdir / (std::to_string(v) + ".mp4")).string(), w));
    }
    for (int f = first; f <= last; ++f) {
      V3Frame q = v3_quantize(clouds[std::size_t(f - first)], side);
      const std::size_t plane = std::size_t(side) * side;
      for (int v = 0; v < layout.videos(); ++v) {
        media::Frame img = media::Frame::allocate(media::PixelFormat::kGray8, int(side), int(side));
        for (std::uint32_t y = 0; y < side; ++y)
          std::memcpy(img.row(int(y)), &q.planes[plane * std::size_t(v) + std::size_t(y) * side], side);
        writers[std::size_t(v)]->write(img);
      }
      min_max[std::to_string(f)] = {{"num", q.count}, {"info", q.minmax}};
      if (progress) progress(f);
    }
    for (auto& w : writers) w->close();
    group_info[std::to_string(g)] = {{"frame_index", {first, last}}, {"name_index", {first, last}}};
  }
  std::ofstream(out_dir / "group_info.json") << group_info.dump(1);
  std::ofstream mm(out_dir / "viewer_min_max.json");
  mm << min_max.dump();
  if (!mm) throw Error("{}: could not write viewer_min_max.json (disk full?)", out_dir.string());
}

// ---------------------------------------------------------------- the sample

render::GaussianCloud v3_sample_frame(int frame, int frames, int gaussians) {
  // A glowing torus knot whose body breathes and whose colours travel along it,
  // with a small orbiting "moon"; everything is a pure function of the frame.
  render::GaussianCloud g;
  g.resize(std::size_t(gaussians), 1);
  const float t = float(frame) / float(std::max(frames, 1));
  const float two_pi = 6.28318530718f;
  std::uint32_t rng = 12345;
  auto rnd = [&rng] {
    rng = rng * 1664525u + 1013904223u;
    return float(rng >> 8) / float(1 << 24);
  };
  const int moon = gaussians / 10;
  for (int i = 0; i < gaussians; ++i) {
    float* p = &g.positions[3 * std::size_t(i)];
    float* s = &g.scales[3 * std::size_t(i)];
    float* sh = &g.sh[std::size_t(i) * 12];
    // Neighbouring Gaussians (neighbouring pixels of the attribute images)
    // are neighbours in space: smooth images compress well, as V^3 intends.
    const int body = gaussians - moon;
    const float u = i < body ? (float(i) + rnd()) / float(body) : (float(i - body) + rnd()) / float(moon);
    const float v = rnd(), w = rnd();
    float hue;
    if (i < body) {
      const float a = two_pi * u;  // (2,3) torus knot
      const float r = 0.6f + 0.25f * std::cos(3 * a);
      const float breathe = 0.12f * (1.0f + 0.3f * std::sin(two_pi * (2 * t + u)));
      const float ca = v * two_pi, rr = breathe * std::sqrt(w);
      const float cx = r * std::cos(2 * a), cy = r * std::sin(2 * a), cz = 0.25f * std::sin(3 * a);
      p[0] = cx + rr * std::cos(ca) * std::cos(2 * a);
      p[1] = cy + rr * std::cos(ca) * std::sin(2 * a);
      p[2] = cz + rr * std::sin(ca);
      s[0] = s[1] = s[2] = 0.015f + 0.02f * rnd();
      hue = u + t;
    } else {
      const float a = two_pi * (t + 0.25f), ca = two_pi * u, cb = std::acos(2 * v - 1);
      const float rr = 0.12f * std::cbrt(w);
      p[0] = 1.1f * std::cos(a) + rr * std::sin(cb) * std::cos(ca);
      p[1] = 1.1f * std::sin(a) + rr * std::sin(cb) * std::sin(ca);
      p[2] = 0.4f * std::sin(2 * a) + rr * std::cos(cb);
      s[0] = s[1] = s[2] = 0.02f;
      hue = 0.12f;
    }
    const float rgb[3] = {0.5f + 0.5f * std::cos(two_pi * hue), 0.5f + 0.5f * std::cos(two_pi * (hue - 0.33f)),
                          0.5f + 0.5f * std::cos(two_pi * (hue - 0.67f))};
    for (int c = 0; c < 3; ++c) sh[c] = (rgb[c] - 0.5f) / render::kShC0;
    sh[3 + 1] = 0.3f * std::sin(two_pi * (u + t));  // a little view-dependent shimmer (degree 1)
    g.opacities[std::size_t(i)] = 0.5f + 0.45f * rnd();
    float* q = &g.rotations[4 * std::size_t(i)];
    const float qa = two_pi * rnd();
    q[0] = std::cos(qa / 2);
    q[1] = 0;
    q[2] = 0;
    q[3] = std::sin(qa / 2);
  }
  return g;
}

}  // namespace sc::app
