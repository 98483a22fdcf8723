"""A small but complete survey for export, analytics and report tests.

Area PNKB, program "Camera traps 2026" with:
- S01 (camera D1, 1-20 Jan 2026): a two-image sequence of Sus scrofa (event-level human observation, count 2;
  machine detections with boxes: one with a species label, one without, one rejected, one dismissed), an image
  with a person detection, an image with no timestamp;
- S02 (camera D2, 2-12 Jan 2026, malfunction 5 Jan 12:00 - 7 Jan 12:00): a sensitive muntjac, media-level
  observation accepted from a machine detection;
- S03 (acoustic D3): a recording with a bird detection (taxon) and a gunshot;
- transect T1 (2 km), walk W1 (1.85 km): a wild boar sighting and a (sensitive) muntjac sign with distances,
  and a threat record.
"""
from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from datetime import datetime, timezone

import pytest


def _jpeg_with_gps(seed: str) -> bytes:
    """A small real JPEG (colour from ``seed``) whose EXIF holds a GPS position, like some camera traps write."""
    from PIL import Image

    h = hashlib.sha256(seed.encode()).digest()
    img = Image.new("RGB", (32, 24), (h[0], h[1], h[2]))
    exif = Image.Exif()
    exif[0x010F] = "Saola test camera"  # Make
    exif[0x8825] = {1: "N", 2: (17.0, 36.0, 44.4), 3: "E", 4: (106.0, 25.0, 55.8)}  # GPS IFD
    buf = io.BytesIO()
    img.save(buf, format="JPEG", exif=exif, quality=90)
    return buf.getvalue()


def utc(*a) -> datetime:
    return datetime(*a, tzinfo=timezone.utc)


@dataclass
class Survey:
    area_id: str
    area_code: str
    program_id: str
    ids: dict


