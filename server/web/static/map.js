/* Saola area map: GeoJSON on a plain background (no tile server needed).
   Uses Leaflet when installed (server/web/vendor), else draws a simple SVG. */
document.addEventListener('DOMContentLoaded', function () {
  'use strict';
  const el = document.getElementById('map');
  const data = JSON.parse(document.getElementById('map-data').textContent);
  const tooltipText = (f) => f.properties.name + (f.properties.deployments !== undefined ? ' (' + f.properties.deployments + ')' : '');
  // Leaflet inserts a string as HTML: it gets elements built from text (and a link element).
  const textElement = (text, link) => {
    const span = document.createElement('span');
    span.textContent = text;
    if (link) span.append(document.createElement('br'), link);
    return span;
  };
  // A station opens its photos in the gallery.
  const isStation = (f) => f.properties.kind === 'location' && f.properties.id;
  const galleryUrl = (f) => el.dataset.gallery + '&location_id=' + encodeURIComponent(f.properties.id);
  const stationLink = (f) => {
    const link = document.createElement('a');
    link.href = galleryUrl(f); link.className = 'station-photos'; link.textContent = el.dataset.photosText;
    link.dataset.location = f.properties.id;
    return link;
  };
  // Stations coloured by effort (trap-nights or recorder-days): the legend below the map uses the
  // same classes and colours as the markers.
  const EFFORT = [[0, '#d9d9d9', '0'], [1, '#ffd400', '1–29'], [30, '#f08c00', '30–99'], [100, '#b34700', '≥ 100']];
  const effortClass = (f) => { let c = EFFORT[0]; EFFORT.forEach((e) => { if ((f.properties.effort || 0) >= e[0]) c = e; }); return c; };
  const legend = document.getElementById('map-legend');
  if (legend) EFFORT.forEach((e) => {
    const item = document.createElement('li');
    const dot = document.createElement('span');
    dot.className = 'dot'; dot.style.backgroundColor = e[1];
    item.append(dot, document.createTextNode(' ' + e[2]));
    legend.appendChild(item);
  });
  const popupOf = (f) => {
    const box = document.createElement('div');
    const title = document.createElement('strong'); title.textContent = f.properties.name; box.appendChild(title);
    const effort = document.createElement('div');
    effort.textContent = el.dataset.effortText + ': ' + (f.properties.effort || 0); box.appendChild(effort);
    const list = document.createElement('ul'); list.className = 'station-species';
    (f.properties.species || []).forEach((n) => { const li = document.createElement('li'); li.textContent = n; li.className = 'sci'; list.appendChild(li); });
    box.appendChild(list);
    box.appendChild(stationLink(f));
    return box;
  };
  const styleOf = (f) => ({
    boundary: { color: '#2f5d3a', weight: 2, fill: true, fillOpacity: 0.05 },
    transect: { color: '#c7772a', weight: 3 },
    track: { color: '#3a6fb0', weight: 2, dashArray: '4 4' },
  })[f.properties.kind] || { color: '#333' };

  if (window.L && el.dataset.leaflet === 'true') {
    // No tile layer, so Leaflet knows no zoom limits: set them (fitBounds on one point needs a maximum).
    const map = L.map(el, { attributionControl: false, zoomSnap: 0.25, minZoom: 3, maxZoom: 17 });
    // The area's offline basemap, served by Saola from the uploaded MBTiles (no internet tile server).
    const basemap = JSON.parse(document.getElementById('basemap-data').textContent);
    if (basemap) {
      const [w, s, e, n] = basemap.bounds;
      L.tileLayer(basemap.tile_url, { minZoom: basemap.minzoom, maxNativeZoom: basemap.maxzoom, maxZoom: 18,
        bounds: L.latLngBounds([s, w], [n, e]), className: 'basemap-tiles' }).addTo(map);
      el.dataset.basemap = 'true';
    }
    const layer = L.geoJSON(data, {
      style: styleOf,
      pointToLayer: (f, latlng) => L.circleMarker(latlng, { radius: 7, color: '#1d1d1b', fillColor: effortClass(f)[1], fillOpacity: 0.95, weight: 1 }),
      // Names are user text: Leaflet inserts a string tooltip as HTML, so hand it a text node's element.
      onEachFeature: (f, l) => {
        if (f.properties.name) l.bindTooltip(textElement(tooltipText(f)));
        if (isStation(f)) l.bindPopup(popupOf(f));
      },
    }).addTo(map);
    const b = layer.getBounds();
    if (b.isValid()) map.fitBounds(b.pad(0.15)); else map.setView([16, 106], 6);
    L.control.scale({ imperial: false }).addTo(map);
    el.dataset.ready = 'leaflet';
    el.dataset.features = String(data.features.length);
    return;
  }
  // Fallback: an equirectangular SVG sketch of the same features.
  const pts = [];
  const walk = (c) => { if (typeof c[0] === 'number') pts.push(c); else c.forEach(walk); };
  data.features.forEach((f) => walk(f.geometry.coordinates));
  const ns = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(ns, 'svg');
  svg.setAttribute('viewBox', '0 0 1000 700');
  svg.setAttribute('width', '100%'); svg.setAttribute('height', '100%');
  el.appendChild(svg);
  el.dataset.ready = 'svg';
  el.dataset.features = String(data.features.length);
  if (!pts.length) return;
  const xs = pts.map((p) => p[0]), ys = pts.map((p) => p[1]);
  const x0 = Math.min(...xs), x1 = Math.max(...xs), y0 = Math.min(...ys), y1 = Math.max(...ys);
  const s = Math.min(900 / Math.max(x1 - x0, 1e-6), 600 / Math.max(y1 - y0, 1e-6));
  const px = (p) => [50 + (p[0] - x0) * s, 650 - (p[1] - y0) * s];
  data.features.forEach((f) => {
    const g = f.geometry, st = styleOf(f);
    const line = (coords) => {
      const e = document.createElementNS(ns, 'polyline');
      e.setAttribute('points', coords.map((c) => px(c).join(',')).join(' '));
      e.setAttribute('fill', 'none'); e.setAttribute('stroke', st.color); e.setAttribute('stroke-width', st.weight || 2);
      svg.appendChild(e);
    };
    if (g.type === 'Point') {
      const c = document.createElementNS(ns, 'circle');
      const [x, y] = px(g.coordinates);
      c.setAttribute('cx', x); c.setAttribute('cy', y); c.setAttribute('r', 6); c.setAttribute('fill', '#ffd400'); c.setAttribute('stroke', '#000');
      const title = document.createElementNS(ns, 'title'); title.textContent = f.properties.name ? tooltipText(f) : ''; c.appendChild(title);
      if (isStation(f)) {
        const a = document.createElementNS(ns, 'a');
        a.setAttribute('href', galleryUrl(f)); a.setAttribute('class', 'station-photos');
        a.appendChild(c);
        svg.appendChild(a);
      } else svg.appendChild(c);
    } else if (g.type === 'LineString') line(g.coordinates);
    else if (g.type === 'MultiLineString' || g.type === 'Polygon') g.coordinates.forEach(line);
    else if (g.type === 'MultiPolygon') g.coordinates.forEach((p) => p.forEach(line));
  });

});

/* Upload the area's basemap from the page: the file is the request body of PUT
   /api/v1/areas/<id>/basemap (checked by the server); the answer's message is shown as text. */
document.addEventListener('DOMContentLoaded', function () {
  'use strict';
  const form = document.getElementById('basemap-form');
  if (!form) return;
  const status = document.getElementById('basemap-status');
  const csrf = (document.querySelector('meta[name="csrf-token"]') || {}).content || '';
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const file = document.getElementById('basemap-file').files[0];
    if (!file) return;
    status.textContent = '…';
    try {
      const r = await fetch(form.dataset.url, { method: 'PUT', body: file, credentials: 'same-origin',
        headers: { 'Content-Type': 'application/vnd.sqlite3', 'X-CSRF-Token': csrf, Accept: 'application/json' } });
      const data = await r.json().catch(() => null);
      if (!r.ok) { status.textContent = (data && data.error && data.error.message) || r.statusText; status.dataset.state = 'error'; return; }
      status.dataset.state = 'done';
      window.location.reload();
    } catch (e) { status.textContent = String(e); status.dataset.state = 'error'; }
  });
});
