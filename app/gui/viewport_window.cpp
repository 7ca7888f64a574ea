#include "app/gui/viewport_window.h"

#include <imgui.h>

#include <QEvent>
#include <QPlatformSurfaceEvent>
#include <QVulkanInstance>

#include "app/gui/imgui_bridge.h"
#include "base/log.h"
#include "render/buffer.h"
#include "render/context.h"
#include "render/presenter.h"

namespace sc::gui {
namespace {

render::HostImage host_image(const media::Frame& f) { return {f.width, f.height, f.pitch_bytes[0], f.planes[0]}; }

// Uploads new frames before the render pass, then draws canvas and HUD in it.
class ViewportFrame final : public render::FrameCallbacks {
 public:
  ViewportFrame(render::Canvas& canvas, render::Hud* hud, const app::DisplayFrames* upload,
                const render::CanvasView& view, const render::HudStats* stats, double frame_s)
      : canvas_(canvas), hud_(hud), upload_(upload), view_(view), stats_(stats), frame_s_(frame_s) {}

  // An output already on the GPU (the splat renderer's) instead of an upload.
  void copy_gpu(VkBuffer pixels, int width, int height) {
    gpu_pixels_ = pixels;
    gpu_w_ = width;
    gpu_h_ = height;
  }
  // img2img's frames through the zero-copy link: a new linked frame is copied
  // GPU to GPU (the submission waits for CUDA's write and signals the slot's
  // release), and the host copy of a frame the link carried is not uploaded
  // again. Anything else the session shows (passthrough after an error, a
  // frame the link turned down) uploads as usual.
  void use_link(app::GpuFrameLink* link) { link_ = link; }
  render::TimelineSync timeline_sync() override { return sync_; }

  void before_pass(VkCommandBuffer cmd) override {
    // Taken here, after the swapchain image was acquired: a frame taken is a
    // frame submitted, so its release is always signalled.
    if (link_) {
      if (const std::optional<app::GpuFrameLink::Frame> f = link_->take()) {
        copy_gpu(f->buffer, f->width, f->height);
        sync_ = f->sync;
      }
    }
    if (gpu_pixels_ != VK_NULL_HANDLE) canvas_.output().copy_from(cmd, gpu_pixels_, gpu_w_, gpu_h_);
    if (!upload_) return;
    const bool carried = link_ && link_->carried(upload_->output.pts_us);
    if (gpu_pixels_ == VK_NULL_HANDLE && !carried) canvas_.output().upload(cmd, host_image(upload_->output));
    if (!upload_->input.empty() && (view_.side_by_side || view_.show_input))
      canvas_.input().upload(cmd, host_image(upload_->input));
  }
  void in_pass(VkCommandBuffer cmd, VkExtent2D extent) override {
    canvas_.record(cmd, extent, view_);
    if (hud_ && stats_) hud_->record(cmd, extent, *stats_, frame_s_);
  }

