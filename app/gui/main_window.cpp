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
#include "app/modes/modes.h"
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
  viewport_->set_hud_stats_provider([this] { return hud_stats(); });
  connect(viewport_, &ViewportWindow::renderError, this,
          [this](const QString& msg) { showError(tr("Viewport: %1").arg(msg)); });

  auto add_dock = [this](const QString& title, const char* name, QWidget* widget, Qt::DockWidgetArea area) {
    auto* dock = new QDockWidget(title, this);
    dock->setObjectName(QString::fromLatin1(name));
    dock->setWidget(widget);
    addDockWidget(area, dock);
  };
  add_dock(tr("Source"), "dock.source", build_source_dock(), Qt::LeftDockWidgetArea);
  add_dock(tr("Mode & parameters"), "dock.mode", build_mode_dock(), Qt::LeftDockWidgetArea);
  add_dock(tr("Record"), "dock.record", build_record_dock(), Qt::LeftDockWidgetArea);
  build_log_dock();
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
  log::remove_sink(log_sink_);
  // The panels first (a model still loading finishes, the viewport lets go
  // of a volumetric view), while the window they talk to is whole.
  if (active_) active_->deactivate();
  active_ = nullptr;
  for (ModePanel* p : panels_) delete p;
  panels_.clear();
  session_.reset();  // joins the session's threads before the widgets go
}

QWidget* MainWindow::build_source_dock() {
  auto* widget = new QWidget(this);
  auto* layout = new QVBoxLayout(widget);
  source_box_ = new QComboBox(widget);
  source_box_->setEditable(true);
  source_box_->setToolTip(tr("test, test:WxH@FPS, v4l2:/dev/videoN, screen, or a video file"));
  source_box_->addItem(QStringLiteral("test"));
  for (auto& cam : media::list_cameras())
    source_box_->addItem(QString::fromStdString(cam.source()), QString::fromStdString(cam.name));
  for (auto& screen : media::list_screens()) source_box_->addItem(QString::fromStdString(screen.source()));
  auto* row = new QHBoxLayout;
  auto* open_file = new QPushButton(tr("Open file…"), widget);
  start_button_ = new QPushButton(tr("Start"), widget);
  row->addWidget(open_file);
  row->addWidget(start_button_);
  // Audio beside the picture: recorded with it, and the input of modes that
  // listen (talking head).
  audio_box_ = new QComboBox(widget);
  audio_box_->setEditable(true);
  audio_box_->setToolTip(tr("Audio: none, mic, pulse:SOURCE, alsa:DEVICE, tone[:HZ] or an audio file"));
  audio_box_->addItem(tr("none"), QString());
  audio_box_->addItem(QStringLiteral("mic"), QStringLiteral("mic"));
  for (auto& mic : media::list_microphones())
    audio_box_->addItem(QString::fromStdString(mic.source), QString::fromStdString(mic.source));
  audio_box_->addItem(QStringLiteral("tone"), QStringLiteral("tone"));
  auto* audio_row = new QHBoxLayout;
  audio_row->addWidget(new QLabel(tr("Audio"), widget));
  audio_row->addWidget(audio_box_, 1);
  layout->addWidget(source_box_);
  layout->addLayout(row);
  layout->addLayout(audio_row);
  layout->addStretch();
  connect(open_file, &QPushButton::clicked, this, [this] {
    QString file = QFileDialog::getOpenFileName(this, tr("Open a video"), QString(),
                                                tr("Videos (*.mp4 *.mkv *.mov *.webm *.avi);;All files (*)"));
    if (!file.isEmpty()) startSource(file);
  });
  connect(start_button_, &QPushButton::clicked, this, &MainWindow::toggleRunning);
  connect(audio_box_, qOverload<int>(&QComboBox::activated), this, [this](int index) {
    const QVariant data = audio_box_->itemData(index);
    startAudio(data.isValid() ? data.toString() : audio_box_->itemText(index));
  });
  return widget;
}

