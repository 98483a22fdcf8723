"""python-for-android build hook (buildozer.spec ``p4a.hook``): declare the camera's FileProvider.

python-for-android renders ``src/main/AndroidManifest.xml`` in the distribution folder and then
calls ``after_apk_build``; gradle builds the APK after that. The hook puts the ``<provider>`` of
``provider.xml`` (androidx FileProvider, authority ``<package>.fileprovider``) at the end of
``<application>``, once. The paths it shares are ``res/xml/saola_file_paths.xml``
(``android.add_resources``). Tested on the desktop: tests/mobile/test_android_platform.py.
"""
from __future__ import annotations

from pathlib import Path

PROVIDER = Path(__file__).with_name("provider.xml")
MARK = "androidx.core.content.FileProvider"


def add_provider(manifest: str, provider_xml: str) -> str:
    """``manifest`` with the provider inside ``<application>`` (unchanged when already there)."""
    if MARK in manifest:
        return manifest
    body = "\n".join(line for line in provider_xml.splitlines() if not line.lstrip().startswith("<!--"))
    if "</application>" not in manifest:
        raise ValueError("AndroidManifest.xml has no </application>: cannot declare the FileProvider")
    return manifest.replace("</application>", body + "\n    </application>", 1)


def after_apk_build(toolchain) -> None:
    """p4a hook: edit the rendered manifest in the distribution folder (the current folder)."""
    path = Path("src/main/AndroidManifest.xml")
    path.write_text(add_provider(path.read_text(encoding="utf-8"), PROVIDER.read_text(encoding="utf-8")),
                    encoding="utf-8")
