"""Confirmations, choices and the "saved" notice (issue 14, D10, D12).

- :func:`confirm`: a question with two big buttons (discard a filled form, stop a walk);
- :func:`choose`: one big button per option (which program a record goes to);
- :func:`toast`: a notice over whatever screen comes next ("Đã lưu: Mang lớn · Dấu chân"),
  so the ranger sees the save happen although the form has already closed.

The open dialog and the last notice are kept on the app (``app.dialog``,
``app.last_toast``), where the UI tests find them.
"""
from __future__ import annotations

from kivy.animation import Animation
from kivy.app import App
from kivy.clock import Clock
from kivy.core.window import Window
from kivy.graphics import Color, RoundedRectangle
from kivy.metrics import dp, sp
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.button import Button
from kivy.uix.label import Label
from kivy.uix.modalview import ModalView

BUTTON = dp(64)
TOAST_S = 3.0


def _label(text: str, **kw) -> Label:
    lab = Label(text=text, size_hint_y=None, halign="left", valign="top", **kw)
    lab.bind(width=lambda w, width: setattr(w, "text_size", (width, None)),
             texture_size=lambda w, ts: setattr(w, "height", ts[1] + dp(8)))
    return lab


class Dialog(ModalView):
    """A modal card: title, message, then buttons; closes on a button, never on a tap outside."""

    def __init__(self, title: str, message: str = "", **kw):
        super().__init__(size_hint=(0.9, None), auto_dismiss=False, background_color=(0, 0, 0, 0.6), **kw)
        self.box = BoxLayout(orientation="vertical", padding=dp(20), spacing=dp(12), size_hint_y=None)
        self.box.bind(minimum_height=self.box.setter("height"))
        self.box.bind(height=lambda *_: setattr(self, "height", self.box.height))
        with self.box.canvas.before:
            Color(0.16, 0.2, 0.18, 1)
            self._card = RoundedRectangle(radius=[dp(10)])
        self.box.bind(pos=self._paint, size=self._paint)
        self.title_label = _label(title, font_size=sp(21), bold=True)
        self.box.add_widget(self.title_label)
        self.message_label = _label(message, font_size=sp(18))
        if message:
            self.box.add_widget(self.message_label)
        self.add_widget(self.box)
        self.buttons: list[Button] = []

    def _paint(self, *_):
        self._card.pos, self._card.size = self.box.pos, self.box.size

    def add_button(self, text: str, on_press, colour=None) -> Button:
        """A full-width 64dp button that closes the dialog and then calls ``on_press()``."""
        b = Button(text=text, size_hint_y=None, height=BUTTON, font_size=sp(19), halign="center", valign="middle")
        b.bind(width=lambda w, width: setattr(w, "text_size", (width - dp(16), None)))
        if colour:
            b.background_color = colour
        def pressed(*_):
            self.dismiss(animation=False)
            if on_press is not None:
                on_press()
        b.bind(on_release=pressed)
        self.box.add_widget(b)
        self.buttons.append(b)
        return b

    def open(self, *args, **kw):
        app = App.get_running_app()
        if app is not None:
            app.dialog = self
        return super().open(*args, **kw)

    def on_dismiss(self):
        app = App.get_running_app()
        if app is not None and getattr(app, "dialog", None) is self:
            app.dialog = None


def confirm(title: str, message: str, yes: str, no: str, on_yes, on_no=None, danger: bool = False) -> Dialog:
    """Ask before doing something that cannot be undone; ``yes`` (the action) is the lower, coloured button."""
    d = Dialog(title, message)
    d.no_button = d.add_button(no, on_no)
    d.yes_button = d.add_button(yes, on_yes, colour=(1, 0.5, 0.45, 1) if danger else (0.4, 0.9, 0.5, 1))
    d.open(animation=False)
    return d


def choose(title: str, message: str, options: list[tuple[str, object]], on_choice, cancel: str | None = None,
           on_cancel=None) -> Dialog:
    """One button per (label, value); ``on_choice(value)`` after a tap; an optional cancel button."""
    d = Dialog(title, message)
    d.option_buttons = [d.add_button(text, (lambda v=value: on_choice(v))) for text, value in options]
    if cancel:
        d.cancel_button = d.add_button(cancel, on_cancel)
    d.open(animation=False)
    return d


class Toast(Label):
    """A notice at the bottom of the window that fades by itself."""

    def __init__(self, text: str, **kw):
        super().__init__(text=text, size_hint=(None, None), font_size=sp(20), bold=True, halign="center",
                         valign="middle", color=(1, 1, 1, 1), **kw)
        self.text_size = (Window.width * 0.85 - dp(24), None)
        self.texture_update()
        self.size = (Window.width * 0.85, max(dp(64), self.texture_size[1] + dp(24)))
        self.pos = ((Window.width - self.width) / 2, dp(96))
        with self.canvas.before:
            Color(0.12, 0.45, 0.25, 0.95)
            self._bg = RoundedRectangle(pos=self.pos, size=self.size, radius=[dp(12)])


def toast(text: str, seconds: float = TOAST_S) -> Toast:
    """Show ``text`` over the current screen for ``seconds``, then fade it out."""
    app = App.get_running_app()
    old = getattr(app, "last_toast", None)
    if old is not None and old.parent is not None:
        Window.remove_widget(old)
    t = Toast(text)
    Window.add_widget(t)

    def remove(*_):
        if t.parent is not None:
            Window.remove_widget(t)
        if app is not None and getattr(app, "sm", None) is not None:
            app.sm.unbind(current=remove)

    def fade(_dt):
        anim = Animation(opacity=0, duration=0.4)
        anim.bind(on_complete=remove)
        anim.start(t)
    Clock.schedule_once(fade, seconds)
    if app is not None:
        app.last_toast = t
        if getattr(app, "sm", None) is not None:
            # it tells what just happened on this screen: the next screen does not need it over its fields
            app.sm.bind(current=remove)
    return t
