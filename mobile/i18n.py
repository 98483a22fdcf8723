"""Interface text in Vietnamese and English (stdlib only).

Protocol labels (fields, choices) come from the protocol definitions; this
module holds the app's own words. ``tr(key, lang, **params)`` falls back to
English, then to the key itself, so a missing translation shows up as text
rather than a crash.
"""
from __future__ import annotations

LANGUAGES = ("vi", "en")
DEFAULT_LANGUAGE = "vi"

STRINGS: dict[str, dict[str, str]] = {
    "app_title": {"en": "Saola field", "vi": "Saola thực địa"},
    "language_button": {"en": "Tiếng Việt", "vi": "English"},
    "sign_in_title": {"en": "Sign in and register this device", "vi": "Đăng nhập và đăng ký thiết bị"},
    "server": {"en": "Server address", "vi": "Địa chỉ máy chủ"},
    "username": {"en": "User name", "vi": "Tên đăng nhập"},
    "password": {"en": "Password", "vi": "Mật khẩu"},
    "device_name": {"en": "Device name", "vi": "Tên thiết bị"},
    "sign_in": {"en": "Sign in", "vi": "Đăng nhập"},
    "continue_offline": {"en": "Continue offline", "vi": "Làm việc ngoại tuyến"},
    "signing_in": {"en": "Signing in…", "vi": "Đang đăng nhập…"},
    "signed_in_as": {"en": "Signed in as {user}", "vi": "Đã đăng nhập: {user}"},
    "sign_in_failed": {"en": "Sign-in failed: {error}", "vi": "Đăng nhập không thành công: {error}"},
    "pick_area_title": {"en": "Protected area and program", "vi": "Khu bảo tồn và chương trình"},
    "area": {"en": "Protected area", "vi": "Khu bảo tồn"},
    "program": {"en": "Monitoring program", "vi": "Chương trình giám sát"},
    "refresh": {"en": "Refresh from server", "vi": "Cập nhật từ máy chủ"},
    "refreshed": {"en": "Reference data updated", "vi": "Đã cập nhật dữ liệu tham chiếu"},
    "continue": {"en": "Continue", "vi": "Tiếp tục"},
    "no_areas": {"en": "No protected areas stored yet: sign in once with a network, or work offline.",
                 "vi": "Chưa lưu khu bảo tồn nào: hãy đăng nhập khi có mạng một lần, hoặc làm việc ngoại tuyến."},
    "offline_program": {"en": "Offline (no program yet)", "vi": "Ngoại tuyến (chưa có chương trình)"},
    "home_walk": {"en": "Transect walk", "vi": "Đi tuyến"},
    "home_camera": {"en": "Camera trap", "vi": "Bẫy ảnh"},
    "home_acoustic": {"en": "Acoustic recorder", "vi": "Máy ghi âm"},
    "home_gibbon": {"en": "Gibbon listening post", "vi": "Điểm nghe vượn"},
    "home_threat": {"en": "Threat / incident", "vi": "Mối đe dọa / sự việc"},
    "home_records": {"en": "Records", "vi": "Bản ghi"},
    "change_area": {"en": "Change area or program", "vi": "Đổi khu bảo tồn hoặc chương trình"},
    "pending_count": {"en": "{n} change(s) waiting to sync", "vi": "{n} thay đổi đang chờ đồng bộ"},
    "walk_title": {"en": "Transect walk", "vi": "Đi tuyến"},
    "start_walk": {"en": "Start walk", "vi": "Bắt đầu đi tuyến"},
    "pause": {"en": "Pause", "vi": "Tạm dừng"},
    "resume": {"en": "Resume", "vi": "Tiếp tục"},
    "stop_walk": {"en": "Stop walk", "vi": "Kết thúc"},
    "add_observation": {"en": "Add observation", "vi": "Thêm quan sát"},
    "add_threat": {"en": "Add threat", "vi": "Thêm mối đe dọa"},
    "walk_distance": {"en": "Distance", "vi": "Quãng đường"},
    "walk_time": {"en": "Walking time", "vi": "Thời gian đi"},
    "walk_points": {"en": "Track points", "vi": "Số điểm"},
    "gps_accuracy": {"en": "GPS accuracy", "vi": "Độ chính xác GPS"},
    "no_fix": {"en": "Waiting for GPS…", "vi": "Đang chờ tín hiệu GPS…"},
    "walk_active": {"en": "Recording", "vi": "Đang ghi"},
    "walk_paused": {"en": "Paused", "vi": "Đang tạm dừng"},
    "walk_done": {"en": "Walk saved", "vi": "Đã lưu lượt đi tuyến"},
    "walk_resumed": {"en": "Walk resumed after a restart", "vi": "Đã tiếp tục lượt đi tuyến sau khi khởi động lại"},
    "walk_observations": {"en": "Observations: {n}", "vi": "Số quan sát: {n}"},
    "save": {"en": "Save", "vi": "Lưu"},
    "cancel": {"en": "Cancel", "vi": "Hủy"},
    "back": {"en": "Back", "vi": "Quay lại"},
    "saved": {"en": "Saved", "vi": "Đã lưu"},
    "fix_errors": {"en": "Please correct the fields marked in red", "vi": "Vui lòng sửa các trường được đánh dấu đỏ"},
    "choose": {"en": "Choose…", "vi": "Chọn…"},
    "yes": {"en": "Yes", "vi": "Có"},
    "no": {"en": "No", "vi": "Không"},
    "use_gps": {"en": "Use current GPS position", "vi": "Lấy vị trí GPS hiện tại"},
    "no_gps_yet": {"en": "No GPS position yet", "vi": "Chưa có vị trí GPS"},
    "add_photo": {"en": "Photo from file", "vi": "Ảnh từ tệp"},
    "take_photo": {"en": "Take photo", "vi": "Chụp ảnh"},
    "photos_n": {"en": "{n} photo(s)", "vi": "{n} ảnh"},
    "pick_species": {"en": "Choose species", "vi": "Chọn loài"},
    "search_species": {"en": "Vietnamese, English or scientific name", "vi": "Tên tiếng Việt, tiếng Anh hoặc tên khoa học"},
    "unidentified": {"en": "Unidentified", "vi": "Chưa xác định"},
    "add_group": {"en": "Add calling group", "vi": "Thêm đàn hót"},
    "group_n": {"en": "Group {n}", "vi": "Đàn {n}"},
    "record_kind": {"en": "Record", "vi": "Loại bản ghi"},
    "records_title": {"en": "Records", "vi": "Bản ghi"},
    "records_empty": {"en": "No records yet", "vi": "Chưa có bản ghi nào"},
    "records_count": {"en": "{shown} of {total} shown", "vi": "Đang hiển thị {shown} / {total}"},
    "sync_pending": {"en": "waiting to sync", "vi": "chờ đồng bộ"},
    "sync_synced": {"en": "synced", "vi": "đã đồng bộ"},
    "sync_conflict": {"en": "conflict", "vi": "xung đột"},
    "sync_rejected": {"en": "rejected", "vi": "bị từ chối"},
    "entity_walk": {"en": "Walk", "vi": "Lượt đi tuyến"},
    "entity_observation": {"en": "Observation", "vi": "Quan sát"},
    "entity_deployment": {"en": "Deployment", "vi": "Lắp đặt máy"},
    "entity_threat": {"en": "Threat", "vi": "Mối đe dọa"},
    "choose_file": {"en": "Choose a photo", "vi": "Chọn ảnh"},
    "no_deployments": {"en": "No deployments of this kind on this device yet",
                       "vi": "Chưa có lượt lắp đặt loại này trên thiết bị"},
    "observers_hint": {"en": "Names, separated by commas", "vi": "Họ tên, cách nhau bằng dấu phẩy"},
    "datetime_hint": {"en": "e.g. 2026-03-01T07:30:00+07:00", "vi": "ví dụ 2026-03-01T07:30:00+07:00"},
    "now": {"en": "Now", "vi": "Bây giờ"},
    "sign_out": {"en": "Sign out", "vi": "Đăng xuất"},
    "sync_now": {"en": "Sync now", "vi": "Đồng bộ ngay"},
    "sync_need_sign_in": {"en": "Sign in to a server first (Change area or program, then back)",
                          "vi": "Hãy đăng nhập máy chủ trước (Đổi khu bảo tồn hoặc chương trình, rồi quay lại)"},
    "sync_progress": {"en": "Syncing: {done}/{total} records, {mb_done:.1f}/{mb_total:.1f} MB of photos",
                      "vi": "Đang đồng bộ: {done}/{total} bản ghi, {mb_done:.1f}/{mb_total:.1f} MB ảnh"},
    "sync_done": {"en": "Synced: {pushed} sent, {photos} photo(s), {pulled} received",
                  "vi": "Đã đồng bộ: gửi {pushed}, {photos} ảnh, nhận {pulled}"},
    "sync_failed": {"en": "Sync stopped, nothing lost: {error}", "vi": "Đồng bộ bị dừng, không mất dữ liệu: {error}"},
}


def tr(key: str, lang: str = DEFAULT_LANGUAGE, **params) -> str:
    """The text for ``key`` in ``lang`` ("vi" or "en"), with ``{params}`` filled in."""
    entry = STRINGS.get(key)
    if entry is None:
        return key
    text = entry.get(lang) or entry.get("en") or key
    return text.format(**params) if params else text


def label(labels: dict | None, lang: str = DEFAULT_LANGUAGE, fallback: str = "") -> str:
    """Pick ``lang`` from a protocol {"en": ..., "vi": ...} label."""
    if not labels:
        return fallback
    return labels.get(lang) or labels.get("en") or fallback
