/* Saola camera-trap review: keyboard-first labelling of the review queue.
   Talks to /api/v1/review/*; every change is undoable with u. */
(function () {
  'use strict';
  const S = window.Saola;
  const T = JSON.parse(document.getElementById('review-text').textContent);
  const t = (s) => T[s] || s;

  // The camera and what its maker notes said (serial, burst position, trigger, temperature...), as text.
  function cameraLine(c) {
    if (!c) return '';
    const parts = [];
    const model = [c.make, c.model].filter(Boolean).join(' ');
    if (model) parts.push(model);
    if (c.serial) parts.push(t('Serial') + ' ' + c.serial);
    if (c.sequence_index) parts.push(t('Burst') + ' ' + c.sequence_index + '/' + c.sequence_count +
      (c.event_number != null ? ' (' + t('event') + ' ' + c.event_number + ')' : ''));
    if (c.trigger_mode) parts.push(t('Trigger') + ': ' + t(c.trigger_mode));
    if (c.temperature_c != null) parts.push(c.temperature_c + ' °C');
    if (c.moon_phase) parts.push(t('Moon') + ': ' + t(c.moon_phase));
    if (c.battery_v != null) parts.push(t('Battery') + ' ' + Saola.num(c.battery_v, 1) + ' V');
    if (c.ambient_light != null) parts.push(t('Light') + ' ' + c.ambient_light);
    if (c.user_label) parts.push(t('Label') + ': ' + c.user_label);
    return parts.join(' · ');
  }
  const $ = (id) => document.getElementById(id);
  const root = $('review');
  const OTYPES = ['animal', 'human', 'vehicle', 'unknown'];
  const LIFE = ['', 'adult', 'subadult', 'juvenile'];
  const SEX = ['', 'female', 'male'];

  const state = { item: null, media: 0, history: [], taxon: null, selected: -1, draw: false,
                  threshold: 0.2, shortcuts: [], shortcutsFor: null, saveTimer: null, busy: false };

  function say(msg, bad) {
    const el = $('status');
    el.textContent = msg;
    el.className = 'status' + (bad ? ' bad' : ' good');
  }

  // The viewer's tools (static/imagetools.js): zoom and pan, brightness / contrast / gamma kept in the
  // user's preferences, the burst as an animation, side by side, the original, the video player.
  const prefsEl = $('review-prefs');
  const tools = window.SaolaTools.attach({
    text: t, say: say, userId: prefsEl.dataset.userId, prefs: JSON.parse(prefsEl.textContent),
    isDrawing: () => state.draw,
    flip: (d) => flipImage(d),
    setMedia: (i) => { state.media = i; state.selected = -1; render(); },
    onTime: () => renderBoxes(),
    boxFilter: (d) => !d.dismissed && (d.human || d.confidence >= state.threshold),
  });

  // The next (or previous) photo of the sequence, round and round (the burst animation's step).
  function flipImage(d) {
    if (!state.item) return;
    const list = state.item.media, n = list.length;
    let i = state.media;
    for (let k = 0; k < n; k++) {
      i = (i + d + n) % n;
      if (list[i].kind !== 'video') break;
    }
    state.media = i;
    state.selected = -1;
    render();
  }

  function filterParams() {
    const p = new URLSearchParams();
    const fd = new FormData($('filters'));
    for (const [k, v] of fd.entries()) {
      if (v === '') continue;
      if (k === 'date_to') p.set(k, v + 'T23:59:59+07:00');
      else if (k === 'date_from') p.set(k, v + 'T00:00:00+07:00');
      else p.set(k, v);
    }
    return p;
  }

  // Counting a whole area's queue takes a while on big databases: the counters are updated
  // locally after each step and re-read from the server at most every 10 s.
  let counts = null, lastRefresh = 0, refreshTimer = null;

  function drawProgress() {
    const c = counts;
    $('progress').replaceChildren();
    if (!c) return;
    const el = document.createElement('span');
    el.id = 'progress-count';
    el.dataset.done = c.done; el.dataset.total = c.total;
    el.textContent = c.done + ' ' + t('of') + ' ' + c.total + ' ' + t('done') + ' · ' + t('reviewed') + ' ' +
      c.reviewed + ' · ' + t('blank') + ' ' + c.blank + ' · ' + t('unreviewed') + ' ' + c.unreviewed;
    $('progress').appendChild(el);
    const bar = document.createElement('progress');
    bar.max = c.total || 1; bar.value = c.done;
    $('progress').appendChild(bar);
    drawDetectorNote();
  }

  // Photos no detector has processed are reviewed by hand: say so, for the whole filter or this sequence.
  function drawDetectorNote() {
    const note = $('detector-note');
    const c = counts;
    let text = '';
    if (c && c.total > 0 && !c.detector_ran) {
      text = t('No detector has run on these photos: label them by hand (species search, number keys 1-9, b for blank). There are no boxes to check.');
    } else if (state.item && !state.item.detector_ran) {
      text = t('No detector has run on this sequence: label it by hand.');
    }
    note.textContent = text;
    note.hidden = !text;
  }

  async function fetchProgress() {
    lastRefresh = Date.now();
    try {
      counts = await S.api('GET', '/review/progress?' + filterParams().toString());
      drawProgress();
    } catch (e) { /* counters are informative only */ }
  }

  function refreshProgress(from, to) {
    if (counts && from && to && from !== to && counts[from] !== undefined && counts[to] !== undefined) {
      counts[from] -= 1; counts[to] += 1;
      counts.done = counts.total - counts.unreviewed;
      drawProgress();
    }
    clearTimeout(refreshTimer);
    const wait = Math.max(0, 10000 - (Date.now() - lastRefresh));
    refreshTimer = setTimeout(fetchProgress, wait);
  }

  async function loadShortcuts(programId) {
    if (state.shortcutsFor === programId) return;
    state.shortcutsFor = programId;
    try {
      state.shortcuts = (await S.api('GET', '/review/programs/' + programId + '/shortcuts')).species;
    } catch (e) { state.shortcuts = []; }
    const ol = $('shortcuts');
    ol.replaceChildren();
    state.shortcuts.forEach((tx, i) => {
      const li = document.createElement('li');
      const kbd = document.createElement('kbd');
      kbd.textContent = String(i + 1);
      const name = document.createElement('span');
      const vi = document.documentElement.lang === 'vi';
      name.textContent = (vi ? tx.vietnamese_name || tx.english_name : tx.english_name || tx.vietnamese_name) ||
        tx.scientific_name;
      li.title = S.taxonName(tx);  // the chip shows one line; the whole name on hover
      li.append(kbd, name);
      ol.appendChild(li);
    });
  }

  function canEdit() {
    if (!state.item || !state.item.can_edit) { say(t('Read only: you cannot change labels here'), true); return false; }
    return true;
  }

  function setTaxon(tx) {
    state.taxon = tx;
    $('chosen').textContent = tx ? S.taxonName(tx) : '';
    $('chosen').dataset.taxonId = tx ? tx.id : '';
    if (tx) { $('otype').value = 'animal'; }
  }

  function fillForm(item) {
    const human = item.observations.filter((o) => o.observation_level === 'event' && o.observation_type !== 'blank');
    const src = human[0];
    const sug = item.suggestion;
    setTaxon(src ? src.taxon : (sug ? sug.taxon : null));
    $('otype').value = src ? (OTYPES.includes(src.observation_type) ? src.observation_type : 'unknown')
      : (sug ? sug.observation_type : 'animal');
    $('count').value = (src && src.count) || (sug && sug.count) || 1;
    $('life-stage').value = (src && src.life_stage) || '';
    $('sex').value = (src && src.sex) || '';
    $('behavior').value = (src && src.behavior) || '';
    $('species').value = '';
  }

  function render() {
    const item = state.item;
    const stage = $('stage');
    if (!item) {
      $('seqinfo').textContent = t('The queue is empty');
      tools.show(null, 0);
      $('boxes').replaceChildren(); $('strip').replaceChildren(); $('labels').replaceChildren(); $('suggestion').textContent = '';
      stage.dataset.sequenceId = '';
      return;
    }
    const seq = item.sequence, dep = item.deployment;
    stage.dataset.sequenceId = seq.id;
    $('seqinfo').replaceChildren();
    const info = document.createElement('span');
    info.id = 'seq-title';
    info.textContent = [dep.location, dep.program, seq.event_start_local,
      item.media.length + ' ' + t('images'), t(seq.review_status)].join(' · ');
    $('seqinfo').appendChild(info);
    const m = item.media[state.media];
    // The deployment's local time with its zone; the camera's own clock reading on hover.
    $('mediainfo').replaceChildren();
    if (m) {
      const when = document.createElement('time');
      when.id = 'media-time';
      when.dateTime = m.captured_at || '';
      when.textContent = (m.captured_at_local || '') + ' · ' + m.file_name;
      if (m.captured_at_raw) when.title = t('Camera clock') + ': ' + m.captured_at_raw.replace('T', ' ');
      $('mediainfo').appendChild(when);
      const cam = cameraLine(m.camera);
      if (cam) {
        const span = document.createElement('span');
        span.id = 'media-camera';
        span.textContent = ' · ' + cam;
        $('mediainfo').appendChild(span);
      }
    }
    drawDetectorNote();
    tools.show(item, state.media);
    stage.dataset.mediaId = m ? m.id : '';
    stage.dataset.kind = m ? m.kind : '';
    stage.classList.toggle('drawing', state.draw);
    // thumbnails strip
    const strip = $('strip');
    strip.replaceChildren();
    item.media.forEach((mm, i) => {
      const b = document.createElement('button');
      b.type = 'button'; b.tabIndex = -1;
      b.className = 'thumb' + (i === state.media ? ' current' : '') + (mm.kind === 'video' ? ' video' : '');
      b.textContent = (i + 1) + (mm.kind === 'video' ? ' ▶' : '') +
        (mm.detections.some((d) => !d.dismissed && d.confidence >= state.threshold) ? ' ●' : '');
      if (mm.kind === 'video') b.title = t('video');
      // Click: show it; Shift+click: put it beside the current one.
      b.addEventListener('click', (e) => {
        if (e.shiftKey && mm.kind !== 'video') { tools.setCompareB(i); return; }
        tools.stop(); state.media = i; state.selected = -1; render();
      });
      strip.appendChild(b);
    });
    renderBoxes();
    // suggestion and labels
    const sug = item.suggestion;
    $('suggestion').textContent = sug ? t('Suggestion') + ': ' + (sug.taxon ? S.taxonName(sug.taxon) : (sug.label || t(sug.category))) +
      ' · ' + Math.round(sug.confidence * 100) + '%' : '';
    const labels = $('labels');
    const heading = document.createElement('h3');
    heading.textContent = t('Labels');
    labels.replaceChildren(heading);
    const ul = document.createElement('ul');
    ul.id = 'label-list';
    item.observations.forEach((o) => {
      const li = document.createElement('li');
      li.dataset.observationId = o.id;
      li.textContent = (o.observation_level === 'event' ? t('Sequence') : t('Image')) + ': ' +
        (o.taxon ? S.taxonName(o.taxon) : o.observation_type) + (o.count ? ' ×' + o.count : '') +
        (o.life_stage ? ' · ' + o.life_stage : '') + (o.sex ? ' · ' + o.sex : '') +
        (o.behavior ? ' · ' + o.behavior : '') + ' — ' + o.classified_by;
      ul.appendChild(li);
    });
    if (!item.observations.length) { const li = document.createElement('li'); li.textContent = t('none'); ul.appendChild(li); }
    labels.appendChild(ul);
    root.classList.toggle('readonly', !item.can_edit);
  }

  function visibleBoxes() {
    const m = state.item && state.item.media[state.media];
    if (!m) return [];
    // A video shows the boxes of the frame on screen (SaolaTools.boxesAt), a photo all of its boxes.
    const dets = m.kind === 'video' ? window.SaolaTools.boxesAt(m.detections, tools.time()) : m.detections;
    return dets.filter((d) => d.bbox && !d.dismissed && (d.human || d.confidence >= state.threshold));
  }

  function renderBoxes() {
    const holder = $('boxes');
    holder.replaceChildren();
    const video = tools.isVideo();  // a video's frame boxes are checked, not moved
    visibleBoxes().forEach((d, i) => {
      const el = document.createElement('div');
      el.className = 'box ' + d.category + (i === state.selected ? ' selected' : '') + (d.human ? ' human' : '') +
        (video ? ' readonly' : '');
      el.dataset.detectionId = d.id;
      el.style.left = (d.bbox[0] * 100) + '%';
      el.style.top = (d.bbox[1] * 100) + '%';
      el.style.width = (d.bbox[2] * 100) + '%';
      el.style.height = (d.bbox[3] * 100) + '%';
      const tag = document.createElement('span');
      tag.className = 'tag';
      tag.textContent = (d.taxon ? S.taxonName(d.taxon) : (d.label || t(d.category))) + (d.human ? '' : ' ' + Saola.num(d.confidence, 2));
      el.appendChild(tag);
      if (!video) {
        const h = document.createElement('span');
        h.className = 'handle';
        el.appendChild(h);
        el.addEventListener('mousedown', (e) => startDrag(e, i, e.target === h ? 'resize' : 'move'));
      }
      holder.appendChild(el);
    });
  }

  // ---- navigation ------------------------------------------------------------------------------
  async function show(item, keepMedia) {
    state.item = item;
    if (!keepMedia) { state.media = 0; state.selected = -1; }
    if (item) { fillForm(item); loadShortcuts(item.deployment.program_id); }
    render();
    if (item && !state.framed) frameWorkspace();
  }

  // On a laptop screen (768 px high) the filters, counters and notices push the photo below the fold:
  // once, when the first sequence is shown and the page has not been scrolled, bring the photo and the
  // label panel to the top of the window (the filters stay one scroll up), with the notice that no
  // detector ran when there is one.
  function frameWorkspace() {
    state.framed = true;
    const ws = $('workspace'), note = $('detector-note');
    if (!ws || window.scrollY > 0) return;
    if (ws.getBoundingClientRect().top > window.innerHeight * 0.35) (note.hidden ? ws : note).scrollIntoView({ block: 'start' });
  }

  async function next() {
    if (state.busy) return;
    state.busy = true;
    try {
      const p = filterParams();
      if (state.item) p.set('after', state.item.sequence.id);
      const r = await S.api('GET', '/review/next?' + p.toString());
      if (state.item && r.item && r.item.sequence.id !== state.item.sequence.id) state.history.push(state.item.sequence.id);
      if (r.item || !state.item) await show(r.item);
      else { say(t('The queue is empty')); await show(null); }
    } catch (e) { say(t('Error') + ': ' + e.message, true); }
    finally { state.busy = false; }
  }

  async function previous() {
    if (state.busy) return;
    state.busy = true;
    try {
      let item = null;
      if (state.history.length) item = (await S.api('GET', '/review/sequences/' + state.history.pop())).item;
      else if (state.item) {
        const p = filterParams();
        p.set('after', state.item.sequence.id); p.set('direction', 'previous');
        item = (await S.api('GET', '/review/next?' + p.toString())).item;
      }
      if (item) await show(item);
    } catch (e) { say(t('Error') + ': ' + e.message, true); }
    finally { state.busy = false; }
  }

  async function reload() {
    if (!state.item) return;
    const r = await S.api('GET', '/review/sequences/' + state.item.sequence.id);
    const keep = state.media;
    state.item = r.item;
    state.media = Math.min(keep, r.item.media.length - 1);
    render();
  }

  // ---- labels ------------------------------------------------------------------------------------
  function labelBody() {
    const otype = $('otype').value;
    const body = { observation_type: otype, count: parseInt($('count').value, 10) || null };
    if ($('life-stage').value) body.life_stage = $('life-stage').value;
    if ($('sex').value) body.sex = $('sex').value;
    if ($('behavior').value.trim()) body.behavior = $('behavior').value.trim();
    if (otype === 'animal') {
      if (state.taxon) body.taxon_id = state.taxon.id;
      else return null;
    }
    const sug = state.item.suggestion;
    if (sug && state.taxon && sug.taxon && sug.taxon.id === state.taxon.id) body.detection_id = sug.detection_id;
    return body;
  }

  async function accept(imageOnly) {
    if (!state.item || !canEdit()) return;
    const body = labelBody();
    if (!body) { say(t('No species chosen'), true); $('species').focus(); return; }
    if (imageOnly) body.media_id = state.item.media[state.media].id;
    try {
      const r = await S.api('POST', '/review/sequences/' + state.item.sequence.id + '/label', body);
      say(t('Saved'));
      refreshProgress(state.item.sequence.review_status, r.review_status);
      state.item.sequence.review_status = r.review_status;
      if (imageOnly) await reload(); else await next();
    } catch (e) { say(t('Error') + ': ' + e.message, true); }
  }

  async function blank() {
    if (!state.item || !canEdit()) return;
    try {
      await S.api('POST', '/review/sequences/' + state.item.sequence.id + '/blank');
      say(t('Marked blank'));
      refreshProgress(state.item.sequence.review_status, 'blank');
      await next();
    } catch (e) { say(t('Error') + ': ' + e.message, true); }
  }

  async function applySequence() {
    if (!state.item || !canEdit()) return;
    try {
      const r = await S.api('POST', '/review/sequences/' + state.item.sequence.id + '/apply',
        { media_id: state.item.media[state.media].id });
      say(t('Applied to the whole sequence'));
      refreshProgress(state.item.sequence.review_status, r.review_status);
      await next();
    } catch (e) { say(t('Error') + ': ' + e.message, true); }
  }

  async function undo() {
    if (!canEdit()) return;
    try {
      const r = await S.api('POST', '/review/undo');
      await fetchProgress();  // the counters at once: an undo can move any sequence back
      if (r.kind === 'triage_blank') say(triageUndoText(r), r.not_restored_count > 0);
      else say(t('Undone'));
      if (r.sequence_id) {
        const it = (await S.api('GET', '/review/sequences/' + r.sequence_id)).item;
        if (state.item && it.sequence.id !== state.item.sequence.id) state.history.push(state.item.sequence.id);
        const same = state.item && it.sequence.id === state.item.sequence.id;
        await show(it, same);
      }
    } catch (e) { say(e.status === 404 ? t('Nothing to undo') : t('Error') + ': ' + e.message, true); }
  }

  // ---- boxes ---------------------------------------------------------------------------------------
  function clamp(b) {
    let [x, y, w, h] = b;
    w = Math.min(1, Math.max(0.01, w)); h = Math.min(1, Math.max(0.01, h));
    x = Math.min(1 - w, Math.max(0, x)); y = Math.min(1 - h, Math.max(0, y));
    return [x, y, w, h].map((v) => Math.round(v * 10000) / 10000);
  }

  function saveBoxSoon(d) {
    clearTimeout(state.saveTimer);
    state.saveTimer = setTimeout(async () => {
      try {
        await S.api('PATCH', '/review/detections/' + d.id, { bbox: d.bbox });
        say(t('Box saved'));
      } catch (e) { say(t('Error') + ': ' + e.message, true); }
    }, 350);
  }

  function nudge(dx, dy, resize) {
    const boxes = visibleBoxes();
    const d = boxes[state.selected];
    if (!d || !canEdit()) return;
    const [x, y, w, h] = d.bbox;
    d.bbox = clamp(resize ? [x, y, w + dx, h + dy] : [x + dx, y + dy, w, h]);
    renderBoxes();
    saveBoxSoon(d);
  }

  async function deleteBox() {
    const d = visibleBoxes()[state.selected];
    if (!d || !canEdit()) return;
    try {
      await S.api('DELETE', '/review/detections/' + d.id);
      state.selected = -1;
      say(t('Box deleted'));
      await reload();
    } catch (e) { say(t('Error') + ': ' + e.message, true); }
  }

  async function addBox(bbox) {
    if (!canEdit()) return;
    const m = state.item.media[state.media];
    const body = { bbox: clamp(bbox), category: $('otype').value === 'human' ? 'person' : ($('otype').value === 'vehicle' ? 'vehicle' : 'animal') };
    if (state.taxon && body.category === 'animal') body.taxon_id = state.taxon.id;
    try {
      const r = await S.api('POST', '/review/media/' + m.id + '/detections', body);
      say(t('Box added'));
      state.draw = false;
      await reload();
      state.selected = visibleBoxes().findIndex((d) => d.id === r.detection.id);
      renderBoxes();
    } catch (e) { say(t('Error') + ': ' + e.message, true); }
  }

  function relPos(e) {
    // The canvas's rectangle as drawn (zoomed and panned): positions are fractions of the picture.
    const r = $('canvas').getBoundingClientRect();
    return [(e.clientX - r.left) / r.width, (e.clientY - r.top) / r.height];
  }

  function startDrag(e, i, how) {
    if (state.draw) return;
    e.preventDefault(); e.stopPropagation();
    state.selected = i;
    renderBoxes();
    if (!state.item.can_edit) return;
    const d = visibleBoxes()[i];
    const [px, py] = relPos(e);
    const orig = d.bbox.slice();
    function move(ev) {
      const [qx, qy] = relPos(ev);
      d.bbox = clamp(how === 'resize' ? [orig[0], orig[1], orig[2] + qx - px, orig[3] + qy - py]
        : [orig[0] + qx - px, orig[1] + qy - py, orig[2], orig[3]]);
      renderBoxes();
    }
    function up() {
      document.removeEventListener('mousemove', move);
      document.removeEventListener('mouseup', up);
      if (d.bbox.join() !== orig.join()) saveBoxSoon(d);
    }
    document.addEventListener('mousemove', move);
    document.addEventListener('mouseup', up);
  }

  $('stage').addEventListener('mousedown', (e) => {
    if (!state.draw || !state.item) return;
    e.preventDefault();
    const [x0, y0] = relPos(e);
    const ghost = document.createElement('div');
    ghost.className = 'box ghost';
    $('boxes').appendChild(ghost);
    let bb = [x0, y0, 0, 0];
    function move(ev) {
      const [x1, y1] = relPos(ev);
      bb = [Math.min(x0, x1), Math.min(y0, y1), Math.abs(x1 - x0), Math.abs(y1 - y0)];
      Object.assign(ghost.style, { left: bb[0] * 100 + '%', top: bb[1] * 100 + '%', width: bb[2] * 100 + '%', height: bb[3] * 100 + '%' });
    }
    function up() {
      document.removeEventListener('mousemove', move);
      document.removeEventListener('mouseup', up);
      if (bb[2] > 0.01 && bb[3] > 0.01) addBox(bb); else ghost.remove();
    }
    document.addEventListener('mousemove', move);
    document.addEventListener('mouseup', up);
  });

  // ---- keyboard ---------------------------------------------------------------------------------------
  function cycle(sel, values) {
    const i = values.indexOf(sel.value);
    sel.value = values[(i + 1) % values.length];
  }

  function setThreshold(v) {
    state.threshold = Math.min(1, Math.max(0, Math.round(v * 100) / 100));
    $('threshold').value = state.threshold;
    $('threshold-value').textContent = Saola.num(state.threshold, 2);
    state.selected = -1;
    if (state.item) render();
  }

  function toggleHelp(show) {
    const h = $('help');
    h.hidden = show === undefined ? !h.hidden : !show;
    if (!h.hidden) {
      // The card opens at its top (the title), whatever the window height: focusing the close
      // button must not scroll the list away.
      $('help-card').scrollTop = 0;
      $('help-close').focus({ preventScroll: true });
    }
  }

  document.addEventListener('keydown', (e) => {
    const tag = (e.target.tagName || '').toLowerCase();
    const typing = tag === 'input' || tag === 'textarea' || tag === 'select';
    if (!$('help').hidden) {
      if (e.key === 'Escape' || e.key === '?') { toggleHelp(false); e.preventDefault(); }
      return;
    }
    if (typing) {
      if (e.key === 'Escape') { e.target.blur(); e.preventDefault(); }
      else if (e.key === 'Enter' && e.target.closest('.labelpanel') && e.target.id !== 'species') {
        e.preventDefault(); e.target.blur(); accept(e.shiftKey);
      }
      return;
    }
    if (e.target.closest && (e.target.closest('#filters') || e.target.closest('#triage'))) return;
    const k = e.key;
    let handled = true;
    if (e.altKey && k.startsWith('Arrow')) {
      const step = 0.01;
      const dx = k === 'ArrowLeft' ? -step : k === 'ArrowRight' ? step : 0;
      const dy = k === 'ArrowUp' ? -step : k === 'ArrowDown' ? step : 0;
      nudge(dx, dy, e.shiftKey);
    } else if ((e.ctrlKey || e.metaKey) && (k === 'z' || k === 'Z')) undo();
    else if (e.ctrlKey || e.metaKey || e.altKey) handled = false;
    else if (tools.handleKey(e)) { /* zoom, pan, adjustments, burst, side by side, original, video */ }
    else if (k === 'ArrowRight' || k === 'n') next();
    else if (k === 'ArrowLeft' || k === 'p') previous();
    else if (k === 'ArrowDown' || k === 'ArrowUp') {
      if (state.item) {
        tools.stop();
        const n = state.item.media.length;
        state.media = (state.media + (k === 'ArrowDown' ? 1 : n - 1)) % n;
        state.selected = -1;
        render();
      }
    } else if (k === 'Enter') {
      if (state.draw) addBox([0.4, 0.4, 0.2, 0.2]); else accept(e.shiftKey);
    } else if (k === 'b' || k === '0') blank();
    else if (k === 'q') applySequence();
    else if (k === 'u') undo();
    else if (k >= '1' && k <= '9') {
      const tx = state.shortcuts[parseInt(k, 10) - 1];
      if (tx) setTaxon(tx);
    } else if (k === 's' || k === '/') $('species').focus();
    else if (k === '+' || k === '=') $('count').value = (parseInt($('count').value, 10) || 0) + 1;
    else if (k === '-') $('count').value = Math.max(1, (parseInt($('count').value, 10) || 1) - 1);
    else if (k === 'c') { $('count').focus(); $('count').select(); }
    else if (k === 'h') $('behavior').focus();
    else if (k === 'l') cycle($('life-stage'), LIFE);
    else if (k === 'x') cycle($('sex'), SEX);
    else if (k === 'a') { cycle($('otype'), OTYPES); if ($('otype').value !== 'animal') setTaxon(null); }
    else if (k === 'Tab') {
      const n = visibleBoxes().length;
      if (n) { state.selected = e.shiftKey ? (state.selected - 1 + n) % n : (state.selected + 1) % n; renderBoxes(); }
    } else if (k === 'Delete' || k === 'Backspace') deleteBox();
    else if (k === 'd') {
      if (tools.isVideo()) say(t('Boxes are drawn on photos; label the video with the form.'), true);
      else if (canEdit()) { state.draw = !state.draw; if (state.draw) say(t('Draw a box: drag on the image')); render(); }
    } else if (k === 't') setThreshold(state.threshold + 0.05);
    else if (k === 'T') setThreshold(state.threshold - 0.05);
    else if (k === '?') toggleHelp(true);
    else if (k === 'Escape') { state.draw = false; state.selected = -1; render(); }
    else handled = false;
    if (handled) e.preventDefault();
  });

  // ---- confidence triage ---------------------------------------------------------------------------
  // Preview (counts and a sample, most confident first), then one action; undone with u or its button.
  const triage = { preview: null };

  function fill(text, values) {
    return Object.keys(values).reduce((acc, k) => acc.split('{' + k + '}').join(String(values[k])), t(text));
  }

  function triageUndoText(r) {
    let text = fill('Restored {n} sequences to unreviewed.', { n: r.restored });
    if (r.not_restored_count) text += ' ' + fill('{n} sequences were reviewed since and keep that review.', { n: r.not_restored_count });
    return text;
  }

  function drawSample(sample) {
    const holder = $('triage-sample');
    holder.replaceChildren();
    sample.forEach((x) => {
      const fig = document.createElement('figure');
      fig.className = 'sample';
      fig.dataset.sequenceId = x.sequence_id;
      const pics = document.createElement('div');
      pics.className = 'pics';
      x.thumbnails.forEach((u) => {
        const img = document.createElement('img');
        img.src = u; img.alt = ''; img.loading = 'lazy';
        pics.appendChild(img);
      });
      const cap = document.createElement('figcaption');
      cap.textContent = x.location + ' · ' + x.event_start_local + ' · ' + t('Highest confidence') + ' ' +
        (x.max_confidence === null ? t('no box') : Saola.num(x.max_confidence, 2));
      fig.append(pics, cap);
      holder.appendChild(fig);
    });
  }

  function evaluationText(ev) {
    if (!ev || !ev.reviewed) return t('No sequence has been reviewed here yet: nothing to check this threshold against.');
    let text = fill('Checked against the {n} sequences people have already reviewed here, this threshold would have hidden ' +
      '{animals} of {animal_total} sequences with an animal, {persons} with a person, and removed {blanks} of ' +
      '{blank_total} true blanks.', { n: ev.reviewed, animals: ev.animal_sequences_hidden, animal_total: ev.animal_total,
      persons: ev.person_sequences_hidden, blanks: ev.blanks_removed, blank_total: ev.blank_total });
    if (ev.species_hidden && ev.species_hidden.length) {
      text += ' ' + t('Animals it would have hidden:') + ' ' +
        ev.species_hidden.map((x) => x.species + ' (' + x.sequences + ')').join(', ');
    }
    return text;
  }

  async function triagePreview() {
    const p = filterParams();
    if (!p.get('area_id') && !p.get('program_id') && !p.get('deployment_id')) {
      $('triage-summary').textContent = t('Choose a protected area, program or deployment first.');
      return;
    }
    p.delete('review_status'); p.delete('order');
    p.set('threshold', $('triage-threshold').value);
    $('triage-apply').disabled = true;
    try {
      const r = await S.api('GET', '/review/triage/preview?' + p.toString());
      triage.preview = r;
      let text = fill('{sequences} sequences ({media} media) have no box at or above {threshold} and would be marked blank.',
        { sequences: r.sequences, media: r.media, threshold: r.threshold });
      if (r.not_screened) text += ' ' + fill('{n} unreviewed sequences no detector has processed are left alone.', { n: r.not_screened });
      $('triage-summary').textContent = text;
      $('triage-summary').dataset.sequences = r.sequences;
      $('triage-evaluation').textContent = evaluationText(r.evaluation);
      drawSample(r.sample);
      $('triage-apply').disabled = r.sequences === 0;
    } catch (e) { $('triage-summary').textContent = t('Error') + ': ' + e.message; }
  }

  async function triageApply() {
    if (!triage.preview || !canEdit()) return;
    $('triage-apply').disabled = true;
    try {
      const r = await S.api('POST', '/review/triage', { threshold: triage.preview.threshold,
        sequence_ids: triage.preview.sequence_ids });
      let text = fill('Marked {n} sequences blank.', { n: r.blanked });
      if (r.skipped_count) text += ' ' + fill('{n} sequences changed since the preview and were left as they are.', { n: r.skipped_count });
      $('triage-summary').textContent = text;
      $('triage-sample').replaceChildren();
      $('triage-undo').hidden = false;
      triage.preview = null;
      say(text, r.skipped_count > 0);
      await fetchProgress();
      if (state.item && r.blanked) await reload();
    } catch (e) { $('triage-summary').textContent = t('Error') + ': ' + e.message; }
  }

  if ($('triage')) {
    $('triage-preview').addEventListener('click', triagePreview);
    $('triage-apply').addEventListener('click', triageApply);
    $('triage-undo').addEventListener('click', async () => {
      await undo();
      $('triage-undo').hidden = true;
      $('triage-summary').textContent = $('status').textContent;
    });
    $('triage-threshold').addEventListener('input', () => { $('triage-apply').disabled = true; triage.preview = null; });
    $('triage-threshold').addEventListener('keydown', (e) => { if (e.key === 'Enter') { e.preventDefault(); triagePreview(); } });
  }

  // ---- buttons and pickers ------------------------------------------------------------------------------
  $('btn-accept').addEventListener('click', () => accept(false));
  $('btn-image').addEventListener('click', () => accept(true));
  $('btn-apply').addEventListener('click', applySequence);
  $('btn-blank').addEventListener('click', blank);
  $('btn-undo').addEventListener('click', undo);
  $('btn-next').addEventListener('click', next);
  $('btn-prev').addEventListener('click', previous);
  $('btn-draw').addEventListener('click', () => {
    if (tools.isVideo()) say(t('Boxes are drawn on photos; label the video with the form.'), true);
    else if (canEdit()) { state.draw = !state.draw; render(); }
  });
  $('btn-help').addEventListener('click', () => toggleHelp(true));
  $('help-close').addEventListener('click', () => toggleHelp(false));
  $('threshold').addEventListener('input', (e) => setThreshold(parseFloat(e.target.value)));
  root.querySelectorAll('.buttons button').forEach((b) => { b.tabIndex = -1; });
  S.speciesPicker($('species'), (tx) => setTaxon(tx));
  S.speciesPicker($('f-species'), (tx) => { $('f-taxon').value = tx ? tx.id : ''; });
  $('f-species').addEventListener('change', () => { if (!$('f-species').value.trim()) $('f-taxon').value = ''; });

  setThreshold(0.2);
  fetchProgress();
  next();
})();
