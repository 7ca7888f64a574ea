// The Qt -> ImGui input bridge (app/gui/imgui_bridge.h) on synthetic Qt
// events: no window, no Vulkan, just an ImGui context's IO.
#include "app/gui/imgui_bridge.h"

#include <gtest/gtest.h>
#include <imgui.h>

#include <QKeyEvent>
#include <QMouseEvent>
#include <QWheelEvent>
#include <string>
#include <vector>

namespace sc::gui {
namespace {

class ImGuiBridge : public ::testing::Test {
 protected:
  void SetUp() override {
    context_ = ImGui::CreateContext();
    io_ = &ImGui::GetIO();
    imgui_setup_keymap(*io_);
  }
  void TearDown() override { ImGui::DestroyContext(context_); }

  // What ImGui will read as typed text this frame.
  std::vector<ImWchar> typed() const {
    return std::vector<ImWchar>(io_->InputQueueCharacters.begin(), io_->InputQueueCharacters.end());
  }
  bool down(ImGuiKey key) const { return io_->KeysDown[io_->KeyMap[key]]; }

  bool press(int key, Qt::KeyboardModifiers mods = Qt::NoModifier, const QString& text = {}) {
    QKeyEvent e(QEvent::KeyPress, key, mods, text);
    return imgui_key(*io_, e, true);
  }
  bool release(int key, Qt::KeyboardModifiers mods = Qt::NoModifier, const QString& text = {}) {
    QKeyEvent e(QEvent::KeyRelease, key, mods, text);
    return imgui_key(*io_, e, false);
  }

