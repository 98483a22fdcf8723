/* Reports page: a chart the server could not draw (too few records for an occupancy model, one
   species for an overlap...) shows the server's reason as text instead of a broken image. */
document.addEventListener('DOMContentLoaded', function () {
  'use strict';
  document.querySelectorAll('#charts figure.chart').forEach((fig) => {
    const img = fig.querySelector('img');
    const note = fig.querySelector('.chart-error');
    const failed = () => {
      fig.dataset.state = 'error';
      fetch(img.src, { credentials: 'same-origin', headers: { Accept: 'application/json' } })
        .then((r) => r.json())
        .then((body) => {
          const lead = document.getElementById('charts').dataset.errorText;
          note.textContent = lead + ' ' + ((body && body.error && body.error.message) || '');
        })
        .catch(() => { note.textContent = img.alt; })
        .finally(() => { img.hidden = true; note.hidden = false; });
    };
    const loaded = () => { if (img.naturalWidth > 0) fig.dataset.state = 'done'; else failed(); };
    if (img.complete) loaded(); else { img.addEventListener('load', loaded); img.addEventListener('error', failed); }
  });
});
