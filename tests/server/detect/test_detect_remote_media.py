"""Media imported as links (no stored bytes) are not sent to the detector."""
from server.detect.service import select_media
from server.models import Media


def test_linked_media_are_not_selected(world):
    a = world.area()
    p = world.program(a.id)
    d = world.deployment(p)
    with world.session() as s:
        s.add(Media(sha256="a" * 64, kind="image", deployment_id=d.id, file_name="x.jpg", media_type="image/jpeg",
                    size_bytes=10, storage_key="aa/aa/" + "a" * 64 + ".jpg"))
        s.add(Media(sha256="b" * 64, kind="image", deployment_id=d.id, file_name="y.jpg", media_type="image/jpeg",
                    size_bytes=0, storage_key="", flags=["remote"]))
    with world.session() as s:
        items = select_media(s, {"deployment_id": d.id}, "md@1")
    assert [i.file_name for i in items] == ["x.jpg"]
