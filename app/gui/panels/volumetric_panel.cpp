#include "app/gui/panels/volumetric_panel.h"

#include <QCheckBox>
#include <QDir>
#include <QFileDialog>
#include <QFileInfo>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QSettings>
#include <QSlider>
#include <filesystem>

#include "app/gui/viewport_window.h"
#include "app/session/assets.h"
#include "base/log.h"

namespace sc::gui {

VolumetricPanel::VolumetricPanel(Studio& studio, const app::ModeInfo& info, QWidget* parent)
    : ModePanel(studio, info, parent) {
  auto* form = new QFormLayout(this);
  form->setContentsMargins(0, 0, 0, 0);
  auto* seq_row = new QHBoxLayout;
  sequence_path_ = new QLineEdit(this);
  sequence_path_->setPlaceholderText(tr("bundled sample"));
  auto* open_seq = new QPushButton(tr("Open…"), this);
  seq_row->addWidget(sequence_path_);
  auto* open_scene = new QPushButton(tr("Scene…"), this);
  open_scene->setToolTip(tr("A single .ply or .splat scene, shown still"));
  seq_row->addWidget(open_seq);
  seq_row->addWidget(open_scene);
  form->addRow(tr("Sequence"), seq_row);
  auto* transport = new QHBoxLayout;
  play_button_ = new QPushButton(tr("Pause"), this);
  loop_box_ = new QCheckBox(tr("Loop"), this);
  loop_box_->setChecked(true);
  auto* reset_cam = new QPushButton(tr("Reset camera"), this);
  transport->addWidget(play_button_);
  transport->addWidget(loop_box_);
  transport->addWidget(reset_cam);
  form->addRow(transport);
  timeline_ = new QSlider(Qt::Horizontal, this);
  frame_label_ = new QLabel(QStringLiteral("0 / 0"), this);
  form->addRow(timeline_);
  form->addRow(frame_label_);
  auto* help =
      new QLabel(tr("Drag: orbit · right-drag or Shift+drag: look · wheel: zoom · arrows, PgUp/PgDn: fly"), this);
  help->setWordWrap(true);
  form->addRow(help);

  connect(open_seq, &QPushButton::clicked, this, [this] {
    QString dir = QFileDialog::getExistingDirectory(this, tr("Open a V^3 sequence folder"));
    if (!dir.isEmpty()) load(dir);
  });
  connect(open_scene, &QPushButton::clicked, this, [this] {
    QString file = QFileDialog::getOpenFileName(this, tr("Open a still Gaussian scene"), QString(),
                                                tr("Gaussian scenes (*.ply *.splat)"));
    if (!file.isEmpty()) load(file);
  });
  connect(play_button_, &QPushButton::clicked, this, [this] {
    if (!view_) return;
    if (view_->playing())
      view_->pause();
    else
      view_->play();
    refresh();
  });
  connect(loop_box_, &QCheckBox::toggled, this, [this](bool on) {
    if (view_) view_->set_loop(on);
  });
  connect(reset_cam, &QPushButton::clicked, this, [this] {
    if (view_) view_->reset_camera();
  });
  // Every way of moving the timeline (drag, a click beside the handle, keys,
  // wheel) is an action; the slider's position is already the new one.
  connect(timeline_, &QSlider::actionTriggered, this, [this] {
    if (view_) view_->seek(timeline_->sliderPosition());
    refresh();
  });
  connect(&studio_.viewport_window(), &ViewportWindow::volumetricError, this, [this](const QString& msg) {
    studio_.activate(nullptr);
    studio_.show_error(tr("Volumetric playback stopped: %1").arg(msg));
  });
}

VolumetricPanel::~VolumetricPanel() { studio_.viewport_window().set_volumetric(nullptr); }

bool VolumetricPanel::load(const QString& sequence) {
  try {
    std::filesystem::path dir =
        sequence.isEmpty() ? app::find_asset("volumetric/sample") : std::filesystem::path(sequence.toStdString());
    // Open first: a bad folder leaves whatever was playing untouched.
    auto view = std::make_unique<app::VolumetricView>(studio_.vulkan(), dir);
    studio_.viewport_window().set_volumetric(nullptr);
    view_ = std::move(view);
    sequence_path_->setText(sequence);
    log::info("volumetric: {} ({} frames at {:.0f} fps)", dir.string(), view_->frame_count(), view_->fps());
  } catch (const std::exception& e) {
    studio_.show_error(QString::fromStdString(e.what()));
    return false;
  }
  if (studio_.is_active(this))
    install();
  else
    studio_.activate(this);  // calls activate(), which installs the view
  return true;
}

bool VolumetricPanel::activate() {
  if (!view_ && !load(sequence_path_->text())) return false;
  install();
  return true;
}

void VolumetricPanel::install() {
  studio_.stop_live_source();  // the viewport shows the sequence now
  view_->set_loop(loop_box_->isChecked());
  studio_.viewport_window().set_volumetric(view_.get());
  last_presented_ = studio_.viewport_window().frames_presented();
  refresh();
}

void VolumetricPanel::deactivate() {
  studio_.viewport_window().set_volumetric(nullptr);
  view_.reset();
}

bool VolumetricPanel::toggle_playback() {
  play_button_->click();
  return true;
}

void VolumetricPanel::fill_hud(render::HudStats& h) const {
  if (!view_) return;
  const render::SplatStats& st = studio_.viewport_window().splat_stats();
  h.title = "StreamCanvas - volumetric";
  h.stages = {{"decode", -1, view_->load_ms()},
              {"project", -1, st.project_ms},
              {"sort", -1, st.sort_ms},
              {"blend", -1, st.raster_ms}};
  h.status = fmt::format("frame {}/{}  {} Gaussians  {} tile hits", view_->frame() + 1, view_->frame_count(),
                         st.gaussians, st.intersections);
}

QString VolumetricPanel::status_text(double interval_s) {
  const std::uint64_t frames = studio_.viewport_window().frames_presented();
  const double fps = double(frames - last_presented_) / interval_s;
  last_presented_ = frames;
  return tr("volumetric | display %1 fps").arg(fps, 0, 'f', 1);
}

bool VolumetricPanel::open(const QString& path) {
  const QFileInfo info(path);
  const bool sequence = info.isDir() && QDir(path).exists(QStringLiteral("group_info.json"));
  const bool scene = !info.isDir() && (path.endsWith(QStringLiteral(".ply"), Qt::CaseInsensitive) ||
                                       path.endsWith(QStringLiteral(".splat"), Qt::CaseInsensitive));
  if (!sequence && !scene) return false;
  load(path);  // a still Gaussian scene, or a V^3 sequence
  return true;
}

void VolumetricPanel::refresh() {
  if (!view_) return;
  timeline_->setMaximum(view_->frame_count() - 1);
  if (!timeline_->isSliderDown()) timeline_->setValue(view_->frame());
  frame_label_->setText(
      tr("%1 / %2  (%3 fps)").arg(view_->frame() + 1).arg(view_->frame_count()).arg(view_->fps(), 0, 'f', 0));
  play_button_->setText(view_->playing() ? tr("Pause") : tr("Play"));
}

void VolumetricPanel::restore_settings(QSettings& s) {
  loop_box_->setChecked(s.value(QStringLiteral("volumetric/loop"), true).toBool());
}

void VolumetricPanel::save_settings(QSettings& s) const {
  s.setValue(QStringLiteral("volumetric/loop"), loop_box_->isChecked());
}

}  // namespace sc::gui

namespace sc::gui {

ModePanel* make_volumetric_panel(Studio& studio, const app::ModeInfo& info, QWidget* parent) {
  return new VolumetricPanel(studio, info, parent);
}

}  // namespace sc::gui
