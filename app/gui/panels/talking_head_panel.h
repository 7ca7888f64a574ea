#pragma once
// The talking head's panel: Ditto's models (a folder or `ditto` once pulled),
// the portrait, device and steps (taken when it loads), emotion and head
// motion (live). Speech comes from the Source dock's audio (a microphone or
// a file); the portrait speaks it in the viewport and into a recording.
#include "app/gui/mode_panel.h"

#include <memory>
#include <string>
#include <thread>

#include "app/modes/talking_head/talking_head_mode.h"

class QComboBox;
class QDoubleSpinBox;
class QLabel;
class QLineEdit;
class QSpinBox;

namespace sc::gui {

class ModelDownloadDialog;

class TalkingHeadPanel final : public ModePanel {
  Q_OBJECT
 public:
  TalkingHeadPanel(Studio& studio, const app::ModeInfo& info, QWidget* parent);
  ~TalkingHeadPanel() override;  // a load in progress finishes first

  // Sets the models and the portrait and starts the mode (loading in the background).
  void start(const QString& models, const QString& portrait);

  bool activate() override;
  void deactivate() override;
  bool open(const QString& path) override;
  QString opens() const override { return tr("a portrait image"); }
  void refresh() override;
  void restore_settings(QSettings& s) override;
  void save_settings(QSettings& s) const override;

 private:
  void load();
  void loaded(std::shared_ptr<app::TalkingHeadMode> mode, const QString& error);

  QLineEdit* models_ = nullptr;
  QLineEdit* portrait_ = nullptr;
  QComboBox* device_box_ = nullptr;
  QSpinBox* steps_ = nullptr;
  QComboBox* emotion_ = nullptr;
  QDoubleSpinBox* head_motion_ = nullptr;
  QLabel* status_ = nullptr;
  ModelDownloadDialog* download_dialog_ = nullptr;  // made on first use

  std::shared_ptr<app::TalkingHeadMode> mode_;
  std::string key_;  // models | portrait | device | steps the mode was loaded with
  std::thread loader_;
  bool loading_ = false;
};

}  // namespace sc::gui
