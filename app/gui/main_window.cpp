#include "app/gui/main_window.h"

#include <QDockWidget>
#include <QLabel>
#include <QMenuBar>
#include <QMetaObject>
#include <QPlainTextEdit>
#include <QStatusBar>

#include "app/gui/viewport_window.h"
#include "base/log.h"
#include "render/context.h"
#include "sc/version.h"

namespace sc::gui {

MainWindow::MainWindow(render::VulkanContext& ctx, const QString& compute_path) {
  setWindowTitle(QStringLiteral("StreamCanvas %1").arg(QString::fromUtf8(kVersion)));
  resize(1280, 800);

  viewport_ = new ViewportWindow(ctx);
  QWidget* container = QWidget::createWindowContainer(viewport_, this);
  container->setMinimumSize(320, 180);
  container->setFocusPolicy(Qt::StrongFocus);
  setCentralWidget(container);

  auto* file_menu = menuBar()->addMenu(tr("&File"));
  file_menu->addAction(tr("&Quit"), QKeySequence::Quit, this, &QWidget::close);
  menuBar()->addMenu(tr("&View"));
  menuBar()->addMenu(tr("&Help"));

  log_view_ = new QPlainTextEdit(this);
  log_view_->setReadOnly(true);
  log_view_->setMaximumBlockCount(2000);
  auto* log_dock = new QDockWidget(tr("Log"), this);
  log_dock->setObjectName(QStringLiteral("dock.log"));
  log_dock->setWidget(log_view_);
  addDockWidget(Qt::BottomDockWidgetArea, log_dock);

  status_device_ =
      new QLabel(QStringLiteral("%1 | compute: %2").arg(QString::fromStdString(ctx.device_info().name), compute_path));
  statusBar()->addPermanentWidget(status_device_);
  statusBar()->showMessage(tr("Ready"));

  connect(viewport_, &ViewportWindow::renderError, this,
          [this](const QString& msg) { statusBar()->showMessage(tr("Viewport error: %1").arg(msg)); });

  // Log lines may come from any thread; hop to the GUI thread.
  log_sink_ = log::add_sink([this](log::Level, const std::string& line) {
    QMetaObject::invokeMethod(this, "appendLog", Qt::QueuedConnection, Q_ARG(QString, QString::fromStdString(line)));
  });
}

MainWindow::~MainWindow() { log::remove_sink(log_sink_); }

void MainWindow::appendLog(const QString& line) { log_view_->appendPlainText(line); }

}  // namespace sc::gui
