"""Shared widgets: the top bar and the form built from a protocol definition.

A FormView turns a protocol record type's field list into input widgets, reads
them back into a record dict and shows the validator's messages under each
field. It knows nothing about saving: screens do that.
"""
from __future__ import annotations

from datetime import datetime

from kivy.metrics import dp, sp
from kivy.properties import BooleanProperty, StringProperty
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.button import Button
from kivy.uix.gridlayout import GridLayout
from kivy.uix.label import Label
from kivy.uix.spinner import Spinner, SpinnerOption
from kivy.uix.textinput import TextInput
from kivy.uix.togglebutton import ToggleButton

from ..i18n import label as pick_label
from ..i18n import tr
from ..numbers import accepts_typing, format_decimal, parse_decimal

TOUCH = dp(52)  # field controls; >= 48dp


def fresh_texture(label: Label, new_text: str) -> None:
    """Make ``label`` draw ``new_text`` into a new texture instead of overwriting its current one.

    Kivy re-renders a changed label into the same texture when the size is
    unchanged. If the GPU is still drawing the previous frame with that
    texture, the upload waits for it: measured on Mesa llvmpipe, 0.2 ms
    renders became 0.3-1.5 s stalls while scrolling. A new texture costs an
    allocation, never a wait.
    """
    core = getattr(label, "_label", None)
    if core is not None and new_text != label.text:
        core.texture = None


def new_texture_on_text(label: Label, _text) -> None:
    """A ``text`` handler: the label's next render goes into a new texture (see fresh_texture)."""
    core = getattr(label, "_label", None)
    if core is not None:
        core.texture = None


def set_text(label: Label, text: str) -> None:
    """Change a label that updates while the screen is shown (live stats) without a texture stall."""
    fresh_texture(label, text)
    label.text = text


class TopBar(BoxLayout):
    """Title, back button and the vi/en switch, on every screen."""

    title = StringProperty("")
    show_back = BooleanProperty(True)
    __events__ = ("on_back",)

    def on_back(self, *args):
        pass

    def on_kv_post(self, base_widget):
        # The form screen's title changes with each kind of record: a new texture each time
        # (re-rendering into the shown one waited seconds for llvmpipe, see fresh_texture).
        for w in self.walk(restrict=True):
            if isinstance(w, Label) and not isinstance(w, Button):
                w.fbind("text", new_texture_on_text)


class FieldBox(BoxLayout):
    """One field: title, control, error line."""


class ErrorLabel(Label):
    """Red message under a field (zero height when empty)."""


class FieldTitle(Label):
    """Field label with its unit."""


class ChoiceOption(SpinnerOption):
    """A 52dp-high choice in a dropdown."""

    def __init__(self, **kw):
        super().__init__(**kw)
        self.height = TOUCH
        self.font_size = sp(18)


def local_now_iso() -> str:
    """Now with the device's UTC offset, to the second (what datetime fields hold)."""
    return datetime.now().astimezone().replace(microsecond=0).isoformat()


def _unit_text(unit: str | None) -> str:
    if not unit:
        return ""
    return " (°)" if unit == "deg" else f" ({unit})"


class FieldWidget(FieldBox):
    """Base: a field definition, a value, an error line."""

    def __init__(self, field: dict, lang: str, form: "FormView", **kw):
        super().__init__(**kw)
        self.field = field
        self.name = field["name"]
        self.form = form
        self.lang = lang
        required = "*" if field.get("required") else ""
        self.title = FieldTitle(text=pick_label(field["label"], lang, self.name) + _unit_text(field.get("unit")) + required)
        self.add_widget(self.title)
        self.build()
        self.error = ErrorLabel(text="")
        self.add_widget(self.error)

    def build(self):
        raise NotImplementedError

    def get_value(self):
        raise NotImplementedError

    def set_value(self, value):
        raise NotImplementedError

    def show_error(self, message: str):
        self.error.text = message or ""

    def reset(self):
        """Empty, as if just built (a reused form shows nothing of the last record)."""
        self.set_value(None)
        self.show_error("")


