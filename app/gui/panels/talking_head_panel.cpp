#include "app/gui/panels/talking_head_panel.h"

#include <QComboBox>
#include <QDoubleSpinBox>
#include <QFileDialog>
#include <QFileInfo>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QMetaObject>
#include <QPushButton>
#include <QSettings>
#include <QSpinBox>

#include "app/gui/model_download.h"
#include "app/session/live_session.h"
#include "app/session/model_store.h"
#include "base/error.h"
#include "base/log.h"

namespace sc::gui {

TalkingHeadPanel::TalkingHeadPanel(Studio& studio, const app::ModeInfo& info, QWidget* parent)
    : ModePanel(studio, info, parent) {
  auto* form = new QFormLayout(this);
  form->setContentsMargins(0, 0, 0, 0);
  models_ = new QLineEdit(QStringLiteral("ditto"), this);
  models_->setToolTip(tr("Ditto's ditto_onnx folder, or `ditto` once pulled (streamcanvas-cli models pull ditto)"));
  auto* models_row = new QHBoxLayout;
  models_row->addWidget(models_);
  auto* download = new QPushButton(tr("Download…"), this);
  download->setToolTip(tr("Download Ditto's networks from the model hub"));
  models_row->addWidget(download);
  form->addRow(tr("Models"), models_row);
  connect(download, &QPushButton::clicked, this, [this] {
    if (!download_dialog_) {
      download_dialog_ = new ModelDownloadDialog("talking_head", this);
      connect(download_dialog_, &ModelDownloadDialog::pulled, this, [this](const QString& name, const QString&) {
        models_->setText(name);
        if (studio_.is_active(this)) load();
      });
      connect(download_dialog_, &ModelDownloadDialog::failed, this,
              [this](const QString& message) { studio_.show_error(tr("download: %1").arg(message)); });
    }
    download_dialog_->show();
  });
  portrait_ = new QLineEdit(this);
  portrait_->setPlaceholderText(tr("a portrait image (or drop one on the window)"));
  form->addRow(tr("Portrait"), portrait_);
  auto* row = new QHBoxLayout;
  auto* open = new QPushButton(tr("Open…"), this);
  auto* start = new QPushButton(tr("Start"), this);
  row->addWidget(open);
  row->addWidget(start);
  form->addRow(row);
  device_box_ = new QComboBox(this);
  device_box_->addItems({QStringLiteral("auto"), QStringLiteral("cuda"), QStringLiteral("cpu")});
  form->addRow(tr("Device"), device_box_);
  steps_ = new QSpinBox(this);
  steps_->setRange(1, 50);
  steps_->setValue(10);
  steps_->setToolTip(tr("Diffusion steps per motion window: fewer are faster (taken when the models load)"));
  form->addRow(tr("Steps"), steps_);
  emotion_ = new QComboBox(this);
  emotion_->addItems(
      {tr("angry"), tr("disgust"), tr("fear"), tr("happy"), tr("neutral"), tr("sad"), tr("surprise"), tr("contempt")});
  emotion_->setCurrentIndex(4);
  form->addRow(tr("Emotion"), emotion_);
  head_motion_ = new QDoubleSpinBox(this);
  head_motion_->setRange(0.0, 2.0);
  head_motion_->setSingleStep(0.1);
  head_motion_->setValue(1.0);
  form->addRow(tr("Head motion"), head_motion_);
  status_ = new QLabel(tr("Speech comes from the Source dock's audio: a microphone or a file."), this);
  status_->setWordWrap(true);
  form->addRow(status_);

  connect(open, &QPushButton::clicked, this, [this] {
    const QString f =
        QFileDialog::getOpenFileName(this, tr("Open a portrait"), {}, tr("Images (*.png *.jpg *.jpeg *.webp *.bmp)"));
    if (!f.isEmpty()) {
      portrait_->setText(f);
      studio_.activate(this);
    }
  });
  connect(start, &QPushButton::clicked, this, [this] { studio_.activate(this); });
  connect(emotion_, qOverload<int>(&QComboBox::currentIndexChanged), this, [this](int e) {
    if (mode_) mode_->set_emotion(e);
  });
  connect(head_motion_, qOverload<double>(&QDoubleSpinBox::valueChanged), this, [this](double w) {
    if (mode_) mode_->set_head_motion(static_cast<float>(w));
  });
}

TalkingHeadPanel::~TalkingHeadPanel() {
  if (loader_.joinable()) loader_.join();
}

void TalkingHeadPanel::start(const QString& models, const QString& portrait) {
  if (!models.isEmpty()) models_->setText(models);
  portrait_->setText(portrait);
  studio_.activate(this);
}

bool TalkingHeadPanel::activate() {
  if (portrait_->text().trimmed().isEmpty()) {
    studio_.show_error(tr("talking head: open a portrait image first"));
    return false;
  }
  if (mode_) studio_.session().set_mode(mode_);
  load();  // a no-op when the loaded mode is the chosen one
  return true;
}

void TalkingHeadPanel::deactivate() { studio_.session().set_mode(nullptr); }

bool TalkingHeadPanel::open(const QString& path) {
  static const QStringList kImages = {QStringLiteral("png"), QStringLiteral("jpg"), QStringLiteral("jpeg"),
                                      QStringLiteral("webp"), QStringLiteral("bmp")};
  if (!QFileInfo(path).isFile() || !kImages.contains(QFileInfo(path).suffix().toLower())) return false;
  portrait_->setText(path);
  studio_.activate(this);
  return true;
}

void TalkingHeadPanel::load() {
  if (loading_) return;
  app::TalkingHeadModeOptions o;
  try {
    o.models = app::resolve_model_path(models_->text().trimmed().toStdString()).string();
  } catch (const Error& e) {
    status_->setText(QString::fromUtf8(e.what()));
    studio_.show_error(QString::fromUtf8(e.what()));
    return;
  }
  o.portrait = portrait_->text().trimmed().toStdString();
  o.device = device_box_->currentText().toStdString();
  o.steps = steps_->value();
  o.emotion = emotion_->currentIndex();
  o.head_motion = static_cast<float>(head_motion_->value());
  const std::string key = o.models + "|" + o.portrait + "|" + o.device + "|" + std::to_string(o.steps);
  if (mode_ && key == key_) return;
  loading_ = true;
  status_->setText(tr("loading the models and registering the portrait…"));
  if (loader_.joinable()) loader_.join();
  loader_ = std::thread([this, o, key] {
    std::shared_ptr<app::TalkingHeadMode> mode;
    QString error;
    try {
      mode = app::TalkingHeadMode::load(o);
    } catch (const std::exception& e) {
      error = QString::fromUtf8(e.what());
    }
    QMetaObject::invokeMethod(
        this,
        [this, mode, error, key] {
          if (mode) key_ = key;
          loaded(mode, error);
        },
        Qt::QueuedConnection);
  });
}

void TalkingHeadPanel::loaded(std::shared_ptr<app::TalkingHeadMode> mode, const QString& error) {
  loading_ = false;
  if (!mode) {
    status_->setText(tr("not loaded"));
    studio_.show_error(tr("talking head: %1").arg(error));
    return;
  }
  mode_ = std::move(mode);
  mode_->set_emotion(emotion_->currentIndex());
  mode_->set_head_motion(static_cast<float>(head_motion_->value()));
  log::info("talking head: ready ({}x{}{})", mode_->width(), mode_->height(),
            mode_->portrait_from_cache() ? ", portrait from the registration cache" : "");
  if (studio_.is_active(this)) {
    studio_.session().set_mode(mode_);
    studio_.start_live_source();
  }
  refresh();
}

void TalkingHeadPanel::refresh() {
  if (!mode_ || loading_) return;
  const auto s = mode_->stats();
  const double n = std::max<double>(1, static_cast<double>(s.frames));
  status_->setText(
      tr("%1 pictures; ms per picture: HuBERT %2, motion %3, warp %4, decode %5. Speech comes from the Source "
         "dock's audio.")
          .arg(mode_->frames())
          .arg(s.hubert_s * 1e3 / n, 0, 'f', 1)
          .arg(s.lmdm_s * 1e3 / n, 0, 'f', 1)
          .arg(s.warp_s * 1e3 / n, 0, 'f', 1)
          .arg(s.decode_s * 1e3 / n, 0, 'f', 1));
}

void TalkingHeadPanel::restore_settings(QSettings& s) {
  models_->setText(s.value(QStringLiteral("talking_head/models"), QStringLiteral("ditto")).toString());
  portrait_->setText(s.value(QStringLiteral("talking_head/portrait")).toString());
  steps_->setValue(s.value(QStringLiteral("talking_head/steps"), 10).toInt());
  emotion_->setCurrentIndex(s.value(QStringLiteral("talking_head/emotion"), 4).toInt());
}

void TalkingHeadPanel::save_settings(QSettings& s) const {
  s.setValue(QStringLiteral("talking_head/models"), models_->text());
  s.setValue(QStringLiteral("talking_head/portrait"), portrait_->text());
  s.setValue(QStringLiteral("talking_head/steps"), steps_->value());
  s.setValue(QStringLiteral("talking_head/emotion"), emotion_->currentIndex());
}

ModePanel* make_talking_head_panel(Studio& studio, const app::ModeInfo& info, QWidget* parent) {
  return new TalkingHeadPanel(studio, info, parent);
}

}  // namespace sc::gui