  ImGuiContext* context_ = nullptr;
  ImGuiIO* io_ = nullptr;
};

TEST_F(ImGuiBridge, KeyMapIndicesFitKeysDownAndAreDistinct) {
  const int size = int(sizeof(io_->KeysDown) / sizeof(io_->KeysDown[0]));
  std::vector<int> seen;
  for (ImGuiKey k : {ImGuiKey_Tab, ImGuiKey_LeftArrow, ImGuiKey_Enter, ImGuiKey_KeyPadEnter, ImGuiKey_A, ImGuiKey_Z}) {
    const int i = io_->KeyMap[k];
    EXPECT_GE(i, 256) << "key " << k;  // above the range a backend's own indices would use
    EXPECT_LT(i, size) << "key " << k;
    for (int s : seen) EXPECT_NE(s, i) << "key " << k;
    seen.push_back(i);
  }
}

TEST_F(ImGuiBridge, MouseMoveScalesByDevicePixelRatio) {
  QMouseEvent e(QEvent::MouseMove, QPointF(10.5, 20), QPointF(10.5, 20), Qt::NoButton, Qt::NoButton, Qt::NoModifier);
  imgui_mouse_move(*io_, e.position(), 2.0);
  EXPECT_FLOAT_EQ(io_->MousePos.x, 21.0f);
  EXPECT_FLOAT_EQ(io_->MousePos.y, 40.0f);
  imgui_mouse_move(*io_, e.position(), 1.0);
  EXPECT_FLOAT_EQ(io_->MousePos.x, 10.5f);
}

TEST_F(ImGuiBridge, MouseButtonsPressAndRelease) {
  struct Case {
    Qt::MouseButton qt;
    int imgui;
  };
  for (Case c : {Case{Qt::LeftButton, 0}, Case{Qt::RightButton, 1}, Case{Qt::MiddleButton, 2}}) {
    QMouseEvent press(QEvent::MouseButtonPress, QPointF(1, 1), QPointF(1, 1), c.qt, c.qt, Qt::NoModifier);
    imgui_mouse_button(*io_, press.button(), true);
    EXPECT_TRUE(io_->MouseDown[c.imgui]) << c.imgui;
    QMouseEvent up(QEvent::MouseButtonRelease, QPointF(1, 1), QPointF(1, 1), c.qt, Qt::NoButton, Qt::NoModifier);
    imgui_mouse_button(*io_, up.button(), false);
    EXPECT_FALSE(io_->MouseDown[c.imgui]) << c.imgui;
  }
  // A button ImGui has no slot for changes nothing.
  imgui_mouse_button(*io_, Qt::BackButton, true);
  for (int i = 0; i < 5; ++i) EXPECT_FALSE(io_->MouseDown[i]) << i;
}

TEST_F(ImGuiBridge, WheelNotchesBecomeStepsAndAccumulate) {
  auto wheel = [&](QPoint angle) {
    QWheelEvent e(QPointF(5, 5), QPointF(5, 5), QPoint(), angle, Qt::NoButton, Qt::NoModifier, Qt::NoScrollPhase,
                  false);
    imgui_wheel(*io_, e);
  };
  wheel(QPoint(0, 120));
  EXPECT_FLOAT_EQ(io_->MouseWheel, 1.0f);
  EXPECT_FLOAT_EQ(io_->MouseWheelH, 0.0f);
  wheel(QPoint(0, -60));  // half a notch back (a high-resolution wheel)
  EXPECT_FLOAT_EQ(io_->MouseWheel, 0.5f);
  wheel(QPoint(-240, 0));
  EXPECT_FLOAT_EQ(io_->MouseWheelH, -2.0f);
  EXPECT_FLOAT_EQ(io_->MouseWheel, 0.5f);
}

TEST_F(ImGuiBridge, NamedKeysGoDownAndUp) {
  EXPECT_TRUE(press(Qt::Key_Left));
  EXPECT_TRUE(down(ImGuiKey_LeftArrow));
  EXPECT_FALSE(down(ImGuiKey_RightArrow));
  EXPECT_TRUE(press(Qt::Key_Enter));  // the keypad's Enter, not Return
  EXPECT_TRUE(down(ImGuiKey_KeyPadEnter));
  EXPECT_FALSE(down(ImGuiKey_Enter));
  EXPECT_TRUE(release(Qt::Key_Left));
  EXPECT_FALSE(down(ImGuiKey_LeftArrow));
  EXPECT_TRUE(down(ImGuiKey_KeyPadEnter));
  // A key ImGui has no name for is not mapped and sets nothing.
  EXPECT_FALSE(press(Qt::Key_F5));
  EXPECT_TRUE(typed().empty());
}

TEST_F(ImGuiBridge, ModifiersFollowEachEvent) {
  press(Qt::Key_Up, Qt::ShiftModifier);  // shift-select in a text field
  EXPECT_TRUE(io_->KeyShift);
  EXPECT_FALSE(io_->KeyCtrl);
  press(Qt::Key_Z, Qt::ControlModifier | Qt::AltModifier | Qt::MetaModifier);
  EXPECT_TRUE(io_->KeyCtrl);
  EXPECT_TRUE(io_->KeyAlt);
  EXPECT_TRUE(io_->KeySuper);
  EXPECT_FALSE(io_->KeyShift);
  EXPECT_TRUE(down(ImGuiKey_Z));
  release(Qt::Key_Z);
  EXPECT_FALSE(io_->KeyCtrl);
  EXPECT_FALSE(down(ImGuiKey_Z));
}

TEST_F(ImGuiBridge, KeyWithTextTypesItExactlyOnce) {
  // An unmapped letter: not a named key, but its text is typed once.
  EXPECT_FALSE(press(Qt::Key_B, Qt::NoModifier, QStringLiteral("b")));
  ASSERT_EQ(typed(), std::vector<ImWchar>{ImWchar('b')});
  // A named key that also has text (A is ImGui's select-all key).
  EXPECT_TRUE(press(Qt::Key_A, Qt::ShiftModifier, QStringLiteral("A")));
  EXPECT_TRUE(down(ImGuiKey_A));
  EXPECT_EQ(typed(), (std::vector<ImWchar>{ImWchar('b'), ImWchar('A')}));
  // Releasing types nothing, even when Qt repeats the text on the release.
  release(Qt::Key_A, Qt::NoModifier, QStringLiteral("a"));
  release(Qt::Key_B, Qt::NoModifier, QStringLiteral("b"));
  EXPECT_EQ(typed().size(), 2u);
  // Non-ASCII text arrives as its code point.
  press(Qt::Key_Eacute, Qt::NoModifier, QString(QChar(0x00E9)));
  EXPECT_EQ(typed().back(), ImWchar(0x00E9));
  EXPECT_EQ(typed().size(), 3u);
}

TEST_F(ImGuiBridge, ControlCharactersAndShortcutsTypeNothing) {
  press(Qt::Key_Return, Qt::NoModifier, QStringLiteral("\r"));  // Enter's text is a control character
  EXPECT_TRUE(down(ImGuiKey_Enter));
  press(Qt::Key_Tab, Qt::NoModifier, QStringLiteral("\t"));
  press(Qt::Key_C, Qt::ControlModifier, QString(QChar(3)));  // Ctrl+C: a shortcut, not text
  press(Qt::Key_V, Qt::ControlModifier, QStringLiteral("v"));
  EXPECT_TRUE(down(ImGuiKey_C));
  EXPECT_TRUE(typed().empty());
}

}  // namespace
}  // namespace sc::gui
