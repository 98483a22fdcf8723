/* Saola sound review: play from a detection, verify/reject labels, add a label. */
document.addEventListener('DOMContentLoaded', function () {
  'use strict';
  const S = window.Saola;
  const T = JSON.parse(document.getElementById('review-text').textContent);
  const t = (s) => T[s] || s;
  const root = document.getElementById('sound');
  const player = document.getElementById('player');
  const status = document.getElementById('sound-status');
  let taxon = null;

  function play(start) {
    player.currentTime = parseFloat(start) || 0;
    player.play().catch(() => {});
  }
  root.querySelectorAll('.play, .spectro .box').forEach((el) => {
    el.addEventListener('click', () => play(el.dataset.start));
  });
  root.querySelectorAll('button[data-verdict]').forEach((b) => {
    b.addEventListener('click', async () => {
      const row = b.closest('tr');
      try {
        const r = await S.api('POST', '/review/detections/' + row.dataset.detectionId + '/verdict',
          { review_status: b.dataset.verdict });
        row.querySelector('.verdict').textContent = t(r.review_status);
        const box = root.querySelector('.spectro .box[data-detection-id="' + row.dataset.detectionId + '"]');
        if (box) box.className = 'box ' + r.review_status;
      } catch (e) { alert(t('Error') + ': ' + e.message); }
    });
  });
  // Keyboard: ↓/↑ choose a detection, space plays it, v verifies, x rejects, s searches a species.
  const rows = Array.from(root.querySelectorAll('#detections tr[data-detection-id]'));
  let current = -1;
  function select(i) {
    if (!rows.length) return;
    current = (i + rows.length) % rows.length;
    rows.forEach((r, j) => r.classList.toggle('selected', j === current));
    rows[current].scrollIntoView({ block: 'nearest' });
  }
  document.addEventListener('keydown', (e) => {
    const tag = (e.target.tagName || '').toLowerCase();
    if (tag === 'input' || tag === 'textarea' || tag === 'select' || e.ctrlKey || e.metaKey || e.altKey) return;
    const row = rows[current];
    let handled = true;
    if (e.key === 'ArrowDown' || e.key === 'j') select(current + 1);
    else if (e.key === 'ArrowUp' || e.key === 'k') select(current - 1);
    else if (e.key === ' ') { if (row) play(row.querySelector('.play').dataset.start); else if (player.paused) player.play(); else player.pause(); }
    else if ((e.key === 'v' || e.key === 'x') && row) {
      const b = row.querySelector(e.key === 'v' ? '.verify' : '.reject');
      if (b) b.click();
    } else if (e.key === 's' && document.getElementById('label-species')) document.getElementById('label-species').focus();
    else handled = false;
    if (handled) e.preventDefault();
  });

  const form = document.getElementById('add-label');
  if (form) {
    S.speciesPicker(document.getElementById('label-species'), (tx) => { taxon = tx; });
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      if (!taxon) { status.textContent = t('No species chosen'); status.className = 'status bad'; return; }
      try {
        await S.api('POST', '/review/media/' + root.dataset.media + '/labels', {
          taxon_id: taxon.id, start_s: parseFloat(document.getElementById('label-start').value),
          end_s: parseFloat(document.getElementById('label-end').value) });
        status.textContent = t('Saved'); status.className = 'status good';
        setTimeout(() => window.location.reload(), 300);
      } catch (err) { status.textContent = t('Error') + ': ' + err.message; status.className = 'status bad'; }
    });
  }
});
