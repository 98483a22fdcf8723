/* Saola repeated false positives: dismiss every box of a group at once. */
document.addEventListener('DOMContentLoaded', function () {
  'use strict';
  document.querySelectorAll('.group .dismiss').forEach(function (b) {
    b.addEventListener('click', async function () {
      const g = b.closest('.group');
      try {
        const r = await window.Saola.api('POST', '/review/deployments/' + b.dataset.deployment + '/dismiss',
          { detection_ids: g.dataset.ids.split(',') });
        g.querySelector('.status').textContent = '✓ ' + r.dismissed;
        b.disabled = true;
      } catch (e) { g.querySelector('.status').textContent = e.message; }
    });
  });
});