class TextField(FieldWidget):
    """string, text, time, date, timezone, integer, number, string_list."""

    def build(self):
        kind = self.field["type"]
        multiline = kind == "text"
        self.input = TextInput(multiline=multiline, size_hint_y=None, height=dp(96) if multiline else TOUCH,
                               font_size=sp(18), write_tab=False, padding=[dp(10), dp(12)])
        if kind == "integer":
            self.input.input_filter = "int"
        elif kind == "number":
            # D6: Kivy's "float" filter drops the comma, so "0,5" became 5. Accept both separators.
            # (no input_type "number": Android's number keyboard has no decimal separator)
            self.input.input_filter = self._number_filter
        if kind == "string_list":
            self.input.hint_text = tr("Names, separated by commas", self.lang)
        if kind == "datetime":
            self.input.hint_text = tr("e.g. 2026-03-01T07:30:00+07:00", self.lang)
        if kind == "time":
            self.input.hint_text = "05:45"
        self.input.bind(text=lambda *_: self.form.changed(self.name))
        self.add_widget(self.input)

    def get_value(self):
        text = self.input.text.strip()
        if not text:
            return None
        kind = self.field["type"]
        try:
            if kind == "integer":
                return int(text)
            if kind == "number":
                value = parse_decimal(text)  # "0,5" and "0.5"; "400" stays 400 (not 400.0)
                return text if value is None else value
        except ValueError:
            return text  # the validator names the field and says "must be a number"
        if kind == "string_list":
            return [p.strip() for p in text.split(",") if p.strip()]
        return text

    def set_value(self, value):
        if value is None:
            self.input.text = ""
        elif isinstance(value, list):
            self.input.text = ", ".join(map(str, value))
        elif isinstance(value, float) and value.is_integer() and self.field["type"] == "integer":
            self.input.text = str(int(value))
        elif self.field["type"] == "number" and isinstance(value, (int, float)) and not isinstance(value, bool):
            self.input.text = format_decimal(value, self.lang)  # "0,5" for a Vietnamese reader
        else:
            self.input.text = str(value)

    def _number_filter(self, substring: str, from_undo: bool) -> str:
        """Let through what keeps the text a number in the making: digits, a sign, one "," or "."."""
        # (a selection was already deleted when typing replaces it)
        ti = self.input
        kept = "".join(ch for ch in substring if ch in "0123456789,.-")
        at = ti.cursor_index()
        return kept if accepts_typing(ti.text[:at] + kept + ti.text[at:]) else ""


class DateTimeField(TextField):
    """ISO date-time with the device's offset, and a Now button."""

    def build(self):
        row = BoxLayout(size_hint_y=None, height=TOUCH, spacing=dp(6))
        self.input = TextInput(multiline=False, font_size=sp(18), write_tab=False, padding=[dp(10), dp(12)],
                               hint_text=tr("e.g. 2026-03-01T07:30:00+07:00", self.lang))
        now = Button(text=tr("Now", self.lang), size_hint_x=None, width=dp(110), font_size=sp(18))
        now.bind(on_release=lambda *_: setattr(self.input, "text", local_now_iso()))
        row.add_widget(self.input)
        row.add_widget(now)
        self.add_widget(row)


class ComputedField(FieldWidget):
    """A read-only value the form computes (perpendicular distance)."""

    def build(self):
        self.value = None
        self.shown = Label(size_hint_y=None, height=TOUCH, font_size=sp(20), halign="left")
        self.shown.bind(size=lambda w, s: setattr(w, "text_size", s))
        self.add_widget(self.shown)

    def get_value(self):
        return self.value

    def set_value(self, value):
        self.value = value
        unit = " m" if self.field.get("unit") == "m" else ""
        self.shown.text = "—" if value is None else f"{format_decimal(value, self.lang, digits=1)}{unit}"


