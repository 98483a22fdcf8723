/* The jobs page: live progress of queued and running jobs (polls the page's JSON endpoint),
   and the Run detector form's model list narrowed to the chosen program's models.
   Everything reaches the page as text nodes and attributes; nothing is parsed as HTML. */
document.addEventListener('DOMContentLoaded', function () {
  'use strict';
  const table = document.getElementById('jobs');
  const ACTIVE = ['queued', 'running'];

  function update(el, job) {
    el.dataset.status = job.status;
    const part = (name) => el.querySelector('[data-live="' + name + '"]');
    const status = part('status');
    status.textContent = job.status_label;
    status.className = 'badge job-' + job.status;
    const bar = part('bar');
    bar.max = job.total || 1;
    bar.value = job.total ? job.done : (job.status === 'done' ? 1 : 0);
    part('count').textContent = job.total ? job.done + ' / ' + job.total : '';
    part('failures').textContent = String(job.failures);
    part('failures-wrap').classList.toggle('none', !job.failures);
    part('error').textContent = job.error;
    part('cancel').hidden = !job.can_cancel;
    part('retry').hidden = !job.can_retry;
  }

  const newer = document.getElementById('jobs-newer');
  let delay = 1000;
  async function poll() {
    if (!table) return;
    const live = Array.from(table.querySelectorAll('[data-job]')).filter((el) => ACTIVE.includes(el.dataset.status));
    try {
      const url = table.dataset.poll + '?newest=' + encodeURIComponent(table.dataset.newest || '') +
        '&ids=' + encodeURIComponent(live.map((el) => el.dataset.job).join(','));
      const r = await fetch(url, { credentials: 'same-origin', headers: { Accept: 'application/json' } });
      if (r.ok) {
        const data = await r.json();
        data.jobs.forEach((job) => {
          const el = document.getElementById('job-' + job.id);
          if (el) update(el, job);
        });
        if (newer && data.newer) {
          newer.querySelector('span').textContent = newer.dataset.text.replace('{n}', String(data.newer));
          newer.hidden = false;
        }
        delay = live.length ? 1000 : 4000;  // quick while something runs
      } else { delay = Math.min(delay * 2, 15000); }
    } catch (e) { delay = Math.min(delay * 2, 15000); }
    setTimeout(poll, delay);
  }
  poll();

  // Run detector: offer only the models enabled for the chosen target's program.
  const target = document.getElementById('f-target');
  const model = document.getElementById('f-model');
  if (target && model) {
    const narrow = () => {
      const opt = target.selectedOptions[0];
      const program = opt ? opt.dataset.program : '';
      Array.from(model.options).forEach((o) => {
        if (!o.value) return;
        const ok = !program || (o.dataset.for || '').split(' ').includes(program);
        o.hidden = !ok;
        o.disabled = !ok;
        if (!ok && o.selected) model.value = '';
      });
      if (program && !model.value) {
        const first = Array.from(model.options).find((o) => o.value && !o.disabled);
        if (first) model.value = first.value;
      }
    };
    target.addEventListener('change', narrow);
    narrow();
  }
});
