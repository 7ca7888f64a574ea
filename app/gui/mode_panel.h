#pragma once
// One panel per mode in the "Mode & parameters" dock. The window knows modes
// only through this interface and the panel registry: the panels of the
// modes in app/modes/CMakeLists.txt's list (app/gui/panels/<mode>_panel.cpp)
// are registered by register_panels(), generated from that list, so a new
// mode adds its panel without editing the window.
#include <vulkan/vulkan.h>  // before Qt, or Qt's header hides the prototypes

#include <QString>
#include <QWidget>
#include <functional>
#include <vector>

#include "app/session/mode_registry.h"
#include "render/hud.h"

class QSettings;

namespace sc::render {
class VulkanContext;
}
namespace sc::app {
class LiveSession;
}

namespace sc::gui {

class ViewportWindow;
class ModePanel;

// What a panel may ask of the studio window.
class Studio {
 public:
  virtual ~Studio() = default;
  virtual render::VulkanContext& vulkan() = 0;
  virtual app::LiveSession& session() = 0;
  virtual ViewportWindow& viewport_window() = 0;
  virtual void show_error(const QString& message) = 0;  // the status bar (red) and the log
  virtual void start_live_source() = 0;                 // the Source dock's source, unless it runs
  virtual void stop_live_source() = 0;                  // finishes a recording first
  virtual void activate(ModePanel* panel) = 0;          // makes the panel's mode the active one
  virtual bool is_active(const ModePanel* panel) const = 0;
};

class ModePanel : public QWidget {
  Q_OBJECT
 public:
  ModePanel(Studio& studio, app::ModeInfo info, QWidget* parent);

  const app::ModeInfo& info() const { return info_; }

  // Called when the mode becomes the active one; false when it could not
  // (the panel said why) and the window goes back to what ran before.
  virtual bool activate() = 0;
  virtual void deactivate() = 0;

  // A mode that draws the picture itself on the viewport's device (the
  // volumetric player) instead of through the live session: the source stops
  // while it is active and recording the live source is refused.
  virtual bool owns_picture() const { return false; }
  // Why the Record button does nothing while the panel owns the picture.
  virtual QString not_recordable() const { return tr("Recording takes the live source"); }
  // Space: play / pause the panel's own playback; false: not handled.
  virtual bool toggle_playback() { return false; }
  // The HUD and the status bar while the panel owns the picture.
  virtual void fill_hud(render::HudStats& hud) const { (void)hud; }
  virtual QString status_text(double interval_s) {
    (void)interval_s;
    return {};
  }

  // A file or folder dropped on the window (or given on the command line):
  // true when this mode takes it. Panels are asked in the registry's order.
  virtual bool open(const QString& path) {
    (void)path;
    return false;
  }
  // What open() takes, for the message when no mode takes a folder.
  virtual QString opens() const { return {}; }

  virtual void refresh() {}  // four times a second
  virtual void restore_settings(QSettings& settings) { (void)settings; }
  virtual void save_settings(QSettings& settings) const { (void)settings; }

 protected:
  Studio& studio_;

 private:
  app::ModeInfo info_;
};

using PanelFactory = std::function<ModePanel*(Studio& studio, const app::ModeInfo& info, QWidget* parent)>;

struct PanelRegistration {
  std::string mode_id;
  PanelFactory make;
};

// The panels of the registered modes (generated from app/modes/CMakeLists.txt).
std::vector<PanelRegistration> registered_panels();

}  // namespace sc::gui