QWidget* MainWindow::build_mode_dock() {
  auto* widget = new QWidget(this);
  auto* form = new QFormLayout(widget);
  mode_box_ = new QComboBox(widget);
  mode_box_->addItem(tr("Passthrough"));
  QStringList tips{tr("Passthrough shows the source")};
  display_box_ = new QComboBox(widget);
  display_box_->addItems({QStringLiteral("fit"), QStringLiteral("fill"), QStringLiteral("1:1")});
  side_by_side_ = new QCheckBox(tr("Input | output side by side"), widget);
  hud_box_ = new QCheckBox(tr("HUD"), widget);
  hud_box_->setChecked(true);
  form->addRow(tr("Mode"), mode_box_);
  form->addRow(tr("Display"), display_box_);
  form->addRow(side_by_side_);
  form->addRow(hud_box_);
  // One panel per registered mode, shown while its mode is active.
  app::ModeRegistry modes;
  app::register_modes(modes);
  for (const PanelRegistration& reg : registered_panels()) {
    const app::ModeInfo* info = modes.find(reg.mode_id);
    if (!info) continue;
    ModePanel* panel = reg.make(*this, *info, widget);
    panel->setVisible(false);
    form->addRow(panel);
    panels_.push_back(panel);
    mode_box_->addItem(QString::fromStdString(info->title));
    tips << QString::fromStdString(info->title + ": " + info->summary);
  }
  mode_box_->setToolTip(tips.join(QLatin1Char('\n')));
  connect(mode_box_, qOverload<int>(&QComboBox::activated), this,
          [this](int index) { activate(index > 0 ? panels_[std::size_t(index - 1)] : nullptr); });
  connect(display_box_, &QComboBox::currentTextChanged, this, [this] { update_view(); });
  connect(side_by_side_, &QCheckBox::toggled, this, [this] { update_view(); });
  connect(hud_box_, &QCheckBox::toggled, this, [this](bool on) {
    viewport_->set_hud_visible(on);
    log::info("view: HUD {}", on ? "shown" : "hidden");
  });
  return widget;
}

QWidget* MainWindow::build_record_dock() {
  auto* widget = new QWidget(this);
  auto* form = new QFormLayout(widget);
  record_path_ = new QLineEdit(widget);
  record_path_->setPlaceholderText(tr("automatic: ~/Videos/streamcanvas-<time>"));
  container_box_ = new QComboBox(widget);
  container_box_->addItems({QStringLiteral("mp4"), QStringLiteral("mkv")});
  quality_ = new QSlider(Qt::Horizontal, widget);
  quality_->setRange(0, 51);
  quality_->setInvertedAppearance(true);  // right = better
  quality_->setValue(20);
  quality_->setToolTip(tr("Constant quality (x264 CRF): lower is better and larger"));
  record_button_ = new QPushButton(tr("Record"), widget);
  record_status_ = new QLabel(tr("not recording"), widget);
  form->addRow(tr("File"), record_path_);
  form->addRow(tr("Container"), container_box_);
  form->addRow(tr("Quality"), quality_);
  form->addRow(record_button_);
  form->addRow(record_status_);
  connect(record_button_, &QPushButton::clicked, this, &MainWindow::toggleRecording);
  return widget;
}

void MainWindow::build_log_dock() {
  log_view_ = new QPlainTextEdit(this);
  log_view_->setReadOnly(true);
  log_view_->setMaximumBlockCount(2000);
  auto* log_dock = new QDockWidget(tr("Log"), this);
  log_dock->setObjectName(QStringLiteral("dock.log"));
  log_dock->setWidget(log_view_);
  addDockWidget(Qt::BottomDockWidgetArea, log_dock);
}

ModePanel* MainWindow::panel(const std::string& mode_id) const {
  for (ModePanel* p : panels_)
    if (p->info().id == mode_id) return p;
  return nullptr;
}

void MainWindow::activate(ModePanel* panel) {
  ModePanel* previous = active_;
  if (previous && previous != panel) {
    previous->deactivate();
    previous->setVisible(false);
  }
  active_ = panel;
  if (panel) {
    panel->setVisible(true);
    sync_mode_box();
    if (!panel->activate()) {  // it said why; passthrough instead
      panel->setVisible(false);
      active_ = nullptr;
    }
  }
  if (!active_) session_->set_mode(nullptr);
  // Leaving a mode that drew the picture itself: the live source comes back.
  if (previous && previous != active_ && previous->owns_picture() && !(active_ && active_->owns_picture()))
    start_live_source();
  sync_mode_box();
}

