"""The app's Android-facing code (mobile/platform/, mobile/service/gps.py) on the desktop, against
fakes of the Android classes (android_fakes.py): intents, content URIs, the cancel path, the
permission flows and their refusals told to the ranger, and the GPS service after an OS kill."""
from __future__ import annotations

import threading

import android_fakes as fa
import pytest

from mobile.platform import android_camera, android_env, permissions
from mobile.platform.android_camera import REQUEST_CAPTURE, REQUEST_PICK, RESULT_CANCELED, RESULT_OK, AndroidPhotos

JPEG = b"\xff\xd8\xff\xe0" + b"\0" * 100


class Posted:
    """A ``post`` that queues callbacks, as Kivy's Clock would until the next frame."""

    def __init__(self):
        self.queue = []

    def __call__(self, fn):
        self.queue.append(fn)

    def run(self):
        q, self.queue = self.queue, []
        for fn in q:
            fn()


@pytest.fixture
def droid(tmp_path):
    activity = fa.Activity(tmp_path / "app")
    module = fa.ActivityModule()
    post = Posted()
    photos = AndroidPhotos(autoclass=fa.make_autoclass(activity), cast=fa.cast, activity_module=module, post=post)
    return activity, module, post, photos


def _done():
    got = []
    return got, lambda path, problem: got.append((path, problem))


# ---- camera ---------------------------------------------------------------------------------
def test_capture_sends_a_fileprovider_content_uri_and_returns_the_photo(droid):
    activity, module, post, photos = droid
    got, done = _done()
    photos.take_photo(done)
    intent, code = activity.started[-1]
    assert code == REQUEST_CAPTURE and intent.action == "android.media.action.IMAGE_CAPTURE"
    uri = intent.extras["output"]
    # Never a file:// URI (FileUriExposedException on Android 7+): a content URI of the app's provider.
    assert uri.getScheme() == "content" and uri.toString().startswith("content://org.saola.saola.fileprovider/")
    assert intent.flags & fa.Intent.FLAG_GRANT_WRITE_URI_PERMISSION
    assert intent.clip == ("raw", "", uri)
    capture = uri.path
    assert capture.parent == activity.cache / "captures" and capture.exists()
    assert module.callbacks  # waiting for the result
    capture.write_bytes(JPEG)  # the camera app writes through the URI
    module.result(REQUEST_CAPTURE, RESULT_OK, None)
    assert got == []  # handed to the Kivy thread, not run on Android's
    post.run()
    assert got == [(str(capture), None)]
    assert module.callbacks == []  # unbound once answered


def test_a_cancelled_capture_leaves_nothing_and_says_nothing(droid):
    activity, module, post, photos = droid
    got, done = _done()
    photos.take_photo(done)
    capture = activity.started[-1][0].extras["output"].path
    module.result(REQUEST_CAPTURE, RESULT_CANCELED, None)
    post.run()
    assert got == [(None, "cancelled")]
    assert not capture.exists()
    assert android_camera.problem_message("cancelled", "vi") == ""


def test_an_empty_capture_and_no_camera_app_are_told_in_both_languages(droid, tmp_path):
    activity, module, post, photos = droid
    got, done = _done()
    photos.take_photo(done)
    module.result(REQUEST_CAPTURE, RESULT_OK, None)  # OK, but the camera app wrote nothing
    post.run()
    assert got == [(None, "empty")]
    assert android_camera.problem_message("empty", "en") == "The camera app saved no photo. Try again."
    assert android_camera.problem_message("empty", "vi") == "Ứng dụng máy ảnh không lưu ảnh nào. Hãy thử lại."

    activity.handles.clear()
    got2, done2 = _done()
    photos.take_photo(done2)
    post.run()
    assert got2 == [(None, "no_camera")]
    assert android_camera.problem_message("no_camera", "vi") == "Không tìm thấy ứng dụng máy ảnh trên máy tính bảng này."
    assert list((activity.cache / "captures").iterdir()) == []


def test_results_of_other_requests_are_left_alone(droid):
    activity, module, post, photos = droid
    got, done = _done()
    photos.take_photo(done)
    module.result(0x1234, RESULT_OK, None)
    post.run()
    assert got == [] and module.callbacks


def test_a_wrong_provider_authority_fails_clearly(droid):
    activity, module, post, photos = droid
    fa.FileProvider.declared_authority, saved = "other.fileprovider", fa.FileProvider.declared_authority
    try:
        got, done = _done()
        photos.take_photo(done)
        post.run()
    finally:
        fa.FileProvider.declared_authority = saved
    (path, problem), = got
    assert path is None and problem.startswith("failed:") and "authority" in problem
    assert "authority" in android_camera.problem_message(problem, "en")
    assert activity.started == []