class BooleanField(FieldWidget):
    """Yes / No toggle buttons (no value until one is pressed, unless a default)."""

    def build(self):
        row = BoxLayout(size_hint_y=None, height=TOUCH, spacing=dp(6))
        group = f"{id(self)}-{self.name}"
        self.yes = ToggleButton(text=tr("Yes", self.lang), group=group, font_size=sp(18))
        self.no = ToggleButton(text=tr("No", self.lang), group=group, font_size=sp(18))
        for b in (self.yes, self.no):
            b.bind(state=lambda *_: self.form.changed(self.name))
            row.add_widget(b)
        self.add_widget(row)

    def get_value(self):
        if self.yes.state == "down":
            return True
        if self.no.state == "down":
            return False
        return None

    def set_value(self, value):
        self.yes.state = "down" if value is True else "normal"
        self.no.state = "down" if value is False else "normal"


class ChoiceField(FieldWidget):
    """A dropdown of the protocol's choices, labelled in the current language."""

    def build(self):
        self.choices = self.options()
        self.spinner = Spinner(text=tr("Choose…", self.lang), values=[c[1] for c in self.choices],
                               size_hint_y=None, height=TOUCH, font_size=sp(18), option_cls=ChoiceOption)
        self.spinner.bind(text=lambda *_: self.form.changed(self.name))
        self.add_widget(self.spinner)

    def options(self) -> list[tuple]:
        return [(c["value"], pick_label(c["label"], self.lang, c["value"])) for c in self.field["choices"]]

    def get_value(self):
        for value, text in self.choices:
            if text == self.spinner.text:
                return value
        return None

    def set_value(self, value):
        for v, text in self.choices:
            if v == value:
                self.spinner.text = text
                return
        self.spinner.text = tr("Choose…", self.lang)


class AllowedValuesField(ChoiceField):
    """A number that must be one of a short list (sample rate): a dropdown, no typing."""

    def options(self) -> list[tuple]:
        unit = self.field.get("unit", "")
        return [(v, f"{v:,}".replace(",", " ") + (f" {unit}" if unit else "")) for v in self.field["allowed"]]


class DeploymentRefField(ChoiceField):
    """deployment_id: choose one of this device's deployments of the same protocol."""

    def reset(self):
        self.choices = self.options()  # deployments made since the form was built
        self.spinner.values = [c[1] for c in self.choices]
        super().reset()

    def options(self) -> list[tuple]:
        return list(self.form.context.get("deployments", lambda: [])())

    def set_value(self, value):
        super().set_value(value)
        if value and self.get_value() is None:
            # A deployment not on this device (e.g. made on another tablet): keep its id.
            self.choices.append((value, value))
            self.spinner.values = [c[1] for c in self.choices]
            self.spinner.text = value


class TaxonField(FieldWidget):
    """Opens the species picker; shows the chosen species in the current language."""

    def build(self):
        self.value = None
        self.button = Button(text=tr("Choose species", self.lang), size_hint_y=None, height=TOUCH, font_size=sp(18))
        self.button.bind(on_release=lambda *_: self.form.context["pick_species"](self))
        self.add_widget(self.button)

    def get_value(self):
        return self.value

    def set_value(self, value):
        self.value = value
        if not value:
            self.button.text = tr("Choose species", self.lang)
            return
        name = value.get("scientific_name") if isinstance(value, dict) else value
        sp_ = self.form.context.get("species_lookup", lambda n: None)(name)
        self.button.text = f"{sp_.name(self.lang)} ({sp_.scientific_name})" if sp_ else str(name)
        self.form.changed(self.name)


def parse_coordinate(text: str, low: float, high: float) -> float | None:
    """A typed latitude or longitude in decimal degrees ("16,2051" or "16.2051"), None when not valid."""
    text = (text or "").strip().replace(",", ".")
    try:
        value = float(text)
    except ValueError:
        return None
    return value if low <= value <= high else None


