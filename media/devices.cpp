#include "media/devices.h"

#include <fcntl.h>
#include <linux/videodev2.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>

#include "base/environment.h"
#include "media/ffmpeg_util.h"

extern "C" {
#include <libavdevice/avdevice.h>
#include <libavformat/avformat.h>
}

namespace sc::media {
namespace {

int xioctl(int fd, unsigned long req, void* arg) {
  int r;
  do r = ioctl(fd, req, arg);
  while (r < 0 && errno == EINTR);
  return r;
}

std::string fourcc_name(std::uint32_t f) {
  switch (f) {
    case V4L2_PIX_FMT_MJPEG:
      return "mjpeg";
    case V4L2_PIX_FMT_YUYV:
      return "yuyv";
    case V4L2_PIX_FMT_H264:
      return "h264";
    case V4L2_PIX_FMT_NV12:
      return "nv12";
    default: {
      std::string s(4, ' ');
      for (int i = 0; i < 4; ++i) s[i] = static_cast<char>((f >> (8 * i)) & 0xff);
      return s;
    }
  }
}

void add_sizes(int fd, std::uint32_t pixfmt, Camera& cam) {
  v4l2_frmsizeenum fs{};
  fs.pixel_format = pixfmt;
  for (fs.index = 0; xioctl(fd, VIDIOC_ENUM_FRAMESIZES, &fs) == 0; ++fs.index) {
    if (fs.type != V4L2_FRMSIZE_TYPE_DISCRETE) {
      // Stepwise cameras: report the largest size.
      cam.modes.push_back({fourcc_name(pixfmt), int(fs.stepwise.max_width), int(fs.stepwise.max_height), {}});
      break;
    }
    CameraMode mode{fourcc_name(pixfmt), int(fs.discrete.width), int(fs.discrete.height), {}};
    v4l2_frmivalenum fi{};
    fi.pixel_format = pixfmt;
    fi.width = fs.discrete.width;
    fi.height = fs.discrete.height;
    for (fi.index = 0; xioctl(fd, VIDIOC_ENUM_FRAMEINTERVALS, &fi) == 0; ++fi.index)
      if (fi.type == V4L2_FRMIVAL_TYPE_DISCRETE && fi.discrete.numerator)
        mode.fps.push_back(double(fi.discrete.denominator) / fi.discrete.numerator);
    cam.modes.push_back(std::move(mode));
  }
}

}  // namespace

std::vector<Camera> list_cameras() {
  std::vector<Camera> out;
  std::error_code ec;
  std::vector<std::string> paths;
  for (auto& e : std::filesystem::directory_iterator("/dev", ec)) {
    std::string name = e.path().filename().string();
    if (name.rfind("video", 0) == 0) paths.push_back(e.path().string());
  }
  std::sort(paths.begin(), paths.end());
  for (auto& path : paths) {
    int fd = ::open(path.c_str(), O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) continue;
    v4l2_capability cap{};
    if (xioctl(fd, VIDIOC_QUERYCAP, &cap) == 0) {
      std::uint32_t caps = (cap.capabilities & V4L2_CAP_DEVICE_CAPS) ? cap.device_caps : cap.capabilities;
      if (caps & V4L2_CAP_VIDEO_CAPTURE) {  // metadata nodes are not cameras
        Camera cam{path, reinterpret_cast<const char*>(cap.card), {}};
        v4l2_fmtdesc fd_desc{};
        fd_desc.type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
        for (fd_desc.index = 0; xioctl(fd, VIDIOC_ENUM_FMT, &fd_desc) == 0; ++fd_desc.index)
          add_sizes(fd, fd_desc.pixelformat, cam);
        out.push_back(std::move(cam));
      }
    }
    ::close(fd);
  }
  return out;
}

std::vector<Screen> list_screens() {
  std::vector<Screen> out;
  DisplayInfo d = probe_display();
  if (!d.available || d.kind != "x11") return out;
  detail::ensure_devices_registered();
  const AVInputFormat* x11 = av_find_input_format("x11grab");
  if (!x11) return out;
  AVFormatContext* fmt = nullptr;
  Screen s{d.name, 0, 0};
  if (avformat_open_input(&fmt, d.name.c_str(), x11, nullptr) == 0) {
    if (fmt->nb_streams > 0) {
      s.width = fmt->streams[0]->codecpar->width;
      s.height = fmt->streams[0]->codecpar->height;
    }
    avformat_close_input(&fmt);
    out.push_back(s);
  }
  return out;
}

std::vector<Microphone> list_microphones() {
  std::vector<Microphone> out;
  detail::ensure_devices_registered();
  for (const char* name : {"pulse", "alsa"}) {
    const AVInputFormat* f = av_find_input_format(name);
    if (!f) continue;
    AVDeviceInfoList* list = nullptr;
    if (avdevice_list_input_sources(f, nullptr, nullptr, &list) >= 0 && list) {
      for (int i = 0; i < list->nb_devices; ++i) {
        const AVDeviceInfo* dev = list->devices[i];
        out.push_back(
            {std::string(name) + ":" + dev->device_name, dev->device_description ? dev->device_description : ""});
      }
    }
    avdevice_free_list_devices(&list);
  }
  return out;
}

}  // namespace sc::media
