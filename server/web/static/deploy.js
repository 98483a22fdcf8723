/* Deployment pages: the station picked on the map (Leaflet, offline: the area's boundary and
   stations, no tiles from the internet) or typed, and the clock-correction tool (pick a photo,
   type its true time, preview the offset on the sequences, follow the retime job).
   User text reaches the page only through textContent. */
(function () {
  'use strict';
  const $ = (id) => document.getElementById(id);

  // ---- the station on the map ------------------------------------------------------------------------
  const mapEl = $('station-map');
  const lat = $('f-latitude'), lon = $('f-longitude');
  if (mapEl && lat && lon) {
    const data = JSON.parse($('map-data').textContent);
    const read = (el) => {
      const v = parseFloat((el.value || '').trim().replace(',', '.'));
      return Number.isFinite(v) ? v : null;
    };
    if (window.L && mapEl.dataset.leaflet === 'true') {
      const map = L.map(mapEl, { attributionControl: false, zoomSnap: 0.25, minZoom: 3, maxZoom: 18 });
      if (data.basemap) {
        L.tileLayer(data.basemap.url, { maxZoom: 18, maxNativeZoom: data.basemap.maxzoom || 17 }).addTo(map);
      }
      // Layers are made first and added once the map has a view (vector layers added to a map
      // without one fail in Leaflet's renderer).
      let bounds = null;
      const layers = [];
      if (data.boundary) {
        const b = L.geoJSON({ type: 'Feature', properties: {}, geometry: data.boundary },
          { style: { color: '#2f5d3a', weight: 2, fillColor: '#2f5d3a', fillOpacity: 0.1 }, interactive: false });
        layers.push(b);
        bounds = b.getBounds();
      }
      const others = [];
      const current = ($('f-location_name') || {}).value || '';
      // Station names are user text: Leaflet gets a DOM node (a string would be parsed as HTML).
      const textElement = (text) => {
        const span = document.createElement('span');
        span.textContent = text;
        return span;
      };
      (data.stations || []).forEach((st) => {
        if (st.lat === null || st.lon === null || st.name === current) return;  // this one: the red circle
        layers.push(L.circleMarker([st.lat, st.lon], { radius: 4, color: '#6d6d66', weight: 1, fillOpacity: 0.7 })
          .bindTooltip(textElement(st.name)));
        others.push([st.lat, st.lon]);
      });
      if (!bounds && others.length) bounds = L.latLngBounds(others);
      let marker = null;
      function place(la, lo, pan) {
        if (la === null || lo === null || Math.abs(la) > 90 || Math.abs(lo) > 180) return;
        // A drawn circle, not an icon image: nothing to fetch, visible at any zoom.
        if (!marker) {
          marker = L.circleMarker([la, lo], { radius: 8, color: '#fff', weight: 2, fillColor: '#c0392b',
                                              fillOpacity: 1, interactive: false }).addTo(map);
        } else marker.setLatLng([la, lo]);
        if (pan) map.panTo([la, lo]);
        mapEl.dataset.marker = la.toFixed(6) + ',' + lo.toFixed(6);
      }
      function set(la, lo) {
        lat.value = la.toFixed(6);
        lon.value = lo.toFixed(6);
        [lat, lon].forEach((el) => el.dispatchEvent(new Event('change')));
        place(la, lo, false);
      }
      const start = [read(lat), read(lon)];
      if (start[0] !== null && start[1] !== null && Math.abs(start[0]) <= 90 && Math.abs(start[1]) <= 180) {
        // The area and the station in view (getBoundsZoom needs a view first: fitBounds instead).
        if (bounds) map.fitBounds(L.latLngBounds([bounds.getSouthWest(), bounds.getNorthEast(), start]).pad(0.08));
        else map.setView(start, 13);
        place(start[0], start[1], false);
      } else if (bounds) map.fitBounds(bounds.pad(0.08));
      else map.setView([16.0, 106.0], 6);  // Viet Nam, when the area has no boundary yet
      layers.forEach((layer) => layer.addTo(map));
      if (marker) marker.bringToFront();
      map.on('click', (e) => set(e.latlng.lat, e.latlng.lng));
      [lat, lon].forEach((el) => el.addEventListener('input', () => place(read(lat), read(lon), true)));
      L.control.scale({ imperial: false }).addTo(map);
      mapEl.dataset.ready = 'leaflet';
      // Typed coordinates: the browser says at once when one is out of range; the server checks again.
      const note = (el, max) => {
        const v = read(el);
        el.setCustomValidity(v !== null && Math.abs(v) > max ? String(max) : '');
      };
      lat.addEventListener('input', () => note(lat, 90));
      lon.addEventListener('input', () => note(lon, 180));
    } else {
      mapEl.dataset.ready = 'none';
      mapEl.classList.add('empty-map');
    }
  }

  // ---- the clock-correction tool ---------------------------------------------------------------------
  const form = $('clock-form');
  if (form) {
    const T = JSON.parse($('clock-text').textContent);
    const trueTime = $('f-true_time');
    const fmt = (s, p) => s.replace(/\{(\w+)\}/g, (m, k) => (k in p ? String(p[k]) : m));
    function picked() { return form.querySelector('input[name=media_id]:checked'); }
    function showPicked() {
      const r = picked();
      if (!r) return;
      $('picked').hidden = false;
      $('picked-img').src = r.dataset.image;
      $('picked-img').alt = r.dataset.file;
      $('picked-file').textContent = r.dataset.file;
      $('picked-camera').textContent = r.dataset.cameraTime;
      if (!trueTime.value) trueTime.value = r.dataset.cameraTime;
      form.querySelectorAll('.photo-pick li').forEach((li) => li.classList.toggle('on', li.contains(r)));
    }
    form.addEventListener('change', (e) => { if (e.target.name === 'media_id') showPicked(); });
    showPicked();
    function fieldError(name, text) {
      const input = form.querySelector('[name=' + name + ']');
      const field = input ? input.closest('.field') : null;
      if (!field) return;
      let p = field.querySelector('.field-error');
      if (!text) { if (p) p.remove(); field.classList.remove('invalid'); return; }
      if (!p) { p = document.createElement('p'); p.className = 'field-error'; p.setAttribute('role', 'alert'); field.appendChild(p); }
      p.id = 'err-' + name;
      p.textContent = text;
      field.classList.add('invalid');
    }
    function duration(o) {
      const sign = o.sign < 0 ? '−' : '+';
      const hms = [o.hours, o.minutes, o.seconds].map((n) => String(n).padStart(2, '0')).join(':');
      return sign + (o.days ? o.days + ' ' + T.days + ' ' : '') + hms;
    }
    async function preview() {
      fieldError('media_id', '');
      fieldError('true_time', '');
      const r = picked();
      const q = new URLSearchParams({ media_id: r ? r.value : '', true_time: trueTime.value });
      const resp = await fetch(form.dataset.preview + '?' + q.toString(), { credentials: 'same-origin',
                                                                            headers: { Accept: 'application/json' } });
      const data = await resp.json();
      if (!resp.ok) {
        Object.entries(data.errors || {}).forEach(([k, v]) => fieldError(k === '_form' ? 'true_time' : k, v));
        return;
      }
      $('preview').hidden = false;
      $('preview-empty').hidden = true;
      $('pv-offset').textContent = duration(data.offset);
      $('pv-seconds').textContent = Saola.num(data.offset_s, 0);
      $('pv-now').textContent = data.photo_now;
      $('pv-after').textContent = data.photo_after;
      $('pv-outside').textContent = data.outside_window_after
        ? fmt(T.outside, { n: data.outside_window_after, total: data.media_total }) : T.none_outside;
      const body = document.querySelector('#preview-table tbody');
      body.replaceChildren();
      data.sequences.forEach((sq) => {
        const tr = document.createElement('tr');
        const cells = [String(sq.media), sq.start + ' – ' + sq.end, sq.new_start + ' – ' + sq.new_end];
        cells.forEach((c, i) => { const td = document.createElement('td'); td.textContent = c; if (!i) td.className = 'num'; tr.appendChild(td); });
        body.appendChild(tr);
      });
      if (data.sequences_total > data.sequences.length) {
        const tr = document.createElement('tr');
        const td = document.createElement('td');
        td.colSpan = 3;
        td.textContent = fmt(T.more, { n: data.sequences_total - data.sequences.length });
        tr.appendChild(td);
        body.appendChild(tr);
      }
      $('preview-panel').dataset.offset = String(data.offset_s);
    }
    $('preview-clock').addEventListener('click', preview);
    trueTime.addEventListener('keydown', (e) => { if (e.key === 'Enter') { e.preventDefault(); preview(); } });
  }

  // The retime job after a correction: followed until done, then the page shows the new times.
  const jobEl = $('retime-job');
  if (jobEl && !['done', 'failed', 'cancelled'].includes(jobEl.dataset.status)) {
    const poll = async () => {
      const r = await fetch('/api/v1/jobs/' + jobEl.dataset.job, { credentials: 'same-origin', headers: { Accept: 'application/json' } });
      if (r.ok) {
        const job = await r.json();
        $('retime-state').textContent = job.status;
        $('retime-progress').textContent = job.progress_done + '/' + (job.progress_total || 0);
        jobEl.dataset.status = job.status;
        if (['done', 'failed', 'cancelled'].includes(job.status)) { window.location.reload(); return; }
      }
      setTimeout(poll, 1000);
    };
    setTimeout(poll, 500);
  }
}());
