#pragma once
// The Download… dialog of the model pickers: the models a mode supports, which
// are installed, and a download with progress (per file and total, rate,
// ETA) and Cancel. The download runs on its own thread through
// app/session/model_store.h (`models pull`); what it got is usable at once.
#include <QDialog>
#include <QString>
#include <atomic>
#include <string>
#include <thread>

class QLabel;
class QListWidget;
class QProgressBar;
class QPushButton;

namespace sc::gui {

class ModelDownloadDialog final : public QDialog {
  Q_OBJECT
 public:
  // mode: "img2img", "talking_head", "video_qa": the catalogue entries shown.
  ModelDownloadDialog(std::string mode, QWidget* parent);
  ~ModelDownloadDialog() override;  // cancels a running download and waits for it

  // Starts pulling a catalogue model by name (as the Download button does).
  void start(const QString& name);
  bool running() const { return worker_.joinable() && !finished_; }

 signals:
  void pulled(const QString& name, const QString& path);
  void failed(const QString& message);

 private:
  void refresh();
  void finish(const QString& name, const QString& path, const QString& error);

  std::string mode_;
  QListWidget* list_ = nullptr;
  QProgressBar* bar_ = nullptr;
  QLabel* detail_ = nullptr;
  QPushButton* download_ = nullptr;
  QPushButton* cancel_ = nullptr;
  std::thread worker_;
  std::atomic<bool> cancel_flag_{false};
  std::atomic<bool> finished_{false};
};

}  // namespace sc::gui
