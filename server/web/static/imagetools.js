/* Saola review viewer tools (issue 12, items 4 and 7): zoom and pan, brightness / contrast /
   gamma, the burst as an animation, two frames side by side, the full-resolution original,
   and the video player with the detector's boxes of the frame on screen.

   The review script (review.js) owns the queue, labels and box editing; it calls
   SaolaTools.attach(...) once and tools.show(item, index) whenever it renders. Everything
   here works under the strict Content-Security-Policy: styles are set through the CSSOM
   (element.style), never as markup, and text goes in as text nodes. */
(function () {
  'use strict';
  const ZOOM_MAX = 16;
  const ZOOM_STEP = 1.25;
  const PAN_STEP = 0.1;           // keyboard pan: a tenth of the view
  const FRAME_STEP_S = 0.1;       // video step when no frame of the video has boxes
  const DEFAULTS = { brightness: 1, contrast: 1, gamma: 1, burst_fps: 4 };
  const LIMITS = { brightness: [0.2, 3], contrast: [0.2, 3], gamma: [0.2, 5], burst_fps: [1, 12] };
  const SAVE_AFTER_MS = 400;

  /* The boxes of a video to draw at time t (seconds). A frame detection has start_s (the frame's
     time) and optionally end_s (until when it holds); without end_s it holds until the next frame
     that has boxes (or one second for the last). Boxes without a time belong to the whole video. */
  function boxesAt(dets, t) {
    const timed = dets.filter((d) => d.start_s !== null && d.start_s !== undefined);
    const whole = dets.filter((d) => d.start_s === null || d.start_s === undefined);
    if (t === null || t === undefined || !timed.length) return whole;
    const times = Array.from(new Set(timed.map((d) => d.start_s))).sort((a, b) => a - b);
    let f = null;
    for (const x of times) { if (x <= t + 1e-3) f = x; else break; }
    if (f === null) return whole;
    const next = times.find((x) => x > f);
    const here = timed.filter((d) => d.start_s === f);
    return whole.concat(here.filter((d) => {
      const end = (d.end_s !== null && d.end_s !== undefined) ? d.end_s : (next !== undefined ? next : f + 1);
      return t < end - 1e-3;
    }));
  }

  /* Frame times of a video's boxes, sorted (for the frame-by-frame keys). */
  function frameTimes(dets) {
    return Array.from(new Set(dets.filter((d) => d.start_s !== null && d.start_s !== undefined)
      .map((d) => d.start_s))).sort((a, b) => a - b);
  }

  function clamp(v, lo, hi) { return Math.min(hi, Math.max(lo, v)); }

  function attach(o) {
    const $ = (id) => document.getElementById(id);
    const t = o.text || ((s) => s);
    const el = {
      stages: $('stages'), stage: $('stage'), canvas: $('canvas'), image: $('image'), video: $('video'),
      stageB: $('stage-b'), canvasB: $('canvas-b'), imageB: $('image-b'), boxesB: $('boxes-b'),
      videobar: $('videobar'), play: $('video-play'), seek: $('video-seek'), vtime: $('video-time'),
      vbest: $('video-best'), vnote: $('video-note'),
      zoomIn: $('zoom-in'), zoomOut: $('zoom-out'), zoomReset: $('zoom-reset'), zoomLevel: $('zoom-level'),
      burst: $('burst-play'), fps: $('burst-fps'), compare: $('compare-toggle'),
      compareA: $('compare-a'), compareB: $('compare-b'), comparePick: $('compare-pick'),
      original: $('btn-original'), reset: $('adj-reset'),
      gamma: ['gamma-r', 'gamma-g', 'gamma-b'].map($),
    };
    const sliders = { brightness: $('adj-brightness'), contrast: $('adj-contrast'), gamma: $('adj-gamma') };
    const outputs = { brightness: $('adj-brightness-value'), contrast: $('adj-contrast-value'),
                      gamma: $('adj-gamma-value') };
    const st = { item: null, index: 0, seqId: null, s: 1, tx: 0, ty: 0, timer: null,
                 compare: false, b: -1, prefs: Object.assign({}, DEFAULTS), saveTimer: null, frameCb: null };

    // ---- zoom and pan -------------------------------------------------------------------------------
    // One transform on the canvas (the image or video and its boxes together), so the boxes, which
    // are percentages of the canvas, stay on the animal at every zoom. Side by side, both panes share it.
    function bounds() { return el.stage.getBoundingClientRect(); }

    function applyZoom() {
      const r = bounds();
      const w = r.width, h = r.height;
      st.tx = clamp(st.tx, w - w * st.s, 0);
      st.ty = clamp(st.ty, h - h * st.s, 0);
      const tf = 'translate(' + st.tx + 'px, ' + st.ty + 'px) scale(' + st.s + ')';
      [el.canvas, el.canvasB].forEach((c) => { c.style.transform = tf; });
      el.stages.classList.toggle('zoomed', st.s > 1.0001);
      el.stage.dataset.zoom = st.s.toFixed(3);
      el.zoomLevel.textContent = Math.round(st.s * 100) + '%';
    }

    // Zoom by ``factor`` keeping the point (px, py) of the view (px from the stage's corner) still.
    function zoomAt(factor, px, py) {
      const s2 = clamp(st.s * factor, 1, ZOOM_MAX);
      st.tx = px - (px - st.tx) * (s2 / st.s);
      st.ty = py - (py - st.ty) * (s2 / st.s);
      st.s = s2;
      applyZoom();
    }

    function zoomCentre(factor) {
      const r = bounds();
      zoomAt(factor, r.width / 2, r.height / 2);
    }

    function pan(dx, dy) { st.tx += dx; st.ty += dy; applyZoom(); }

    function resetZoom() { st.s = 1; st.tx = 0; st.ty = 0; applyZoom(); }

    [el.stage, el.stageB].forEach((stage) => {
      stage.addEventListener('wheel', (e) => {
        if (!st.item) return;
        e.preventDefault();
        const r = stage.getBoundingClientRect();
        const dy = e.deltaMode === 1 ? e.deltaY * 40 : e.deltaY;
        zoomAt(Math.exp(-dy * 0.0015), e.clientX - r.left, e.clientY - r.top);
      }, { passive: false });
      stage.addEventListener('mousedown', (e) => {
        // Drawing a box and moving one take the mouse first (review.js stops the event on a box).
        if (e.button !== 0 || st.s <= 1.0001 || (o.isDrawing && o.isDrawing())) return;
        e.preventDefault();
        const x0 = e.clientX, y0 = e.clientY, tx0 = st.tx, ty0 = st.ty;
        el.stages.classList.add('panning');
        function move(ev) { st.tx = tx0 + ev.clientX - x0; st.ty = ty0 + ev.clientY - y0; applyZoom(); }
        function up() {
          document.removeEventListener('mousemove', move);
          document.removeEventListener('mouseup', up);
          el.stages.classList.remove('panning');
        }
        document.addEventListener('mousemove', move);
        document.addEventListener('mouseup', up);
      });
    });
    // Tool buttons take no focus (Enter and Space stay the review's keys); a slider or list lets
    // go of it when the mouse is done with it.
    document.querySelectorAll('#tools button, #videobar button').forEach((b) => {
      b.tabIndex = -1;
      b.addEventListener('mousedown', (e) => e.preventDefault());
    });
    document.querySelectorAll('#tools input[type=range], #videobar input[type=range]').forEach((r) => {
      r.addEventListener('pointerup', () => r.blur());
    });
    document.querySelectorAll('#tools select').forEach((sel) => sel.addEventListener('change', () => sel.blur()));
    el.zoomIn.addEventListener('click', () => zoomCentre(ZOOM_STEP));
    el.zoomOut.addEventListener('click', () => zoomCentre(1 / ZOOM_STEP));
    el.zoomReset.addEventListener('click', resetZoom);
    window.addEventListener('resize', applyZoom);

    // ---- brightness, contrast, gamma --------------------------------------------------------------------
    // CSS filters on the picture only (not the boxes): brightness and contrast are CSS functions;
    // gamma is an SVG feComponentTransfer in the page (exponent 1/gamma: above 1 lifts dark tones).
    function applyFilters() {
      const p = st.prefs;
      el.gamma.forEach((f) => f.setAttribute('exponent', String(1 / p.gamma)));
      const parts = [];
      if (p.brightness !== 1) parts.push('brightness(' + p.brightness + ')');
      if (p.contrast !== 1) parts.push('contrast(' + p.contrast + ')');
      if (p.gamma !== 1) parts.push('url(#gamma-filter)');
      const f = parts.join(' ');
      [el.image, el.imageB, el.video].forEach((m) => { m.style.filter = f; });
      Object.keys(sliders).forEach((k) => {
        sliders[k].value = String(p[k]);
        outputs[k].textContent = Saola.num(p[k], 2);
      });
      el.fps.value = String(p.burst_fps);
      el.stage.dataset.filter = f;
    }

    const storeKey = 'saola.prefs.' + (o.userId || 'anonymous');

    function readLocal() {
      try { return JSON.parse(window.localStorage.getItem(storeKey) || 'null'); } catch (e) { return null; }
    }

    function writeLocal(saved) {
      try {
        window.localStorage.setItem(storeKey, JSON.stringify({ review_image: st.prefs, saved: saved }));
      } catch (e) { /* private mode: the server's copy is enough */ }
    }

    function clean(p) {
      const out = Object.assign({}, DEFAULTS);
      Object.keys(DEFAULTS).forEach((k) => {
        const v = Number(p && p[k]);
        if (Number.isFinite(v)) out[k] = clamp(v, LIMITS[k][0], LIMITS[k][1]);
      });
      return out;
    }

    async function save() {
      try {
        const r = await window.Saola.api('PATCH', '/users/me/preferences', { review_image: st.prefs });
        st.prefs = clean(r.review_image);
        writeLocal(true);
        el.stage.dataset.prefsSaved = 'true';
      } catch (e) {
        el.stage.dataset.prefsSaved = 'false';  // kept in localStorage and sent again at the next load
      }
    }

    function setPref(k, v) {
      st.prefs = clean(Object.assign({}, st.prefs, { [k]: v }));
      applyFilters();
      writeLocal(false);
      el.stage.dataset.prefsSaved = 'pending';
      clearTimeout(st.saveTimer);
      st.saveTimer = setTimeout(save, SAVE_AFTER_MS);
      if (k === 'burst_fps' && st.timer) { stopBurst(); startBurst(); }
    }

    // The server's copy wins, unless this browser holds a change it never managed to send.
    (function loadPrefs() {
      const local = readLocal();
      if (local && local.saved === false && local.review_image) {
        st.prefs = clean(local.review_image);
        st.saveTimer = setTimeout(save, 0);
      } else {
        st.prefs = clean(o.prefs && o.prefs.review_image);
        writeLocal(true);
      }
      applyFilters();
    })();
    Object.keys(sliders).forEach((k) => {
      sliders[k].addEventListener('input', () => setPref(k, parseFloat(sliders[k].value)));
    });
    el.reset.addEventListener('click', () => {
      st.prefs = Object.assign({}, DEFAULTS, { burst_fps: st.prefs.burst_fps });
      setPref('gamma', 1);
    });
    el.fps.addEventListener('change', () => setPref('burst_fps', parseInt(el.fps.value, 10)));

    // ---- the burst as an animation --------------------------------------------------------------------
    function images() { return st.item ? st.item.media.filter((m) => m.kind !== 'video') : []; }

    function startBurst() {
      if (!st.item || st.item.media.length < 2) return;
      el.burst.classList.add('on');
      el.burst.setAttribute('aria-pressed', 'true');
      el.stage.dataset.playing = 'true';
      st.timer = setInterval(() => o.flip(1), 1000 / st.prefs.burst_fps);
    }

    function stopBurst() {
      clearInterval(st.timer);
      st.timer = null;
      el.burst.classList.remove('on');
      el.burst.setAttribute('aria-pressed', 'false');
      el.stage.dataset.playing = 'false';
    }

    function toggleBurst() { if (st.timer) stopBurst(); else startBurst(); }
    el.burst.addEventListener('click', toggleBurst);

    // The sequence's other photos are fetched once the one on screen has loaded (at low priority, so
    // the next sequence is never slowed down), and flipping through the burst never waits.
    const preloaded = [];
    let preloadFor = null;
    function preload(item) {
      preloaded.length = 0;
      preloadFor = item;
    }
    el.image.addEventListener('load', () => {
      const item = preloadFor;
      if (!item || !st.item || item.sequence.id !== st.item.sequence.id) return;
      preloadFor = null;
      item.media.forEach((m) => {
        if (!m.url || m.url === el.image.getAttribute('src')) return;
        const im = new Image();
        im.fetchPriority = 'low';
        im.src = m.url;
        preloaded.push(im);
      });
    });

    // ---- side by side -----------------------------------------------------------------------------------
    function fillSelect(sel, chosen) {
      sel.replaceChildren();
      st.item.media.forEach((m, i) => {
        if (m.kind === 'video') return;
        const opt = document.createElement('option');
        opt.value = String(i);
        opt.textContent = (i + 1) + ' · ' + m.file_name;
        sel.appendChild(opt);
      });
      sel.value = String(chosen);
    }

    function drawCompare() {
      const on = st.compare && st.item && images().length >= 2;
      el.stages.classList.toggle('compare', !!on);
      el.stageB.hidden = !on;
      el.comparePick.hidden = !on;
      el.compare.setAttribute('aria-pressed', on ? 'true' : 'false');
      if (!on) { el.stageB.dataset.mediaId = ''; return; }
      const list = st.item.media;
      if (st.b < 0 || st.b >= list.length || list[st.b].kind === 'video') {
        st.b = list.findIndex((m, i) => i !== st.index && m.kind !== 'video');
      }
      const m = list[st.b];
      if (el.imageB.getAttribute('src') !== m.url) el.imageB.src = m.url;
      el.stageB.dataset.mediaId = m.id;
      fillSelect(el.compareA, st.index);
      fillSelect(el.compareB, st.b);
      el.boxesB.replaceChildren();
      m.detections.filter((d) => d.bbox && (!o.boxFilter || o.boxFilter(d))).forEach((d) => {
        const b = document.createElement('div');
        b.className = 'box readonly ' + d.category + (d.human ? ' human' : '');
        b.dataset.detectionId = d.id;
        Object.assign(b.style, { left: d.bbox[0] * 100 + '%', top: d.bbox[1] * 100 + '%',
                                 width: d.bbox[2] * 100 + '%', height: d.bbox[3] * 100 + '%' });
        el.boxesB.appendChild(b);
      });
    }

    function toggleCompare() {
      if (!st.item) return;
      if (!st.compare && images().length < 2) { if (o.say) o.say(t('Side by side needs two photos in the sequence'), true); return; }
      st.compare = !st.compare;
      if (st.compare) stopBurst();
      drawCompare();
      requestAnimationFrame(applyZoom);
    }

    function stepCompare(delta) {
      if (!st.compare) return;
      const list = st.item.media;
      let i = st.b;
      for (let n = 0; n < list.length; n++) {
        i = (i + delta + list.length) % list.length;
        if (list[i].kind !== 'video') break;
      }
      st.b = i;
      drawCompare();
    }

    el.compare.addEventListener('click', toggleCompare);
    el.compareA.addEventListener('change', () => o.setMedia(parseInt(el.compareA.value, 10)));
    el.compareB.addEventListener('change', () => { st.b = parseInt(el.compareB.value, 10); drawCompare(); });

    // ---- video ---------------------------------------------------------------------------------------------
    function current() { return st.item ? st.item.media[st.index] : null; }
    function isVideo() { const m = current(); return !!m && m.kind === 'video'; }

    function fmt(s) { return Saola.num(Number.isFinite(s) ? s : 0, 1); }

    function drawVideoBar() {
      const v = el.video;
      const dur = Number.isFinite(v.duration) ? v.duration : (current() && current().duration_s) || 0;
      el.vtime.textContent = fmt(v.currentTime) + ' / ' + fmt(dur) + ' s';
      el.seek.value = dur ? String(Math.round(v.currentTime / dur * 1000)) : '0';
      el.play.textContent = v.paused ? t('Play') : t('Pause');
      el.stage.dataset.videoTime = v.currentTime.toFixed(3);
    }

    function onVideoTime() {
      drawVideoBar();
      if (o.onTime) o.onTime();
    }

    // Boxes follow the picture frame by frame while playing (requestVideoFrameCallback where the
    // browser has it), and on every seek.
    function followFrames() {
      const v = el.video;
      if (v.paused || !isVideo()) return;
      onVideoTime();
      if (v.requestVideoFrameCallback) st.frameCb = v.requestVideoFrameCallback(followFrames);
      else st.frameCb = requestAnimationFrame(followFrames);
    }

    el.video.addEventListener('play', () => { stopBurst(); followFrames(); });
    ['pause', 'seeked', 'timeupdate', 'loadedmetadata', 'ended'].forEach((ev) => el.video.addEventListener(ev, onVideoTime));
    el.play.addEventListener('click', togglePlay);
    el.seek.addEventListener('input', () => {
      const v = el.video;
      if (Number.isFinite(v.duration)) v.currentTime = parseInt(el.seek.value, 10) / 1000 * v.duration;
    });

    function togglePlay() {
      const v = el.video;
      if (v.paused) v.play().catch((e) => { if (o.say) o.say(t('Error') + ': ' + e.message, true); });
      else v.pause();
    }

    // , and . : to the previous / next frame that has boxes (or a tenth of a second without any).
    function stepFrame(delta) {
      const v = el.video;
      v.pause();
      const times = frameTimes(current().detections);
      const now = v.currentTime;
      let to;
      if (times.length) {
        to = delta > 0 ? times.find((x) => x > now + 1e-3) : times.slice().reverse().find((x) => x < now - 1e-3);
        if (to === undefined) to = delta > 0 ? times[times.length - 1] : 0;
      } else {
        to = now + delta * FRAME_STEP_S;
      }
      const end = Number.isFinite(v.duration) ? v.duration : to;
      v.currentTime = clamp(to, 0, end);
    }

    // The detector's roll-up of a video (m.video): the player opens at its best frame, whose boxes are
    // drawn; the button goes back there. All of it as DOM text.
    function bestTime(m) {
      const b = m.video && m.video.best_time_s;
      return typeof b === 'number' && Number.isFinite(b) ? b : null;
    }

    function drawVideoInfo(m) {
      const best = bestTime(m);
      el.vbest.hidden = best === null;
      if (best !== null) {
        const conf = m.video.best_confidence;
        el.vbest.textContent = t('Best frame') + ' ' + fmt(best) + ' s: ' + t(m.video.best_category || '') +
          (typeof conf === 'number' ? ' ' + Math.round(conf * 100) + '%' : '');
      }
      const err = m.video && m.video.decode_error;
      el.vnote.hidden = !err;
      el.vnote.textContent = err ? t('Damaged video') + ': ' + err : '';
    }

    function seekBest() {
      const m = current();
      const best = m ? bestTime(m) : null;
      if (best === null) return;
      el.video.pause();
      el.video.currentTime = best;
    }

    el.vbest.addEventListener('click', seekBest);

    function showVideo(m) {
      const v = el.video;
      el.image.hidden = true;
      v.hidden = false;
      el.videobar.hidden = false;
      if (v.getAttribute('src') !== m.original_url) {
        v.pause();
        if (m.url) v.poster = m.url; else v.removeAttribute('poster');  // the best frame, as a still
        v.src = m.original_url;  // served with HTTP Range: the player seeks without the whole file
        v.removeEventListener('loadedmetadata', seekBest);
        if (bestTime(m) !== null) v.addEventListener('loadedmetadata', seekBest, { once: true });
        v.load();
      }
      drawVideoInfo(m);
      drawVideoBar();
    }

    function hideVideo() {
      const v = el.video;
      if (!v.hidden) {
        v.pause();
        v.removeEventListener('loadedmetadata', seekBest);
        v.removeAttribute('poster');
        v.removeAttribute('src');
        v.load();
      }
      v.hidden = true;
      el.videobar.hidden = true;
      el.image.hidden = false;
    }

    // ---- what is shown ---------------------------------------------------------------------------------------
    function show(item, index) {
      const seqId = item ? item.sequence.id : null;
      if (seqId !== st.seqId) {
        stopBurst();
        st.seqId = seqId;
        st.b = -1;
        resetZoom();
        if (item) preload(item);
      }
      st.item = item;
      st.index = index;
      const m = current();
      if (!m) {
        hideVideo();
        el.image.removeAttribute('src');
        el.original.removeAttribute('href');
        el.original.classList.add('disabled');
        drawCompare();
        return;
      }
      if (m.kind === 'video') showVideo(m);
      else {
        hideVideo();
        if (m.url) { if (el.image.getAttribute('src') !== m.url) el.image.src = m.url; }
        else el.image.removeAttribute('src');
      }
      if (m.original_url) { el.original.href = m.original_url; el.original.classList.remove('disabled'); }
      else { el.original.removeAttribute('href'); el.original.classList.add('disabled'); }
      el.burst.disabled = item.media.length < 2;
      el.compare.disabled = images().length < 2;
      drawCompare();
      applyZoom();
    }

    function openOriginal() {
      const m = current();
      if (m && m.original_url) window.open(m.original_url, '_blank', 'noopener');
    }

    // ---- keys ----------------------------------------------------------------------------------------------------
    // Called by review.js for keys outside text fields; true when the key was one of these tools'.
    function handleKey(e) {
      const k = e.key;
      const r = bounds();
      if (e.shiftKey && k.startsWith('Arrow')) {
        const dx = k === 'ArrowLeft' ? 1 : k === 'ArrowRight' ? -1 : 0;
        const dy = k === 'ArrowUp' ? 1 : k === 'ArrowDown' ? -1 : 0;
        pan(dx * r.width * PAN_STEP, dy * r.height * PAN_STEP);
        return true;
      }
      if (k === 'z') zoomCentre(ZOOM_STEP);
      else if (k === 'Z') zoomCentre(1 / ZOOM_STEP);
      else if (k === 'r') resetZoom();
      else if (k === ' ') { if (isVideo()) togglePlay(); else toggleBurst(); }
      else if (k === '[' || k === ']') {
        const steps = [1, 2, 4, 8, 12];
        const i = steps.indexOf(st.prefs.burst_fps);
        const j = clamp((i < 0 ? 2 : i) + (k === ']' ? 1 : -1), 0, steps.length - 1);
        setPref('burst_fps', steps[j]);
      } else if (k === 'v') toggleCompare();
      else if (k === 'o') openOriginal();
      else if (k === ',' || k === '.') {
        if (isVideo()) stepFrame(k === '.' ? 1 : -1);
        else if (st.compare) stepCompare(k === '.' ? 1 : -1);
        else return false;
      } else return false;
      return true;
    }

    // Keys that move through the sequence by hand stop the animation.
    function stop() { stopBurst(); }

    return {
      show: show, handleKey: handleKey, stop: stop, isVideo: isVideo,
      time: () => (isVideo() ? el.video.currentTime : null),
      setCompareB: (i) => { st.b = i; if (!st.compare) toggleCompare(); else drawCompare(); },
      redrawCompare: drawCompare,
    };
  }

  window.SaolaTools = { attach: attach, boxesAt: boxesAt, frameTimes: frameTimes, DEFAULTS: DEFAULTS };
})();
