/* Saola: helpers shared by the pages' scripts (API calls with CSRF, species picker).
   User text reaches the page only through textContent / text nodes, never as HTML. */
(function () {
  'use strict';
  const csrfMeta = document.querySelector('meta[name="csrf-token"]');
  const csrf = csrfMeta ? csrfMeta.content : '';

  async function api(method, path, body) {
    const opt = { method: method, headers: { 'Accept': 'application/json' }, credentials: 'same-origin' };
    if (method !== 'GET') opt.headers['X-CSRF-Token'] = csrf;
    if (body !== undefined) {
      opt.headers['Content-Type'] = 'application/json';
      opt.body = JSON.stringify(body);
    }
    const r = await fetch('/api/v1' + path, opt);
    const data = r.status === 204 ? null : await r.json().catch(() => null);
    if (!r.ok) {
      const err = new Error((data && data.error && data.error.message) || r.statusText);
      err.status = r.status;
      throw err;
    }
    return data;
  }

  function taxonName(t) {
    if (!t) return '';
    const vi = document.documentElement.lang === 'vi';
    const common = vi ? (t.vietnamese_name || t.english_name) : (t.english_name || t.vietnamese_name);
    return common ? common + ' (' + t.scientific_name + ')' : t.scientific_name;
  }

  /* A species search box: types any name (diacritics optional), arrows pick, Enter chooses. */
  function speciesPicker(input, onChoose) {
    const list = input.parentElement.querySelector('.choices');
    let items = [], active = -1, timer = null, seq = 0;
    function render() {
      list.replaceChildren();
      items.forEach((t, i) => {
        const li = document.createElement('li');
        li.textContent = taxonName(t);
        li.dataset.id = t.id;
        if (i === active) li.className = 'active';
        li.addEventListener('mousedown', (e) => { e.preventDefault(); choose(i); });
        list.appendChild(li);
      });
      list.hidden = items.length === 0;
    }
    function choose(i) {
      const t = items[i];
      if (!t) return;
      items = []; active = -1; render();
      input.value = t.scientific_name;
      onChoose(t);
    }
    async function search() {
      const q = input.value.trim();
      const mine = ++seq;
      if (!q) { items = []; render(); return; }
      try {
        const page = await api('GET', '/taxa?limit=10&q=' + encodeURIComponent(q));
        if (mine !== seq) return;
        items = page.items; active = items.length ? 0 : -1; render();
      } catch (e) { items = []; render(); }
    }
    input.addEventListener('input', () => { clearTimeout(timer); timer = setTimeout(search, 120); });
    input.addEventListener('keydown', (e) => {
      if (e.key === 'ArrowDown') { active = Math.min(items.length - 1, active + 1); render(); e.preventDefault(); }
      else if (e.key === 'ArrowUp') { active = Math.max(0, active - 1); render(); e.preventDefault(); }
      else if (e.key === 'Enter') {
        e.preventDefault(); e.stopPropagation();
        if (active >= 0) choose(active); else if (!input.value.trim()) onChoose(null);
        input.blur();
      } else if (e.key === 'Escape') { items = []; render(); input.blur(); e.stopPropagation(); }
    });
    input.addEventListener('blur', () => setTimeout(() => { items = []; render(); }, 150));
    return { clear() { input.value = ''; items = []; render(); } };
  }

  /* Boxes drawn by the server (data-box="left top width height", in %) are placed here:
     the Content-Security-Policy refuses style attributes, not styles set through the DOM. */
  function placeBoxes(root) {
    (root || document).querySelectorAll('[data-box]').forEach((el) => {
      const [l, t, w, h] = el.dataset.box.split(' ').map(Number);
      Object.assign(el.style, { left: l + '%', top: t + '%', width: w + '%', height: h + '%' });
    });
  }
  document.addEventListener('DOMContentLoaded', () => placeBoxes());

  // Thumbnails still being made in the background (server/ingest/jobs.py) come as a 320x240
  // placeholder marked X-Saola-Pending: the grid, gallery and review ask again until the image is there.
  const PENDING_W = 320, PENDING_H = 240, PENDING_EVERY_MS = 3000, PENDING_TRIES = 200;
  document.addEventListener('load', (e) => {
    const img = e.target;
    if (!(img instanceof HTMLImageElement) || img.naturalWidth !== PENDING_W || img.naturalHeight !== PENDING_H) return;
    const src = img.currentSrc || img.src;
    if (!src || new URL(src, location.href).origin !== location.origin) return;
    fetch(src, { method: 'HEAD', credentials: 'same-origin', cache: 'no-store' }).then((r) => {
      if (r.headers.get('X-Saola-Pending') !== '1') return;
      const tries = Number(img.dataset.pendingTries || 0) + 1;
      if (tries > PENDING_TRIES) return;
      img.dataset.pendingTries = String(tries);
      img.classList.add('pending');
      setTimeout(() => {
        if ((img.currentSrc || img.src) !== src) return;  // the page showed another image meanwhile
        const u = new URL(src, location.href);
        u.searchParams.set('pending', String(tries));
        img.src = u.toString();
      }, PENDING_EVERY_MS);
    }).catch(() => { /* offline: the placeholder stays */ });
  }, true);

  /* A number as the page's language writes it (Vietnamese 1.234,5; English 1,234.5), as the server's
     |num filter does (babel): ``decimals`` fixed, else up to three. */
  function num(v, decimals) {
    const locale = document.documentElement.lang === 'vi' ? 'vi-VN' : 'en-GB';
    const o = decimals === undefined ? { maximumFractionDigits: 3 }
      : { minimumFractionDigits: decimals, maximumFractionDigits: decimals };
    return new Intl.NumberFormat(locale, o).format(v);
  }

  window.Saola = { api: api, taxonName: taxonName, speciesPicker: speciesPicker, placeBoxes: placeBoxes, num: num };
})();
