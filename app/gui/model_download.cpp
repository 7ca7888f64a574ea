#include "app/gui/model_download.h"

#include <QHBoxLayout>
#include <QLabel>
#include <QListWidget>
#include <QMetaObject>
#include <QPointer>
#include <QProgressBar>
#include <QPushButton>
#include <QVBoxLayout>
#include <algorithm>

#include "app/session/cli_support.h"
#include "app/session/model_store.h"
#include "base/error.h"
#include "base/log.h"

namespace sc::gui {
namespace {

QString bytes_text(std::int64_t b) { return QString::fromStdString(app::cli::human_bytes(b)); }

}  // namespace

ModelDownloadDialog::ModelDownloadDialog(std::string mode, QWidget* parent) : QDialog(parent), mode_(std::move(mode)) {
  setWindowTitle(tr("Download a model"));
  auto* layout = new QVBoxLayout(this);
  auto* where = new QLabel(this);
  where->setWordWrap(true);
  try {
    where->setText(tr("Into %1 (change with SC_MODELS)").arg(QString::fromStdString(app::models_dir().string())));
  } catch (const Error& e) {
    where->setText(QString::fromUtf8(e.what()));
  }
  layout->addWidget(where);
  list_ = new QListWidget(this);
  layout->addWidget(list_);
  bar_ = new QProgressBar(this);
  bar_->setRange(0, 1000);
  bar_->setValue(0);
  layout->addWidget(bar_);
  detail_ = new QLabel(tr("Pick a model; only the files the studio reads are downloaded."), this);
  detail_->setWordWrap(true);
  layout->addWidget(detail_);
  auto* buttons = new QHBoxLayout;
  download_ = new QPushButton(tr("Download"), this);
  cancel_ = new QPushButton(tr("Close"), this);
  buttons->addStretch();
  buttons->addWidget(download_);
  buttons->addWidget(cancel_);
  layout->addLayout(buttons);
  connect(download_, &QPushButton::clicked, this, [this] {
    if (auto* item = list_->currentItem()) start(item->data(Qt::UserRole).toString());
  });
  connect(cancel_, &QPushButton::clicked, this, [this] {
    if (running()) {
      cancel_flag_ = true;
      detail_->setText(tr("stopping… what came so far is kept: Download resumes it"));
    } else {
      hide();
    }
  });
  refresh();
}

ModelDownloadDialog::~ModelDownloadDialog() {
  cancel_flag_ = true;
  if (worker_.joinable()) worker_.join();
}

void ModelDownloadDialog::refresh() {
  const QString current = list_->currentItem() ? list_->currentItem()->data(Qt::UserRole).toString() : QString();
  list_->clear();
  std::vector<app::InstalledModel> installed;
  try {
    installed = app::list_models(app::models_dir());
  } catch (const Error&) {
  }
  for (const app::CatalogEntry& e : app::model_catalog()) {
    if (e.mode != mode_) continue;
    const auto it = std::find_if(installed.begin(), installed.end(),
                                 [&](const app::InstalledModel& m) { return m.name == e.name; });
    QString state;
    if (it != installed.end()) state = it->complete ? tr("  [installed]") : tr("  [unfinished: Download resumes]");
    auto* item = new QListWidgetItem(
        QStringLiteral("%1 — %2%3").arg(QString::fromStdString(e.name), QString::fromStdString(e.description), state),
        list_);
    item->setData(Qt::UserRole, QString::fromStdString(e.name));
    if (QString::fromStdString(e.name) == current) list_->setCurrentItem(item);
  }
  if (!list_->currentItem() && list_->count() > 0) list_->setCurrentRow(0);
}

void ModelDownloadDialog::start(const QString& name) {
  if (running()) return;
  if (worker_.joinable()) worker_.join();
  cancel_flag_ = false;
  finished_ = false;
  download_->setEnabled(false);
  cancel_->setText(tr("Cancel"));
  bar_->setValue(0);
  detail_->setText(tr("asking the hub for %1…").arg(name));
  log::info("download: {}", name.toStdString());
  QPointer<ModelDownloadDialog> self(this);
  worker_ = std::thread([this, self, name] {
    app::PullRequest req;
    req.what = name.toStdString();
    QString path, error;
    try {
      auto last = std::chrono::steady_clock::now() - std::chrono::seconds(1);
      const app::PullResult r = app::pull_model(
          req,
          [&](const app::DownloadProgress& p) {
            const auto now = std::chrono::steady_clock::now();
            if (now - last < std::chrono::milliseconds(200)) return;
            last = now;
            QString file;
            for (const auto& f : p.files)
              if (f.state == app::DownloadProgress::File::State::kActive) {
                file = QString::fromStdString(f.path);
                break;
              }
            const int value = p.total > 0 ? int(1000.0 * double(p.done) / double(p.total)) : 0;
            QString eta;
            if (p.rate > 0 && p.total > p.done) eta = tr(" · ETA %1 s").arg(int(double(p.total - p.done) / p.rate));
            const QString text =
                tr("%1 of %2 · %3/s%4\n%5")
                    .arg(bytes_text(p.done), bytes_text(p.total), bytes_text(std::int64_t(p.rate)), eta, file);
            QMetaObject::invokeMethod(
                this,
                [self, value, text] {
                  if (!self) return;
                  self->bar_->setValue(value);
                  self->detail_->setText(text);
                },
                Qt::QueuedConnection);
          },
          &cancel_flag_);
      path = QString::fromStdString(r.path.string());
      log::info("download: {} {} ({})", r.up_to_date ? "already had" : "pulled", r.name, r.path.string());
    } catch (const std::exception& e) {
      error = QString::fromUtf8(e.what());
      log::warn("download: {}", e.what());
    }
    finished_ = true;
    QMetaObject::invokeMethod(
        this,
        [self, name, path, error] {
          if (self) self->finish(name, path, error);
        },
        Qt::QueuedConnection);
  });
  show();
}

void ModelDownloadDialog::finish(const QString& name, const QString& path, const QString& error) {
  if (worker_.joinable()) worker_.join();
  download_->setEnabled(true);
  cancel_->setText(tr("Close"));
  refresh();
  if (!error.isEmpty()) {
    detail_->setText(error);
    emit failed(error);
    return;
  }
  bar_->setValue(1000);
  detail_->setText(tr("%1 is ready in %2").arg(name, path));
  emit pulled(name, path);
}

}  // namespace sc::gui
