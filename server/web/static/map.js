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
  // Stations coloured by effort (trap-nights or recorder-days) or by the RAI of one species (events
  // per 100 camera trap-nights): the legend below the map uses the same classes and colours as the markers.
  // Numbers as the page's language writes them (Vietnamese: decimal comma).
  const fmt = (v) => Saola.num(v);
  const EFFORT = [[0, '#d9d9d9', '0'], [1, '#ffd400', '1–29'], [30, '#f08c00', '30–99'], [100, '#b34700', '≥ 100']];
  const RAI = [[0, '#d9d9d9', '0'], [1e-9, '#c6dbef', '< 1'], [1, '#6baed6', '1–' + fmt(4.9)],
    [5, '#2171b5', '5–' + fmt(19.9)], [20, '#08306b', '≥ 20']];
  const NO_CAMERA = '#ffffff';
  const choice = document.getElementById('map-colour');
  const colourBy = () => (choice ? choice.value : '');
  const classOf = (classes, v) => { let c = classes[0]; classes.forEach((e) => { if (v >= e[0]) c = e; }); return c; };
  const valueOf = (f) => {
    const sp = colourBy();
    if (!sp) return f.properties.effort || 0;
    if (!(f.properties.camera_nights > 0)) return null; // RAI needs camera effort
    return (f.properties.rai || {})[sp] || 0;
  };
  const markerColour = (f) => {
    const v = valueOf(f);
    if (v === null) return NO_CAMERA;
    return classOf(colourBy() ? RAI : EFFORT, v)[1];
  };
  const legend = document.getElementById('map-legend');
  const legendTitle = document.getElementById('map-legend-title');
  const drawLegend = () => {
    if (!legend) return;
    legend.replaceChildren();
    const sp = colourBy();
    const rows = (sp ? RAI : EFFORT).map((e) => [e[1], e[2]]);
    if (sp) rows.push([NO_CAMERA, el.dataset.noCameraText]);
    rows.forEach((r) => {
      const item = document.createElement('li');
      const dot = document.createElement('span');
      dot.className = 'dot'; dot.style.backgroundColor = r[0];
      item.append(dot, document.createTextNode(' ' + r[1]));
      legend.appendChild(item);
    });
    if (legendTitle) {
      legendTitle.replaceChildren();
      if (sp) {
        const name = document.createElement('i'); name.textContent = sp;
        legendTitle.append(document.createTextNode(el.dataset.raiText + ': '), name);
      } else legendTitle.textContent = el.dataset.effortText;
    }
    el.dataset.colourBy = sp || 'effort';
  };
  drawLegend();
  // The station's last photos, asked for when its popup opens (thumbnails through the review pages'
  // image route: the access-scope helper and the privacy policy decide what is shown).
  const loadPhotos = (f, holder, marker) => {
    if (holder.dataset.state) return;
    holder.dataset.state = 'loading';
    const url = el.dataset.photosUrl.replace('__LOC__', encodeURIComponent(f.properties.id));
    fetch(url, { credentials: 'same-origin', headers: { Accept: 'application/json' } })
      .then((r) => (r.ok ? r.json() : Promise.reject(new Error(r.statusText))))
      .then((photos) => {
        holder.replaceChildren();
        if (!photos.length) {
          const none = document.createElement('div'); none.className = 'hint'; none.textContent = el.dataset.noPhotosText;
          holder.appendChild(none);
        }
        photos.forEach((p) => {
          const fig = document.createElement('figure'); fig.className = 'station-photo';
          const img = document.createElement('img');
          img.src = p.thumb; img.alt = p.file_name; img.loading = 'lazy'; img.width = 112;
          const cap = document.createElement('figcaption'); cap.textContent = p.time;
          fig.append(img, cap);
          holder.appendChild(fig);
        });
        holder.dataset.state = 'done';
        holder.dataset.count = String(photos.length);
        // The popup grew: lay it out again, which also pans the map to show all of it.
        if (marker && marker.isPopupOpen()) marker.getPopup().update();
      })
      .catch((e) => { holder.textContent = String(e.message || e); holder.dataset.state = 'error'; });
  };
  const popupOf = (f, marker) => {
    const box = document.createElement('div');
    box.className = 'station-popup';
    const title = document.createElement('strong'); title.textContent = f.properties.name; box.appendChild(title);
    const effort = document.createElement('div');
    effort.textContent = el.dataset.effortText + ': ' + fmt(f.properties.effort || 0); box.appendChild(effort);
    const sp = colourBy();
    if (sp) {
      const rai = document.createElement('div');
      const v = valueOf(f);
      const name = document.createElement('i'); name.textContent = sp;
      rai.append(document.createTextNode(el.dataset.raiText + ' '), name,
        document.createTextNode(': ' + (v === null ? el.dataset.noCameraText : fmt(v))));
      box.appendChild(rai);
    }
    const list = document.createElement('ul'); list.className = 'station-species';
    (f.properties.species || []).forEach((n) => { const li = document.createElement('li'); li.textContent = n; li.className = 'sci'; list.appendChild(li); });
    box.appendChild(list);
    const photos = document.createElement('div'); photos.className = 'station-photos-list';
    box.appendChild(photos);
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
      pointToLayer: (f, latlng) => L.circleMarker(latlng, { radius: 7, color: '#1d1d1b', fillColor: markerColour(f), fillOpacity: 0.95, weight: 1 }),
      // Names are user text: Leaflet inserts a string tooltip as HTML, so hand it a text node's element.
      onEachFeature: (f, l) => {
        if (f.properties.name) l.bindTooltip(textElement(tooltipText(f)));
        if (isStation(f)) {
          l.bindPopup(popupOf(f, l), { minWidth: 240, maxWidth: 400 });
          // Asked for each time the popup opens (new photos arrive while the page is open).
          l.on('popupopen', () => {
            const holder = l.getPopup().getElement().querySelector('.station-photos-list');
            if (holder && holder.dataset.state !== 'loading') { delete holder.dataset.state; loadPhotos(f, holder, l); }
          });
        }
      },
    }).addTo(map);
    if (choice) choice.addEventListener('change', () => {
      layer.eachLayer((l) => {
        if (!(l.feature && l.feature.geometry.type === 'Point')) return;
        l.setStyle({ fillColor: markerColour(l.feature) });
        if (isStation(l.feature)) l.setPopupContent(popupOf(l.feature, l));
      });
      map.closePopup();
      drawLegend();
    });
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
      c.setAttribute('cx', x); c.setAttribute('cy', y); c.setAttribute('r', 6); c.setAttribute('fill', markerColour(f)); c.setAttribute('stroke', '#000');
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
