#pragma once
// The volumetric mode's panel: the sequence (or a still scene), transport,
// timeline and camera help. Its picture is drawn by the viewport's splat
// renderer on the viewport's own device, not through the live session.
#include "app/gui/mode_panel.h"

#include <cstdint>
#include <memory>

#include "app/modes/volumetric/volumetric_view.h"

class QCheckBox;
class QLabel;
class QLineEdit;
class QPushButton;
class QSlider;

namespace sc::gui {

class VolumetricPanel final : public ModePanel {
  Q_OBJECT
 public:
  VolumetricPanel(Studio& studio, const app::ModeInfo& info, QWidget* parent);
  ~VolumetricPanel() override;

  // Opens a V^3 sequence folder or a still .ply / .splat scene ("": the
  // bundled sample) and switches to it. A bad path is shown and leaves
  // whatever was playing untouched; false then.
  bool load(const QString& sequence);

  bool activate() override;
  void deactivate() override;
  bool owns_picture() const override { return true; }
  QString not_recordable() const override {
    return tr(
        "Recording takes the live source; to export volumetric video use "
        "`streamcanvas-cli v3 render SEQUENCE --output FILE`");
  }
  bool toggle_playback() override;
  void fill_hud(render::HudStats& hud) const override;
  QString status_text(double interval_s) override;
  bool open(const QString& path) override;
  QString opens() const override { return tr("a V^3 sequence"); }
  void refresh() override;
  void restore_settings(QSettings& s) override;
  void save_settings(QSettings& s) const override;

 private:
  void install();  // hands the open view to the viewport

  std::unique_ptr<app::VolumetricView> view_;
  QLineEdit* sequence_path_ = nullptr;
  QPushButton* play_button_ = nullptr;
  QCheckBox* loop_box_ = nullptr;
  QSlider* timeline_ = nullptr;
  QLabel* frame_label_ = nullptr;
  std::uint64_t last_presented_ = 0;
};

}  // namespace sc::gui
