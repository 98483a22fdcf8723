"""The field records page: synced walks and observations with photos, per area and role."""
from datetime import datetime, timezone

from server.models import FieldObservation, Media, SurveyWalk, Taxon
from signin import sign_in


def _login(client, username):
    r = sign_in(client, username)
    assert r.status_code == 302


def _seed(world, app, tmp_path):
    from PIL import Image

    from server.storage import get_store

    a = world.area()
    p = world.program(a.id, "Transects", protocol="line-transect")
    photo = tmp_path / "p.jpg"
    Image.new("RGB", (300, 200), (10, 120, 30)).save(photo)
    import hashlib

    sha = hashlib.sha256(photo.read_bytes()).hexdigest()
    key = get_store(app).key_for(sha, "jpg")
    get_store(app).put_file(photo, key)
    ranger = world.user("lan", roles={a.id: "ranger"})  # whose tablet uploaded the photo
    with world.session() as s:
        tiger = Taxon(scientific_name="Panthera tigris", vietnamese_name="Hổ", english_name="Tiger", sensitive=True)
        s.add(tiger)
        s.flush()
        t0 = datetime(2026, 3, 1, 1, 0, tzinfo=timezone.utc)
        s.add(SurveyWalk(id="w1", program_id=p.id, started_at=t0, observers=["Lan"], weather="clear",
                         data={"data": {"transect_id": "T1"}}))
        s.add(Media(sha256=sha, kind="image", file_name="p.jpg", media_type="image/jpeg", size_bytes=1,
                    storage_key=key, meta={"uploaded_by": ranger.id}))
        s.add(FieldObservation(id="o1", program_id=p.id, protocol="line_transect@1.0", taxon_id=tiger.id,
                               observed_at=t0, latitude=17.123456, longitude=106.654321, count=1,
                               photos=[sha, "f" * 64], data={"data": {}}))
    return a, sha


def test_field_page_shows_records_photos_and_withholds_sensitive_positions(app, client, world, tmp_path):
    a, sha = _seed(world, app, tmp_path)
    world.user("viewer", roles={a.id: "viewer"})
    world.user("bio", roles={a.id: "biologist"})
    _login(client, "viewer")
    html = client.get(f"/areas/{a.id}/field").get_data(as_text=True)
    assert 'data-walk="w1"' in html and 'data-observation="o1"' in html and "Panthera tigris" in html
    assert "17.12346" not in html and "position withheld" in html  # a sensitive species, seen by a viewer
    assert f"/field/photo/{sha}" in html and "photo not yet uploaded" in html
    r = client.get(f"/areas/{a.id}/field/photo/{sha}")
    assert r.status_code == 200 and r.data[:2] == b"\xff\xd8"
    assert client.get(f"/areas/{a.id}/field/photo/{'0' * 64}").status_code == 404
    client.post("/logout", data={"csrf_token": client.get_cookie("session") and _csrf(client)})
    bio = app.test_client()
    _login(bio, "bio")
    assert "17.12346" in bio.get(f"/areas/{a.id}/field").get_data(as_text=True)


def _csrf(client):
    with client.session_transaction() as sess:
        return sess.get("csrf", "")


def test_field_page_is_per_area(app, client, world, tmp_path):
    a, sha = _seed(world, app, tmp_path)
    other = world.area("XX", "Other")
    world.user("stranger", roles={other.id: "manager"})
    _login(client, "stranger")
    assert client.get(f"/areas/{a.id}/field").status_code == 404
    assert client.get(f"/areas/{a.id}/field/photo/{sha}").status_code == 404
    assert app.test_client().get(f"/areas/{a.id}/field").status_code == 302  # not signed in: to the login page