 private:
  render::Canvas& canvas_;
  render::Hud* hud_;
  const app::DisplayFrames* upload_;
  const render::CanvasView& view_;
  const render::HudStats* stats_;
  double frame_s_;
  VkBuffer gpu_pixels_ = VK_NULL_HANDLE;
  int gpu_w_ = 0, gpu_h_ = 0;
  app::GpuFrameLink* link_ = nullptr;
  render::TimelineSync sync_;
};

}  // namespace

ViewportWindow::ViewportWindow(render::VulkanContext& ctx, app::LiveSession& session) : ctx_(ctx), session_(session) {
  setSurfaceType(QSurface::VulkanSurface);
  frame_timer_.start();
}

ViewportWindow::~ViewportWindow() { release_gpu(); }

void ViewportWindow::release_gpu() {
  hud_.reset();
  canvas_.reset();
  presenter_.reset();
}

void ViewportWindow::set_vsync(bool vsync) {
  vsync_ = vsync;
  if (presenter_) presenter_->set_vsync(vsync);
}

std::uint64_t ViewportWindow::frames_presented() const { return presenter_ ? presenter_->frames_presented() : 0; }
std::uint32_t ViewportWindow::swapchain_rebuilds() const { return presenter_ ? presenter_->swapchain_rebuilds() : 0; }

void ViewportWindow::exposeEvent(QExposeEvent*) {
  if (isExposed()) render();
}

void ViewportWindow::resizeEvent(QResizeEvent*) {
  if (presenter_) presenter_->invalidate();
  if (isExposed()) requestUpdate();
}

bool ViewportWindow::event(QEvent* e) {
  if (e->type() == QEvent::UpdateRequest) {
    render();
    return true;
  }
  if (e->type() == QEvent::PlatformSurface &&
      static_cast<QPlatformSurfaceEvent*>(e)->surfaceEventType() == QPlatformSurfaceEvent::SurfaceAboutToBeDestroyed) {
    release_gpu();  // the swapchain must go before Qt destroys the surface
  }
  return QWindow::event(e);
}

void ViewportWindow::render() {
  if (failed_ || !isExposed()) return;
  const qreal dpr = devicePixelRatio();
  const auto w = static_cast<std::uint32_t>(width() * dpr), h = static_cast<std::uint32_t>(height() * dpr);
  try {
    if (!presenter_) {
      VkSurfaceKHR surface = QVulkanInstance::surfaceForWindow(this);
      if (surface == VK_NULL_HANDLE) throw std::runtime_error("Qt could not create a Vulkan surface for the viewport");
      presenter_ = std::make_unique<render::Presenter>(ctx_, surface, render::PresenterOptions{vsync_});
      canvas_ = std::make_unique<render::Canvas>(ctx_, presenter_->render_pass());
      hud_ = std::make_unique<render::Hud>(ctx_, presenter_->render_pass(), 3);
      imgui_setup_keymap(hud_->imgui_io());
    }
    // What to show: the volumetric view's picture (already on the GPU) or the
    // session's newest frames (uploaded when new).
    std::uint32_t rw = 0, rh = 0;
    render::CanvasView view = view_;
    if (volumetric_) {
      // Software Vulkan renders splats at half resolution to stay interactive.
      const std::uint32_t div = ctx_.device_info().software ? 2 : 1;
      rw = std::max(16u, w / div);
      rh = std::max(16u, h / div);
      try {
        splat_stats_ = volumetric_->render(rw, rh);
      } catch (const std::exception& e) {
        // A bad sequence is the sequence's problem, not the viewport's.
        volumetric_ = nullptr;
        emit volumetricError(QString::fromStdString(e.what()));
        requestUpdate();
        return;
      }
      view.side_by_side = false;
      view.show_input = false;
    } else {
      app::DisplayFrames next;
      if (session_.latest(next, &shown_seq_)) {
        shown_ = std::move(next);
        upload_pending_ = true;
      }
    }
    render::HudStats stats;
    if (hud_visible_ && hud_stats_) stats = hud_stats_();
    const double frame_s = frame_timer_.nsecsElapsed() * 1e-9;
    frame_timer_.restart();
    const bool upload = !volumetric_ && upload_pending_;
    ViewportFrame frame(*canvas_, hud_visible_ ? hud_.get() : nullptr, upload ? &shown_ : nullptr, view, &stats,
                        frame_s);
    if (volumetric_) frame.copy_gpu(volumetric_->renderer().output_rgba().handle(), int(rw), int(rh));
    if (!volumetric_ && link_) frame.use_link(link_.get());
    if (presenter_->render_frame(w, h, frame) && upload) {
      session_.displayed(shown_.output);
      upload_pending_ = false;
    }
  } catch (const std::exception& e) {
    failed_ = true;
    log::error("viewport: {}", e.what());
    emit renderError(QString::fromStdString(e.what()));
    return;
  }
  requestUpdate();  // keep drawing; FIFO presentation paces us to the display
}

void ViewportWindow::mouseMoveEvent(QMouseEvent* e) {
  if (hud_) imgui_mouse_move(hud_->imgui_io(), e->position(), devicePixelRatio());
  const QPointF d = e->position() - last_mouse_;
  last_mouse_ = e->position();
  if (!volumetric_ || (hud_ && hud_->wants_mouse())) return;
  // Right-drag (or Shift+left-drag, for one-button mice and touchpads) looks
  // around from the eye; a plain left-drag orbits the target.
  if ((buttons_ & Qt::RightButton) || ((buttons_ & Qt::LeftButton) && (e->modifiers() & Qt::ShiftModifier)))
    volumetric_->look(float(d.x()), float(d.y()));
  else if (buttons_ & Qt::LeftButton)
    volumetric_->orbit(float(d.x()), float(d.y()));
}
void ViewportWindow::mousePressEvent(QMouseEvent* e) {
  if (hud_) imgui_mouse_button(hud_->imgui_io(), e->button(), true);
  buttons_ = e->buttons();
  last_mouse_ = e->position();
}
void ViewportWindow::mouseReleaseEvent(QMouseEvent* e) {
  if (hud_) imgui_mouse_button(hud_->imgui_io(), e->button(), false);
  buttons_ = e->buttons();
}
void ViewportWindow::wheelEvent(QWheelEvent* e) {
  if (hud_) imgui_wheel(hud_->imgui_io(), *e);
  if (volumetric_ && !(hud_ && hud_->wants_mouse())) volumetric_->zoom(float(e->angleDelta().y()) / 120.0f);
}
void ViewportWindow::keyPressEvent(QKeyEvent* e) {
  // ImGui sees every key exactly once (a second call would type its text
  // twice); keys the HUD does not want go on to the camera, then the main
  // window's shortcuts.
  const bool imgui_mapped = hud_ && imgui_key(hud_->imgui_io(), *e, true);
  if (imgui_mapped && hud_->wants_keyboard()) return;
  if (volumetric_) {
    // Fly with the arrow keys and Page Up/Down (letters are the studio's shortcuts).
    constexpr float kStep = 0.05f;  // of the scene size per key press
    switch (e->key()) {
      case Qt::Key_Up:
        volumetric_->fly(kStep, 0, 0);
        return;
      case Qt::Key_Down:
        volumetric_->fly(-kStep, 0, 0);
        return;
      case Qt::Key_Left:
        volumetric_->fly(0, -kStep, 0);
        return;
      case Qt::Key_Right:
        volumetric_->fly(0, kStep, 0);
        return;
      case Qt::Key_PageUp:
        volumetric_->fly(0, 0, kStep);
        return;
      case Qt::Key_PageDown:
        volumetric_->fly(0, 0, -kStep);
        return;
      default:
        break;
    }
  }
  QWindow::keyPressEvent(e);
}
void ViewportWindow::keyReleaseEvent(QKeyEvent* e) {
  if (hud_) imgui_key(hud_->imgui_io(), *e, false);
  QWindow::keyReleaseEvent(e);
}

}  // namespace sc::gui
