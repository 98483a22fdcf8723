"""Picture choices for sign types and threats, drawn with Kivy canvas instructions (no image files).

A ranger with wet gloves finds "Dấu chân" faster as a footprint than as a line in a
dropdown. Each icon is a function drawing into a square box with lines, ellipses
and triangles; :class:`IconTile` draws one above its label and redraws when it moves.
The shapes are this project's own (no third-party icon assets).
"""
from __future__ import annotations

from kivy.graphics import Color, Ellipse, Line, Rectangle, Triangle
from kivy.metrics import dp

INK = (0.93, 0.96, 0.92, 1)
EARTH = (0.55, 0.40, 0.25, 1)
DARK = (0.05, 0.07, 0.06, 1)


def _w() -> float:
    return max(1.5, dp(2.2))


def eye(c, x, y, s):
    cy = y + s / 2
    c.add(Color(*INK))
    c.add(Line(bezier=[x, cy, x + s / 2, y + s * 0.95, x + s, cy], width=_w()))
    c.add(Line(bezier=[x, cy, x + s / 2, y + s * 0.05, x + s, cy], width=_w()))
    r = s * 0.17
    c.add(Ellipse(pos=(x + s / 2 - r, cy - r), size=(2 * r, 2 * r)))


def call(c, x, y, s):
    c.add(Color(*INK))
    cx, cy = x + s * 0.2, y + s / 2
    r = s * 0.08
    c.add(Ellipse(pos=(cx - r, cy - r), size=(2 * r, 2 * r)))
    for k in (0.25, 0.45, 0.65):
        c.add(Line(circle=(cx, cy, s * k, 50, 130), width=_w()))


def footprint(c, x, y, s):
    c.add(Color(*INK))
    c.add(Ellipse(pos=(x + s * 0.28, y + s * 0.08), size=(s * 0.44, s * 0.46)))
    for dx, dy in ((0.12, 0.52), (0.32, 0.68), (0.54, 0.68), (0.74, 0.52)):
        c.add(Ellipse(pos=(x + s * dx, y + s * dy), size=(s * 0.15, s * 0.2)))


def dung(c, x, y, s):
    c.add(Color(*EARTH))
    for dx, dy, w, h in ((0.1, 0.1, 0.36, 0.26), (0.52, 0.1, 0.36, 0.26), (0.3, 0.34, 0.38, 0.28),
                         (0.58, 0.42, 0.26, 0.2)):
        c.add(Ellipse(pos=(x + s * dx, y + s * dy), size=(s * w, s * h)))


def scrape(c, x, y, s):
    c.add(Color(*INK))
    for k in (0.18, 0.42, 0.66):
        c.add(Line(points=[x + s * k, y + s * 0.12, x + s * (k + 0.2), y + s * 0.88], width=_w() * 1.2))


def nest(c, x, y, s):
    c.add(Color(*EARTH))
    c.add(Line(circle=(x + s / 2, y + s * 0.55, s * 0.42, 100, 260), width=_w() * 1.6))
    c.add(Color(*INK))
    for dx in (0.26, 0.42, 0.58):
        c.add(Ellipse(pos=(x + s * dx, y + s * 0.3), size=(s * 0.16, s * 0.22)))


def burrow(c, x, y, s):
    c.add(Color(*EARTH))
    c.add(Line(circle=(x + s / 2, y + s * 0.15, s * 0.45, -80, 80), width=_w() * 1.6))
    c.add(Color(*DARK))
    c.add(Ellipse(pos=(x + s * 0.3, y + s * 0.15), size=(s * 0.4, s * 0.3)))
    c.add(Color(*INK))
    c.add(Line(points=[x, y + s * 0.15, x + s, y + s * 0.15], width=_w()))


def bone(c, x, y, s):
    c.add(Color(*INK))
    c.add(Line(points=[x + s * 0.25, y + s * 0.25, x + s * 0.75, y + s * 0.75], width=_w() * 2))
    r = s * 0.1
    for cx, cy in ((0.16, 0.26), (0.26, 0.16), (0.74, 0.84), (0.84, 0.74)):
        c.add(Ellipse(pos=(x + s * cx - r, y + s * cy - r), size=(2 * r, 2 * r)))


