/* The exports page: live progress of queued and running export jobs (polls the page's JSON),
   the download link shown when a job is done. Text reaches the page as text nodes only. */
document.addEventListener('DOMContentLoaded', function () {
  'use strict';
  const table = document.getElementById('exports');
  if (!table) return;
  const ACTIVE = ['queued', 'running'];

  function update(el, job) {
    el.dataset.status = job.status;
    const part = (name) => el.querySelector('[data-live="' + name + '"]');
    const status = part('status');
    status.textContent = job.status_label;
    status.className = 'badge job-' + job.status;
    part('error').textContent = job.error;
    const bar = part('bar');
    bar.max = job.total || 1;
    bar.value = job.total ? job.done : (job.status === 'done' ? 1 : 0);
    const link = part('download');
    if (job.download) { link.href = job.download; link.classList.remove('none'); }
  }

  let delay = 1000;
  async function poll() {
    const live = Array.from(table.querySelectorAll('[data-job]')).filter((el) => ACTIVE.includes(el.dataset.status));
    if (!live.length) return;
    try {
      const r = await fetch(table.dataset.poll, { credentials: 'same-origin', headers: { Accept: 'application/json' } });
      if (r.ok) {
        const data = await r.json();
        data.jobs.forEach((job) => {
          const el = document.getElementById('export-' + job.id);
          if (el) update(el, job);
        });
        delay = 1000;
      } else { delay = Math.min(delay * 2, 15000); }
    } catch (e) { delay = Math.min(delay * 2, 15000); }
    setTimeout(poll, delay);
  }
  poll();
});
