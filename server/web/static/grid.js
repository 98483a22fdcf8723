/* Saola thumbnail grid and gallery: keyset pages of tiles, selection with mouse and keyboard,
   bulk actions (one undoable action each). Talks to /api/v1/review/grid, /review/bulk, /review/undo.
   User text reaches the page only through textContent, never as HTML. */
(function () {
  'use strict';
  const S = window.Saola;
  const T = JSON.parse(document.getElementById('grid-text').textContent);
  const t = (s) => T[s] || s;
  const fill = (s, v) => Object.keys(v).reduce((acc, k) => acc.split('{' + k + '}').join(String(v[k])), t(s));
  const $ = (id) => document.getElementById(id);
  const root = $('gridpage');
  const gridEl = $('grid');
  const canEditPage = root.dataset.canEdit === 'true';
  const store = window.localStorage;

  const state = {
    tiles: [], mode: 'media', canEdit: false, cursor: -1, anchor: -1,
    selected: new Map(),   // id -> version, kept across pages
    pageAfter: null, next: null, prev: null, index: 0, total: null, more: false,
    taxon: null, busy: false, threshold: 0.2,
  };

  function say(msg, bad) {
    const el = $('status');
    el.textContent = msg;
    el.className = 'status' + (bad ? ' bad' : ' good');
  }

  // ---- filters -------------------------------------------------------------------------------------
  function filterParams() {
    const p = new URLSearchParams();
    const fd = new FormData($('filters'));
    const hours = fd.get('time_of_day') === 'hours';
    for (const [k, v] of fd.entries()) {
      if (v === '') continue;
      if (k === 'time_of_day' && hours) continue;
      if ((k === 'hour_from' || k === 'hour_to') && !hours) continue;
      if (k === 'date_from') p.append(k, v + 'T00:00:00+07:00');
      else if (k === 'date_to') p.append(k, v + 'T23:59:59+07:00');
      else p.append(k, v);
    }
    return p;
  }

  // Active filters look like chips, each with a button that puts it back to its default.
  const DEFAULTS = { review_status: root.dataset.kind === 'grid' ? 'unreviewed' : 'any', mode: 'media',
    species_source: 'any' };

  function chipOn(chip) {
    return [...chip.querySelectorAll('input, select')].some((el) => {
      if (el.id === 'f-species' || el.name === 'species_source') return false;  // the chosen id is f-taxon
      if (el.type === 'checkbox') return el.checked;
      if (el.name === 'time_of_day' && el.value === 'hours') return $('f-hour-from').value !== '';
      return el.value !== '' && el.value !== (DEFAULTS[el.name] || '');
    });
  }

  function unsetChip(chip) {
    chip.querySelectorAll('input, select').forEach((el) => {
      if (el.type === 'checkbox') el.checked = false;
      else el.value = DEFAULTS[el.name] || '';
    });
    $('filters').requestSubmit();
  }

  function markChips() {
    document.querySelectorAll('#filters .chip').forEach((chip) => {
      const on = chipOn(chip);
      chip.classList.toggle('on', on);
      let x = chip.querySelector('.unset');
      if (on && !x) {
        x = document.createElement('button');
        x.type = 'button'; x.className = 'unset'; x.textContent = '×'; x.title = t('remove this filter');
        x.addEventListener('click', (e) => { e.preventDefault(); unsetChip(chip); });
        chip.appendChild(x);
      } else if (!on && x) x.remove();
    });
  }

  // ---- loading pages ---------------------------------------------------------------------------------
  function pageParams() {
    const p = filterParams();
    p.set('limit', $('page-size').value);
    return p;
  }

  async function load(where) {
    const p = pageParams();
    if (where && where.after) p.set('after', where.after);
    if (where && where.before) p.set('before', where.before);
    gridEl.setAttribute('aria-busy', 'true');
    try {
      const r = await S.api('GET', '/review/grid?' + p.toString());
      state.mode = r.mode; state.canEdit = r.can_edit && canEditPage;
      state.tiles = r.items; state.next = r.next_cursor; state.prev = r.prev_cursor;
      state.pageAfter = where && where.after ? where.after : (where && where.before ? 'before:' + where.before : null);
      state.cursor = state.tiles.length ? Math.min(Math.max(state.cursor, 0), state.tiles.length - 1) : -1;
      state.anchor = state.cursor;
      render();
    } catch (e) {
      say(t('Error') + ': ' + e.message, true);
    } finally { gridEl.removeAttribute('aria-busy'); }
  }

  async function loadCount() {
    try {
      const r = await S.api('GET', '/review/grid/count?' + filterParams().toString());
      state.total = r.count; state.more = r.more;
    } catch (e) { state.total = null; }
    drawRange();
  }

  function reloadSamePage() {
    if (state.pageAfter && state.pageAfter.startsWith('before:')) return load({ before: state.pageAfter.slice(7) });
    return load(state.pageAfter ? { after: state.pageAfter } : null);
  }

  function drawRange() {
    const n = state.tiles.length;
    const size = parseInt($('page-size').value, 10);
    const from = n ? state.index * size + 1 : 0, to = state.index * size + n;
    let text = '';
    if (state.total !== null) {
      text = fill(state.more ? '{from}–{to} of more than {total}' : '{from}–{to} of {total}',
        { from: from, to: to, total: Saola.num(state.total) });
      text += ' ' + t(state.mode === 'sequence' ? 'sequences' : 'photos');
    }
    $('range').textContent = text;
    $('range').dataset.count = n;
    $('page-prev').disabled = !state.prev;
    $('page-next').disabled = !state.next;
  }

  // ---- tiles -----------------------------------------------------------------------------------------
  const RATIO = 4 / 3;  // tile pictures are 4:3; the photo sits inside, boxes over the photo itself

  function placeFrame(frame, w, h) {
    if (!w || !h) return;
    const a = w / h;
    const fw = a >= RATIO ? 100 : (a / RATIO) * 100;
    const fh = a >= RATIO ? (RATIO / a) * 100 : 100;
    Object.assign(frame.style, { width: fw + '%', height: fh + '%', left: (100 - fw) / 2 + '%', top: (100 - fh) / 2 + '%' });
  }

  function taxonShort(tx) {
    if (!tx) return '';
    const vi = document.documentElement.lang === 'vi';
    return (vi ? tx.vietnamese_name || tx.english_name : tx.english_name || tx.vietnamese_name) || tx.scientific_name;
  }

  function labelText(l) {
    const what = l.taxon ? taxonShort(l.taxon) : t(l.observation_type) || l.observation_type;
    return what + (l.count && l.count > 1 ? ' ×' + l.count : '');
  }

  function drawBoxes(tile, holder) {
    holder.replaceChildren();
    tile.boxes.forEach((b) => {
      if (!b.human && b.confidence < state.threshold) return;
      const el = document.createElement('div');
      el.className = 'box ' + b.category + (b.human ? ' human' : '');
      Object.assign(el.style, { left: b.bbox[0] * 100 + '%', top: b.bbox[1] * 100 + '%',
        width: b.bbox[2] * 100 + '%', height: b.bbox[3] * 100 + '%' });
      holder.appendChild(el);
    });
  }

  function tileEl(tile, i) {
    const fig = document.createElement('figure');
    fig.className = 'tile ' + tile.review_status;
    fig.dataset.id = tile.id; fig.dataset.index = i; fig.dataset.status = tile.review_status;
    fig.setAttribute('role', 'option');
    const pic = document.createElement('div');
    pic.className = 'pic';
    const frame = document.createElement('div');
    frame.className = 'frame';
    if (tile.thumb) {
      const img = document.createElement('img');
      img.src = tile.thumb; img.alt = tile.file_name || ''; img.loading = 'lazy'; img.draggable = false;
      img.addEventListener('load', () => { if (!tile.width) placeFrame(frame, img.naturalWidth, img.naturalHeight); });
      img.addEventListener('error', () => { img.remove(); frame.classList.add('noimg'); });
      frame.appendChild(img);
    } else {
      frame.classList.add('noimg');
      const span = document.createElement('span');
      span.textContent = (tile.kind === 'video' ? '▶ ' + t('video') + ' · ' + t('no poster frame') : tile.file_name || '');
      frame.appendChild(span);
    }
    const boxes = document.createElement('div');
    boxes.className = 'boxes';
    frame.appendChild(boxes);
    drawBoxes(tile, boxes);
    placeFrame(frame, tile.width || 4, tile.height || 3);
    pic.appendChild(frame);
    const badges = document.createElement('div');
    badges.className = 'badges';
    const check = document.createElement('span');
    check.className = 'check'; check.textContent = '✓';
    badges.appendChild(check);
    if (tile.favorite) {
      const star = document.createElement('span');
      star.className = 'star'; star.textContent = '★'; star.title = t('favourite');
      badges.appendChild(star);
    }
    if (tile.kind === 'video') {
      const v = document.createElement('span'); v.className = 'video'; v.textContent = '▶'; badges.appendChild(v);
    }
    if (tile.media_count > 1) {
      const n = document.createElement('span'); n.className = 'n'; n.textContent = tile.media_count + ' ' + t('images');
      badges.appendChild(n);
    }
    pic.appendChild(badges);
    fig.appendChild(pic);
    const cap = document.createElement('figcaption');
    const what = document.createElement('span');
    what.className = 'what';
    if (tile.labels.length) {
      what.textContent = tile.labels.map(labelText).join(', ');
      what.classList.add('person');
    } else if (tile.machine) {
      what.textContent = (tile.machine.taxon ? taxonShort(tile.machine.taxon) : tile.machine.label || t(tile.machine.category)) +
        ' ' + Math.round(tile.machine.confidence * 100) + '%';
      what.classList.add('machine');
      what.title = t('machine');
    } else what.textContent = '—';
    const status = document.createElement('span');
    status.className = 'state ' + tile.review_status;
    status.textContent = t(tile.review_status);
    // The station and the local time with its zone on lines of their own: at 200 px a tile cut
    // "S01 · 2026-03-02 06:15:0…" short, losing the seconds and the zone.
    const where = document.createElement('span');
    where.className = 'where';
    where.textContent = tile.location || '';
    const when = document.createElement('time');
    when.className = 'when';
    when.dateTime = tile.captured_at || '';
    when.textContent = tile.captured_at_local || '';
    if (tile.captured_at_raw) when.title = t('Camera clock') + ': ' + tile.captured_at_raw.replace('T', ' ');
    cap.append(what, status, where, when);
    if (tile.flags.length) {
      const fl = document.createElement('span');
      fl.className = 'flags';
      fl.textContent = '⚑ ' + tile.flags.map((f) => t(f.replace('_', ' '))).join(', ');
      cap.appendChild(fl);
    }
    fig.appendChild(cap);
    return fig;
  }

  function render() {
    gridEl.replaceChildren(...state.tiles.map(tileEl));
    gridEl.dataset.mode = state.mode;
    $('grid-empty').hidden = state.tiles.length > 0;
    $('grid-empty').textContent = t('No photos match this filter.');
    root.classList.toggle('readonly', !state.canEdit);
    $('bulkbar').hidden = !canEditPage;
    drawSelection();
    drawRange();
  }

  function tileNodes() { return gridEl.querySelectorAll('.tile'); }

  function drawSelection() {
    tileNodes().forEach((el, i) => {
      const sel = state.selected.has(el.dataset.id);
      el.classList.toggle('selected', sel);
      el.setAttribute('aria-selected', sel ? 'true' : 'false');
      el.classList.toggle('cursor', i === state.cursor);
    });
    const n = state.selected.size;
    const here = state.tiles.filter((x) => state.selected.has(x.id)).length;
    let text = fill('{n} selected', { n: n });
    if (n > here) text += ' (' + fill('{n} on other pages', { n: n - here }) + ')';
    $('sel-count').textContent = text;
    $('sel-count').dataset.n = n;
    root.classList.toggle('has-selection', n > 0);
  }

  // ---- selection -----------------------------------------------------------------------------------------
  function select(i, on) {
    const x = state.tiles[i];
    if (!x) return;
    if (on === undefined ? !state.selected.has(x.id) : on) state.selected.set(x.id, x.version);
    else state.selected.delete(x.id);
  }

  function selectRange(a, b, add) {
    if (!add) clearPage();
    const [lo, hi] = a <= b ? [a, b] : [b, a];
    for (let i = lo; i <= hi; i++) select(i, true);
  }

  function clearPage() { state.tiles.forEach((x) => state.selected.delete(x.id)); }

  function clearAll() { state.selected.clear(); drawSelection(); }

  function clickTile(i, e) {
    if (e.shiftKey && state.anchor >= 0) selectRange(state.anchor, i, e.ctrlKey || e.metaKey);
    else if (e.ctrlKey || e.metaKey) { select(i); state.anchor = i; }
    else { state.selected.clear(); select(i, true); state.anchor = i; }
    state.cursor = i;
    drawSelection();
    gridEl.focus({ preventScroll: true });
  }

  // A drag that starts anywhere in the grid draws a selection rectangle; without movement it is a click.
  gridEl.addEventListener('mousedown', (e) => {
    if (e.button !== 0) return;
    const start = [e.clientX, e.clientY];
    const tileNode = e.target.closest('.tile');
    const startIndex = tileNode ? parseInt(tileNode.dataset.index, 10) : -1;
    const add = e.ctrlKey || e.metaKey || e.shiftKey;
    const before = new Map(state.selected);
    let lasso = null;
    e.preventDefault();
    function move(ev) {
      const dx = ev.clientX - start[0], dy = ev.clientY - start[1];
      if (!lasso && Math.hypot(dx, dy) < 6) return;
      if (!lasso) { lasso = document.createElement('div'); lasso.className = 'lasso'; lasso.id = 'lasso'; document.body.appendChild(lasso); }
      const l = Math.min(ev.clientX, start[0]), tp = Math.min(ev.clientY, start[1]);
      const r = Math.max(ev.clientX, start[0]), b = Math.max(ev.clientY, start[1]);
      Object.assign(lasso.style, { left: l + 'px', top: tp + 'px', width: (r - l) + 'px', height: (b - tp) + 'px' });
      state.selected = new Map(add ? before : [...before].filter(([id]) => !state.tiles.some((x) => x.id === id)));
      let last = -1;
      tileNodes().forEach((el, i) => {
        const q = el.getBoundingClientRect();
        if (q.right >= l && q.left <= r && q.bottom >= tp && q.top <= b) { select(i, true); last = i; }
      });
      if (last >= 0) state.cursor = last;
      drawSelection();
    }
    function up(ev) {
      document.removeEventListener('mousemove', move);
      document.removeEventListener('mouseup', up);
      if (lasso) { lasso.remove(); if (state.cursor >= 0) state.anchor = state.cursor; gridEl.focus({ preventScroll: true }); }
      else if (startIndex >= 0) clickTile(startIndex, ev);
      else gridEl.focus({ preventScroll: true });
    }
    document.addEventListener('mousemove', move);
    document.addEventListener('mouseup', up);
  });

  function columns() {
    const nodes = tileNodes();
    if (nodes.length < 2) return 1;
    const top = nodes[0].getBoundingClientRect().top;
    let n = 0;
    for (const el of nodes) { if (Math.abs(el.getBoundingClientRect().top - top) > 2) break; n++; }
    return Math.max(1, n);
  }

  function moveCursor(delta, extend) {
    if (!state.tiles.length) return;
    const from = state.cursor < 0 ? 0 : state.cursor;
    const to = Math.min(state.tiles.length - 1, Math.max(0, (state.cursor < 0 ? -delta : from) + delta));
    state.cursor = to;
    if (extend) { if (state.anchor < 0) state.anchor = from; selectRange(state.anchor, to, false); }
    else state.anchor = to;
    drawSelection();
    const el = tileNodes()[to];
    if (el) el.scrollIntoView({ block: 'nearest' });
  }

  // ---- bulk actions ----------------------------------------------------------------------------------------
  const DONE = { blank: 'Marked {n} blank.', human: 'Marked {n} as human.', vehicle: 'Marked {n} as vehicle.',
    unidentifiable: 'Marked {n} unidentifiable.', delete_boxes: 'Deleted the boxes of {n}.',
    favorite: 'Added {n} to the favourites.', unfavorite: 'Removed {n} from the favourites.' };

  async function bulk(action) {
    if (!state.canEdit) { say(t('Read only: you cannot change labels here'), true); return; }
    if (!state.selected.size) { say(t('Select some tiles first'), true); return; }
    if (state.busy) return;
    const body = { mode: state.mode, action: action,
      items: [...state.selected].map(([id, version]) => ({ id: id, version: version })) };
    if (action === 'species') {
      if (!state.taxon) { say(t('Choose a species first'), true); $('bulk-species').focus(); return; }
      body.taxon_id = state.taxon.id;
    }
    if (['species', 'human', 'vehicle', 'unidentifiable'].includes(action)) {
      const c = parseInt($('bulk-count').value, 10);
      if (c > 1) body.count = c;
    }
    state.busy = true;
    say(t('Working…'));
    try {
      const r = await S.api('POST', '/review/bulk', body);
      let text = action === 'species' ? fill('Labelled {n} as {what}.', { n: r.applied, what: taxonShort(state.taxon) })
        : fill(DONE[action], { n: r.applied });
      if (r.skipped_count) text += ' ' + fill('{n} changed since the page was loaded and were left as they are.', { n: r.skipped_count });
      state.selected.clear();
      await reloadSamePage();
      say(text, r.skipped_count > 0);
      $('status').dataset.applied = r.applied; $('status').dataset.skipped = r.skipped_count;
      loadCount();
    } catch (e) { say(t('Error') + ': ' + e.message, true); }
    finally { state.busy = false; }
  }

  async function undo() {
    if (!state.canEdit || state.busy) return;
    state.busy = true;
    try {
      const r = await S.api('POST', '/review/undo');
      let text = r.restored !== undefined ? fill('Undone: {n} restored.', { n: r.restored }) : t('Undone');
      if (r.not_restored_count) text += ' ' + fill('{n} were changed since and keep that change.', { n: r.not_restored_count });
      await reloadSamePage();
      say(text, r.not_restored_count > 0);
      $('status').dataset.undone = r.action_id;
      loadCount();
    } catch (e) { say(e.status === 404 ? t('Nothing to undo') : t('Error') + ': ' + e.message, true); }
    finally { state.busy = false; }
  }

  function setTaxon(tx) {
    state.taxon = tx;
    $('bulk-chosen').textContent = tx ? S.taxonName(tx) : '';
    $('bulk-chosen').dataset.taxonId = tx ? tx.id : '';
    $('bulk-species').value = tx ? S.taxonName(tx) : '';
    $('bulk-species').title = tx ? S.taxonName(tx) : '';
    $('bulk-species').classList.toggle('chosen-set', !!tx);
  }

  // ---- keyboard -----------------------------------------------------------------------------------------------
  document.addEventListener('keydown', (e) => {
    const tag = (e.target.tagName || '').toLowerCase();
    if (tag === 'input' || tag === 'textarea' || tag === 'select') {
      if (e.key === 'Escape') { e.target.blur(); gridEl.focus({ preventScroll: true }); e.preventDefault(); }
      return;
    }
    if (e.target.closest && e.target.closest('#filters')) return;
    const k = e.key;
    const cols = columns();
    let handled = true;
    if ((e.ctrlKey || e.metaKey) && (k === 'a' || k === 'A')) { state.tiles.forEach((x, i) => select(i, true)); drawSelection(); }
    else if ((e.ctrlKey || e.metaKey) && (k === 'z' || k === 'Z')) undo();
    else if (e.ctrlKey || e.metaKey || e.altKey) handled = false;
    else if (k === 'ArrowRight') moveCursor(1, e.shiftKey);
    else if (k === 'ArrowLeft') moveCursor(-1, e.shiftKey);
    else if (k === 'ArrowDown') moveCursor(cols, e.shiftKey);
    else if (k === 'ArrowUp') moveCursor(-cols, e.shiftKey);
    else if (k === 'Home') moveCursor(-state.tiles.length, e.shiftKey);
    else if (k === 'End') moveCursor(state.tiles.length, e.shiftKey);
    else if (k === ' ') { if (state.cursor < 0) state.cursor = 0; select(state.cursor); state.anchor = state.cursor; drawSelection(); }
    else if (k === 'Escape') clearAll();
    else if (k === 'Enter') bulk('species');
    else if (k === 'b' || k === '0') bulk('blank');
    else if (k === 'h') bulk('human');
    else if (k === 'v') bulk('vehicle');
    else if (k === 'x') bulk('unidentifiable');
    else if (k === 'Delete') bulk('delete_boxes');
    else if (k === 'f') bulk('favorite');
    else if (k === 'F') bulk('unfavorite');
    else if (k === 'u') undo();
    else if (k === 's' || k === '/') $('bulk-species').focus();
    else if (k === 'n' || k === 'PageDown') nextPage();
    else if (k === 'p' || k === 'PageUp') prevPage();
    else handled = false;
    if (handled) e.preventDefault();
  });

  async function nextPage() {
    if (!state.next) return;
    const after = state.next;
    state.cursor = 0; state.index += 1;
    await load({ after: after });
    window.scrollTo({ top: 0 });
  }

  async function prevPage() {
    if (!state.prev) return;
    const before = state.prev;
    state.cursor = 0; state.index = Math.max(0, state.index - 1);
    await load({ before: before });
    window.scrollTo({ top: 0 });
  }

  // ---- controls -----------------------------------------------------------------------------------------------
  function setTileSize(px) {
    gridEl.style.setProperty('--tile', px + 'px');
    store.setItem('saola.grid.tile', String(px));
  }

  function setThreshold(v) {
    state.threshold = v;
    $('box-threshold-value').textContent = Saola.num(v, 2);
    store.setItem('saola.grid.threshold', String(v));
    tileNodes().forEach((el, i) => drawBoxes(state.tiles[i], el.querySelector('.boxes')));
  }

  $('tile-size').value = store.getItem('saola.grid.tile') || '200';
  setTileSize(parseInt($('tile-size').value, 10));
  $('tile-size').addEventListener('input', (e) => setTileSize(parseInt(e.target.value, 10)));
  $('box-threshold').value = store.getItem('saola.grid.threshold') || '0.2';
  state.threshold = parseFloat($('box-threshold').value);
  $('box-threshold-value').textContent = Saola.num(state.threshold, 2);
  $('box-threshold').addEventListener('input', (e) => setThreshold(parseFloat(e.target.value)));
  $('page-size').value = store.getItem('saola.grid.limit') || '100';
  $('page-size').addEventListener('change', () => {
    store.setItem('saola.grid.limit', $('page-size').value);
    state.index = 0; state.cursor = 0; load(null);
  });
  $('page-next').addEventListener('click', nextPage);
  $('page-prev').addEventListener('click', prevPage);
  $('f-tod').addEventListener('change', () => { $('f-hours').hidden = $('f-tod').value !== 'hours'; });
  $('filters').addEventListener('change', markChips);
  S.speciesPicker($('f-species'), (tx) => { $('f-taxon').value = tx ? tx.id : ''; markChips(); });
  $('f-species').addEventListener('change', () => { if (!$('f-species').value.trim()) { $('f-taxon').value = ''; markChips(); } });
  S.speciesPicker($('bulk-species'), (tx) => { setTaxon(tx); gridEl.focus({ preventScroll: true }); });
  $('bulk-species-apply').addEventListener('click', () => bulk('species'));
  [['bulk-blank', 'blank'], ['bulk-human', 'human'], ['bulk-vehicle', 'vehicle'], ['bulk-unknown', 'unidentifiable'],
   ['bulk-boxes', 'delete_boxes'], ['bulk-favorite', 'favorite'], ['bulk-unfavorite', 'unfavorite']]
    .forEach(([id, action]) => $(id).addEventListener('click', () => bulk(action)));
  $('bulk-undo').addEventListener('click', undo);
  $('bulk-clear').addEventListener('click', clearAll);
  document.querySelectorAll('#bulkbar button').forEach((b) => { b.tabIndex = -1; });
  const zip = $('download-zip');
  if (zip) {
    zip.addEventListener('click', (e) => {
      e.preventDefault();
      const p = filterParams();
      p.delete('mode');
      window.location.href = '/api/v1/review/grid/download.zip?' + p.toString();
    });
  }

  markChips();
  loadCount();
  load(null).then(() => gridEl.focus({ preventScroll: true }));
})();