# ---- picking ----------------------------------------------------------------------------------
@pytest.mark.parametrize("sdk, action", [(34, "android.provider.action.PICK_IMAGES"),
                                         (30, "android.intent.action.GET_CONTENT")])
def test_picking_uses_the_system_picker_and_copies_the_content(tmp_path, sdk, action):
    activity, module, post = fa.Activity(tmp_path / "app"), fa.ActivityModule(), Posted()
    photos = AndroidPhotos(autoclass=fa.make_autoclass(activity, sdk=sdk), cast=fa.cast, activity_module=module,
                           post=post)
    got, done = _done()
    photos.pick_photo(done)
    intent, code = activity.started[-1]
    assert code == REQUEST_PICK and intent.action == action and intent.type == "image/*"
    assert (fa.Intent.CATEGORY_OPENABLE in intent.categories) == (sdk < 33)
    shared = tmp_path / "gallery" / "IMG_0001.jpg"
    shared.parent.mkdir()
    shared.write_bytes(JPEG)
    result = fa.Intent()
    result.data = fa.Uri("content://media/picker/0/1")
    activity.resolver.contents[result.data.toString()] = shared
    module.result(REQUEST_PICK, RESULT_OK, result)
    post.run()
    (path, problem), = got
    assert problem is None
    with open(path, "rb") as f:
        assert f.read() == JPEG
    assert str(activity.cache) in path  # a copy in the app's cache, not the gallery's file

    got2, done2 = _done()
    photos.pick_photo(done2)
    module.result(REQUEST_PICK, RESULT_CANCELED, None)
    post.run()
    assert got2 == [(None, "cancelled")]


# ---- permissions ------------------------------------------------------------------------------
def test_permissions_needed_by_feature_and_api_level():
    P = "android.permission."
    assert permissions.needed("location", 34) == [P + "ACCESS_FINE_LOCATION", P + "ACCESS_COARSE_LOCATION"]
    assert permissions.needed("notifications", 34) == [P + "POST_NOTIFICATIONS"]
    assert permissions.needed("notifications", 32) == []
    assert permissions.needed("camera", 24) == [P + "CAMERA"]
    assert permissions.needed("photos", 34) == []  # the photo picker needs none
    assert permissions.needed("photos", 32) == [P + "READ_EXTERNAL_STORAGE"]
    with pytest.raises(ValueError):
        permissions.needed("microphone", 34)


def test_location_is_asked_before_use_and_a_refusal_is_told(tmp_path):
    perms = fa.PermissionsModule(answer={permissions.COARSE: True})  # "approximate only"
    post = Posted()
    flow = permissions.PermissionFlow(34, perms, post)
    events = []
    flow.ensure("location", lambda: events.append("granted"), lambda f: events.append(("refused", f)))
    assert perms.requests == [[permissions.FINE, permissions.COARSE]]
    perms.reply()
    assert events == []  # delivered on the Kivy thread
    post.run()
    assert events == [("refused", "location")]  # a track needs precise location
    vi = permissions.refusal_message("location", "vi")
    en = permissions.refusal_message("location", "en")
    assert "Cài đặt" in vi and "Vị trí" in vi and "Settings" in en and "precise" in en

    perms.answer = {permissions.FINE: True}
    flow.ensure("location", lambda: events.append("granted"))
    assert perms.requests[-1] == [permissions.FINE]  # only what is missing
    perms.reply()
    post.run()
    assert events[-1] == "granted"
    n = len(perms.requests)
    flow.ensure("location", lambda: events.append("again"))
    assert len(perms.requests) == n and events[-1] == "again"  # granted: nothing asked


def test_camera_refusal_and_photo_picker_without_permission():
    perms = fa.PermissionsModule()
    post = Posted()
    flow = permissions.PermissionFlow(34, perms, post)
    events = []
    flow.ensure("camera", lambda: events.append("camera"), lambda f: events.append(("refused", f)))
    perms.reply()
    post.run()
    assert events == [("refused", "camera")]
    assert "thư viện ảnh" in permissions.refusal_message("camera", "vi")
    flow.ensure("photos", lambda: events.append("picker"))
    assert events[-1] == "picker" and perms.pending is None  # Android 13+: nothing to ask


# ---- the GPS service after an OS kill (D4) ------------------------------------------------------
def test_service_data_dir_never_uses_the_working_folder(tmp_path, monkeypatch):
    files = tmp_path / "files"
    files.mkdir()
    service = fa.PythonService(files)
    with pytest.raises(android_env.NoStore) as e:
        android_env.service_data_dir("", {}, service)
    assert str(files) in str(e.value)
    (files / "saola.db").write_bytes(b"")
    assert android_env.service_data_dir("", {}, service) == files
    # An argument naming a folder without the database (a stale path) is not trusted either.
    assert android_env.service_data_dir(str(tmp_path / "gone"), {}, service) == files
    other = tmp_path / "private"
    other.mkdir()
    (other / "saola.db").write_bytes(b"")
    assert android_env.service_data_dir("", {"ANDROID_PRIVATE": str(other)}, None) == other
    monkeypatch.chdir(other)  # a database in the working folder is never picked by itself
    with pytest.raises(android_env.NoStore):
        android_env.service_data_dir("", {}, None)


