"""Fixtures for sync tests: an area with a transect program, a ranger with a device token."""
import uuid

import pytest


class Field:
    def __init__(self, world, client):
        self.world, self.client = world, client
        self.area = world.area("PNKB", "Phong Nha-Ke Bang")
        self.program = world.program(self.area.id, "Transects 2026", protocol="line-transect")
        with world.session() as s:
            from server.models import Taxon
            from server.services.taxa import refresh_search_text

            for sci, vi, en in [("Pygathrix nemaeus", "Voọc chà vá chân nâu", "Red-shanked douc"),
                                ("Muntiacus vuquangensis", "Mang lớn", "Large-antlered muntjac")]:
                t = Taxon(scientific_name=sci, vietnamese_name=vi, english_name=en)
                refresh_search_text(t)
                s.add(t)
        self.ranger = world.user("lan", roles={self.area.id: "ranger"})
        self.ranger2 = world.user("minh", roles={self.area.id: "ranger"})

    def device(self, user, device_id):
        r = self.client.post("/api/v1/auth/device", json={"username": user.username, "password": "password123",
                                                          "device_id": device_id})
        assert r.status_code == 201, r.json
        return {"Authorization": f"Bearer {r.json['token']}"}

    def walk_doc(self, **kw):
        rec = {"transect_id": "T1", "start_time": "2026-03-01T07:00:00+07:00", "observers": ["Lan"],
               "weather": "clear", **kw}
        return {"protocol": "line_transect@1.0", "record_type": "walk", "program_id": self.program.id,
                "recorded_at": "2026-03-01T00:00:00Z", "data": rec}

    def obs_doc(self, walk_id=None, **kw):
        rec = {"observed_at": "2026-03-01T07:30:00+07:00", "taxon": "Pygathrix nemaeus", "sign_type": "sighting",
               "count": 3, "distance_m": 20.0, "bearing_deg": 30.0, "transect_bearing_deg": 0.0,
               "location": {"lat": 17.5, "lon": 106.2}, **kw}
        return {"protocol": "line_transect@1.0", "record_type": "observation", "program_id": self.program.id,
                "recorded_at": "2026-03-01T00:30:00Z", "walk_id": walk_id, "data": rec}

    @staticmethod
    def mutation(entity, record_id, doc, op="create", base=0, mid=None):
        return {"mutation_id": mid or str(uuid.uuid4()), "entity": entity, "record_id": record_id, "op": op,
                "base_revision": base, "data": doc, "device_time": "2026-03-01T00:31:00Z", "gps_time": None}

    def push(self, headers, *mutations):
        r = self.client.post("/api/v1/sync/push", headers=headers,
                             json={"protocol_version": "1.0", "mutations": list(mutations)})
        assert r.status_code == 200, r.get_data(as_text=True)
        return r.json["results"]

    def pull(self, headers, since=0, limit=500):
        r = self.client.get(f"/api/v1/sync/pull?since={since}&limit={limit}", headers=headers)
        return r


@pytest.fixture
def field(world, client):
    return Field(world, client)
