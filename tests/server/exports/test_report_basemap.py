"""Issue 13, item 6: the annual report's map is drawn over the area's offline basemap (the MBTiles
file its manager uploaded), read from the stored file with no network, rows reprojected from Web
Mercator to the report's longitude/latitude axes; the API's report and `saola report` both use it."""
from __future__ import annotations

import base64
import io
import re
import sys
from pathlib import Path
from types import SimpleNamespace

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from mbtiles_maker import lonlat_to_tile, make_mbtiles  # noqa: E402

from server.sync import basemaps  # noqa: E402

BOX = (106.25, 17.45, 106.50, 17.68)  # covers the survey's stations S01-S03 (tests/server/exports/conftest.py)


def _coded_tile(z: int, x: int, y: int) -> bytes:
    """A flat tile whose colour says which tile it is: (x mod 256, y mod 256, 40 + z)."""
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (256, 256), (x % 256, y % 256, 40 + z)).save(buf, "PNG")
    return buf.getvalue()


def _install(data_dir: Path, area_id: str, tmp_path: Path, **kw) -> dict:
    src = make_mbtiles(tmp_path / "area.mbtiles", bounds=BOX, zooms=(9, 10, 11, 12), tile_bytes=_coded_tile,
                       metadata={"attribution": "Test tiles 2026"}, **kw)
    folder = basemaps.area_dir(data_dir, area_id)
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / ".upload-test.mbtiles"
    tmp.write_bytes(src.read_bytes())
    import hashlib

    basemaps.install(data_dir, area_id, tmp, tmp.stat().st_size, hashlib.sha256(tmp.read_bytes()).hexdigest())
    return basemaps.current(data_dir, area_id)


def test_mosaic_puts_each_tile_at_its_longitude_and_latitude(tmp_path):
    info = _install(tmp_path / "data", "area1", tmp_path)
    box = [106.30, 17.48, 106.45, 17.64]
    picture, extent = basemaps.mosaic(info, box, max_tiles=36)
    assert extent == [106.30, 106.45, 17.48, 17.64]
    h, w, _ = picture.shape
    zoom = int(picture[h // 2, w // 2, 2]) - 40
    assert zoom == 12  # the most detailed level whose tiles under the box are at most 36
    # Points spread over the box: the pixel there is the colour of the tile that holds the point.
    for fx, fy in ((0.1, 0.1), (0.5, 0.5), (0.9, 0.2), (0.3, 0.85), (0.77, 0.66)):
        lon = box[0] + fx * (box[2] - box[0])
        lat = box[3] - fy * (box[3] - box[1])
        px = picture[min(h - 1, int(fy * h)), min(w - 1, int(fx * w))]
        x, y = lonlat_to_tile(lon, lat, zoom)
        near = {(x + dx) % 256 for dx in (-1, 0, 1)}, {(y + dy) % 256 for dy in (-1, 0, 1)}
        assert px[0] == x % 256 or px[0] in near[0], (lon, lat, px, x)
        assert px[1] == y % 256 or px[1] in near[1], (lon, lat, px, y)
    # A smaller allowance of tiles picks a coarser level.
    picture, _ = basemaps.mosaic(info, box, max_tiles=4)
    assert int(picture[picture.shape[0] // 2, picture.shape[1] // 2, 2]) - 40 < 12
    # Outside the file's tiles: nothing to draw.
    assert basemaps.mosaic(info, [10.0, 10.0, 10.1, 10.1]) is None


def test_report_map_drawn_over_the_basemap_with_its_attribution(tmp_path):
    from server.reports.render import map_figure

    info = _install(tmp_path / "data", "area1", tmp_path)
    stations = [{"kind": "camera", "name": f"S{i}", "lon": 106.31 + 0.03 * i, "lat": 17.51 + 0.02 * i,
                 "trap_nights": 10.0} for i in range(4)]
    data = SimpleNamespace(boundary=None, transects=[], stations=stations, threat_points=[], basemap=info)
    fig = map_figure(data, lambda m, **k: m)
    ax = fig.axes[0]
    assert len(ax.images) == 1 and ax.images[0].get_zorder() < 1  # under the stations
    x0, x1 = ax.get_xlim()
    assert 106.28 < x0 < 106.31 and 106.40 < x1 < 106.43  # still zoomed to the stations
    assert any(t.get_text() == "Test tiles 2026" for t in ax.texts)
    # Without a basemap (or with a file gone since), the same map without a picture.
    data.basemap = None
    assert not map_figure(data, lambda m, **k: m).axes[0].images
    data.basemap = {**info, "path": tmp_path / "gone.mbtiles"}
    assert not map_figure(data, lambda m, **k: m).axes[0].images


def _map_png(html: str):
    from PIL import Image

    uri = re.search(r'data:image/png;base64,([A-Za-z0-9+/=]+)', html).group(1)  # the map comes first
    return Image.open(io.BytesIO(base64.b64decode(uri))).convert("RGB")


def _tile_coloured(img) -> int:
    """Pixels whose blue channel is a zoom code 49..52 (the coded tiles), i.e. basemap pixels."""
    import numpy as np

    px = np.asarray(img)
    return int(((px[..., 2] >= 49) & (px[..., 2] <= 52) & (px[..., 0] < 250)).sum())


def test_api_report_and_cli_report_draw_the_area_basemap(app, client, world, survey, tmp_path, runner):
    admin = world.headers(world.user("boss", admin=True))
    url = f"/api/v1/reports/annual?area_id={survey.area_id}&year=2026&lang=vi"
    before = _map_png(client.get(url, headers=admin).get_data(as_text=True))
    assert _tile_coloured(before) < 0.01 * before.size[0] * before.size[1]  # a few anti-aliased pixels at most
    _install(Path(app.config["DATA_DIR"]), survey.area_id, tmp_path)
    after = _map_png(client.get(url, headers=admin).get_data(as_text=True))
    assert _tile_coloured(after) > 0.3 * after.size[0] * after.size[1]  # the tiles fill the plot area
    out = tmp_path / "out"
    result = runner.invoke(["report", "--area", survey.area_code, "--year", "2026", "--lang", "en",
                                 "--format", "html", "--out", str(out)])
    assert result.exit_code == 0, result.output
    html = next(out.glob("*.html")).read_text()
    assert _tile_coloured(_map_png(html)) > 0.3 * after.size[0] * after.size[1]

