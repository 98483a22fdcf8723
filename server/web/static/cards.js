/* Card upload page (deploy_uploads.html): a dropped folder (DataTransfer entries or a
   webkitdirectory input) or a zip is sent to the card-upload API (server/api/cards.py):
   the manifest first, then the accepted files end to end as one resumable stream
   (PATCH /api/v1/uploads/<id> at Upload-Offset, each piece with its SHA-256 in Upload-Checksum).
   Dropping the same card again resumes at the server's offset. Then the ingest job's progress
   and its report. User text (file names, reasons) reaches the page only through textContent. */
(function () {
  'use strict';
  const $ = (id) => document.getElementById(id);
  const root = $('card-upload');
  if (!root) return;
  const T = JSON.parse($('card-text').textContent);
  const csrf = (document.querySelector('meta[name="csrf-token"]') || {}).content || '';
  const CHUNK = parseInt(root.dataset.chunk, 10) || 8 * 1024 * 1024;
  const fmt = (s, p) => s.replace(/\{(\w+)\}/g, (m, k) => (k in p ? String(p[k]) : m));
  const num = (n) => Saola.num(n);
  function bytes(n) {
    const units = ['B', 'KB', 'MB', 'GB', 'TB'];
    let i = 0;
    while (n >= 1024 && i < units.length - 1) { n /= 1024; i += 1; }
    return Saola.num(n, i ? 1 : 0) + ' ' + units[i];
  }

  // ---- SHA-256 of a piece: crypto.subtle where the page is a secure context (https, localhost);
  // over plain http on a station's network it is not there, so a small implementation follows.
  const K = new Uint32Array([
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2]);
  function sha256Plain(bytesIn) {
    const len = bytesIn.length;
    const padded = new Uint8Array(((len + 9 + 63) >> 6) << 6);
    padded.set(bytesIn);
    padded[len] = 0x80;
    const dv = new DataView(padded.buffer);
    dv.setUint32(padded.length - 8, Math.floor(len / 0x20000000));
    dv.setUint32(padded.length - 4, (len << 3) >>> 0);
    const H = new Uint32Array([0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
      0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19]);
    const W = new Uint32Array(64);
    for (let off = 0; off < padded.length; off += 64) {
      for (let i = 0; i < 16; i++) W[i] = dv.getUint32(off + i * 4);
      for (let i = 16; i < 64; i++) {
        const a = W[i - 15], b = W[i - 2];
        const s0 = ((a >>> 7) | (a << 25)) ^ ((a >>> 18) | (a << 14)) ^ (a >>> 3);
        const s1 = ((b >>> 17) | (b << 15)) ^ ((b >>> 19) | (b << 13)) ^ (b >>> 10);
        W[i] = (W[i - 16] + s0 + W[i - 7] + s1) >>> 0;
      }
      let [a, b, c, d, e, f, g, h] = H;
      for (let i = 0; i < 64; i++) {
        const S1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
        const t1 = (h + S1 + ((e & f) ^ (~e & g)) + K[i] + W[i]) >>> 0;
        const S0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
        const t2 = (S0 + ((a & b) ^ (a & c) ^ (b & c))) >>> 0;
        h = g; g = f; f = e; e = (d + t1) >>> 0; d = c; c = b; b = a; a = (t1 + t2) >>> 0;
      }
      H[0] += a; H[1] += b; H[2] += c; H[3] += d; H[4] += e; H[5] += f; H[6] += g; H[7] += h;
    }
    const out = new Uint8Array(32);
    const ov = new DataView(out.buffer);
    for (let i = 0; i < 8; i++) ov.setUint32(i * 4, H[i]);
    return out;
  }
  async function sha256(buf) {
    if (window.crypto && crypto.subtle) return new Uint8Array(await crypto.subtle.digest('SHA-256', buf));
    return sha256Plain(new Uint8Array(buf));
  }
  function b64(u8) {
    let s = '';
    for (let i = 0; i < u8.length; i++) s += String.fromCharCode(u8[i]);
    return btoa(s);
  }

  // ---- reading what was dropped ---------------------------------------------------------------------
  function readEntries(reader) {
    return new Promise((resolve, reject) => reader.readEntries(resolve, reject));
  }
  async function walk(entry, out) {
    if (entry.isFile) {
      const file = await new Promise((resolve) => entry.file(resolve, (err) => resolve({ error: err })));
      out.push({ path: entry.fullPath.replace(/^\/+/, ''), file: file.error ? null : file,
                 error: file.error ? (file.error.name || 'NotReadableError') : null });
      return;
    }
    const reader = entry.createReader();
    for (;;) {  // readEntries answers at most 100 entries a call
      const batch = await readEntries(reader);
      if (!batch.length) break;
      for (const e of batch) await walk(e, out);
    }
  }
  function stripRoot(items) {
    // One dropped folder: paths inside it, as `saola ingest FOLDER` sees them.
    const tops = new Set(items.map((x) => x.path.split('/')[0]));
    if (tops.size === 1 && items.every((x) => x.path.includes('/'))) {
      const top = [...tops][0];
      items.forEach((x) => { x.path = x.path.slice(top.length + 1); });
      return top;
    }
    return null;
  }
  async function fromDrop(dt) {
    const entries = [];
    for (const item of dt.items) {
      const e = item.webkitGetAsEntry ? item.webkitGetAsEntry() : null;
      if (e) entries.push(e);
    }
    const items = [];
    if (entries.length) {
      for (const e of entries) await walk(e, items);
    } else {
      for (const f of dt.files) items.push({ path: f.name, file: f, error: null });
    }
    const top = stripRoot(items);
    return { label: top || (entries.length === 1 ? entries[0].name : (items[0] && items[0].path) || ''), items };
  }
  function fromInput(files) {
    const items = [...files].map((f) => ({ path: f.webkitRelativePath || f.name, file: f, error: null }));
    const top = stripRoot(items);
    return { label: top || (items[0] && items[0].path) || '', items };
  }

  // ---- the API ---------------------------------------------------------------------------------------
  async function api(method, path, body) {
    const opt = { method, credentials: 'same-origin', headers: { Accept: 'application/json', 'X-CSRF-Token': csrf } };
    if (body !== undefined) { opt.headers['Content-Type'] = 'application/json'; opt.body = JSON.stringify(body); }
    const r = await fetch('/api/v1' + path, opt);
    const data = await r.json().catch(() => null);
    if (!r.ok) {
      const err = new Error((data && data.error && data.error.message) || r.statusText);
      err.status = r.status;
      err.data = data;
      throw err;
    }
    return data;
  }

  // ---- state and drawing -----------------------------------------------------------------------------
  let run = null;  // {card, items: Map path -> item, files (accepted, by start), paused, stop}
  const tbody = document.querySelector('#card-files tbody');

  function message(text) { $('card-message').textContent = text; }
  function drawFiles(card) {
    tbody.replaceChildren();
    $('file-count').textContent = num(card.files.length);
    for (const f of card.files) {
      const tr = document.createElement('tr');
      tr.dataset.idx = f.idx;
      const name = document.createElement('td');
      name.textContent = f.path;
      const size = document.createElement('td');
      size.className = 'num';
      size.textContent = bytes(f.size);
      const prog = document.createElement('td');
      if (f.start < 0) {
        prog.className = 'skip';
        prog.textContent = T.skipped + ': ' + (f.skip_reason || '');
      } else {
        const p = document.createElement('progress');
        p.max = Math.max(1, f.size);
        p.value = 0;
        prog.appendChild(p);
        f.bar = p;
      }
      tr.append(name, size, prog);
      tbody.appendChild(tr);
      f.row = tr;
    }
  }
  function drawProgress(offset) {
    const card = run.card;
    const total = card.bytes_total;
    $('overall-progress').max = Math.max(1, total);
    $('overall-progress').value = offset;
    const doneFiles = run.files.filter((f) => f.end <= offset).length;
    $('overall-text').textContent = fmt(T.sending, { done: bytes(offset), total: bytes(total) }) + ' · '
      + num(doneFiles) + '/' + num(run.files.length);
    for (const f of run.files) {
      if (!f.bar) continue;
      const got = Math.min(f.size, Math.max(0, offset - f.start));
      if (f.bar.value !== got) f.bar.value = got;
      f.row.dataset.state = got >= f.size ? 'received' : got > 0 ? 'sending' : 'waiting';
    }
    root.dataset.offset = String(offset);
  }

  // ---- sending ---------------------------------------------------------------------------------------
  function placeFiles(card) {
    run.card = card;
    run.files = card.files.filter((f) => f.start >= 0).sort((a, b) => a.start - b.start);
    drawFiles(card);
  }
  async function piece(offset) {
    // The bytes [offset, offset + CHUNK) of the stream, from the files they fall in, and their SHA-256.
    const parts = [];
    let pos = offset;
    const end = Math.min(offset + CHUNK, run.card.bytes_total);
    for (const f of run.files) {
      if (f.end <= pos || f.start >= end) continue;
      const item = run.items.get(f.path);
      const a = pos - f.start, b = Math.min(f.size, end - f.start);
      parts.push({ f, blob: item.file.slice(a, b) });
      pos = f.start + b;
      if (pos >= end) break;
    }
    let buf;
    // The piece is sent as this Blob of file slices, not as the bytes read here: the browser then
    // streams it from the files itself instead of copying a buffer out of the page, which made
    // each 8 MB piece take 0.5-0.9 s instead of 0.05-0.35 s (benchmarks/card_upload_browser.py).
    // The bytes are read once, for the SHA-256 the server checks (a file changed since is a 422).
    const blob = new Blob(parts.map((p) => p.blob));
    try {
      buf = await blob.arrayBuffer();
    } catch (e0) {
      for (const p of parts) {  // which file could not be read
        try {
          await p.blob.arrayBuffer();
        } catch (e) {
          const err = new Error('unreadable');
          err.unreadable = p.f;
          err.reason = e.name || 'NotReadableError';
          throw err;
        }
      }
      throw e0;
    }
    return { offset, blob, size: buf.byteLength, digest: b64(await sha256(buf)) };
  }
  function prepare(offset) {
    // A piece read and hashed ahead (while the previous one is on its way); errors kept for later.
    const p = piece(offset);
    p.catch(() => {});
    return { offset, p };
  }
  async function send() {
    const card = run.card;
    let offset = card.offset;
    drawProgress(offset);
    let failures = 0;
    let ahead = null;
    while (offset < card.bytes_total) {
      if (run.paused || run.stopped) { message(T.paused); return false; }
      let body;
      try {
        body = await (ahead && ahead.offset === offset ? ahead : prepare(offset)).p;
      } catch (e) {
        ahead = null;
        if (!e.unreadable) throw e;
        // A file the browser cannot read (removed card, permissions): out of the stream, reported skipped.
        const answer = await api('POST', '/cards/' + card.id + '/skip', { idx: e.unreadable.idx, reason: e.reason });
        placeFiles({ ...answer, files: answer.files });
        offset = answer.offset;
        continue;
      }
      const next = offset + body.size;
      ahead = next < card.bytes_total ? prepare(next) : null;
      let r;
      try {
        r = await fetch('/api/v1/uploads/' + card.upload_id, {
          method: 'PATCH', credentials: 'same-origin', body: body.blob,
          headers: { 'Upload-Offset': String(offset), 'Upload-Checksum': 'sha256 ' + body.digest,
                     'Content-Type': 'application/offset+octet-stream', 'X-CSRF-Token': csrf, Accept: 'application/json' } });
      } catch (e) {
        failures += 1;
        if (failures > 4) { message(T.interrupted); $('card-resume').hidden = false; return false; }
        await new Promise((res) => setTimeout(res, 500 * 2 ** failures));
        const now = await api('GET', '/uploads/' + card.upload_id).catch(() => null);
        if (now) offset = now.offset;
        continue;
      }
      const data = await r.json().catch(() => null);
      if (r.status === 409 && data && data.error && data.error.details && 'offset' in data.error.details) {
        offset = data.error.details.offset;  // someone (another tab) moved it on: go on from there
        continue;
      }
      if (r.status === 422 && data && data.error && data.error.code === 'checksum_mismatch') {
        failures += 1;
        if (failures > 4) throw new Error(data.error.message);
        ahead = null;
        continue;  // damaged on the way: the same piece again, read again
      }
      if (!r.ok) throw new Error((data && data.error && data.error.message) || r.statusText);
      failures = 0;
      offset = data.offset;
      card.offset = offset;
      drawProgress(offset);
    }
    return true;
  }

  // ---- ingest progress and the report ---------------------------------------------------------------
  function list(el, rows) {
    el.replaceChildren();
    if (!rows.length) { const li = document.createElement('li'); li.textContent = T.none; el.appendChild(li); return; }
    rows.forEach((text) => { const li = document.createElement('li'); li.textContent = text; el.appendChild(li); });
  }
  function drawReport(card) {
    const rep = card.report || {};
    $('card-report').hidden = false;
    $('rep-ingested').textContent = num(rep.ingested || 0);
    $('rep-duplicates').textContent = num(rep.duplicates || 0);
    $('rep-skipped').textContent = num((rep.skipped || []).length);
    $('rep-sequences').textContent = num(rep.sequences || 0);
    list($('rep-skipped-list'), (rep.skipped || []).map((s) => s.path + ': ' + s.reason));
    const flags = Object.entries(rep.flag_counts || {}).map(([k, n]) => {
      const ex = ((rep.flagged || {})[k] || []).slice(0, 3).join(', ');
      return (T['flag_' + k] || k) + ': ' + num(n) + (ex ? ' (' + ex + (n > 3 ? ', …' : '') + ')' : '');
    });
    list($('rep-flags'), flags);
    list($('rep-duplicates-list'), (rep.duplicate_paths || []).slice(0, 50));
    $('rep-clock').href = T.clock_url.replace('DEPLOYMENT', card.deployment_id);
  }
  async function follow(cardId) {
    // Asked often at first (a small card is ingested a moment after its last piece), then every second.
    let pause = 200;
    for (;;) {
      const card = await api('GET', '/cards/' + cardId);
      const job = card.job || {};
      root.dataset.status = card.status;
      $('ingest-text').textContent = fmt(T.ingesting, { done: num(card.files_done || job.progress_done || 0),
                                                        total: num(card.files_accepted) });
      if (card.status === 'done') { message(T.done); drawReport(card); return card; }
      if (card.status === 'failed') {
        message(fmt(T.failed, { error: (card.report && card.report.fatal) || job.error || '' }));
        drawReport(card);
        return card;
      }
      await new Promise((res) => setTimeout(res, pause));
      pause = Math.min(1000, pause * 1.5);
    }
  }

  // ---- one dropped card ------------------------------------------------------------------------------
  async function start(dropped) {
    const depSel = $('card-deployment');
    $('err-deployment').hidden = true;
    if (!depSel.value) { $('err-deployment').hidden = false; depSel.focus(); return; }
    if (!dropped.items.length) { message(T.no_files); $('card-state').hidden = false; return; }
    if (run) run.stopped = true;
    $('card-state').hidden = false;
    $('card-report').hidden = true;
    $('card-resume').hidden = true;
    $('card-label').textContent = dropped.label;
    message(T.reading);
    run = { items: new Map(), paused: false, stopped: false, deployment: depSel.value, dropped };
    const manifest = dropped.items.map((x) => {
      const e = { path: x.path, size: x.file ? x.file.size : 0 };
      if (x.file && x.file.lastModified) e.modified_ms = x.file.lastModified;
      if (x.error) e.error = x.error;
      run.items.set(x.path, x);
      return e;
    });
    root.dataset.status = 'starting';
    let card;
    try {
      card = await api('POST', '/deployments/' + depSel.value + '/cards', { label: dropped.label, files: manifest });
    } catch (e) {
      message(fmt(T.error, { message: e.message }));
      root.dataset.status = 'refused';
      return;
    }
    placeFiles(card);
    root.dataset.card = card.id;
    root.dataset.resumed = card.resumed ? 'true' : 'false';
    if (card.resumed && card.offset > 0) {
      message(fmt(T.resumed, { done: bytes(card.offset), total: bytes(card.bytes_total) }));
    } else {
      message('');
    }
    root.dataset.status = 'sending';
    $('card-pause').hidden = false;
    // Files are ingested while the rest arrives: their progress is shown meanwhile.
    const thisRun = run;
    const watch = setInterval(async () => {
      if (run !== thisRun) { clearInterval(watch); return; }
      const now = await api('GET', '/cards/' + card.id).catch(() => null);
      if (now && run === thisRun && root.dataset.status === 'sending') {
        $('ingest-text').textContent = fmt(T.ingesting, { done: num(now.files_done || 0), total: num(now.files_accepted) });
      }
    }, 2000);
    try {
      if (!(await send())) return;
    } catch (e) {
      message(fmt(T.error, { message: e.message }));
      $('card-resume').hidden = false;
      root.dataset.status = 'error';
      return;
    } finally {
      clearInterval(watch);
    }
    $('card-pause').hidden = true;
    message(T.complete);
    root.dataset.status = 'ingesting';
    await follow(card.id);
  }

  const zone = $('dropzone');
  ['dragenter', 'dragover'].forEach((ev) => zone.addEventListener(ev, (e) => { e.preventDefault(); zone.classList.add('over'); }));
  zone.addEventListener('dragleave', () => zone.classList.remove('over'));
  zone.addEventListener('drop', async (e) => {
    e.preventDefault();
    zone.classList.remove('over');
    start(await fromDrop(e.dataTransfer));
  });
  $('pick-folder').addEventListener('change', (e) => { if (e.target.files.length) start(fromInput(e.target.files)); });
  $('pick-zip').addEventListener('change', (e) => { if (e.target.files.length) start(fromInput(e.target.files)); });
  $('card-pause').addEventListener('click', () => { if (run) { run.paused = true; $('card-pause').hidden = true; $('card-resume').hidden = false; } });
  $('card-resume').addEventListener('click', () => { if (run) { $('card-resume').hidden = true; start(run.dropped); } });
  window.addEventListener('beforeunload', (e) => {
    if (run && root.dataset.status === 'sending' && !run.paused) { e.preventDefault(); e.returnValue = ''; }
  });
}());
