"""Rendering a PDF report must not change how the process decodes camera-trap JPEGs."""
import subprocess
import sys

CHECK = """
from PIL import ImageFile
ImageFile.LOAD_TRUNCATED_IMAGES = False
from server.reports.render import render_pdf
assert render_pdf("<html><body><p>Sao la</p></body></html>").startswith(b"%PDF")
print(ImageFile.LOAD_TRUNCATED_IMAGES)
"""


def test_render_pdf_keeps_pillow_strict_about_truncated_images():
    # A fresh process: WeasyPrint's import (which flips the setting) runs only once per process.
    out = subprocess.run([sys.executable, "-c", CHECK], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"
