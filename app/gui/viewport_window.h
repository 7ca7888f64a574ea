#pragma once
// The Vulkan viewport: a QWindow of surface type VulkanSurface, hosted in the
// main window by QWidget::createWindowContainer. Rendering goes through
// render::Presenter on the studio's own VulkanContext.
#include <vulkan/vulkan.h>  // before Qt, or Qt's header hides the prototypes

#include <QWindow>
#include <memory>

namespace sc::render {
class VulkanContext;
class Presenter;
}  // namespace sc::render

namespace sc::gui {

class ViewportWindow : public QWindow {
  Q_OBJECT
 public:
  explicit ViewportWindow(render::VulkanContext& ctx);
  ~ViewportWindow() override;

  std::uint64_t frames_presented() const;

 signals:
  void renderError(const QString& message);

 protected:
  void exposeEvent(QExposeEvent*) override;
  void resizeEvent(QResizeEvent*) override;
  bool event(QEvent* e) override;

 private:
  void render();

  render::VulkanContext& ctx_;
  std::unique_ptr<render::Presenter> presenter_;
  bool failed_ = false;
};

}  // namespace sc::gui