class GeopointField(FieldWidget):
    """Filled from the GPS; without a fix, picked on the map or typed as decimal degrees (D5).

    A position not from the GPS carries ``source`` ("map" or "manual") and no accuracy, so a
    biologist can tell it from a fix.
    """

    def build(self):
        self.value = None
        self.manual = None
        self.shown = Label(size_hint_y=None, height=dp(32), halign="left")
        self.shown.bind(size=lambda w, s: setattr(w, "text_size", s))
        self.button = Button(text=tr("Use current GPS position", self.lang), size_hint_y=None, height=TOUCH, font_size=sp(18))
        self.button.bind(on_release=lambda *_: self.take())
        row = BoxLayout(size_hint_y=None, height=TOUCH, spacing=dp(6))
        self.map_button = Button(text=tr("Pick on map", self.lang), font_size=sp(17))
        self.map_button.bind(on_release=lambda *_: self.pick_on_map())
        self.type_button = Button(text=tr("Enter coordinates", self.lang), font_size=sp(17))
        self.type_button.bind(on_release=lambda *_: self.toggle_manual())
        row.add_widget(self.map_button)
        row.add_widget(self.type_button)
        self.add_widget(self.shown)
        self.add_widget(self.button)
        self.add_widget(row)
        self._render()

    def take(self):
        loc = self.form.context.get("current_location", lambda: None)()
        if loc:
            self.set_value(loc)
            self.form.changed(self.name)
        else:
            self.show_error(tr("No GPS position yet: pick it on the map or enter coordinates", self.lang))

    def pick_on_map(self):
        pick = self.form.context.get("pick_on_map")
        if pick is None:
            return

        def picked(value):
            self.set_value(value)
            self.form.changed(self.name)
        pick(picked, self.value)

    def reset(self):
        if self.manual is not None:  # the coordinate boxes of the last record: closed
            self.toggle_manual()
        super().reset()

    def toggle_manual(self):
        """Show (or hide) two boxes for latitude and longitude in decimal degrees."""
        if self.manual is not None:
            self.remove_widget(self.manual)
            self.manual = None
            return
        box = BoxLayout(size_hint_y=None, height=TOUCH, spacing=dp(6))
        self.lat_input = TextInput(hint_text=tr("Latitude, e.g. 16.2051", self.lang), multiline=False,
                                   font_size=sp(17), write_tab=False, padding=[dp(8), dp(12)])
        self.lon_input = TextInput(hint_text=tr("Longitude, e.g. 107.8563", self.lang), multiline=False,
                                   font_size=sp(17), write_tab=False, padding=[dp(8), dp(12)])
        ok = Button(text="OK", size_hint_x=None, width=dp(72), font_size=sp(18))
        ok.bind(on_release=lambda *_: self.apply_manual())
        if self.value:
            self.lat_input.text, self.lon_input.text = str(self.value["lat"]), str(self.value["lon"])
        for w in (self.lat_input, self.lon_input, ok):
            box.add_widget(w)
        self.manual = box
        self.add_widget(box, index=1)  # above the error line
        self.manual_ok = ok

    def apply_manual(self) -> bool:
        lat = parse_coordinate(self.lat_input.text, -90, 90)
        lon = parse_coordinate(self.lon_input.text, -180, 180)
        if lat is None or lon is None:
            self.show_error(tr("Latitude must be a number from -90 to 90 and longitude from -180 to 180 "
                               "(decimal degrees)", self.lang))
            return False
        self.set_value({"lat": round(lat, 7), "lon": round(lon, 7), "accuracy_m": None, "source": "manual"})
        self.form.changed(self.name)
        self.toggle_manual()
        return True

    def _render(self):
        v = self.value
        if v:
            acc = f" ±{v['accuracy_m']:.0f} m" if v.get("accuracy_m") is not None else ""
            how = {"map": tr("set on the map", self.lang), "manual": tr("typed in", self.lang)}.get(v.get("source"))
            self.shown.text = f"{v['lat']:.5f}, {v['lon']:.5f}{acc}" + (f" ({how})" if how else "")
        else:
            self.shown.text = tr("No GPS position yet", self.lang)

    def get_value(self):
        return self.value

    def set_value(self, value):
        self.value = value
        self._render()


