#pragma once
// The img2img mode's panel: the models (loaded once, in the background) and
// the live parameters, each applied from the next frame without a restart.
#include "app/gui/mode_panel.h"

#include <QStringList>
#include <memory>
#include <string>
#include <thread>

#include "app/modes/img2img/img2img_engine.h"

class QCheckBox;
class QComboBox;
class QDoubleSpinBox;
class QLabel;
class QLineEdit;
class QSpinBox;

namespace sc::gui {

class ModelDownloadDialog;

class Img2ImgPanel final : public ModePanel {
  Q_OBJECT
 public:
  Img2ImgPanel(Studio& studio, const app::ModeInfo& info, QWidget* parent);
  ~Img2ImgPanel() override;  // a model still loading finishes first

  // Switches to img2img on a diffusers pipeline folder (and an optional
  // TAESD folder): the models load in the background, the source keeps
  // running, and the output replaces it once they are ready. 0 / "" keep
  // the panel's values.
  void start(const QString& model, const QString& taesd, const QString& prompt, int width, int height,
             int frame_buffer);

  // Downloads a supported model by name (Download… does the same) and, once
  // it is there, puts it in the Model or TAESD field and loads it.
  // Several: one after another.
  void download(const QString& name);
  // start()'s values without starting (for a pipeline still downloading).
  void prepare(const QString& taesd, const QString& prompt, int width, int height, int frame_buffer);

  bool activate() override;
  void deactivate() override;
  bool open(const QString& path) override;
  QString opens() const override { return tr("a model folder"); }
  void restore_settings(QSettings& s) override;
  void save_settings(QSettings& s) const override;

 private:
  app::Img2ImgSettings settings() const;
  void load();
  void loaded(std::shared_ptr<app::Img2ImgEngine> engine, const QString& error);
  void push_settings();
  ModelDownloadDialog& download_dialog();
  void use_model(const QString& name, const QString& path);
  // img2img on CUDA shows its frames through a zero-copy link (CUDA writes
  // them into the viewport's memory); otherwise through the host copy.
  void update_gpu_link();

  QLineEdit* model_dir_ = nullptr;
  QLineEdit* taesd_dir_ = nullptr;
  QCheckBox* use_taesd_ = nullptr;  // TAESD or the full VAE, live
  QComboBox* device_box_ = nullptr;
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
  QLabel* status_ = nullptr;
  ModelDownloadDialog* download_dialog_ = nullptr;  // made on first use
  QStringList queued_downloads_;

  std::shared_ptr<app::Img2ImgEngine> engine_;
  std::string models_key_;  // model | taesd | device the engine was loaded with
  std::thread loader_;
  bool loading_ = false;
  std::shared_ptr<app::GpuFrameLink> gpu_link_;          // img2img on CUDA -> viewport, no host copy
  const app::Img2ImgEngine* gpu_link_engine_ = nullptr;  // the engine that publishes into it
};

}  // namespace sc::gui
