// litsurvey pages: live job progress over Server-Sent Events, and citation highlighting on
// survey pages. Text from the server is only ever set with textContent.
'use strict';

const STAGE_NAMES = { plan: 'planning the outline', library: 'retrieving papers', sections: 'writing sections', frame: 'writing abstract, introduction and conclusion', assembly: 'assembling' };

function text(id, value) {
  const el = document.getElementById(id);
  if (el) el.textContent = value;
}

function followJob(main) {
  const list = document.getElementById('job-events');
  const progress = document.getElementById('job-progress');
  const live = document.getElementById('job-live');
  const setState = (state) => {
    const el = document.getElementById('job-state');
    if (!el) return;
    el.textContent = state;
    el.className = `state state-${state}`;
    main.dataset.state = state;
  };
  const log = (line) => {
    if (!list) return;
    const li = document.createElement('li');
    li.textContent = line;
    list.appendChild(li);
    while (list.children.length > 200) list.removeChild(list.firstChild);
  };
  const source = new EventSource(main.dataset.events);
  const data = (e) => {
    try {
      return JSON.parse(e.data);
    } catch {
      return {};
    }
  };
  source.addEventListener('queue', (e) => {
    const d = data(e);
    text('job-position', d.position === null || d.position === undefined ? '–' : String(d.position));
    if (d.state === 'queued' && d.position) text('job-stage', `waiting (${d.position} in the queue)`);
  });
  source.addEventListener('claimed', () => {
    setState('running');
    text('job-position', '–');
    log('a worker took the job');
  });
  source.addEventListener('stage', (e) => {
    const d = data(e);
    setState('running');
    const name = STAGE_NAMES[d.stage] || d.stage;
    text('job-stage', d.state === 'done' ? `${name} (done)` : name);
    if (d.total) {
      progress.max = d.total;
      progress.value = d.done || 0;
    } else if (d.state === 'start') progress.removeAttribute('value');
    if (d.detail) text('job-detail', d.stage === 'sections' && d.state === 'progress' ? `Wrote “${d.detail}” (${d.done}/${d.total})` : d.detail);
    if (d.state === 'start' || d.state === 'done' || d.state === 'reused') {
      log(`${name}: ${d.state}${d.detail ? ` — ${d.detail}` : ''}`);
      if (live) live.textContent = `${name}: ${d.state}`;
    }
  });
  source.addEventListener('step', (e) => {
    const d = data(e);
    if (typeof d.papers === 'number') text('job-papers', String(d.papers));
    if (d.stage === 'library' || d.step === 'plan' || d.step === 'assembly') log(`step ${d.step} stored`);
  });
  source.addEventListener('stats', (e) => {
    const d = data(e);
    if (typeof d.tokensPerSecond === 'number') text('job-tps', d.tokensPerSecond.toFixed(1));
  });
  source.addEventListener('requeued', () => {
    setState('queued');
    log('the server restarted; the job is queued again');
  });
  for (const type of ['done', 'failed', 'cancelled']) {
    source.addEventListener(type, (e) => {
      const d = data(e);
      setState(type);
      log(`job ${type}${d.error ? `: ${d.error}` : ''}`);
      if (d.error) text('job-error', d.error);
    });
  }
  source.addEventListener('end', (e) => {
    const d = data(e);
    source.close();
    setState(d.state);
    const cancel = document.getElementById('cancel-form');
    if (cancel) cancel.hidden = true;
    if (d.state === 'done') {
      progress.max = 1;
      progress.value = 1;
      text('job-stage', 'finished');
      text('job-detail', '');
      const result = document.getElementById('job-result');
      if (result) result.hidden = false;
      if (live) live.textContent = 'The survey is ready.';
      const link = document.getElementById('survey-link');
      if (link) link.focus();
    } else {
      if (d.error) text('job-error', d.error);
      if (live) live.textContent = `The job ${d.state}.`;
    }
  });
  source.onerror = () => {
    if (source.readyState === EventSource.CLOSED) log('lost the connection; reload the page to follow the job');
  };
}

function highlightReference(hash) {
  if (!/^#ref-\d+$/.test(hash)) return;
  const target = document.getElementById(hash.slice(1));
  if (!target) return;
  for (const el of document.querySelectorAll('.reference.highlight')) el.classList.remove('highlight');
  target.classList.add('highlight');
  target.setAttribute('tabindex', '-1');
  target.focus({ preventScroll: true });
  target.scrollIntoView({ block: 'center' });
}

function surveyPage() {
  document.addEventListener('click', (e) => {
    const a = e.target instanceof Element ? e.target.closest('a.cite') : null;
    if (!a) return;
    e.preventDefault();
    const hash = a.getAttribute('href');
    history.pushState(null, '', hash);
    highlightReference(hash);
  });
  window.addEventListener('hashchange', () => highlightReference(location.hash));
  if (location.hash) highlightReference(location.hash);
}

function surveyForm(form) {
  form.addEventListener('submit', () => {
    const button = form.querySelector('button[type=submit]');
    if (button) {
      button.disabled = true;
      button.textContent = 'Starting…';
    }
  });
}

document.addEventListener('DOMContentLoaded', () => {
  const main = document.getElementById('main');
  if (main && main.dataset.job && main.dataset.events && !['done', 'failed', 'cancelled'].includes(main.dataset.state)) followJob(main);
  if (document.querySelector('article.survey')) surveyPage();
  const form = document.querySelector('form[action="/surveys"]');
  if (form) surveyForm(form);
});