def test_sticky_restart_with_an_empty_argument_finds_the_walk_and_records(tmp_path, monkeypatch):
    from mobile.demo import demo_fixes
    from mobile.location import ReplayProvider, TrackFilter
    from mobile.service import gps
    from mobile.store import Store

    files = tmp_path / "files"
    app_store = Store(files)  # the app's store, as Kivy's user_data_dir = Context.getFilesDir()
    walk = app_store.start_walk("line_transect@1.1", {"transect_id": "T-08"})
    segment_before = app_store.get_walk(walk)["segment"]
    service = fa.PythonService(files)
    work = tmp_path / "app-code"
    work.mkdir()
    monkeypatch.chdir(work)  # where p4a starts the service: the app's code folder
    provider = ReplayProvider(demo_fixes(400, speed_mps=1.2), speed=0)
    stop = threading.Event()
    result = {}

    def serve():
        result.update(gps.main({"PYTHON_SERVICE_ARGUMENT": ""}, fa.make_autoclass(service=service), provider,
                               stop=stop, poll_s=0.02, track_filter=TrackFilter()))

    t = threading.Thread(target=serve)
    t.start()
    try:
        # Fixes reach the walk once the service has picked it up.
        for _ in range(2000):
            if app_store.get_walk(walk)["point_count"] >= 5:
                break
            if provider._on_fix is not None:
                provider.step(5)
            stop.wait(0.01)
    finally:
        stop.set()
        t.join(10)
    assert result["data_dir"] == str(files)
    w = app_store.get_walk(walk)
    assert w["point_count"] >= 5 and w["segment"] == segment_before + 1  # the gap is not walked distance
    assert service.auto_restart == [True, False]
    assert not (work / "saola.db").exists()  # no stray database in the working folder
    app_store.close()


def test_service_without_a_store_stops_instead_of_making_an_empty_one(tmp_path, monkeypatch):
    from mobile.service import gps

    monkeypatch.chdir(tmp_path)
    service = fa.PythonService(tmp_path / "files")
    r = gps.main({"PYTHON_SERVICE_ARGUMENT": ""}, fa.make_autoclass(service=service), provider=object())
    assert r["data_dir"] is None and service.stopped and service.auto_restart == [False]
    assert list(tmp_path.iterdir()) == []


# ---- the build: FileProvider declared, resources and permissions in buildozer.spec -------------
def test_the_build_hook_declares_the_fileprovider_once():
    import xml.etree.ElementTree as ET
    from pathlib import Path

    from mobile.android import p4a_hook

    manifest = ('<manifest xmlns:android="http://schemas.android.com/apk/res/android" package="org.saola.saola">'
                '<application android:label="Saola"><activity android:name="org.kivy.android.PythonActivity"/>'
                '</application></manifest>')
    out = p4a_hook.add_provider(manifest, p4a_hook.PROVIDER.read_text(encoding="utf-8"))
    assert p4a_hook.add_provider(out, p4a_hook.PROVIDER.read_text(encoding="utf-8")) == out  # once
    ns = "{http://schemas.android.com/apk/res/android}"
    provider = ET.fromstring(out).find("application/provider")
    assert provider.get(ns + "name") == "androidx.core.content.FileProvider"
    # The authority the camera code asks for: "<package>" + android_camera.PROVIDER_SUFFIX.
    assert provider.get(ns + "authorities") == "org.saola.saola" + android_camera.PROVIDER_SUFFIX
    assert provider.get(ns + "grantUriPermissions") == "true" and provider.get(ns + "exported") == "false"
    assert provider.find("meta-data").get(ns + "resource") == "@xml/saola_file_paths"
    repo = Path(__file__).resolve().parents[2]
    paths = ET.parse(repo / "mobile/android/res/xml/saola_file_paths.xml").getroot()
    assert [(p.tag, p.get("path")) for p in paths] == [("cache-path", "captures/")]  # what capture_file uses
    spec = (repo / "buildozer.spec").read_text(encoding="utf-8")
    for line in ("p4a.hook = mobile/android/p4a_hook.py", "android.add_resources = mobile/android/res",
                 "android.gradle_dependencies = androidx.core:core:", "p4a.branch = v2026.05.09",
                 "package.domain = org.saola", "package.name = saola"):
        assert line in spec, line
    assert "READ_MEDIA_IMAGES" not in spec.split("android.permissions =")[1].splitlines()[0]
