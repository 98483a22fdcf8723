"""Fast-entry controls for the protocol forms (issue 14, item 4).

- :class:`TallyField`: big − and + buttons around a count, so a group of five is
  four taps, not a keyboard;
- :class:`IconChoiceField`: sign types and threats as a grid of pictures (icons.py);
- :class:`QuickTaxonField`: the ranger's recent and frequent species as one-tap
  buttons above "Choose species";
- :class:`ListedTextField`: a text field whose values come from the server (the
  area's transects, D12), chosen from a list; free text only when there is no list.

:func:`fast_entry_widget` tells FormView which of them a field gets.
"""
from __future__ import annotations

from kivy.graphics import Color, Rectangle
from kivy.metrics import dp, sp
from kivy.properties import StringProperty
from kivy.uix.behaviors import ToggleButtonBehavior
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.button import Button
from kivy.uix.gridlayout import GridLayout
from kivy.uix.label import Label
from kivy.uix.spinner import Spinner
from kivy.uix.textinput import TextInput
from kivy.uix.togglebutton import ToggleButton
from kivy.uix.widget import Widget

from ..i18n import label as pick_label
from ..i18n import tr
from .icons import draw_icon, has_icons
from .widgets import TOUCH, ChoiceOption, FieldWidget, TaxonField

TALLY_BUTTON = dp(88)
TILE = dp(100)
SELECTED, UNSELECTED = (0.20, 0.55, 0.33, 1), (0.22, 0.26, 0.24, 1)


def is_tally(field: dict) -> bool:
    """Counts of animals, snares...: integer fields called "count" (or ending in "_count")."""
    return field["type"] == "integer" and (field["name"] == "count" or field["name"].endswith("_count"))


def fast_entry_widget(field: dict, context: dict):
    """The fast-entry widget class for ``field``, or None for the form's usual one."""
    if is_tally(field):
        return TallyField
    if has_icons(field):
        return IconChoiceField
    if field["type"] == "taxon" and "recent_species" in context:
        return QuickTaxonField
    if field["type"] == "string" and field["name"] in (context.get("listed") or {}):
        return ListedTextField
    return None


class TallyField(FieldWidget):
    """A count with − / + buttons (88dp wide) and the number typed in between if it is large."""

    def build(self):
        row = BoxLayout(size_hint_y=None, height=dp(64), spacing=dp(8))
        self.minus = Button(text="−", size_hint_x=None, width=TALLY_BUTTON, font_size=sp(34), bold=True)
        self.plus = Button(text="+", size_hint_x=None, width=TALLY_BUTTON, font_size=sp(34), bold=True)
        self.input = TextInput(multiline=False, input_filter="int", font_size=sp(26), halign="center",
                               write_tab=False, padding=[dp(10), dp(14)])
        self.minus.bind(on_release=lambda *_: self.step(-1))
        self.plus.bind(on_release=lambda *_: self.step(+1))
        self.input.bind(text=lambda *_: self.form.changed(self.name))
        for w in (self.minus, self.input, self.plus):
            row.add_widget(w)
        self.add_widget(row)

    @property
    def low(self) -> int:
        return int(self.field.get("min", 0))

    def step(self, delta: int) -> None:
        """+1 or −1, kept within the field's min and max."""
        current = self.get_value()
        if not isinstance(current, int):
            current = self.low - 1 if delta > 0 else self.low
        value = max(self.low, current + delta)
        if "max" in self.field:
            value = min(int(self.field["max"]), value)
        self.set_value(value)

    def get_value(self):
        text = self.input.text.strip()
        if not text:
            return None
        try:
            return int(text)
        except ValueError:
            return text  # the validator says "must be a whole number"

    def set_value(self, value):
        self.input.text = "" if value is None else str(int(value) if isinstance(value, float) else value)


class IconTile(ToggleButtonBehavior, BoxLayout):
    """One picture choice: the icon above its label; green when chosen."""

    field_name = StringProperty("")
    value = StringProperty("")
    text = StringProperty("")

    def __init__(self, **kw):
        super().__init__(orientation="vertical", size_hint_y=None, height=TILE, padding=dp(4), **kw)
        self.allow_no_selection = True
        self.icon = Widget()
        self.label = Label(text=self.text, size_hint_y=None, height=dp(34), font_size=sp(15),
                           halign="center", valign="middle", shorten=True, shorten_from="right")
        self.label.bind(size=lambda w, s: setattr(w, "text_size", s))
        self.add_widget(self.icon)
        self.add_widget(self.label)
        with self.canvas.before:
            self._bg_color = Color(*UNSELECTED)
            self._bg = Rectangle(pos=self.pos, size=self.size)
        self.bind(pos=self._redraw, size=self._redraw, state=self._redraw, text=self._relabel)
        self.icon.bind(pos=self._redraw, size=self._redraw)

    def _relabel(self, *_):
        self.label.text = self.text

    def _redraw(self, *_):
        self._bg_color.rgba = SELECTED if self.state == "down" else UNSELECTED
        self._bg.pos, self._bg.size = self.pos, self.size
        self.icon.canvas.clear()
        side = max(0.0, min(self.icon.width, self.icon.height) - dp(6))
        x = self.icon.center_x - side / 2
        y = self.icon.center_y - side / 2
        draw_icon(self.icon.canvas, self.field_name, self.value, x, y, side)


