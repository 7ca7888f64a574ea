#pragma once
// Qt -> Dear ImGui input: mouse, wheel, keys and text. ImGui 1.86 has no
// io.AddKeyEvent, so keys go into io.KeysDown[] through io.KeyMap.
#include <QKeyEvent>
#include <QMouseEvent>
#include <QWheelEvent>

struct ImGuiIO;

namespace sc::gui {

void imgui_setup_keymap(ImGuiIO& io);
void imgui_mouse_move(ImGuiIO& io, const QPointF& pos, qreal dpr);
void imgui_mouse_button(ImGuiIO& io, Qt::MouseButton button, bool down);
void imgui_wheel(ImGuiIO& io, const QWheelEvent& e);
// Returns true when the key maps to an ImGui key.
bool imgui_key(ImGuiIO& io, const QKeyEvent& e, bool down);

}  // namespace sc::gui
