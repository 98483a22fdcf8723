/* Administration pages: the area chooser, the boundary preview map, the species list pickers,
   copy buttons and confirmations. User text reaches the page only through textContent. */
document.documentElement.classList.add('js');
document.addEventListener('DOMContentLoaded', function () {
  'use strict';
  const $ = (id) => document.getElementById(id);

  // The side menu's area chooser opens the same page for the chosen area.
  const sw = $('switch-area');
  if (sw) sw.addEventListener('change', () => { if (sw.value) sw.form.submit(); });

  // Buttons that change something irreversible ask first (data-confirm holds the question).
  document.querySelectorAll('form[data-confirm]').forEach((form) => {
    form.addEventListener('submit', (e) => { if (!window.confirm(form.dataset.confirm)) e.preventDefault(); });
  });

  // Copy buttons (invite and reset links).
  document.querySelectorAll('button[data-copy]').forEach((b) => {
    b.addEventListener('click', async () => {
      const field = $(b.dataset.copy);
      field.select();
      try { await navigator.clipboard.writeText(field.value); } catch (e) { document.execCommand('copy'); }
      b.textContent = b.dataset.copied || b.textContent;
    });
  });

  // Boundary preview: Leaflet with the area's own offline basemap (MBTiles served by Saola) if any.
  const mapEl = $('boundary-map');
  const dataEl = $('boundary-data');
  if (mapEl && dataEl) {
    const data = JSON.parse(dataEl.textContent);
    if (window.L && mapEl.dataset.leaflet === 'true' && data.boundary) {
      const map = L.map(mapEl, { attributionControl: false, zoomSnap: 0.25, minZoom: 3, maxZoom: 17 });
      if (data.basemap) {
        L.tileLayer(data.basemap.url, { minZoom: data.basemap.minzoom || 0, maxZoom: 17,
          maxNativeZoom: data.basemap.maxzoom || 17 }).addTo(map);
      }
      const layer = L.geoJSON({ type: 'Feature', properties: {}, geometry: data.boundary },
        { style: { color: '#2f5d3a', weight: 2, fillColor: '#2f5d3a', fillOpacity: 0.12 } }).addTo(map);
      map.fitBounds(layer.getBounds().pad(0.08));
      L.control.scale({ imperial: false }).addTo(map);
      mapEl.dataset.ready = 'leaflet';
    } else if (data.boundary) {
      mapEl.dataset.ready = 'none';
    }
  }

  // Species lists: the textarea (one name per line) stays the form's value; a search box adds
  // names from the species reference (any name, diacritics optional) and chips remove them.
  document.querySelectorAll('.species-field').forEach((field) => {
    const area = field.querySelector('textarea.names');
    if (!area || !window.Saola) return;
    const max = parseInt(field.dataset.max || '0', 10);
    const names = () => area.value.split('\n').map((s) => s.trim()).filter(Boolean);
    const wrap = document.createElement('div');
    wrap.className = 'picker';
    const input = document.createElement('input');
    input.type = 'search';
    input.id = area.id + '-search';
    input.placeholder = field.dataset.placeholder || area.dataset.placeholder || '';
    input.setAttribute('autocomplete', 'off');
    input.setAttribute('aria-label', field.querySelector('label').textContent);
    const list = document.createElement('ul');
    list.className = 'choices';
    list.hidden = true;
    wrap.append(input, list);
    const chips = document.createElement('ul');
    chips.className = 'chips';
    chips.id = area.id + '-chips';
    function render() {
      chips.replaceChildren();
      names().forEach((n) => {
        const li = document.createElement('li');
        const span = document.createElement('span');
        span.textContent = n;
        const x = document.createElement('button');
        x.type = 'button';
        x.textContent = '×';
        x.setAttribute('aria-label', (field.dataset.remove || 'Remove') + ' ' + n);
        x.addEventListener('click', () => { area.value = names().filter((m) => m !== n).join('\n'); render(); });
        li.append(span, x);
        chips.appendChild(li);
      });
    }
    const picker = window.Saola.speciesPicker(input, (t) => {
      if (!t) return;
      const now = names();
      if (!now.includes(t.scientific_name) && (!max || now.length < max)) now.push(t.scientific_name);
      area.value = now.join('\n');
      picker.clear();
      render();
      setTimeout(() => input.focus(), 0);
    });
    area.hidden = true;
    area.after(wrap, chips);
    render();
  });
});
