#include "app/gui/mode_panel.h"

namespace sc::gui {

ModePanel::ModePanel(Studio& studio, app::ModeInfo info, QWidget* parent)
    : QWidget(parent), studio_(studio), info_(std::move(info)) {
  setObjectName(QStringLiteral("panel.%1").arg(QString::fromStdString(info_.id)));
  setToolTip(QString::fromStdString(info_.summary));
}

}  // namespace sc::gui