class PhotosField(FieldWidget):
    """Photos from the gallery (Android's photo picker) or a file (desktop), or the camera (Android).

    Choosing one returns at once: it is resized on the app's photo worker thread and appears
    here when stored ("preparing…" meanwhile), or its error appears under the field.
    """

    def build(self):
        self.value = []
        row = BoxLayout(size_hint_y=None, height=TOUCH, spacing=dp(6))
        self.count = Label(text=tr("{n} photo(s)", self.lang, n=0), size_hint_x=0.4)
        add = Button(text=tr("Photo from gallery", self.lang) if self.form.context.get("has_camera")
                     else tr("Photo from file", self.lang), font_size=sp(18))
        add.bind(on_release=lambda *_: self.form.context["add_photo"](self, camera=False))
        row.add_widget(self.count)
        row.add_widget(add)
        if self.form.context.get("has_camera"):
            cam = Button(text=tr("Take photo", self.lang), font_size=sp(18))
            cam.bind(on_release=lambda *_: self.form.context["add_photo"](self, camera=True))
            row.add_widget(cam)
        self.add_widget(row)

    pending = 0  # photos being resized on the worker thread

    def add(self, sha256: str):
        if sha256 not in self.value:
            self.value.append(sha256)
        self.set_value(self.value)
        self.form.changed(self.name)

    def begin_pending(self):
        """A photo was chosen and is being prepared (the screen stays responsive meanwhile)."""
        self.pending += 1
        self.show_error("")
        self._render()

    def end_pending(self):
        self.pending = max(0, self.pending - 1)
        self._render()

    def get_value(self):
        return list(self.value) or None

    def reset(self):
        self.pending = 0
        super().reset()

    def set_value(self, value):
        self.value = list(value or [])
        self._render()

    def _render(self):
        text = tr("{n} photo(s)", self.lang, n=len(self.value))
        if self.pending:
            text += " · " + tr("preparing…", self.lang)
        self.count.text = text


class GroupListField(FieldWidget):
    """Repeated sub-forms (calling groups at a gibbon listening post)."""

    def build(self):
        self.groups: list[FormView] = []
        self.box = GridLayout(cols=1, size_hint_y=None, spacing=dp(4))
        self.box.bind(minimum_height=self.box.setter("height"))
        add = Button(text=tr("Add calling group", self.lang), size_hint_y=None, height=TOUCH, font_size=sp(18))
        add.bind(on_release=lambda *_: self.add_group())
        self.add_widget(self.box)
        self.add_widget(add)

    def add_group(self, values: dict | None = None):
        n = len(self.groups) + 1
        self.box.add_widget(FieldTitle(text=tr("Group {n}", self.lang, n=n)))
        sub = FormView(self.field["item_fields"], self.lang, self.form.context)
        defaults = {"group_no": n}
        defaults.update(values or {})
        sub.set_values(defaults)
        self.groups.append(sub)
        self.box.add_widget(sub)
        return sub

    def get_value(self):
        return [g.values() for g in self.groups] or None

    def set_value(self, value):
        self.box.clear_widgets()
        self.groups = []
        for item in value or []:
            self.add_group(item)


WIDGETS = {
    "string": TextField, "text": TextField, "integer": TextField, "number": TextField, "time": TextField,
    "date": TextField, "timezone": TextField, "string_list": TextField, "datetime": DateTimeField,
    "boolean": BooleanField, "choice": ChoiceField, "taxon": TaxonField, "geopoint": GeopointField,
    "photos": PhotosField, "group_list": GroupListField,
}


