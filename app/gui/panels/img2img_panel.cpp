#include "app/gui/panels/img2img_panel.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDir>
#include <QDoubleSpinBox>
#include <QFileDialog>
#include <QFileInfo>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QMenu>
#include <QMetaObject>
#include <QPushButton>
#include <QSettings>
#include <QSpinBox>
#include <QToolButton>

#include "app/gui/model_download.h"
#include "app/gui/viewport_window.h"
#include "app/session/model_store.h"
#include "app/session/live_session.h"
#include "base/error.h"
#include "base/log.h"

namespace sc::gui {
namespace {

// A model folder as users download them: diffusers or transformers layouts.
bool looks_like_model_folder(const QString& dir) {
  QDir d(dir);
  return d.exists("model_index.json") || d.exists("config.json") || d.exists("unet");
}

}  // namespace

Img2ImgPanel::Img2ImgPanel(Studio& studio, const app::ModeInfo& info, QWidget* parent)
    : ModePanel(studio, info, parent) {
  // Models (loaded once), then the live parameters; every change applies
  // from the next frame without stopping the stream.
  auto* form = new QFormLayout(this);
  form->setContentsMargins(0, 0, 0, 0);
  model_dir_ = new QLineEdit(this);
  model_dir_->setPlaceholderText(tr("a model folder, or an installed model's name"));
  form->addRow(tr("Model"), model_dir_);
  auto* model_row = new QHBoxLayout;
  auto* open_model = new QPushButton(tr("Open…"), this);
  auto* load_button = new QPushButton(tr("Load"), this);
  auto* installed = new QToolButton(this);
  installed->setText(tr("Installed"));
  installed->setToolTip(tr("The models in the models folder (`streamcanvas-cli models list`)"));
  installed->setPopupMode(QToolButton::InstantPopup);
  auto* installed_menu = new QMenu(installed);
  installed->setMenu(installed_menu);
  auto* download = new QPushButton(tr("Download…"), this);
  download->setToolTip(tr("Download sd-turbo, SD 1.5 or TAESD from the model hub"));
  model_row->addWidget(open_model);
  model_row->addWidget(installed);
  model_row->addWidget(download);
  model_row->addWidget(load_button);
  form->addRow(model_row);
  taesd_dir_ = new QLineEdit(this);
  taesd_dir_->setPlaceholderText(tr("optional: TAESD folder (fast decoder)"));
  form->addRow(tr("TAESD"), taesd_dir_);
  use_taesd_ = new QCheckBox(tr("Code frames with TAESD (fast)"), this);
  use_taesd_->setChecked(true);
  use_taesd_->setToolTip(tr("Off: the pipeline's full VAE (slower, more detail); switches while running"));
  form->addRow(use_taesd_);
  device_box_ = new QComboBox(this);
  device_box_->addItems({QStringLiteral("auto"), QStringLiteral("cuda"), QStringLiteral("cpu")});
  device_box_->setToolTip(tr("auto: CUDA (fp16) when a GPU answers, else the CPU (slow)"));
  form->addRow(tr("Device"), device_box_);
  prompt_ = new QLineEdit(this);
  prompt_->setPlaceholderText(tr("what the output should show"));
  prompt_->setText(tr("a watercolor painting"));
  form->addRow(tr("Prompt"), prompt_);
  negative_prompt_ = new QLineEdit(this);
  negative_prompt_->setPlaceholderText(tr("what it should not show (cfg full / initialize)"));
  form->addRow(tr("Negative"), negative_prompt_);
  steps_ = new QSpinBox(this);
  steps_->setRange(1, 4);
  steps_->setValue(1);
  form->addRow(tr("Steps"), steps_);
  strength_ = new QDoubleSpinBox(this);
  strength_->setRange(0.0, 1.0);
  strength_->setSingleStep(0.05);
  strength_->setValue(0.5);
  strength_->setToolTip(tr("How far the output may move from the input"));
  form->addRow(tr("Strength"), strength_);
  cfg_box_ = new QComboBox(this);
  cfg_box_->addItems(
      {QStringLiteral("none"), QStringLiteral("self"), QStringLiteral("initialize"), QStringLiteral("full")});
  cfg_box_->setToolTip(tr("Guidance: none (sd-turbo), self / initialize (residual CFG), full (2x the UNet work)"));
  form->addRow(tr("CFG"), cfg_box_);
  guidance_ = new QDoubleSpinBox(this);
  guidance_->setRange(0.0, 20.0);
  guidance_->setSingleStep(0.1);
  guidance_->setValue(1.2);
  form->addRow(tr("Guidance"), guidance_);
  delta_ = new QDoubleSpinBox(this);
  delta_->setRange(0.0, 5.0);
  delta_->setSingleStep(0.1);
  delta_->setValue(1.0);
  form->addRow(tr("Delta"), delta_);
  seed_ = new QSpinBox(this);
  seed_->setRange(0, 1 << 30);
  seed_->setValue(2);
  form->addRow(tr("Seed"), seed_);
  size_box_ = new QComboBox(this);
  size_box_->setEditable(true);
  size_box_->addItems({QStringLiteral("512x512"), QStringLiteral("384x384"), QStringLiteral("256x256"),
                       QStringLiteral("768x512"), QStringLiteral("512x768")});
  size_box_->setToolTip(tr("Model resolution WxH, multiples of 8"));
  form->addRow(tr("Size"), size_box_);
  frame_buffer_ = new QSpinBox(this);
  frame_buffer_->setRange(1, 16);
  frame_buffer_->setValue(1);
  frame_buffer_->setToolTip(
      tr("Frames per UNet call (Stream Batch): more frames per second on a GPU, each frame shown later"));
  form->addRow(tr("Frames per call"), frame_buffer_);
  ssf_box_ = new QCheckBox(tr("Skip near-identical frames (SSF)"), this);
  form->addRow(ssf_box_);
  status_ = new QLabel(tr("no model loaded"), this);
  status_->setWordWrap(true);
  form->addRow(status_);

  connect(open_model, &QPushButton::clicked, this, [this] {
    QString dir = QFileDialog::getExistingDirectory(this, tr("Open a diffusers pipeline folder (sd-turbo, ...)"));
    if (!dir.isEmpty()) {
      model_dir_->setText(dir);
      load();
    }
  });
  connect(load_button, &QPushButton::clicked, this, [this] { load(); });
  // Listed when the menu opens, so a model pulled from the command line meanwhile is there.
  connect(installed_menu, &QMenu::aboutToShow, this, [this, installed_menu] {
    installed_menu->clear();
    std::vector<app::InstalledModel> models;
    try {
      models = app::list_models(app::models_dir());
    } catch (const Error&) {
    }
    for (const app::InstalledModel& m : models) {
      if (!m.complete || (m.mode != "img2img" && !m.mode.empty())) continue;
      const QString name = QString::fromStdString(m.name), path = QString::fromStdString(m.path.string());
      installed_menu->addAction(name, this, [this, name, path] { use_model(name, path); });
    }
    if (installed_menu->isEmpty()) installed_menu->addAction(tr("none yet: Download…"))->setEnabled(false);
  });
  connect(download, &QPushButton::clicked, this, [this] { download_dialog().show(); });
  for (QLineEdit* e : {prompt_, negative_prompt_})
    connect(e, &QLineEdit::editingFinished, this, [this] { push_settings(); });
  for (QSpinBox* b : {steps_, seed_, frame_buffer_})
    connect(b, qOverload<int>(&QSpinBox::valueChanged), this, [this] { push_settings(); });
  for (QDoubleSpinBox* b : {strength_, guidance_, delta_})
    connect(b, qOverload<double>(&QDoubleSpinBox::valueChanged), this, [this] { push_settings(); });
  connect(cfg_box_, &QComboBox::currentTextChanged, this, [this] { push_settings(); });
  connect(size_box_, &QComboBox::currentTextChanged, this, [this] { push_settings(); });
  connect(ssf_box_, &QCheckBox::toggled, this, [this] { push_settings(); });
  connect(use_taesd_, &QCheckBox::toggled, this, [this] { push_settings(); });
}

Img2ImgPanel::~Img2ImgPanel() {
  if (loader_.joinable()) loader_.join();
}

bool Img2ImgPanel::activate() {
  if (engine_) studio_.session().set_mode(engine_);
  load();  // a no-op when the loaded models are the chosen ones
  update_gpu_link();
  return true;
}

ModelDownloadDialog& Img2ImgPanel::download_dialog() {
  if (!download_dialog_) {
    download_dialog_ = new ModelDownloadDialog("img2img", this);
    auto next = [this] {
      if (!queued_downloads_.isEmpty()) download_dialog_->start(queued_downloads_.takeFirst());
    };
    connect(download_dialog_, &ModelDownloadDialog::pulled, this, [this, next](const QString& n, const QString& p) {
      use_model(n, p);
      next();
    });
    connect(download_dialog_, &ModelDownloadDialog::failed, this, [this, next](const QString& message) {
      studio_.show_error(tr("download: %1").arg(message));
      next();
    });
  }
  return *download_dialog_;
}

void Img2ImgPanel::download(const QString& name) {
  if (download_dialog().running())
    queued_downloads_.append(name);
  else
    download_dialog_->start(name);
}

void Img2ImgPanel::prepare(const QString& taesd, const QString& prompt, int width, int height, int frame_buffer) {
  if (!taesd.isEmpty()) taesd_dir_->setText(taesd);
  if (!prompt.isEmpty()) prompt_->setText(prompt);
  if (width > 0 && height > 0) size_box_->setCurrentText(QStringLiteral("%1x%2").arg(width).arg(height));
  if (frame_buffer > 0) frame_buffer_->setValue(frame_buffer);
}

// A model from the models folder: a TAESD goes in its field, a pipeline in the
// Model field; either loads (and a pipeline starts the mode).
void Img2ImgPanel::use_model(const QString& name, const QString& path) {
  if (name.contains(QStringLiteral("taesd"), Qt::CaseInsensitive) ||
      QDir(path).exists(QStringLiteral("taesd_decoder.safetensors"))) {
    taesd_dir_->setText(path);
    if (engine_ || studio_.is_active(this)) load();
    return;
  }
  model_dir_->setText(path);
  if (studio_.is_active(this))
    load();
  else
    studio_.activate(this);
}

void Img2ImgPanel::deactivate() {
  studio_.session().set_mode(nullptr);
  update_gpu_link();
}

void Img2ImgPanel::start(const QString& model, const QString& taesd, const QString& prompt, int width, int height,
                         int frame_buffer) {
  model_dir_->setText(model);
  taesd_dir_->setText(taesd);
  prepare(taesd, prompt, width, height, frame_buffer);
  studio_.activate(this);
}

bool Img2ImgPanel::open(const QString& path) {
  if (!QFileInfo(path).isDir() || !looks_like_model_folder(path)) return false;
  log::info("model folder: {}", path.toStdString());
  if (QDir(path).exists(QStringLiteral("taesd_decoder.safetensors")) ||
      QFileInfo(path).fileName().contains(QStringLiteral("taesd"), Qt::CaseInsensitive)) {
    taesd_dir_->setText(path);  // the fast decoder for img2img
  } else {
    model_dir_->setText(path);
    if (QDir(path).exists(QStringLiteral("model_index.json"))) studio_.activate(this);  // a pipeline: straight in
  }
  return true;
}

void Img2ImgPanel::update_gpu_link() {
  const bool want = engine_ && studio_.is_active(this) && engine_->compute().rfind("CUDA", 0) == 0;
  const app::Img2ImgSettings s = engine_ ? engine_->settings() : app::Img2ImgSettings{};
  if (want && gpu_link_ && gpu_link_engine_ == engine_.get() && gpu_link_->width() == s.width &&
      gpu_link_->height() == s.height)
    return;
  if (gpu_link_) {
    studio_.viewport_window().set_gpu_link(nullptr);
    if (engine_) engine_->set_display_link(nullptr);  // (a replaced engine is gone, or going)
    gpu_link_.reset();
    gpu_link_engine_ = nullptr;
  }
  if (!want) return;
  std::string why;
  gpu_link_ = app::GpuFrameLink::create(studio_.vulkan(), s.width, s.height, &why);
  if (!gpu_link_) {
    log::info("display: img2img frames reach the viewport through host memory ({})", why);
    return;
  }
  log::info("display: img2img frames go from CUDA to the viewport without a host copy ({}x{})", s.width, s.height);
  studio_.viewport_window().set_gpu_link(gpu_link_);
  engine_->set_display_link(gpu_link_);
  gpu_link_engine_ = engine_.get();
}

app::Img2ImgSettings Img2ImgPanel::settings() const {
  app::Img2ImgSettings s;
  s.prompt = prompt_->text().toStdString();
  s.negative_prompt = negative_prompt_->text().toStdString();
  s.steps = steps_->value();
  s.strength = static_cast<float>(strength_->value());
  s.cfg = cfg_box_->currentText().toStdString();
  s.guidance = static_cast<float>(guidance_->value());
  s.delta = static_cast<float>(delta_->value());
  s.seed = static_cast<std::uint64_t>(seed_->value());
  const QStringList wh = size_box_->currentText().trimmed().split(QLatin1Char('x'));
  bool ok_w = false, ok_h = false;
  s.width = wh.size() == 2 ? wh[0].toInt(&ok_w) : 0;
  s.height = wh.size() == 2 ? wh[1].toInt(&ok_h) : 0;
  if (!ok_w || !ok_h) s.width = s.height = 0;  // stream_params says what is wrong
  s.similarity_filter = ssf_box_->isChecked();
  s.frame_buffer_size = frame_buffer_->value();
  s.taesd = use_taesd_->isChecked();
  return s;
}

void Img2ImgPanel::load() {
  if (loading_) return;
  const QString model = model_dir_->text().trimmed();
  if (model.isEmpty()) {
    status_->setText(
        tr("Choose a diffusers pipeline folder (sd-turbo, SD 1.5 + LCM): Open…, Installed, Download…, or drop "
           "it on the window."));
    return;
  }
  app::Img2ImgModels models;
  try {  // an installed model's name (sd-turbo, taesd) is its folder
    models.model = app::resolve_model_path(model.toStdString()).string();
    models.taesd = app::resolve_model_path(taesd_dir_->text().trimmed().toStdString()).string();
  } catch (const Error& e) {
    status_->setText(QString::fromUtf8(e.what()) + tr(" (or Download…)"));
    studio_.show_error(QString::fromUtf8(e.what()));
    return;
  }
  models.device = device_box_->currentText().toStdString();
  const app::Img2ImgSettings s = settings();
  const std::string key = models.model + "|" + models.taesd + "|" + models.device;
  if (engine_ && key == models_key_) return;
  loading_ = true;
  status_->setText(tr("loading %1…").arg(model));
  log::info("img2img: loading {}", models.model);
  if (loader_.joinable()) loader_.join();
  // Models take seconds (GPU) to minutes (CPU) to load: not on the GUI thread.
  loader_ = std::thread([this, models, s, key] {
    std::shared_ptr<app::Img2ImgEngine> engine;
    QString error;
    try {
      engine = std::make_shared<app::Img2ImgEngine>(models, s);
    } catch (const std::exception& e) {
      error = QString::fromStdString(e.what());
    }
    QMetaObject::invokeMethod(
        this,
        [this, engine, error, key] {
          if (engine) models_key_ = key;
          loaded(engine, error);
        },
        Qt::QueuedConnection);
  });
}

void Img2ImgPanel::loaded(std::shared_ptr<app::Img2ImgEngine> engine, const QString& error) {
  loading_ = false;
  if (!engine) {
    status_->setText(tr("not loaded"));
    studio_.show_error(tr("img2img: %1").arg(error));
    return;
  }
  engine_ = std::move(engine);
  push_settings();  // what was edited while loading
  if (studio_.is_active(this)) {
    studio_.session().set_mode(engine_);
    studio_.start_live_source();
  }
  update_gpu_link();
}

void Img2ImgPanel::push_settings() {
  if (!engine_) return;
  try {
    engine_->update(settings());
  } catch (const std::exception& e) {
    // The stream keeps its previous settings.
    studio_.show_error(tr("img2img: %1").arg(QString::fromStdString(e.what())));
  }
  // The codec the next frames use (the engine switches at its next frame).
  const bool taesd = engine_->uses_taesd(engine_->settings());
  status_->setText(tr("%1 (%2) on %3")
                       .arg(QString::fromStdString(engine_->family()),
                            taesd ? QStringLiteral("TAESD") : QStringLiteral("VAE"),
                            QString::fromStdString(engine_->compute())));
  use_taesd_->setEnabled(engine_->has_taesd() && engine_->has_vae());
  update_gpu_link();  // a new size needs a new link
}

void Img2ImgPanel::restore_settings(QSettings& s) {
  model_dir_->setText(s.value(QStringLiteral("mode/model_dir")).toString());
  taesd_dir_->setText(s.value(QStringLiteral("img2img/taesd")).toString());
  prompt_->setText(s.value(QStringLiteral("img2img/prompt"), prompt_->text()).toString());
  negative_prompt_->setText(s.value(QStringLiteral("img2img/negative_prompt")).toString());
  steps_->setValue(s.value(QStringLiteral("img2img/steps"), steps_->value()).toInt());
  frame_buffer_->setValue(s.value(QStringLiteral("img2img/frame_buffer"), frame_buffer_->value()).toInt());
  use_taesd_->setChecked(s.value(QStringLiteral("img2img/use_taesd"), true).toBool());
  strength_->setValue(s.value(QStringLiteral("img2img/strength"), strength_->value()).toDouble());
  cfg_box_->setCurrentText(s.value(QStringLiteral("img2img/cfg"), cfg_box_->currentText()).toString());
  guidance_->setValue(s.value(QStringLiteral("img2img/guidance"), guidance_->value()).toDouble());
  size_box_->setCurrentText(s.value(QStringLiteral("img2img/size"), size_box_->currentText()).toString());
  device_box_->setCurrentText(s.value(QStringLiteral("img2img/device"), device_box_->currentText()).toString());
}

void Img2ImgPanel::save_settings(QSettings& s) const {
  s.setValue(QStringLiteral("mode/model_dir"), model_dir_->text());
  s.setValue(QStringLiteral("img2img/taesd"), taesd_dir_->text());
  s.setValue(QStringLiteral("img2img/prompt"), prompt_->text());
  s.setValue(QStringLiteral("img2img/negative_prompt"), negative_prompt_->text());
  s.setValue(QStringLiteral("img2img/steps"), steps_->value());
  s.setValue(QStringLiteral("img2img/frame_buffer"), frame_buffer_->value());
  s.setValue(QStringLiteral("img2img/use_taesd"), use_taesd_->isChecked());
  s.setValue(QStringLiteral("img2img/strength"), strength_->value());
  s.setValue(QStringLiteral("img2img/cfg"), cfg_box_->currentText());
  s.setValue(QStringLiteral("img2img/guidance"), guidance_->value());
  s.setValue(QStringLiteral("img2img/size"), size_box_->currentText());
  s.setValue(QStringLiteral("img2img/device"), device_box_->currentText());
}

}  // namespace sc::gui

namespace sc::gui {

ModePanel* make_img2img_panel(Studio& studio, const app::ModeInfo& info, QWidget* parent) {
  return new Img2ImgPanel(studio, info, parent);
}

}  // namespace sc::gui
