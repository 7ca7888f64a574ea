#include "app/gui/main_window.h"

#include <QAction>
#include <filesystem>
#include <QCheckBox>
#include <QCloseEvent>
#include <QComboBox>
#include <QDateTime>
#include <QDir>
#include <QDockWidget>
#include <QDoubleSpinBox>
#include <QDragEnterEvent>
#include <QFileDialog>
#include <QFileInfo>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QImage>
#include <QLabel>
#include <QLineEdit>
#include <QMenuBar>
#include <QMetaObject>
#include <QMimeData>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QSettings>
#include <QSlider>
#include <QSpinBox>
#include <QStandardPaths>
#include <QStatusBar>
#include <QTimer>
#include <QToolBar>
#include <QVBoxLayout>

#include "app/gui/viewport_window.h"
#include "app/session/assets.h"
#include "base/error.h"
#include "base/log.h"
#include "engine/device.h"
#include "media/devices.h"
#include "render/context.h"
#include "sc/version.h"

namespace sc::gui {
namespace {

QString human_bytes(std::int64_t b) {
  if (b >= (1 << 30)) return QString::number(b / double(1 << 30), 'f', 2) + " GiB";
  if (b >= (1 << 20)) return QString::number(b / double(1 << 20), 'f', 1) + " MiB";
  return QString::number(b / 1024.0, 'f', 0) + " KiB";
}

QString clock_text(double s) {
  const int total = int(s);
  return QString("%1:%2.%3").arg(total / 60).arg(total % 60, 2, 10, QChar('0')).arg(int((s - total) * 10));
}

// A model folder as users download them: diffusers or transformers layouts.
bool looks_like_model_folder(const QString& dir) {
  QDir d(dir);
  return d.exists("model_index.json") || d.exists("config.json") || d.exists("unet");
}

}  // namespace

MainWindow::MainWindow(render::VulkanContext& ctx, const QString& compute_path)
    : ctx_(ctx), session_(std::make_unique<app::LiveSession>()), compute_path_(compute_path) {
  setObjectName(QStringLiteral("StreamCanvasMainWindow"));
  setWindowTitle(QStringLiteral("StreamCanvas %1").arg(QString::fromUtf8(kVersion)));
  resize(1280, 800);
  setAcceptDrops(true);
  device_text_ = QStringLiteral("%1 | %2").arg(QString::fromStdString(ctx.device_info().name),
                                               compute_path == "cuda" ? "CUDA" : "CPU path");

  viewport_ = new ViewportWindow(ctx, *session_);
  QWidget* container = QWidget::createWindowContainer(viewport_, this);
  container->setMinimumSize(160, 90);
  container->setFocusPolicy(Qt::StrongFocus);
  container->setAcceptDrops(false);  // drops land on the main window
  setCentralWidget(container);
  viewport_->set_hud_stats_provider([this] {
    render::HudStats h;
    h.gpu_memory = gpu_memory_text_;  // refreshed with the status bar, not every frame
    if (volumetric_) {
      const render::SplatStats& st = viewport_->splat_stats();
      h.title = "StreamCanvas - volumetric";
      h.device = device_text_.toStdString();
      h.stages = {{"decode", -1, volumetric_->load_ms()},
                  {"project", -1, st.project_ms},
                  {"sort", -1, st.sort_ms},
                  {"blend", -1, st.raster_ms}};
      h.status = fmt::format("frame {}/{}  {} Gaussians  {} tile hits", volumetric_->frame() + 1,
                             volumetric_->frame_count(), st.gaussians, st.intersections);
      return h;
    }
    app::SessionStats s = session_->stats();
    h.title = "StreamCanvas";
    h.device = device_text_.toStdString();
    for (auto& [name, v] : s.stages) h.stages.push_back({name, v.first, v.second});
    h.queues = s.queues;
    h.latency_ms = s.latency_ms;
    h.dropped = s.dropped;
    app::RecordingStatus r = session_->recording();
    h.recording = r.active;
    h.recording_s = r.seconds;
    h.status = s.running ? s.source + " (" + s.decoder + ") | " + s.mode : "stopped";
    return h;
  });
  connect(viewport_, &ViewportWindow::renderError, this,
          [this](const QString& msg) { showError(tr("Viewport: %1").arg(msg)); });
  connect(viewport_, &ViewportWindow::volumetricError, this, [this](const QString& msg) {
    setMode(0);
    showError(tr("Volumetric playback stopped: %1").arg(msg));
  });

  build_docks();
  build_actions();

  status_fps_ = new QLabel(this);
  status_latency_ = new QLabel(this);
  status_device_ = new QLabel(device_text_, this);
  statusBar()->addPermanentWidget(status_fps_);
  statusBar()->addPermanentWidget(status_latency_);
  statusBar()->addPermanentWidget(status_device_);

  // Log lines may come from any thread; hop to the GUI thread.
  log_sink_ = log::add_sink([this](log::Level, const std::string& line) {
    QMetaObject::invokeMethod(this, "appendLog", Qt::QueuedConnection, Q_ARG(QString, QString::fromStdString(line)));
  });

  status_timer_ = new QTimer(this);
  connect(status_timer_, &QTimer::timeout, this, &MainWindow::refresh_status);
  status_timer_->start(250);
  restore_settings();
}

MainWindow::~MainWindow() {
  if (loader_.joinable()) loader_.join();  // a model still loading finishes first
  log::remove_sink(log_sink_);
  viewport_->set_volumetric(nullptr);
  volumetric_.reset();
  session_.reset();  // joins the session's threads before the widgets go
}

void MainWindow::build_docks() {
  // Source
  auto* source_widget = new QWidget(this);
  auto* source_layout = new QVBoxLayout(source_widget);
  source_box_ = new QComboBox(source_widget);
  source_box_->setEditable(true);
  source_box_->setToolTip(tr("test, test:WxH@FPS, v4l2:/dev/videoN, screen, or a video file"));
  source_box_->addItem(QStringLiteral("test"));
  for (auto& cam : media::list_cameras())
    source_box_->addItem(QString::fromStdString(cam.source()), QString::fromStdString(cam.name));
  for (auto& screen : media::list_screens()) source_box_->addItem(QString::fromStdString(screen.source()));
  auto* row = new QHBoxLayout;
  auto* open_file = new QPushButton(tr("Open file…"), source_widget);
  start_button_ = new QPushButton(tr("Start"), source_widget);
  row->addWidget(open_file);
  row->addWidget(start_button_);
  source_layout->addWidget(source_box_);
  source_layout->addLayout(row);
  source_layout->addStretch();
  connect(open_file, &QPushButton::clicked, this, [this] {
    QString file = QFileDialog::getOpenFileName(this, tr("Open a video"), QString(),
                                                tr("Videos (*.mp4 *.mkv *.mov *.webm *.avi);;All files (*)"));
    if (!file.isEmpty()) startSource(file);
  });
  connect(start_button_, &QPushButton::clicked, this, &MainWindow::toggleRunning);
  auto* source_dock = new QDockWidget(tr("Source"), this);
  source_dock->setObjectName(QStringLiteral("dock.source"));
  source_dock->setWidget(source_widget);
  addDockWidget(Qt::LeftDockWidgetArea, source_dock);

  // Mode & parameters
  auto* mode_widget = new QWidget(this);
  auto* mode_form = new QFormLayout(mode_widget);
  mode_box_ = new QComboBox(mode_widget);
  mode_box_->addItem(tr("Passthrough"));
  mode_box_->addItem(tr("Volumetric (V^3)"));
  mode_box_->addItem(tr("Img2Img (StreamDiffusion)"));
  mode_box_->setToolTip(
      tr("Passthrough shows the source; Img2Img restyles it live with a diffusion model; "
         "Volumetric plays a V^3 sequence"));
  display_box_ = new QComboBox(mode_widget);
  display_box_->addItems({QStringLiteral("fit"), QStringLiteral("fill"), QStringLiteral("1:1")});
  side_by_side_ = new QCheckBox(tr("Input | output side by side"), mode_widget);
  hud_box_ = new QCheckBox(tr("HUD"), mode_widget);
  hud_box_->setChecked(true);
  model_dir_ = new QLineEdit(mode_widget);
  model_dir_->setPlaceholderText(tr("drop a model folder here"));
  mode_form->addRow(tr("Mode"), mode_box_);
  mode_form->addRow(tr("Display"), display_box_);
  mode_form->addRow(side_by_side_);
  mode_form->addRow(hud_box_);
  mode_form->addRow(tr("Model"), model_dir_);

  // Volumetric playback: sequence, transport, timeline, camera.
  volumetric_box_ = new QWidget(mode_widget);
  auto* vol = new QFormLayout(volumetric_box_);
  vol->setContentsMargins(0, 0, 0, 0);
  auto* seq_row = new QHBoxLayout;
  sequence_path_ = new QLineEdit(volumetric_box_);
  sequence_path_->setPlaceholderText(tr("bundled sample"));
  auto* open_seq = new QPushButton(tr("Open…"), volumetric_box_);
  seq_row->addWidget(sequence_path_);
  auto* open_scene = new QPushButton(tr("Scene…"), volumetric_box_);
  open_scene->setToolTip(tr("A single .ply or .splat scene, shown still"));
  seq_row->addWidget(open_seq);
  seq_row->addWidget(open_scene);
  vol->addRow(tr("Sequence"), seq_row);
  auto* transport = new QHBoxLayout;
  play_button_ = new QPushButton(tr("Pause"), volumetric_box_);
  loop_box_ = new QCheckBox(tr("Loop"), volumetric_box_);
  loop_box_->setChecked(true);
  auto* reset_cam = new QPushButton(tr("Reset camera"), volumetric_box_);
  transport->addWidget(play_button_);
  transport->addWidget(loop_box_);
  transport->addWidget(reset_cam);
  vol->addRow(transport);
  timeline_ = new QSlider(Qt::Horizontal, volumetric_box_);
  frame_label_ = new QLabel(QStringLiteral("0 / 0"), volumetric_box_);
  vol->addRow(timeline_);
  vol->addRow(frame_label_);
  auto* help = new QLabel(tr("Drag: orbit · right-drag or Shift+drag: look · wheel: zoom · arrows, PgUp/PgDn: fly"),
                          volumetric_box_);
  help->setWordWrap(true);
  vol->addRow(help);
  mode_form->addRow(volumetric_box_);
  volumetric_box_->setVisible(false);

  // Img2img: models (loaded once), then the live parameters; every change
  // applies from the next frame without stopping the stream.
  img2img_box_ = new QWidget(mode_widget);
  auto* i2i = new QFormLayout(img2img_box_);
  i2i->setContentsMargins(0, 0, 0, 0);
  auto* model_row = new QHBoxLayout;
  auto* open_model = new QPushButton(tr("Open…"), img2img_box_);
  auto* load_button = new QPushButton(tr("Load"), img2img_box_);
  model_row->addWidget(open_model);
  model_row->addWidget(load_button);
  i2i->addRow(model_row);
  taesd_dir_ = new QLineEdit(img2img_box_);
  taesd_dir_->setPlaceholderText(tr("optional: TAESD folder (fast decoder)"));
  i2i->addRow(tr("TAESD"), taesd_dir_);
  use_taesd_ = new QCheckBox(tr("Code frames with TAESD (fast)"), img2img_box_);
  use_taesd_->setChecked(true);
  use_taesd_->setToolTip(tr("Off: the pipeline's full VAE (slower, more detail); switches while running"));
  i2i->addRow(use_taesd_);
  device_box_ = new QComboBox(img2img_box_);
  device_box_->addItems({QStringLiteral("auto"), QStringLiteral("cuda"), QStringLiteral("cpu")});
  device_box_->setToolTip(tr("auto: CUDA (fp16) when a GPU answers, else the CPU (slow)"));
  i2i->addRow(tr("Device"), device_box_);
  prompt_ = new QLineEdit(img2img_box_);
  prompt_->setPlaceholderText(tr("what the output should show"));
  prompt_->setText(tr("a watercolor painting"));
  i2i->addRow(tr("Prompt"), prompt_);
  negative_prompt_ = new QLineEdit(img2img_box_);
  negative_prompt_->setPlaceholderText(tr("what it should not show (cfg full / initialize)"));
  i2i->addRow(tr("Negative"), negative_prompt_);
  steps_ = new QSpinBox(img2img_box_);
  steps_->setRange(1, 4);
  steps_->setValue(1);
  i2i->addRow(tr("Steps"), steps_);
  strength_ = new QDoubleSpinBox(img2img_box_);
  strength_->setRange(0.0, 1.0);
  strength_->setSingleStep(0.05);
  strength_->setValue(0.5);
  strength_->setToolTip(tr("How far the output may move from the input"));
  i2i->addRow(tr("Strength"), strength_);
  cfg_box_ = new QComboBox(img2img_box_);
  cfg_box_->addItems(
      {QStringLiteral("none"), QStringLiteral("self"), QStringLiteral("initialize"), QStringLiteral("full")});
  cfg_box_->setToolTip(tr("Guidance: none (sd-turbo), self / initialize (residual CFG), full (2x the UNet work)"));
  i2i->addRow(tr("CFG"), cfg_box_);
  guidance_ = new QDoubleSpinBox(img2img_box_);
  guidance_->setRange(0.0, 20.0);
  guidance_->setSingleStep(0.1);
  guidance_->setValue(1.2);
  i2i->addRow(tr("Guidance"), guidance_);
  delta_ = new QDoubleSpinBox(img2img_box_);
  delta_->setRange(0.0, 5.0);
  delta_->setSingleStep(0.1);
  delta_->setValue(1.0);
  i2i->addRow(tr("Delta"), delta_);
  seed_ = new QSpinBox(img2img_box_);
  seed_->setRange(0, 1 << 30);
  seed_->setValue(2);
  i2i->addRow(tr("Seed"), seed_);
  size_box_ = new QComboBox(img2img_box_);
  size_box_->setEditable(true);
  size_box_->addItems({QStringLiteral("512x512"), QStringLiteral("384x384"), QStringLiteral("256x256"),
                       QStringLiteral("768x512"), QStringLiteral("512x768")});
  size_box_->setToolTip(tr("Model resolution WxH, multiples of 8"));
  i2i->addRow(tr("Size"), size_box_);
  frame_buffer_ = new QSpinBox(img2img_box_);
  frame_buffer_->setRange(1, 16);
  frame_buffer_->setValue(1);
  frame_buffer_->setToolTip(
      tr("Frames per UNet call (Stream Batch): more frames per second on a GPU, each frame shown later"));
  i2i->addRow(tr("Frames per call"), frame_buffer_);
  ssf_box_ = new QCheckBox(tr("Skip near-identical frames (SSF)"), img2img_box_);
  i2i->addRow(ssf_box_);
  img2img_status_ = new QLabel(tr("no model loaded"), img2img_box_);
  img2img_status_->setWordWrap(true);
  i2i->addRow(img2img_status_);
  mode_form->addRow(img2img_box_);
  img2img_box_->setVisible(false);
  connect(open_model, &QPushButton::clicked, this, [this] {
    QString dir = QFileDialog::getExistingDirectory(this, tr("Open a diffusers pipeline folder (sd-turbo, ...)"));
    if (!dir.isEmpty()) {
      model_dir_->setText(dir);
      load_img2img();
    }
  });
  connect(load_button, &QPushButton::clicked, this, [this] { load_img2img(); });
  for (QLineEdit* e : {prompt_, negative_prompt_})
    connect(e, &QLineEdit::editingFinished, this, [this] { push_img2img_settings(); });
  for (QSpinBox* b : {steps_, seed_, frame_buffer_})
    connect(b, qOverload<int>(&QSpinBox::valueChanged), this, [this] { push_img2img_settings(); });
  for (QDoubleSpinBox* b : {strength_, guidance_, delta_})
    connect(b, qOverload<double>(&QDoubleSpinBox::valueChanged), this, [this] { push_img2img_settings(); });
  connect(cfg_box_, &QComboBox::currentTextChanged, this, [this] { push_img2img_settings(); });
  connect(size_box_, &QComboBox::currentTextChanged, this, [this] { push_img2img_settings(); });
  connect(ssf_box_, &QCheckBox::toggled, this, [this] { push_img2img_settings(); });
  connect(use_taesd_, &QCheckBox::toggled, this, [this] { push_img2img_settings(); });
  connect(mode_box_, qOverload<int>(&QComboBox::activated), this, &MainWindow::setMode);
  connect(open_seq, &QPushButton::clicked, this, [this] {
    QString dir = QFileDialog::getExistingDirectory(this, tr("Open a V^3 sequence folder"));
    if (!dir.isEmpty()) openVolumetric(dir);
  });
  connect(open_scene, &QPushButton::clicked, this, [this] {
    QString file = QFileDialog::getOpenFileName(this, tr("Open a still Gaussian scene"), QString(),
                                                tr("Gaussian scenes (*.ply *.splat)"));
    if (!file.isEmpty()) openVolumetric(file);
  });
  connect(play_button_, &QPushButton::clicked, this, [this] {
    if (!volumetric_) return;
    if (volumetric_->playing())
      volumetric_->pause();
    else
      volumetric_->play();
    refresh_timeline();
  });
  connect(loop_box_, &QCheckBox::toggled, this, [this](bool on) {
    if (volumetric_) volumetric_->set_loop(on);
  });
  connect(reset_cam, &QPushButton::clicked, this, [this] {
    if (volumetric_) volumetric_->reset_camera();
  });
  // Every way of moving the timeline (drag, a click beside the handle, keys,
  // wheel) is an action; the slider's position is already the new one.
  connect(timeline_, &QSlider::actionTriggered, this, [this] {
    if (volumetric_) volumetric_->seek(timeline_->sliderPosition());
    refresh_timeline();
  });
  connect(display_box_, &QComboBox::currentTextChanged, this, [this] { update_view(); });
  connect(side_by_side_, &QCheckBox::toggled, this, [this] { update_view(); });
  connect(hud_box_, &QCheckBox::toggled, this, [this](bool on) {
    viewport_->set_hud_visible(on);
    log::info("view: HUD {}", on ? "shown" : "hidden");
  });
  auto* mode_dock = new QDockWidget(tr("Mode & parameters"), this);
  mode_dock->setObjectName(QStringLiteral("dock.mode"));
  mode_dock->setWidget(mode_widget);
  addDockWidget(Qt::LeftDockWidgetArea, mode_dock);

  // Record
  auto* rec_widget = new QWidget(this);
  auto* rec_form = new QFormLayout(rec_widget);
  record_path_ = new QLineEdit(rec_widget);
  record_path_->setPlaceholderText(tr("automatic: ~/Videos/streamcanvas-<time>"));
  container_box_ = new QComboBox(rec_widget);
  container_box_->addItems({QStringLiteral("mp4"), QStringLiteral("mkv")});
  quality_ = new QSlider(Qt::Horizontal, rec_widget);
  quality_->setRange(0, 51);
  quality_->setInvertedAppearance(true);  // right = better
  quality_->setValue(20);
  quality_->setToolTip(tr("Constant quality (x264 CRF): lower is better and larger"));
  record_button_ = new QPushButton(tr("Record"), rec_widget);
  record_status_ = new QLabel(tr("not recording"), rec_widget);
  rec_form->addRow(tr("File"), record_path_);
  rec_form->addRow(tr("Container"), container_box_);
  rec_form->addRow(tr("Quality"), quality_);
  rec_form->addRow(record_button_);
  rec_form->addRow(record_status_);
  connect(record_button_, &QPushButton::clicked, this, &MainWindow::toggleRecording);
  auto* rec_dock = new QDockWidget(tr("Record"), this);
  rec_dock->setObjectName(QStringLiteral("dock.record"));
  rec_dock->setWidget(rec_widget);
  addDockWidget(Qt::LeftDockWidgetArea, rec_dock);

  // Log
  log_view_ = new QPlainTextEdit(this);
  log_view_->setReadOnly(true);
  log_view_->setMaximumBlockCount(2000);
  auto* log_dock = new QDockWidget(tr("Log"), this);
  log_dock->setObjectName(QStringLiteral("dock.log"));
  log_dock->setWidget(log_view_);
  addDockWidget(Qt::BottomDockWidgetArea, log_dock);
}

void MainWindow::build_actions() {
  auto add = [this](const QString& text, const QKeySequence& key, auto slot) {
    auto* a = new QAction(text, this);
    a->setShortcut(key);
    a->setShortcutContext(Qt::ApplicationShortcut);  // also while the viewport has focus
    connect(a, &QAction::triggered, this, slot);
    // A shortcut works only while a widget holding its action is visible: the
    // window itself, so the keys still work in the full-screen viewport, where
    // the menus and the toolbar are hidden.
    addAction(a);
    return a;
  };
  run_action_ = add(tr("Start"), Qt::Key_Space, &MainWindow::toggleRunning);
  record_action_ = add(tr("Record"), Qt::Key_R, &MainWindow::toggleRecording);
  QAction* snap = add(tr("Snapshot"), Qt::Key_S, &MainWindow::snapshot);
  QAction* full = add(tr("Full-screen viewport"), Qt::Key_F, &MainWindow::toggleFullScreenViewport);
  QAction* hud = add(tr("HUD"), Qt::Key_H, [this] { hud_box_->setChecked(!hud_box_->isChecked()); });
  QAction* quit = add(tr("Quit"), QKeySequence::Quit, &QWidget::close);
  vsync_action_ = new QAction(tr("VSync"), this);
  vsync_action_->setCheckable(true);
  vsync_action_->setChecked(true);
  vsync_action_->setToolTip(tr("Off: lowest latency (mailbox/immediate); on: paced to the display"));
  connect(vsync_action_, &QAction::toggled, this, [this](bool on) { viewport_->set_vsync(on); });

  QToolBar* tb = addToolBar(tr("Studio"));
  tb->setObjectName(QStringLiteral("toolbar.studio"));
  tb->addAction(run_action_);
  tb->addAction(record_action_);
  tb->addAction(snap);

  QMenu* file = menuBar()->addMenu(tr("&File"));
  file->addAction(tr("Open video…"), this, [this] {
    QString f = QFileDialog::getOpenFileName(this, tr("Open a video"));
    if (!f.isEmpty()) startSource(f);
  });
  file->addAction(snap);
  file->addSeparator();
  file->addAction(quit);
  QMenu* studio = menuBar()->addMenu(tr("&Studio"));
  studio->addAction(run_action_);
  studio->addAction(record_action_);
  QMenu* view = menuBar()->addMenu(tr("&View"));
  view->addAction(full);
  view->addAction(hud);
  view->addAction(vsync_action_);
  for (auto* dock : findChildren<QDockWidget*>()) view->addAction(dock->toggleViewAction());
  QMenu* help = menuBar()->addMenu(tr("&Help"));
  help->addAction(tr("About StreamCanvas"), this, [this] {
    appendLog(QStringLiteral("StreamCanvas %1 (%2) — Space start/stop, R record, S snapshot, F full screen, H HUD")
                  .arg(QString::fromUtf8(kVersion), QString::fromUtf8(kGitRevision)));
  });
}

void MainWindow::appendLog(const QString& line) { log_view_->appendPlainText(line); }

void MainWindow::showError(const QString& message) { show_error(message, true); }

void MainWindow::show_error(const QString& message, bool log_it) {
  statusBar()->setStyleSheet(QStringLiteral("QStatusBar { color: #e04040; }"));
  statusBar()->showMessage(message);
  if (log_it) log::error("{}", message.toStdString());  // reaches the log dock through its sink, and stderr
}

void MainWindow::startSource(const QString& source) {
  try {
    statusBar()->setStyleSheet(QString());
    session_->start(source.toStdString());
    if (source_box_->findText(source) < 0) source_box_->addItem(source);
    source_box_->setCurrentText(source);
    statusBar()->showMessage(tr("Playing %1").arg(source), 3000);
  } catch (const std::exception& e) {
    showError(QString::fromStdString(e.what()));
  }
  refresh_status();
}

void MainWindow::toggleRunning() {
  if (volumetric_) {
    play_button_->click();
    return;
  }
  if (session_->running()) {
    if (session_->recording().active) toggleRecording();  // keep the file whole
    session_->stop();
    log::info("source stopped");
    refresh_status();
  } else {
    startSource(source_box_->currentText());
  }
}

QString MainWindow::default_record_path() const {
  QString dir = QStandardPaths::writableLocation(QStandardPaths::MoviesLocation);
  if (dir.isEmpty() || !QDir(dir).exists()) dir = QDir::homePath();
  return QDir(dir).filePath(QStringLiteral("streamcanvas-%1.%2")
                                .arg(QDateTime::currentDateTime().toString(QStringLiteral("yyyyMMdd-HHmmss")),
                                     container_box_->currentText()));
}

void MainWindow::startRecording(const QString& requested) {
  // A name ending in .mp4 or .mkv chooses the container (and the dock shows
  // it); any other name gets the dock's container added.
  QString path = requested;
  const QString suffix = QFileInfo(path).suffix().toLower();
  if (container_box_->findText(suffix) >= 0) {
    container_box_->setCurrentText(suffix);
  } else {
    path += QLatin1Char('.') + container_box_->currentText();  // "take", "take.v2"
  }
  try {
    app::RecordSettings s;
    s.path = path.toStdString();
    s.quality = quality_->value();
    session_->start_recording(s);
    statusBar()->setStyleSheet(QString());
    statusBar()->showMessage(tr("Recording to %1").arg(path));
  } catch (const std::exception& e) {
    showError(QString::fromStdString(e.what()));
  }
  refresh_status();
}

void MainWindow::toggleRecording() {
  if (session_->recording().active) {
    try {
      app::RecordingStatus st = session_->stop_recording();
      statusBar()->showMessage(
          tr("Saved %1 (%2, %3)").arg(QString::fromStdString(st.path), clock_text(st.seconds), human_bytes(st.bytes)));
    } catch (const std::exception& e) {
      showError(QString::fromStdString(e.what()));
    }
  } else if (volumetric_) {
    showError(
        tr("Recording takes the live source; to export volumetric video use "
           "`streamcanvas-cli v3 render SEQUENCE --output FILE`"));
  } else {
    QString path = record_path_->text().trimmed();
    startRecording(path.isEmpty() ? default_record_path() : path);
  }
  refresh_status();
}

void MainWindow::snapshot() {
  const media::Frame& f = viewport_->shown_output();
  if (f.empty()) {
    showError(tr("Nothing to snapshot yet: start a source first"));
    return;
  }
  QImage img(f.planes[0], f.width, f.height, f.pitch_bytes[0], QImage::Format_RGBA8888);
  QString path = default_record_path();
  path = path.left(path.lastIndexOf('.')) + QStringLiteral(".png");
  path.replace(QStringLiteral("streamcanvas-"), QStringLiteral("snapshot-"));
  if (img.save(path)) {
    statusBar()->showMessage(tr("Snapshot saved to %1").arg(path), 5000);
    log::info("snapshot: {}", path.toStdString());
  } else {
    showError(tr("Could not write the snapshot to %1").arg(path));
  }
}

void MainWindow::toggleFullScreenViewport() {
  viewport_fullscreen_ = !viewport_fullscreen_;
  for (auto* dock : findChildren<QDockWidget*>()) dock->setVisible(!viewport_fullscreen_);
  for (auto* tb : findChildren<QToolBar*>()) tb->setVisible(!viewport_fullscreen_);
  menuBar()->setVisible(!viewport_fullscreen_);
  statusBar()->setVisible(!viewport_fullscreen_);
  if (viewport_fullscreen_)
    showFullScreen();
  else
    showNormal();
  log::info("view: full-screen viewport {}", viewport_fullscreen_ ? "on" : "off");
}

void MainWindow::update_view() {
  render::CanvasView v;
  v.mode = render::parse_display_mode(display_box_->currentText().toStdString());
  v.side_by_side = side_by_side_->isChecked();
  viewport_->set_view(v);
}

void MainWindow::refresh_timeline() {
  if (!volumetric_) return;
  timeline_->setMaximum(volumetric_->frame_count() - 1);
  if (!timeline_->isSliderDown()) timeline_->setValue(volumetric_->frame());
  frame_label_->setText(tr("%1 / %2  (%3 fps)")
                            .arg(volumetric_->frame() + 1)
                            .arg(volumetric_->frame_count())
                            .arg(volumetric_->fps(), 0, 'f', 0));
  play_button_->setText(volumetric_->playing() ? tr("Pause") : tr("Play"));
}

void MainWindow::setMode(int index) {
  mode_box_->setCurrentIndex(index);
  volumetric_box_->setVisible(index == 1);
  img2img_box_->setVisible(index == 2);
  if (index == 1) {
    session_->set_processor(nullptr);
    if (!volumetric_) openVolumetric(sequence_path_->text());
    return;
  }
  const bool had_volumetric = volumetric_ != nullptr;
  viewport_->set_volumetric(nullptr);
  volumetric_.reset();
  if (had_volumetric && !session_->running()) startSource(source_box_->currentText());
  if (index == 2) {
    if (img2img_) {
      session_->set_processor(img2img_);
    } else {
      load_img2img();
    }
  } else {
    session_->set_processor(nullptr);
  }
  update_gpu_link();
}

// img2img running on CUDA shows its frames through a zero-copy link (CUDA
// writes them into the viewport's memory); any other case, or a device pair
// that cannot share memory, goes through the host copy as ever.
void MainWindow::update_gpu_link() {
  const bool want = img2img_ && mode_box_->currentIndex() == 2 && img2img_->compute().rfind("CUDA", 0) == 0;
  const app::Img2ImgSettings s = img2img_ ? img2img_->settings() : app::Img2ImgSettings{};
  if (want && gpu_link_ && gpu_link_engine_ == img2img_.get() && gpu_link_->width() == s.width &&
      gpu_link_->height() == s.height)
    return;
  if (gpu_link_) {
    viewport_->set_gpu_link(nullptr);
    if (img2img_) img2img_->set_display_link(nullptr);  // (a replaced engine is gone, or going)
    gpu_link_.reset();
    gpu_link_engine_ = nullptr;
  }
  if (!want) return;
  std::string why;
  gpu_link_ = app::GpuFrameLink::create(ctx_, s.width, s.height, &why);
  if (!gpu_link_) {
    log::info("display: img2img frames reach the viewport through host memory ({})", why);
    return;
  }
  log::info("display: img2img frames go from CUDA to the viewport without a host copy ({}x{})", s.width, s.height);
  viewport_->set_gpu_link(gpu_link_);
  img2img_->set_display_link(gpu_link_);
  gpu_link_engine_ = img2img_.get();
}

// ---- img2img ------------------------------------------------------------------

app::Img2ImgSettings MainWindow::img2img_settings() const {
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

void MainWindow::load_img2img() {
  if (loading_) return;
  const QString model = model_dir_->text().trimmed();
  if (model.isEmpty()) {
    img2img_status_->setText(
        tr("Choose a diffusers pipeline folder (sd-turbo, SD 1.5 + LCM): Open…, or drop it "
           "on the window. See the README for downloads."));
    return;
  }
  app::Img2ImgModels models;
  models.model = model.toStdString();
  models.taesd = taesd_dir_->text().trimmed().toStdString();
  models.device = device_box_->currentText().toStdString();
  const app::Img2ImgSettings settings = img2img_settings();
  const std::string key = models.model + "|" + models.taesd + "|" + models.device;
  if (img2img_ && key == img2img_models_key_) {
    session_->set_processor(img2img_);
    return;
  }
  loading_ = true;
  img2img_status_->setText(tr("loading %1…").arg(model));
  log::info("img2img: loading {}", models.model);
  if (loader_.joinable()) loader_.join();
  // Models take seconds (GPU) to minutes (CPU) to load: not on the GUI thread.
  loader_ = std::thread([this, models, settings, key] {
    std::shared_ptr<app::Img2ImgEngine> engine;
    QString error;
    try {
      engine = std::make_shared<app::Img2ImgEngine>(models, settings);
    } catch (const std::exception& e) {
      error = QString::fromStdString(e.what());
    }
    QMetaObject::invokeMethod(
        this,
        [this, engine, error, key] {
          if (engine) img2img_models_key_ = key;
          img2img_loaded(engine, error);
        },
        Qt::QueuedConnection);
  });
}

void MainWindow::img2img_loaded(std::shared_ptr<app::Img2ImgEngine> engine, const QString& error) {
  loading_ = false;
  if (!engine) {
    img2img_status_->setText(tr("not loaded"));
    showError(tr("img2img: %1").arg(error));
    return;
  }
  img2img_ = std::move(engine);
  push_img2img_settings();  // what was edited while loading
  if (mode_box_->currentIndex() == 2) {
    session_->set_processor(img2img_);
    if (!session_->running()) startSource(source_box_->currentText());
  }
  update_gpu_link();
}

void MainWindow::push_img2img_settings() {
  if (!img2img_) return;
  try {
    img2img_->update(img2img_settings());
  } catch (const std::exception& e) {
    // The stream keeps its previous settings.
    showError(tr("img2img: %1").arg(QString::fromStdString(e.what())));
  }
  // The codec the next frames use (the engine switches at its next frame).
  const bool taesd = img2img_->uses_taesd(img2img_->settings());
  img2img_status_->setText(tr("%1 (%2) on %3")
                               .arg(QString::fromStdString(img2img_->family()),
                                    taesd ? QStringLiteral("TAESD") : QStringLiteral("VAE"),
                                    QString::fromStdString(img2img_->compute())));
  use_taesd_->setEnabled(img2img_->has_taesd() && img2img_->has_vae());
  update_gpu_link();  // a new size needs a new link
}

void MainWindow::startImg2Img(const QString& model, const QString& taesd, const QString& prompt, int width, int height,
                              int frame_buffer) {
  model_dir_->setText(model);
  taesd_dir_->setText(taesd);
  if (!prompt.isEmpty()) prompt_->setText(prompt);
  if (width > 0 && height > 0) size_box_->setCurrentText(QStringLiteral("%1x%2").arg(width).arg(height));
  if (frame_buffer > 0) frame_buffer_->setValue(frame_buffer);
  setMode(2);
}

void MainWindow::openVolumetric(const QString& sequence) {
  try {
    std::filesystem::path dir =
        sequence.isEmpty() ? app::find_asset("volumetric/sample") : std::filesystem::path(sequence.toStdString());
    // Open first: a bad folder leaves whatever was playing untouched.
    auto view = std::make_unique<app::VolumetricView>(ctx_, dir);
    viewport_->set_volumetric(nullptr);
    volumetric_ = std::move(view);
    if (session_->recording().active) toggleRecording();
    session_->stop();  // the viewport shows the sequence now
    volumetric_->set_loop(loop_box_->isChecked());
    viewport_->set_volumetric(volumetric_.get());
    sequence_path_->setText(sequence);
    mode_box_->setCurrentIndex(1);
    volumetric_box_->setVisible(true);
    log::info("volumetric: {} ({} frames at {:.0f} fps)", dir.string(), volumetric_->frame_count(), volumetric_->fps());
    refresh_timeline();
  } catch (const std::exception& e) {
    showError(QString::fromStdString(e.what()));
    mode_box_->setCurrentIndex(volumetric_ ? 1 : 0);
    volumetric_box_->setVisible(volumetric_ != nullptr);
  }
}

void MainWindow::refresh_status() {
  std::uint64_t gpu_free = 0, gpu_total = 0;
  gpu_memory_text_ = engine::cuda_memory(&gpu_free, &gpu_total)
                         ? fmt::format("{:.1f} / {:.1f} GiB", (gpu_total - gpu_free) / double(1ull << 30),
                                       gpu_total / double(1ull << 30))
                         : std::string();
  // The session logged these already; show them.
  for (const std::string& e : session_->take_errors()) show_error(QString::fromStdString(e), false);
  refresh_timeline();
  app::SessionStats s = session_->stats();
  double display_fps = 0, source_fps = 0;
  for (auto& [name, v] : s.stages) {
    if (name == "display") display_fps = v.first;
    if (name == "capture") source_fps = v.first;
  }
  if (volumetric_) {
    const std::uint64_t frames = viewport_->frames_presented();
    const double fps = (frames - last_presented_) / 0.25;  // refresh_status runs every 250 ms
    last_presented_ = frames;
    status_fps_->setText(tr("volumetric | display %1 fps").arg(fps, 0, 'f', 1));
  } else {
    status_fps_->setText(tr("source %1 fps | display %2 fps").arg(source_fps, 0, 'f', 1).arg(display_fps, 0, 'f', 1));
  }
  status_latency_->setText(tr("latency %1 ms").arg(s.latency_ms, 0, 'f', 1));
  const bool running = session_->running();
  start_button_->setText(running ? tr("Stop") : tr("Start"));
  run_action_->setText(running ? tr("Stop") : tr("Start"));
  app::RecordingStatus r = session_->recording();
  record_button_->setText(r.active ? tr("Stop recording") : tr("Record"));
  record_action_->setText(r.active ? tr("Stop recording") : tr("Record"));
  if (r.active) {
    QString drops = r.dropped ? tr(", %1 dropped").arg(r.dropped) : QString();
    record_status_->setText(tr("● %1  %2%3").arg(clock_text(r.seconds), human_bytes(r.bytes), drops));
  } else {
    record_status_->setText(tr("not recording"));
  }
}

void MainWindow::restore_settings() {
  QSettings s;
  restoreGeometry(s.value(QStringLiteral("window/geometry")).toByteArray());
  restoreState(s.value(QStringLiteral("window/state")).toByteArray());
  display_box_->setCurrentText(s.value(QStringLiteral("view/display"), QStringLiteral("fit")).toString());
  side_by_side_->setChecked(s.value(QStringLiteral("view/side_by_side"), false).toBool());
  hud_box_->setChecked(s.value(QStringLiteral("view/hud"), true).toBool());
  vsync_action_->setChecked(s.value(QStringLiteral("view/vsync"), true).toBool());
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
  record_path_->setText(s.value(QStringLiteral("record/path")).toString());
  container_box_->setCurrentText(s.value(QStringLiteral("record/container"), QStringLiteral("mp4")).toString());
  quality_->setValue(s.value(QStringLiteral("record/quality"), 20).toInt());
  const QString source = s.value(QStringLiteral("source/last"), QStringLiteral("test")).toString();
  source_box_->setCurrentText(source);
  update_view();
}

void MainWindow::save_settings() {
  QSettings s;
  s.setValue(QStringLiteral("window/geometry"), saveGeometry());
  s.setValue(QStringLiteral("window/state"), saveState());
  s.setValue(QStringLiteral("view/display"), display_box_->currentText());
  s.setValue(QStringLiteral("view/side_by_side"), side_by_side_->isChecked());
  s.setValue(QStringLiteral("view/hud"), hud_box_->isChecked());
  s.setValue(QStringLiteral("view/vsync"), vsync_action_->isChecked());
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
  s.setValue(QStringLiteral("record/path"), record_path_->text());
  s.setValue(QStringLiteral("record/container"), container_box_->currentText());
  s.setValue(QStringLiteral("record/quality"), quality_->value());
  s.setValue(QStringLiteral("source/last"), source_box_->currentText());
}

void MainWindow::closeEvent(QCloseEvent* e) {
  // A recording in progress is finished (fast-start, complete) before we go.
  if (session_->recording().active) {
    try {
      app::RecordingStatus st = session_->stop_recording();
      log::info("saved {} on exit", st.path);
    } catch (const std::exception& ex) {
      log::error("{}", ex.what());
    }
  }
  session_->stop();
  save_settings();
  e->accept();
}

void MainWindow::dragEnterEvent(QDragEnterEvent* e) {
  if (e->mimeData()->hasUrls()) e->acceptProposedAction();
}

void MainWindow::dropEvent(QDropEvent* e) {
  for (const QUrl& url : e->mimeData()->urls()) {
    if (!url.isLocalFile()) continue;
    const QString path = url.toLocalFile();
    if (QFileInfo(path).isDir()) {
      if (QDir(path).exists(QStringLiteral("group_info.json"))) {
        openVolumetric(path);
      } else if (looks_like_model_folder(path)) {
        appendLog(tr("model folder: %1").arg(path));
        if (QDir(path).exists(QStringLiteral("taesd_decoder.safetensors")) ||
            QFileInfo(path).fileName().contains(QStringLiteral("taesd"), Qt::CaseInsensitive)) {
          taesd_dir_->setText(path);  // the fast decoder for img2img
        } else {
          model_dir_->setText(path);
          if (QDir(path).exists(QStringLiteral("model_index.json"))) setMode(2);  // a pipeline: straight to img2img
        }
      } else {
        showError(tr("%1 is neither a V^3 sequence nor a model folder").arg(path));
      }
    } else if (path.endsWith(QStringLiteral(".ply"), Qt::CaseInsensitive) ||
               path.endsWith(QStringLiteral(".splat"), Qt::CaseInsensitive)) {
      openVolumetric(path);  // a still Gaussian scene
    } else {
      startSource(path);
    }
    e->acceptProposedAction();
    return;
  }
}

}  // namespace sc::gui
