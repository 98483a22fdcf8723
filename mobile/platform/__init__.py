"""The app's Android-facing code, in small modules tested on the desktop against fakes.

Each module takes the Java bridge as arguments (``autoclass``/``cast`` from pyjnius, the
``android.activity`` and ``android.permissions`` modules of python-for-android, a ``post``
function that runs a callback on the Kivy thread) and imports them lazily only when none are
given, so ``tests/mobile/test_android_platform.py`` drives the same code with fake Intent, Uri,
FileProvider and Activity objects. Nothing here imports Kivy.

- :mod:`.android_env`: API level, the app's private folders, the GPS service's data folder;
- :mod:`.permissions`: run-time permission flows by feature and API level, and what to tell
  the ranger when one is refused;
- :mod:`.android_camera`: camera capture through ACTION_IMAGE_CAPTURE with a FileProvider
  content URI, and photo picking through the system picker.
"""