@pytest.fixture
def survey(app, world) -> Survey:
    from server.models import (Deployment, Detection, FieldObservation, Location, Media, Observation,
                               OperatingInterval, Program, ProtectedArea, Sequence, SurveyWalk, Taxon, Transect)
    from server.services.taxa import refresh_search_text
    from server.storage import get_store

    store = get_store(app)
    ids: dict = {}
    with world.session() as s:
        area = ProtectedArea(code="PNKB", name="Phong Nha-Ke Bang", name_vi="Phong Nha-Kẻ Bàng")
        s.add(area)
        s.flush()
        prog = Program(area_id=area.id, name="Camera traps 2026", capture_method="activityDetection",
                       settings={"sampling_design": "systematicRandom"})
        s.add(prog)
        taxa = {}
        for sci, vi, en, iucn, d84, sens in (
                ("Sus scrofa", "Lợn rừng", "Wild boar", "LC", None, False),
                ("Muntiacus vuquangensis", "Mang lớn", "Large-antlered muntjac", "CR", "IB", True),
                ("Polyplectron germaini", "Gà tiền mặt đỏ", "Germain's peacock-pheasant", "NT", "IIB", False)):
            t = Taxon(scientific_name=sci, vietnamese_name=vi, english_name=en, iucn_category=iucn,
                      vn_redlist_category=iucn, decree84_group=d84, sensitive=sens, taxon_group="mammal")
            refresh_search_text(t)
            s.add(t)
            taxa[sci] = t
        s.flush()
        locs = {}
        for name, lat, lon in (("S01", 17.51234, 106.31234), ("S02", 17.61234, 106.43216),
                               ("S03", 17.55, 106.35)):
            loc = Location(area_id=area.id, name=name, latitude=lat, longitude=lon, coordinate_uncertainty=10)
            s.add(loc)
            locs[name] = loc
        s.flush()
        d1 = Deployment(program_id=prog.id, location_id=locs["S01"].id, deployment_start=utc(2026, 1, 1, 3),
                        deployment_end=utc(2026, 1, 20, 3), camera_id="CAM1", camera_model="Reconyx HP2X",
                        camera_height=0.5, feature_type="trailGame")
        d2 = Deployment(program_id=prog.id, location_id=locs["S02"].id, deployment_start=utc(2026, 1, 2, 5),
                        deployment_end=utc(2026, 1, 12, 5), camera_id="CAM2")
        d3 = Deployment(program_id=prog.id, location_id=locs["S03"].id, kind="acoustic",
                        deployment_start=utc(2026, 1, 1), deployment_end=utc(2026, 1, 10), camera_id="AM1")
        s.add_all([d1, d2, d3])
        s.flush()
        s.add(OperatingInterval(deployment_id=d2.id, start=utc(2026, 1, 5, 5), end=utc(2026, 1, 7, 5),
                                status="malfunction", reason="flooded"))
        seq = Sequence(deployment_id=d1.id, event_start=utc(2026, 1, 3, 14), event_end=utc(2026, 1, 3, 14, 0, 5),
                       media_count=2)
        s.add(seq)
        s.flush()

        def media(dep, name, at, seq_id=None, kind="image", mtype="image/jpeg", **kw):
            data = f"{name}-{at}".encode() if kind != "image" else _jpeg_with_gps(f"{dep.id}{name}{at}")
            sha = hashlib.sha256(data).hexdigest()
            key = store.key_for(sha, name.rsplit(".", 1)[-1])
            store.put_stream(io.BytesIO(data), key)
            m = Media(sha256=sha, kind=kind, deployment_id=dep.id, sequence_id=seq_id, file_name=name,
                      media_type=mtype, size_bytes=len(data), storage_key=key, captured_at=at, utc_offset_min=420,
                      **kw)
            s.add(m)
            s.flush()
            return m

        m1 = media(d1, "IMG_0001.JPG", utc(2026, 1, 3, 14), seq.id)
        m2 = media(d1, "IMG_0002.JPG", utc(2026, 1, 3, 14, 0, 5), seq.id)
        m3 = media(d1, "IMG_0003.JPG", utc(2026, 1, 8, 2))
        m_nt = media(d1, "IMG_0004.JPG", None)
        m4 = media(d2, "IMG_0001.JPG", utc(2026, 1, 4, 22, 30))
        rec = media(d3, "20260102_050000.WAV", utc(2026, 1, 2, 5), kind="audio", mtype="audio/wav", duration_s=60)
        det = dict(model="megadetector@5a", category="animal")
        dets = [
            Detection(media_id=m1.id, confidence=0.92, bbox_x=0.1, bbox_y=0.2, bbox_width=0.3, bbox_height=0.25,
                      taxon_id=taxa["Sus scrofa"].id, label="wild boar", label_confidence=0.81, **det),
            Detection(media_id=m2.id, confidence=0.88, bbox_x=0.8, bbox_y=0.5, bbox_width=0.4, bbox_height=0.3,
                      **det),  # box runs past the right edge: clipped
            Detection(media_id=m1.id, confidence=0.3, bbox_x=0.5, bbox_y=0.5, bbox_width=0.1, bbox_height=0.1,
                      review_status="rejected", **det),
            Detection(media_id=m2.id, confidence=0.2, bbox_x=0.5, bbox_y=0.5, bbox_width=0.1, bbox_height=0.1,
                      dismissed=True, **det),
            Detection(media_id=m3.id, model="megadetector@5a", category="person", confidence=0.95, bbox_x=0.4,
                      bbox_y=0.1, bbox_width=0.2, bbox_height=0.8),
            Detection(media_id=m4.id, confidence=0.97, bbox_x=0.2, bbox_y=0.3, bbox_width=0.3, bbox_height=0.3,
                      taxon_id=taxa["Muntiacus vuquangensis"].id, label_confidence=0.9, **det),
            Detection(media_id=rec.id, model="birdnet@2.4", category="Polyplectron germaini", confidence=0.77,
                      start_s=12.0, end_s=15.0, taxon_id=taxa["Polyplectron germaini"].id),
            Detection(media_id=rec.id, model="saola-audio@1", category="gunshot", confidence=0.9, start_s=30.0,
                      end_s=31.0),
        ]
        s.add_all(dets)
        s.flush()
        o1 = Observation(deployment_id=d1.id, sequence_id=seq.id, event_start=seq.event_start,
                         event_end=seq.event_end, observation_level="event", taxon_id=taxa["Sus scrofa"].id,
                         count=2, life_stage="adult", classification_method="human", classified_by="biologist1",
                         classification_timestamp=utc(2026, 2, 1, 9))
        o2 = Observation(deployment_id=d2.id, media_id=m4.id, detection_id=dets[5].id, event_start=m4.captured_at,
                         event_end=m4.captured_at, observation_level="media", taxon_id=taxa["Muntiacus vuquangensis"].id,
                         count=1, bbox_x=0.2, bbox_y=0.3, bbox_width=0.3, bbox_height=0.3,
                         classification_method="machine", classified_by="species-classifier@1",
                         classification_probability=0.9)
        o3 = Observation(deployment_id=d1.id, media_id=m3.id, event_start=m3.captured_at, event_end=m3.captured_at,
                         observation_level="media", observation_type="human", classification_method="human",
                         classified_by="biologist1")
        s.add_all([o1, o2, o3])
        tr = Transect(area_id=area.id, program_id=prog.id, name="T1", length_m=2000.0)
        s.add(tr)
        s.flush()
        walk = SurveyWalk(program_id=prog.id, transect_id=tr.id, started_at=utc(2026, 1, 6, 0),
                          ended_at=utc(2026, 1, 6, 3), status="done", observers=["Ranger A", "Ranger B"],
                          distance_m=1850.0, weather="dry")
        s.add(walk)
        s.flush()
        f1 = FieldObservation(program_id=prog.id, walk_id=walk.id, protocol="line-transect@1",
                              taxon_id=taxa["Sus scrofa"].id, count=3, distance_m=20.0, bearing_deg=30.0,
                              perpendicular_distance_m=10.0, latitude=17.50111, longitude=106.30222,
                              observed_at=utc(2026, 1, 6, 1))
        f2 = FieldObservation(program_id=prog.id, walk_id=walk.id, protocol="line-transect@1",
                              taxon_id=taxa["Muntiacus vuquangensis"].id, sign_type="track", count=1,
                              distance_m=8.0, bearing_deg=90.0, perpendicular_distance_m=5.0, latitude=17.61299,
                              longitude=106.43399, observed_at=utc(2026, 1, 6, 2))
        f3 = FieldObservation(program_id=prog.id, walk_id=walk.id, protocol="threat@1", record_type="threat",
                              latitude=17.6, longitude=106.4, observed_at=utc(2026, 1, 6, 2, 30), note="snare line")
        s.add_all([f1, f2, f3])
        s.flush()
        ids.update(area=area.id, program=prog.id, d1=d1.id, d2=d2.id, d3=d3.id, seq=seq.id, m1=m1.id, m2=m2.id,
                   m3=m3.id, m4=m4.id, m_nt=m_nt.id, rec=rec.id, det_m1=dets[0].id, det_m2=dets[1].id,
                   det_rejected=dets[2].id, det_dismissed=dets[3].id, det_person=dets[4].id, det_m4=dets[5].id,
                   det_bird=dets[6].id, det_gun=dets[7].id, o1=o1.id, o2=o2.id, o3=o3.id, walk=walk.id,
                   transect=tr.id, f1=f1.id, f2=f2.id, f3=f3.id,
                   taxa={k: v.id for k, v in taxa.items()})
        return Survey(area.id, "PNKB", prog.id, ids)