class FormView(GridLayout):
    """A form for a list of protocol fields.

    ``context`` supplies what the form cannot know: pick_species(field_widget),
    species_lookup(name), current_location(), add_photo(field_widget, camera),
    pick_on_map(on_pick, current_value), deployments() -> [(id, label)], has_camera, and
    on_change(form, name). Fast entry (quickfields.py): recent_species() -> [Species],
    choose_species(field_widget, species), listed {field name: () -> [(value, label)]}.
    """

    def __init__(self, fields, lang: str, context: dict | None = None, skip=(), **kw):
        kw.setdefault("cols", 1)
        kw.setdefault("size_hint_y", None)
        kw.setdefault("spacing", dp(6))
        super().__init__(**kw)
        self.bind(minimum_height=self.setter("height"))
        self.fields = [f for f in fields if f["name"] not in skip and f["type"] != "track"]
        self.context = context or {}
        self.lang = lang
        self.widgets: dict[str, FieldWidget] = {}
        self.hidden: dict = {}
        self._building = False
        self._build()

    def _build(self):
        self._building = True
        self.clear_widgets()
        self.widgets = {}
        for f in self.fields:
            if f.get("widget") == "hidden":
                continue
            from .quickfields import fast_entry_widget  # (it builds on this module's classes)

            quick = fast_entry_widget(f, self.context)
            if "computed" in f:
                cls = ComputedField
            elif quick is not None:
                cls = quick
            elif f["name"] == "deployment_id":
                cls = DeploymentRefField
            elif "allowed" in f:
                cls = AllowedValuesField
            else:
                cls = WIDGETS[f["type"]]
            w = cls(f, self.lang, self)
            self.widgets[f["name"]] = w
            self.add_widget(w)
        for f in self.fields:
            if "default" in f and f["name"] in self.widgets:
                self.widgets[f["name"]].set_value(f["default"])
        for w in self.walk(restrict=True):
            if isinstance(w, Label):
                # This form is reused for the next record (FormScreen): its labels change text while
                # their last texture may still be in the GPU's queue, where re-rendering into it waits
                # (seconds on llvmpipe, see fresh_texture). A changed text gets a new texture instead.
                w.fbind("text", new_texture_on_text)
        self._building = False

    def reset(self):
        """Back to a new form's state: every field empty, then the protocol's defaults; no messages.

        Building a form makes hundreds of widgets (0.1-0.3 s on a tablet's CPU); the form
        screen keeps one per protocol record type and language and resets it instead.
        """
        self._building = True
        self.hidden = {}
        for w in self.widgets.values():
            w.reset()
        for f in self.fields:
            if "default" in f and f["name"] in self.widgets:
                self.widgets[f["name"]].set_value(f["default"])
        self._building = False

    def set_language(self, lang: str):
        """Rebuild the labels in ``lang``, keeping what was entered."""
        values = self.values()
        self.lang = lang
        self._build()
        self.set_values(values)

    def changed(self, name: str):
        if self._building:
            return
        # The ranger is fixing this field: its old message no longer applies.
        if name in self.widgets:
            self.widgets[name].show_error("")
        if "on_change" in self.context:
            self.context["on_change"](self, name)

    def values(self) -> dict:
        """The record as entered (empty fields left out), hidden values included."""
        out = dict(self.hidden)
        for name, w in self.widgets.items():
            v = w.get_value()
            if v is not None:
                out[name] = v
        return out

    def set_values(self, values: dict):
        """Fill fields from a record (unknown keys kept as hidden values)."""
        self._building = True
        for name, v in (values or {}).items():
            if name in self.widgets:
                self.widgets[name].set_value(v)
            else:
                self.hidden[name] = v
        self._building = False

    def show_errors(self, errors, lang: str) -> int:
        """Put each validator message under its field; returns how many were shown."""
        for w in self.widgets.values():
            w.show_error("")
        shown = 0
        for e in errors:
            top = e.path.split("[")[0].split(".")[0]
            w = self.widgets.get(top)
            if w is None:
                continue
            if isinstance(w, GroupListField) and "[" in e.path:
                idx = int(e.path.split("[")[1].split("]")[0])
                inner = e.path.split("].", 1)[1] if "]." in e.path else ""
                if idx < len(w.groups) and inner in w.groups[idx].widgets:
                    w.groups[idx].widgets[inner].show_error(e.message(lang))
                    shown += 1
                    continue
            w.show_error((w.error.text + "\n" if w.error.text else "") + e.message(lang))
            shown += 1
        return shown