void MainWindow::sync_mode_box() {
  int index = 0;
  for (std::size_t i = 0; i < panels_.size(); ++i)
    if (panels_[i] == active_) index = int(i) + 1;
  mode_box_->setCurrentIndex(index);
}

render::HudStats MainWindow::hud_stats() const {
  render::HudStats h;
  h.gpu_memory = gpu_memory_text_;  // refreshed with the status bar, not every frame
  h.device = device_text_.toStdString();
  if (active_ && active_->owns_picture()) {
    active_->fill_hud(h);
    return h;
  }
  app::SessionStats s = session_->stats();
  h.title = "StreamCanvas";
  for (auto& [name, v] : s.stages) h.stages.push_back({name, v.first, v.second});
  h.queues = s.queues;
  h.latency_ms = s.latency_ms;
  h.dropped = s.dropped;
  app::RecordingStatus r = session_->recording();
  h.recording = r.active;
  h.recording_s = r.seconds;
  h.status = s.running ? s.source + " (" + s.decoder + ") | " + s.mode : "stopped";
  return h;
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

void MainWindow::startAudio(const QString& source) {
  try {
    if (source.isEmpty() || source == tr("none")) {
      session_->stop_audio();
      audio_box_->setCurrentIndex(0);
      return;
    }
    session_->start_audio(source.toStdString());
    int index = audio_box_->findData(source);
    if (index < 0) {
      audio_box_->addItem(source, source);
      index = audio_box_->count() - 1;
    }
    audio_box_->setCurrentIndex(index);
  } catch (const std::exception& e) {
    showError(QString::fromStdString(e.what()));
    audio_box_->setCurrentIndex(0);
  }
}

void MainWindow::start_live_source() {
  if (!session_->running()) startSource(source_box_->currentText());
}

void MainWindow::stop_live_source() {
  if (session_->recording().active) toggleRecording();  // keep the file whole
  session_->stop();
}

void MainWindow::toggleRunning() {
  if (active_ && active_->toggle_playback()) return;
  if (session_->running()) {
    stop_live_source();
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
  } else if (active_ && active_->owns_picture()) {
    showError(active_->not_recordable());
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

void MainWindow::refresh_status() {
  std::uint64_t gpu_free = 0, gpu_total = 0;
  gpu_memory_text_ = engine::cuda_memory(&gpu_free, &gpu_total)
                         ? fmt::format("{:.1f} / {:.1f} GiB", (gpu_total - gpu_free) / double(1ull << 30),
                                       gpu_total / double(1ull << 30))
                         : std::string();
  // The session logged these already; show them.
  for (const std::string& e : session_->take_errors()) show_error(QString::fromStdString(e), false);
  for (ModePanel* p : panels_) p->refresh();
  app::SessionStats s = session_->stats();
  double display_fps = 0, source_fps = 0;
  for (auto& [name, v] : s.stages) {
    if (name == "display") display_fps = v.first;
    if (name == "capture") source_fps = v.first;
  }
  if (active_ && active_->owns_picture()) {
    status_fps_->setText(active_->status_text(0.25));  // refresh_status runs every 250 ms
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
  for (ModePanel* p : panels_) p->restore_settings(s);
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
  for (const ModePanel* p : panels_) p->save_settings(s);
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
    open_path(url.toLocalFile());
    e->acceptProposedAction();
    return;
  }
}

// A dropped file or folder goes to the first mode that takes it; a video
// file nobody takes plays as the source.
void MainWindow::open_path(const QString& path) {
  for (ModePanel* p : panels_)
    if (p->open(path)) return;
  if (!QFileInfo(path).isDir()) {
    startSource(path);
    return;
  }
  QStringList kinds;
  for (ModePanel* p : panels_)
    if (!p->opens().isEmpty()) kinds << p->opens();
  const QString last = kinds.isEmpty() ? QString() : kinds.takeLast();
  showError(kinds.isEmpty() ? tr("%1 is not a folder the studio opens").arg(path)
                            : tr("%1 is neither %2 nor %3").arg(path, kinds.join(tr(", ")), last));
}

}  // namespace sc::gui