class IconChoiceField(FieldWidget):
    """A grid of picture tiles, one per choice (three to a row); tapping the chosen one clears it."""

    def build(self):
        choices = self.field["choices"]
        cols = 3
        rows = (len(choices) + cols - 1) // cols
        grid = GridLayout(cols=cols, spacing=dp(6), size_hint_y=None, height=rows * TILE + (rows - 1) * dp(6))
        group = f"{id(self)}-{self.name}"
        self.tiles: dict[str, IconTile] = {}
        for c in choices:
            tile = IconTile(field_name=self.name, value=c["value"], text=pick_label(c["label"], self.lang, c["value"]),
                            group=group)
            tile.bind(state=lambda *_: self.form.changed(self.name))
            self.tiles[c["value"]] = tile
            grid.add_widget(tile)
        self.add_widget(grid)

    def get_value(self):
        return next((v for v, t in self.tiles.items() if t.state == "down"), None)

    def set_value(self, value):
        for v, t in self.tiles.items():
            t.state = "down" if v == value else "normal"


class QuickTaxonField(TaxonField):
    """The species button, with the ranger's recent and frequent species as one-tap buttons above it."""

    def build(self):
        self.chips: dict[str, ToggleButton] = {}
        self.chip_box = BoxLayout(orientation="vertical", size_hint_y=None, spacing=dp(4))
        self.chip_box.bind(minimum_height=self.chip_box.setter("height"))
        self.add_widget(self.chip_box)
        self._fill_chips()
        super().build()

    def reset(self):
        self._fill_chips()  # the species recorded since the form was last shown
        super().reset()

    def _fill_chips(self):
        box = self.chip_box
        box.clear_widgets()
        self.chips = {}
        recent = list(self.form.context["recent_species"]())[:6]
        if recent:
            hint = Label(text=tr("Recent and frequent:", self.lang), size_hint_y=None, height=dp(26),
                         font_size=sp(15), halign="left", color=(0.8, 0.9, 0.8, 1))
            hint.bind(size=lambda w, s: setattr(w, "text_size", s))
            box.add_widget(hint)
            rows = (len(recent) + 1) // 2
            grid = GridLayout(cols=2, spacing=dp(6), size_hint_y=None, height=rows * TOUCH + (rows - 1) * dp(6))
            group = f"{id(self)}-species"
            for species in recent:
                chip = ToggleButton(text=species.name(self.lang), group=group, font_size=sp(17),
                                    halign="center", valign="middle", shorten=True, allow_no_selection=False)
                chip.bind(size=lambda w, s: setattr(w, "text_size", (s[0] - dp(8), None)))
                chip.bind(on_release=lambda w, sp_=species: self.choose(sp_))
                self.chips[species.scientific_name] = chip
                grid.add_widget(chip)
            box.add_widget(grid)

    def choose(self, species) -> None:
        """A chip was tapped: the species is chosen (and "not identified" cleared) without the picker."""
        chosen = self.form.context.get("choose_species")
        if chosen is not None:
            chosen(self, species)
        else:
            self.set_value(species.scientific_name)

    def set_value(self, value):
        super().set_value(value)
        name = value.get("scientific_name") if isinstance(value, dict) else value
        for sci, chip in getattr(self, "chips", {}).items():
            chip.state = "down" if sci == name else "normal"


class ListedTextField(FieldWidget):
    """Choose one of the server's values (the area's transects); a value not on the list is kept as is."""

    def build(self):
        self.choices = list(self.form.context["listed"][self.name]())  # [(value, label)]
        self.spinner = Spinner(text=tr("Choose…", self.lang), values=[c[1] for c in self.choices],
                               size_hint_y=None, height=TOUCH, font_size=sp(18), option_cls=ChoiceOption)
        self.spinner.bind(text=lambda *_: self.form.changed(self.name))
        self.add_widget(self.spinner)

    def get_value(self):
        for value, text in self.choices:
            if text == self.spinner.text:
                return value
        return None

    def set_value(self, value):
        if value and all(v != value for v, _ in self.choices):
            # recorded before the list came (or typed offline): keep it, shown as it is
            self.choices.append((value, str(value)))
            self.spinner.values = [c[1] for c in self.choices]
        self.spinner.text = next((t for v, t in self.choices if v == value), tr("Choose…", self.lang))
