"""Media rows naming stored keys, for the storage tests (the database side of a migration)."""
from __future__ import annotations


def add_media(world, files: dict[str, bytes]) -> None:
    """One Media row per storage key (no deployment: field photos may have none)."""
    from server.models import Media

    with world.session() as s:
        for key, data in files.items():
            sha = key.rsplit("/", 1)[-1].split(".")[0]
            s.add(Media(sha256=sha, kind="image", file_name=f"{sha[:8]}.jpg", file_path=f"card/{sha[:8]}.jpg",
                        media_type="image/jpeg", size_bytes=len(data), storage_key=key))
