#include "app/gui/viewport_window.h"

#include <QEvent>
#include <QPlatformSurfaceEvent>
#include <QVulkanInstance>

#include "base/log.h"
#include "render/context.h"
#include "render/presenter.h"

namespace sc::gui {

ViewportWindow::ViewportWindow(render::VulkanContext& ctx) : ctx_(ctx) { setSurfaceType(QSurface::VulkanSurface); }

ViewportWindow::~ViewportWindow() = default;

std::uint64_t ViewportWindow::frames_presented() const { return presenter_ ? presenter_->frames_presented() : 0; }

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
    presenter_.reset();  // the swapchain must go before Qt destroys the surface
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
      presenter_ = std::make_unique<render::Presenter>(ctx_, surface, render::PresenterOptions{});
    }
    presenter_->render_frame(w, h);
  } catch (const std::exception& e) {
    failed_ = true;
    log::error("viewport: {}", e.what());
    emit renderError(QString::fromStdString(e.what()));
  }
  // Idle viewport: a frame per expose/resize is enough until a mode is running.
}

}  // namespace sc::gui
