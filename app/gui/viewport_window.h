#pragma once
// The Vulkan viewport: a QWindow of surface type VulkanSurface, hosted in the
// main window by QWidget::createWindowContainer. Each vsync it takes the
// session's newest frames, uploads them, and draws the canvas and the HUD.
#include <vulkan/vulkan.h>  // before Qt, or Qt's header hides the prototypes

#include <QElapsedTimer>
#include <QWindow>
#include <functional>
#include <memory>

#include "app/session/gpu_frame_link.h"
#include "app/session/live_session.h"
#include "app/modes/volumetric/volumetric_view.h"
#include "render/canvas.h"
#include "render/hud.h"

namespace sc::render {
class VulkanContext;
class Presenter;
}  // namespace sc::render

namespace sc::gui {

class ViewportWindow : public QWindow {
  Q_OBJECT
 public:
  ViewportWindow(render::VulkanContext& ctx, app::LiveSession& session);
  ~ViewportWindow() override;

  void set_view(const render::CanvasView& view) { view_ = view; }
  const render::CanvasView& view() const { return view_; }
  void set_hud_visible(bool visible) { hud_visible_ = visible; }
  // FIFO (tear-free, paced to the display) or MAILBOX/IMMEDIATE (lowest latency).
  void set_vsync(bool vsync);
  bool hud_visible() const { return hud_visible_; }
  void set_hud_stats_provider(std::function<render::HudStats()> provider) { hud_stats_ = std::move(provider); }

  // While set, the viewport shows this volumetric view instead of the live
  // session's frames, and mouse/keys drive its camera.
  void set_volumetric(app::VolumetricView* view) { volumetric_ = view; }
  // Zero-copy img2img frames: while a link is set and has frames, the output
  // comes from it (GPU to GPU) instead of the session's host copy.
  void set_gpu_link(std::shared_ptr<app::GpuFrameLink> link) { link_ = std::move(link); }
  const render::SplatStats& splat_stats() const { return splat_stats_; }

  std::uint64_t frames_presented() const;
  std::uint64_t hud_frames() const { return hud_ ? hud_->frames() : 0; }
  std::uint32_t swapchain_rebuilds() const;
  // The output frame on screen now (for snapshots).
  const media::Frame& shown_output() const { return shown_.output; }

 signals:
  void renderError(const QString& message);
  // The volumetric view failed (e.g. a damaged stream); the viewport has let go of it.
  void volumetricError(const QString& message);

 protected:
  void exposeEvent(QExposeEvent*) override;
  void resizeEvent(QResizeEvent*) override;
  bool event(QEvent* e) override;
  void mouseMoveEvent(QMouseEvent* e) override;
  void mousePressEvent(QMouseEvent* e) override;
  void mouseReleaseEvent(QMouseEvent* e) override;
  void wheelEvent(QWheelEvent* e) override;
  void keyPressEvent(QKeyEvent* e) override;
  void keyReleaseEvent(QKeyEvent* e) override;

 private:
  void render();
  void release_gpu();

  render::VulkanContext& ctx_;
  app::LiveSession& session_;
  std::unique_ptr<render::Presenter> presenter_;
  std::unique_ptr<render::Canvas> canvas_;
  std::unique_ptr<render::Hud> hud_;
  render::CanvasView view_;
  bool hud_visible_ = true;
  bool vsync_ = true;
  std::function<render::HudStats()> hud_stats_;
  app::DisplayFrames shown_;
  std::uint64_t shown_seq_ = 0;
  bool upload_pending_ = false;
  QElapsedTimer frame_timer_;
  bool failed_ = false;
  app::VolumetricView* volumetric_ = nullptr;
  std::shared_ptr<app::GpuFrameLink> link_;
  render::SplatStats splat_stats_;
  QPointF last_mouse_;
  Qt::MouseButtons buttons_ = Qt::NoButton;
};

}  // namespace sc::gui
