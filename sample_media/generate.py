"""Generate the project's own camera-trap-like sample photos (sample_media/camera/).

Simple forest scenes drawn with Pillow: sky, ground, tree trunks and an
animal-like shape walking across the frame, with EXIF written the way trail
cameras write it (DateTimeOriginal, Make, Model, and the camera serial in the
standard BodySerialNumber tag 0xA431, no MakerNote). Eight 640 x 480 photos
in three bursts (two by day, one at night in greyscale like an infrared
camera), so ingest forms three sequences with the default 60 s gap.

Run: ``.venv/bin/python sample_media/generate.py`` (deterministic: same bytes each run
with the same Pillow version).
"""
from __future__ import annotations

import random
from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter

OUT = Path(__file__).resolve().parent / "camera" / "DCIM" / "100SAOLA"
SERIAL = "SAOLA-CAM-01"
MAKE, MODEL = "Saola Project", "SaolaCam Synthetic 1"
# (local camera time, night?) of each photo: three bursts.
SHOTS = [("2026:03:02 06:15:01", False), ("2026:03:02 06:15:02", False), ("2026:03:02 06:15:03", False),
         ("2026:03:02 14:40:10", False), ("2026:03:02 14:40:11", False), ("2026:03:02 14:40:12", False),
         ("2026:03:03 21:05:00", True), ("2026:03:03 21:05:01", True)]
W, H = 640, 480


def scene(rng: random.Random, step: int, night: bool) -> Image.Image:
    """One frame: background, trees, and the animal at position ``step`` of its walk."""
    im = Image.new("RGB", (W, H))
    d = ImageDraw.Draw(im)
    sky = (40, 48, 44) if night else (150, 190, 210)
    ground = (60, 62, 50) if night else (92, 110, 60)
    d.rectangle([0, 0, W, H * 0.45], fill=sky)
    d.rectangle([0, H * 0.45, W, H], fill=ground)
    for _ in range(400):  # leaf litter
        x, y = rng.randrange(W), rng.randrange(int(H * 0.45), H)
        c = rng.randrange(40, 120)
        d.ellipse([x, y, x + 6, y + 3], fill=(c, c - 10 if c > 10 else c, 30))
    for i in range(6):  # tree trunks
        x = 40 + i * 110 + rng.randrange(-20, 20)
        w = rng.randrange(18, 40)
        d.rectangle([x, 0, x + w, int(H * 0.75) + rng.randrange(0, 40)], fill=(70, 52, 38))
    # The animal: body, head, legs; walks left to right over the burst.
    bx = 120 + step * 140
    by = int(H * 0.62)
    body = (125, 82, 50)
    d.ellipse([bx, by, bx + 150, by + 70], fill=body)
    d.ellipse([bx + 130, by - 30, bx + 190, by + 20], fill=body)
    d.polygon([(bx + 150, by - 25), (bx + 158, by - 50), (bx + 165, by - 25)], fill=(100, 66, 40))
    for lx in (bx + 20, bx + 45, bx + 100, bx + 125):
        d.rectangle([lx, by + 55, lx + 10, by + 110], fill=(90, 60, 38))
    im = im.filter(ImageFilter.GaussianBlur(1.2))
    if night:  # infrared cameras record greyscale at night
        im = im.convert("L")
    return im


def exif_for(when: str) -> Image.Exif:
    exif = Image.Exif()
    exif[0x010F] = MAKE
    exif[0x0110] = MODEL
    exif[0x0132] = when  # DateTime
    ifd = exif.get_ifd(0x8769)  # the Exif sub-IFD
    ifd[0x9003] = when  # DateTimeOriginal
    ifd[0x9004] = when  # DateTimeDigitized
    ifd[0xA431] = SERIAL  # BodySerialNumber
    return exif


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    rng = random.Random(20260302)
    burst_step = 0
    prev_hour = None
    for n, (when, night) in enumerate(SHOTS, 1):
        hour = when[:13]
        burst_step = burst_step + 1 if hour == prev_hour else 0
        prev_hour = hour
        im = scene(rng, burst_step, night)
        im.save(OUT / f"SAOL{n:04d}.JPG", "JPEG", quality=72, exif=exif_for(when))
    total = sum(p.stat().st_size for p in OUT.iterdir())
    print(f"wrote {len(SHOTS)} photos to {OUT} ({total} bytes)")


if __name__ == "__main__":
    main()
