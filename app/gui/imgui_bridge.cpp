#include "app/gui/imgui_bridge.h"

#include <imgui.h>

#include <array>
#include <utility>

namespace sc::gui {
namespace {

// Our index into io.KeysDown[] for each ImGui named key: Qt keys are large
// numbers, so they are folded into 256 + the ImGui key id (ImGui 1.86 has
// io.KeysDown[512] and fewer than 32 named keys).
constexpr int kBase = 256;

const std::array<std::pair<int, ImGuiKey>, 21> kKeys = {{
    {Qt::Key_Tab, ImGuiKey_Tab},
    {Qt::Key_Left, ImGuiKey_LeftArrow},
    {Qt::Key_Right, ImGuiKey_RightArrow},
    {Qt::Key_Up, ImGuiKey_UpArrow},
    {Qt::Key_Down, ImGuiKey_DownArrow},
    {Qt::Key_PageUp, ImGuiKey_PageUp},
    {Qt::Key_PageDown, ImGuiKey_PageDown},
    {Qt::Key_Home, ImGuiKey_Home},
    {Qt::Key_End, ImGuiKey_End},
    {Qt::Key_Insert, ImGuiKey_Insert},
    {Qt::Key_Delete, ImGuiKey_Delete},
    {Qt::Key_Backspace, ImGuiKey_Backspace},
    {Qt::Key_Space, ImGuiKey_Space},
    {Qt::Key_Return, ImGuiKey_Enter},
    {Qt::Key_Enter, ImGuiKey_KeyPadEnter},
    {Qt::Key_Escape, ImGuiKey_Escape},
    {Qt::Key_A, ImGuiKey_A},
    {Qt::Key_C, ImGuiKey_C},
    {Qt::Key_V, ImGuiKey_V},
    {Qt::Key_X, ImGuiKey_X},
    {Qt::Key_Z, ImGuiKey_Z},
}};

}  // namespace

void imgui_setup_keymap(ImGuiIO& io) {
  for (auto& [qt, key] : kKeys) io.KeyMap[key] = kBase + key;
}

void imgui_mouse_move(ImGuiIO& io, const QPointF& pos, qreal dpr) {
  io.MousePos = ImVec2(float(pos.x() * dpr), float(pos.y() * dpr));
}

void imgui_mouse_button(ImGuiIO& io, Qt::MouseButton button, bool down) {
  int i = button == Qt::LeftButton ? 0 : button == Qt::RightButton ? 1 : button == Qt::MiddleButton ? 2 : -1;
  if (i >= 0) io.MouseDown[i] = down;
}

void imgui_wheel(ImGuiIO& io, const QWheelEvent& e) {
  // Qt reports eighths of a degree; one notch is 15 degrees = 1.0 in ImGui.
  io.MouseWheel += float(e.angleDelta().y()) / 120.0f;
  io.MouseWheelH += float(e.angleDelta().x()) / 120.0f;
}

bool imgui_key(ImGuiIO& io, const QKeyEvent& e, bool down) {
  const Qt::KeyboardModifiers m = e.modifiers();
  io.KeyCtrl = m & Qt::ControlModifier;
  io.KeyShift = m & Qt::ShiftModifier;
  io.KeyAlt = m & Qt::AltModifier;
  io.KeySuper = m & Qt::MetaModifier;
  bool mapped = false;
  for (auto& [qt, key] : kKeys) {
    if (e.key() == qt) {
      io.KeysDown[kBase + key] = down;
      mapped = true;
    }
  }
  if (down && !e.text().isEmpty() && !(m & Qt::ControlModifier)) {
    for (QChar c : e.text())
      if (c.isPrint()) io.AddInputCharacter(c.unicode());
  }
  return mapped;
}

}  // namespace sc::gui
