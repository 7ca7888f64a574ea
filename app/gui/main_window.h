#pragma once
#include <vulkan/vulkan.h>

#include <QMainWindow>

class QLabel;
class QPlainTextEdit;

namespace sc::render {
class VulkanContext;
}

namespace sc::gui {

class ViewportWindow;

class MainWindow : public QMainWindow {
  Q_OBJECT
 public:
  MainWindow(render::VulkanContext& ctx, const QString& compute_path);
  ~MainWindow() override;

  ViewportWindow* viewport() const { return viewport_; }

 public slots:
  void appendLog(const QString& line);

 private:
  ViewportWindow* viewport_ = nullptr;
  QPlainTextEdit* log_view_ = nullptr;
  QLabel* status_device_ = nullptr;
  int log_sink_ = 0;
};

}  // namespace sc::gui