def dots(c, x, y, s):
    c.add(Color(*INK))
    r = s * 0.08
    for k in (0.2, 0.5, 0.8):
        c.add(Ellipse(pos=(x + s * k - r, y + s / 2 - r), size=(2 * r, 2 * r)))


def snare(c, x, y, s):
    c.add(Color(*EARTH))
    c.add(Rectangle(pos=(x + s * 0.75, y + s * 0.1), size=(s * 0.1, s * 0.8)))  # the sapling it hangs from
    c.add(Color(*INK))
    c.add(Line(points=[x + s * 0.8, y + s * 0.85, x + s * 0.4, y + s * 0.7], width=_w()))
    c.add(Line(circle=(x + s * 0.35, y + s * 0.42, s * 0.25), width=_w()))


def jaw_trap(c, x, y, s):
    c.add(Color(*INK))
    c.add(Line(circle=(x + s / 2, y + s * 0.35, s * 0.4, -90, 90), width=_w()))
    teeth = []
    for i in range(9):
        teeth += [x + s * (0.1 + i * 0.1), y + s * (0.35 if i % 2 == 0 else 0.55)]
    c.add(Line(points=teeth, width=_w()))
    c.add(Line(points=[x + s * 0.1, y + s * 0.35, x + s * 0.9, y + s * 0.35], width=_w()))


def stump(c, x, y, s):
    c.add(Color(*EARTH))
    c.add(Rectangle(pos=(x + s * 0.22, y + s * 0.1), size=(s * 0.56, s * 0.5)))
    c.add(Ellipse(pos=(x + s * 0.22, y + s * 0.48), size=(s * 0.56, s * 0.24)))
    c.add(Color(*INK))
    c.add(Line(ellipse=(x + s * 0.34, y + s * 0.53, s * 0.32, s * 0.14), width=_w() * 0.7))
    c.add(Line(points=[x + s * 0.05, y + s * 0.95, x + s * 0.4, y + s * 0.62], width=_w() * 1.2))  # axe handle


def tent(c, x, y, s):
    c.add(Color(*INK))
    c.add(Line(points=[x + s * 0.05, y + s * 0.12, x + s / 2, y + s * 0.9, x + s * 0.95, y + s * 0.12],
               width=_w(), close=True))
    c.add(Color(*DARK))
    c.add(Triangle(points=[x + s * 0.38, y + s * 0.14, x + s / 2, y + s * 0.5, x + s * 0.62, y + s * 0.14]))


def gunshot(c, x, y, s):
    c.add(Color(*INK))
    c.add(Rectangle(pos=(x + s * 0.05, y + s * 0.42), size=(s * 0.3, s * 0.16)))
    c.add(Triangle(points=[x + s * 0.35, y + s * 0.42, x + s * 0.48, y + s * 0.5, x + s * 0.35, y + s * 0.58]))
    for k in (0.2, 0.33):
        c.add(Line(circle=(x + s * 0.5, y + s / 2, s * k + s * 0.15, 45, 135), width=_w()))


# (field name, choice value) -> icon; a choice with no icon here is shown as text only.
ICONS = {
    ("sign_type", "sighting"): eye, ("sign_type", "call"): call, ("sign_type", "track"): footprint,
    ("sign_type", "dung"): dung, ("sign_type", "scrape"): scrape, ("sign_type", "nest"): nest,
    ("sign_type", "burrow"): burrow, ("sign_type", "carcass"): bone, ("sign_type", "other"): dots,
    ("threat_type", "snare"): snare, ("threat_type", "trap"): jaw_trap, ("threat_type", "logging"): stump,
    ("threat_type", "camp"): tent, ("threat_type", "gunshot_heard"): gunshot, ("threat_type", "other"): dots,
}
ICON_FIELDS = frozenset(name for name, _ in ICONS)


def has_icons(field: dict) -> bool:
    """True when every choice of ``field`` has a picture (then the form shows a picture grid)."""
    return field.get("type") == "choice" and field["name"] in ICON_FIELDS and all(
        (field["name"], c["value"]) in ICONS for c in field["choices"])


def draw_icon(canvas, field_name: str, value: str, x: float, y: float, size: float) -> bool:
    """Draw the icon of ``value`` into ``canvas`` in the box (x, y, size); False if it has none."""
    fn = ICONS.get((field_name, value))
    if fn is None:
        return False
    fn(canvas, x, y, size)
    return True
