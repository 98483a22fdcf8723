/* Public portal map (server/web/templates/portal_area.html): stations with the species recorded
   there, from records.geojson; sensitive stations arrive already generalised by the server (a
   dashed circle shows the cell). Text reaches the page only as DOM text nodes. */
document.addEventListener('DOMContentLoaded', function () {
  'use strict';
  const el = document.getElementById('portal-map');
  if (!el) return;
  const list = document.getElementById('portal-points');
  const popupOf = (p) => {
    const box = document.createElement('div');
    const head = document.createElement('strong');
    head.textContent = p.generalised ? el.dataset.generalisedText : el.dataset.stationText;
    box.appendChild(head);
    const ul = document.createElement('ul');
    p.species.forEach((name) => {
      const li = document.createElement('li');
      const i = document.createElement('i');
      i.textContent = name;
      li.appendChild(i);
      ul.appendChild(li);
    });
    box.appendChild(ul);
    return box;
  };
  fetch(el.dataset.url, { credentials: 'same-origin' }).then((r) => r.json()).then((geo) => {
    geo.features.forEach((f) => {
      const li = document.createElement('li');
      const [lon, lat] = f.geometry.coordinates;
      li.className = f.properties.generalised ? 'generalised' : 'exact';
      li.dataset.lat = lat; li.dataset.lon = lon;
      li.textContent = lat.toFixed(4) + ', ' + lon.toFixed(4) + ' · ' + f.properties.species.join(', ');
      list.appendChild(li);
    });
    if (el.dataset.leaflet !== 'true' || typeof L === 'undefined' || !geo.features.length) {
      el.hidden = true;
      return;
    }
    const map = L.map(el, { attributionControl: false });
    // The view first: vector layers added to a map without one break Leaflet's renderer.
    const bounds = L.latLngBounds(geo.features.map((f) => [f.geometry.coordinates[1], f.geometry.coordinates[0]]));
    map.fitBounds(bounds.pad(0.5), { maxZoom: 11 });
    L.geoJSON(geo, {
      pointToLayer: (f, latlng) => (f.properties.generalised
        ? L.circle(latlng, { radius: f.properties.uncertainty_m, color: '#b34700', dashArray: '4 4', weight: 2 })
        : L.circleMarker(latlng, { radius: 6, color: '#1f5f3a', fillOpacity: 0.8 })),
      onEachFeature: (f, l) => l.bindPopup(popupOf(f.properties)),
    }).addTo(map);
    el.dataset.ready = 'true';
  });
});
