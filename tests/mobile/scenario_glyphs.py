"""UI scenario: Vietnamese diacritics render in the app's font (run in its own process).

For every precomposed Vietnamese letter, the rendered glyph must differ both
from the font's missing-glyph box and from its base letter (so "ệ" is not
drawn as "e" or as a box). Then a real screen label in Vietnamese and in
English must each have ink and differ. Prints one RESULT line.
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from mobile_harness import REPO, Driver, emit  # noqa: E402

sys.path.insert(0, str(REPO))

VIETNAMESE = ("ăâđêôơưàảãáạằẳẵắặầẩẫấậèẻẽéẹềểễếệìỉĩíịòỏõóọồổỗốộờởỡớợùủũúụừửữứựỳỷỹýỵ"
              "ĂÂĐÊÔƠƯÀẢÃÁẠẰẲẴẮẶẦẨẪẤẬÈẺẼÉẸỀỂỄẾỆÌỈĨÍỊÒỎÕÓỌỒỔỖỐỘỜỞỠỚỢÙỦŨÚỤỪỬỮỨỰỲỶỸÝỴ")


def render(text: str, font_name: str) -> bytes:
    from kivy.core.text import Label as CoreLabel

    label = CoreLabel(text=text, font_size=48, font_name=font_name)
    label.refresh()
    tex = label.texture
    return bytes(tex.pixels) + f"{tex.width}x{tex.height}".encode()


def ink(pixels: bytes) -> int:
    """Number of non-transparent pixels (alpha channel of RGBA)."""
    return sum(1 for a in pixels[3::4] if a)


def main(work: str, shots: str) -> None:
    from protocols.text import fold

    drv = Driver(str(Path(work) / "data"))
    from kivy.uix.label import Label

    font = Label().font_name
    missing = render("\U0010fffd", font)
    bad = []
    for ch in VIETNAMESE:
        glyph = render(ch, font)
        if glyph == missing or glyph == render(fold(ch) if ch.islower() else fold(ch).upper(), font):
            bad.append(ch)
    # A real label of the app, in Vietnamese then English.
    drv.tap(drv.screen.ids.offline)
    drv.tap(drv.screen.ids.proceed)
    walk_button = drv.screen.ids.walk
    vi_text = walk_button.text
    vi_pixels = bytes(drv.app.root.export_as_image().texture.pixels)
    Path(shots).mkdir(parents=True, exist_ok=True)
    drv.screenshot(Path(shots) / "glyphs_home_vi.png")
    drv.tap_language()
    en_text = walk_button.text
    en_pixels = bytes(drv.app.root.export_as_image().texture.pixels)
    drv.screenshot(Path(shots) / "glyphs_home_en.png")
    # Touch targets: every visible button, field and dropdown on every screen is >= 48dp high.
    from kivy.metrics import dp
    from kivy.uix.button import Button
    from kivy.uix.textinput import TextInput

    app = drv.app
    small, seen = [], 0
    visits = [("home", {}), ("walk", {}), ("species", {}), ("records", {})] + [
        ("form", {"kind": k}) for k in ("observation", "camera", "acoustic", "gibbon", "threat")]
    for name, kw in visits:
        scr = app.show(name, **kw)
        drv.frames(2)
        for w in scr.walk():
            if isinstance(w, (Button, TextInput)) and w.opacity > 0 and not w.disabled and w.width > 0:
                seen += 1
                if w.height < dp(48):
                    small.append(f"{name}:{type(w).__name__}:{getattr(w, 'text', '')[:20]}:{w.height}")
    label_vi = render("Điều tra theo tuyến · Đường đi GPS", font)
    label_ascii = render(fold("Điều tra theo tuyến · Đường đi GPS"), font)
    drv.stop()
    emit({
        "font": font, "checked": len(VIETNAMESE), "bad_glyphs": bad,
        "touch_targets_checked": seen, "touch_targets_too_small": small,
        "vi_text": vi_text, "en_text": en_text,
        "screen_differs": vi_pixels != en_pixels,
        # Control: a CJK character Roboto lacks must be caught by the same comparison.
        "control_missing_detected": render("\u4e2d", font) == missing,
        "label_ink_vi": ink(label_vi), "label_ink_ascii": ink(label_ascii), "label_differs": label_vi != label_ascii,
    })


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
