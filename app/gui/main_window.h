#pragma once
#include <vulkan/vulkan.h>

#include <QMainWindow>
#include <memory>
#include <string>
#include <vector>

#include "app/gui/mode_panel.h"
#include "app/session/live_session.h"

class QAction;
class QCheckBox;
class QComboBox;
class QLabel;
class QLineEdit;
class QPlainTextEdit;
class QPushButton;
class QSlider;
class QTimer;

namespace sc::gui {

class ViewportWindow;

// The studio window: the viewport, the docks (Source, Mode & parameters with
// one panel per registered mode, Record, Log), toolbar, menus, shortcuts,
// settings and drag and drop. It knows the modes only as ModePanels.
//
// Qt naming: the public slots (startSource, toggleRecording, ...) are
// camelCase as Qt's own slots and signals are; everything else follows the
// project's snake_case (docs/design.md, Conventions).
class MainWindow : public QMainWindow, public Studio {
  Q_OBJECT
 public:
  MainWindow(render::VulkanContext& ctx, const QString& compute_path);
  ~MainWindow() override;

  ViewportWindow* viewport() const { return viewport_; }
  app::LiveSession& session() override { return *session_; }
  // The panel of a registered mode, or nullptr.
  ModePanel* panel(const std::string& mode_id) const;

  // Studio
  render::VulkanContext& vulkan() override { return ctx_; }
  ViewportWindow& viewport_window() override { return *viewport_; }
  void show_error(const QString& message) override { show_error(message, true); }
  void start_live_source() override;
  void stop_live_source() override;
  void activate(ModePanel* panel) override;
  bool is_active(const ModePanel* panel) const override { return panel && panel == active_; }

 public slots:
  void appendLog(const QString& line);
  void startSource(const QString& source);
  // An audio source beside the video (mic, pulse[:SRC], tone[:HZ], a file);
  // empty: none. Recordings started afterwards carry it.
  void startAudio(const QString& source);
  void toggleRunning();
  void toggleRecording();
  void startRecording(const QString& path);
  void snapshot();
  void toggleFullScreenViewport();
  void showError(const QString& message) { show_error(message, true); }

 protected:
  void closeEvent(QCloseEvent* e) override;
  void dragEnterEvent(QDragEnterEvent* e) override;
  void dropEvent(QDropEvent* e) override;

 private:
  QWidget* build_source_dock();
  QWidget* build_mode_dock();
  QWidget* build_record_dock();
  void build_log_dock();
  void build_actions();
  render::HudStats hud_stats() const;
  void refresh_status();
  void restore_settings();
  void save_settings();
  void update_view();
  void sync_mode_box();
  QString default_record_path() const;
  void show_error(const QString& message, bool log_it);
  void open_path(const QString& path);

  render::VulkanContext& ctx_;
  std::unique_ptr<app::LiveSession> session_;
  ViewportWindow* viewport_ = nullptr;
  QString device_text_;
  QString compute_path_;

  std::vector<ModePanel*> panels_;  // registry order; owned by the mode dock
  ModePanel* active_ = nullptr;     // nullptr: passthrough

  QComboBox* source_box_ = nullptr;
  QComboBox* audio_box_ = nullptr;
  QPushButton* start_button_ = nullptr;
  QComboBox* mode_box_ = nullptr;
  QComboBox* display_box_ = nullptr;
  QCheckBox* side_by_side_ = nullptr;
  QCheckBox* hud_box_ = nullptr;
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
  std::string gpu_memory_text_;  // for the HUD
};

}  // namespace sc::gui
