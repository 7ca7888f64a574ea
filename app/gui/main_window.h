#pragma once
#include <vulkan/vulkan.h>

#include <QMainWindow>
#include <memory>
#include <string>
#include <thread>

#include "app/session/img2img_engine.h"
#include "app/session/live_session.h"
#include "app/session/volumetric_view.h"

class QAction;
class QCheckBox;
class QComboBox;
class QDoubleSpinBox;
class QSpinBox;
class QLabel;
class QLineEdit;
class QPlainTextEdit;
class QPushButton;
class QSlider;
class QTimer;

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
  app::LiveSession& session() { return *session_; }

 public slots:
  void appendLog(const QString& line);
  void startSource(const QString& source);
  void toggleRunning();
  void toggleRecording();
  void startRecording(const QString& path);
  void snapshot();
  void toggleFullScreenViewport();
  void showError(const QString& message);
  // Switches the viewport to a V^3 sequence (empty: the bundled sample).
  void openVolumetric(const QString& sequence);
  void setMode(int index);  // 0 passthrough (live source), 1 volumetric, 2 img2img
  // Switches to the img2img mode on a diffusers pipeline folder (and an
  // optional TAESD folder): the models load in the background, the source
  // keeps running, and the output replaces it once they are ready.
  void startImg2Img(const QString& model, const QString& taesd, const QString& prompt, int width, int height,
                    int frame_buffer = 0);

 protected:
  void closeEvent(QCloseEvent* e) override;
  void dragEnterEvent(QDragEnterEvent* e) override;
  void dropEvent(QDropEvent* e) override;

 private:
  void build_docks();
  void build_actions();
  void refresh_status();
  void restore_settings();
  void save_settings();
  void update_view();
  QString default_record_path() const;
  void refresh_timeline();
  void show_error(const QString& message, bool log_it);
  app::Img2ImgSettings img2img_settings() const;
  void load_img2img();
  void img2img_loaded(std::shared_ptr<app::Img2ImgEngine> engine, const QString& error);
  void push_img2img_settings();

  render::VulkanContext& ctx_;
  std::unique_ptr<app::LiveSession> session_;
  std::unique_ptr<app::VolumetricView> volumetric_;
  ViewportWindow* viewport_ = nullptr;
  QString device_text_;
  QString compute_path_;

  QComboBox* source_box_ = nullptr;
  QPushButton* start_button_ = nullptr;
  QComboBox* mode_box_ = nullptr;
  QComboBox* display_box_ = nullptr;
  QCheckBox* side_by_side_ = nullptr;
  QCheckBox* hud_box_ = nullptr;
  QLineEdit* model_dir_ = nullptr;
  QWidget* volumetric_box_ = nullptr;
  QWidget* img2img_box_ = nullptr;
  QLineEdit* taesd_dir_ = nullptr;
  QCheckBox* use_taesd_ = nullptr;  // TAESD or the full VAE, live
  QLineEdit* prompt_ = nullptr;
  QLineEdit* negative_prompt_ = nullptr;
  QSpinBox* steps_ = nullptr;
  QSpinBox* frame_buffer_ = nullptr;
  QDoubleSpinBox* strength_ = nullptr;
  QComboBox* cfg_box_ = nullptr;
  QDoubleSpinBox* guidance_ = nullptr;
  QDoubleSpinBox* delta_ = nullptr;
  QSpinBox* seed_ = nullptr;
  QComboBox* size_box_ = nullptr;
  QCheckBox* ssf_box_ = nullptr;
  QComboBox* device_box_ = nullptr;
  QLabel* img2img_status_ = nullptr;
  std::shared_ptr<app::Img2ImgEngine> img2img_;
  std::shared_ptr<app::GpuFrameLink> gpu_link_;          // img2img on CUDA -> viewport, no host copy
  const app::Img2ImgEngine* gpu_link_engine_ = nullptr;  // the engine that publishes into it
  void update_gpu_link();
  std::string img2img_models_key_;  // model | taesd | device the engine was loaded with
  std::thread loader_;
  bool loading_ = false;
  QLineEdit* sequence_path_ = nullptr;
  QPushButton* play_button_ = nullptr;
  QCheckBox* loop_box_ = nullptr;
  QSlider* timeline_ = nullptr;
  QLabel* frame_label_ = nullptr;
  QLineEdit* record_path_ = nullptr;
  QComboBox* container_box_ = nullptr;
  QSlider* quality_ = nullptr;
  QPushButton* record_button_ = nullptr;
  QLabel* record_status_ = nullptr;
  QPlainTextEdit* log_view_ = nullptr;
  QLabel* status_fps_ = nullptr;
  QLabel* status_latency_ = nullptr;
  QLabel* status_device_ = nullptr;
  QAction* run_action_ = nullptr;
  QAction* record_action_ = nullptr;
  QAction* vsync_action_ = nullptr;
  QTimer* status_timer_ = nullptr;
  int log_sink_ = 0;
  bool viewport_fullscreen_ = false;
  std::uint64_t last_presented_ = 0;
  std::string gpu_memory_text_;  // for the HUD
};

}  // namespace sc::gui
