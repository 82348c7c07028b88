// loragate web console: plain JavaScript, no framework, no external resources.
// Every string that comes from the server (adapter names, file names, dataset lines, error
// messages) is attacker-controlled: it is only ever put into the page as text (textContent,
// createTextNode, attribute values through setAttribute/dataset), never as markup.
'use strict';

(function () {
  const KEY_STORAGE = 'loragate.apiKey';
  // The page's own calls count against the tenant's requests_per_second quota: it polls gently,
  // not at all while the tab is hidden, and waits out a 429's Retry-After.
  const REFRESH_MS = 5000;        // adapters, files, jobs, sweeps, models: 5 calls
  const JOB_POLL_MS = 1500;       // the selected job and its new events: 2 calls
  const EVENT_PAGE = 500;         // events per request when catching up (the API allows up to 999)
  const EVENT_TAIL = 50;          // events per request when following a job
  const MAX_EVENT_PAGES = 40;     // at most 20,000 events read back when a job is opened
  const MAX_LOG_LINES = 300;      // event messages kept in the log view
  const FINAL = ['succeeded', 'failed', 'cancelled'];
  const SVG_NS = 'http://www.w3.org/2000/svg';

  const state = {
    key: sessionStorage.getItem(KEY_STORAGE) || '',
    rendered: {},                 // section -> JSON of what it shows, to skip redrawing unchanged lists
    files: [],
    selectedFile: null,
    selectedSweep: null,
    job: null,                    // the selected job's live view, see openJob
  };

  // ---------------------------------------------------------------------------------------------
  // DOM helpers: text only

  function $(id) {
    return document.getElementById(id);
  }

  /** el('td', {class: 'num'}, 'text', childNode, ...): attributes by setAttribute, children as text nodes. */
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    setAttrs(node, attrs);
    append(node, children);
    return node;
  }

  function svgEl(tag, attrs, ...children) {
    const node = document.createElementNS(SVG_NS, tag);
    setAttrs(node, attrs);
    append(node, children);
    return node;
  }

  function setAttrs(node, attrs) {
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v !== null && v !== undefined && v !== false) {
        node.setAttribute(k, v === true ? '' : String(v));
      }
    }
  }

  function append(node, children) {
    for (const c of children.flat()) {
      if (c === null || c === undefined || c === false) {
        continue;
      }
      node.appendChild(c instanceof Node ? c : document.createTextNode(String(c)));
    }
  }

  function clear(node) {
    while (node.firstChild) {
      node.removeChild(node.firstChild);
    }
  }

  function button(label, attrs, onClick) {
    const b = el('button', Object.assign({type: 'button'}, attrs), label);
    b.addEventListener('click', onClick);
    return b;
  }

  function fmt(x) {
    if (x === null || x === undefined) {
      return '—';
    }
    if (typeof x === 'number') {
      if (Number.isInteger(x)) {
        return String(x);
      }
      return Math.abs(x) >= 1000 || Math.abs(x) < 0.001 ? x.toExponential(3) : x.toPrecision(4);
    }
    if (typeof x === 'boolean') {
      return x ? 'yes' : 'no';
    }
    if (typeof x === 'object') {
      return JSON.stringify(x);
    }
    return String(x);
  }

  function time(epochSeconds) {
    return epochSeconds ? new Date(epochSeconds * 1000).toLocaleString() : '—';
  }

  function bytes(n) {
    if (n === null || n === undefined) {
      return '—';
    }
    const units = ['B', 'KiB', 'MiB', 'GiB'];
    let i = 0;
    while (n >= 1024 && i < units.length - 1) {
      n /= 1024;
      i++;
    }
    return (i === 0 ? String(n) : n.toFixed(1)) + ' ' + units[i];
  }

  /** A table from column headers and rows of cells (strings, numbers or nodes). */
  function table(headers, rows, rowAttrs) {
    const thead = el('thead', null, el('tr', null, headers.map(h => el('th', null, h))));
    const tbody = el('tbody');
    rows.forEach((cells, i) => {
      const tr = el('tr', rowAttrs ? rowAttrs(i) : null);
      for (const c of cells) {
        const numeric = typeof c === 'number';
        tr.appendChild(el('td', numeric ? {class: 'num'} : null, c instanceof Node ? c : fmt(c)));
      }
      tbody.appendChild(tr);
    });
    return el('table', null, thead, tbody);
  }

  function status(message, isError) {
    const s = $('status');
    s.textContent = message || '';
    s.className = isError ? 'error' : '';
  }

  // ---------------------------------------------------------------------------------------------
  // API

  let pausedUntil = 0;             // Date.now() before which nothing polls (after a 429)

  function mayPoll() {
    return document.visibilityState !== 'hidden' && Date.now() >= pausedUntil;
  }

  class ApiError extends Error {
    constructor(httpStatus, message, param) {
      super(message);
      this.httpStatus = httpStatus;
      this.param = param;
    }
  }

  function authHeaders() {
    return state.key ? {'Authorization': 'Bearer ' + state.key} : {};
  }

  /** The server's own message (OpenAI error shape), never a stack trace or raw body. */
  function errorFrom(httpStatus, body) {
    const e = body && body.error;
    const message = e && typeof e.message === 'string' ? e.message : 'HTTP ' + httpStatus;
    const param = e && typeof e.param === 'string' ? e.param : null;
    return new ApiError(httpStatus, message, param);
  }

  async function api(method, path, body) {
    const headers = authHeaders();
    const init = {method: method, headers: headers, cache: 'no-store'};
    if (body !== undefined) {
      headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    let response;
    try {
      response = await fetch(path, init);
    } catch (e) {
      throw new ApiError(0, 'the gateway cannot be reached');
    }
    let json = null;
    try {
      json = await response.json();
    } catch (e) {
      json = null;
    }
    if (!response.ok) {
      if (response.status === 429) {
        const wait = Number(response.headers.get('Retry-After'));
        pausedUntil = Date.now() + 1000 * (Number.isFinite(wait) && wait > 0 ? Math.min(wait, 60) : 5);
      }
      throw errorFrom(response.status, json);
    }
    return json;
  }

  function describe(e) {
    if (e instanceof ApiError) {
      return (e.param ? e.param + ': ' : '') + e.message + (e.httpStatus ? ' (HTTP ' + e.httpStatus + ')' : '');
    }
    return String(e && e.message ? e.message : e);
  }

  function report(e) {
    status(describe(e), true);
  }

  // ---------------------------------------------------------------------------------------------
  // the API key

  function setupKey() {
    $('api-key').value = state.key;
    showKeyState();
    $('key-form').addEventListener('submit', ev => {
      ev.preventDefault();
      state.key = $('api-key').value.trim();
      if (state.key) {
        sessionStorage.setItem(KEY_STORAGE, state.key);
      } else {
        sessionStorage.removeItem(KEY_STORAGE);
      }
      resetViews();
      showKeyState();
      refreshAll(true);
    });
    $('key-forget').addEventListener('click', () => {
      state.key = '';
      $('api-key').value = '';
      sessionStorage.removeItem(KEY_STORAGE);
      resetViews();
      showKeyState();
      refreshAll(true);
    });
  }

  function showKeyState() {
    $('key-state').textContent = state.key ? 'key set for this tab' : 'no key';
  }

  /** A new key is another tenant: nothing of the previous one stays on the page. */
  function resetViews() {
    state.rendered = {};
    state.files = [];
    state.selectedFile = null;
    state.selectedSweep = null;
    closeJob();
    ['adapters', 'files', 'file-report', 'jobs', 'job-detail', 'sweeps', 'sweep-detail'].forEach(id => clear($(id)));
  }

  // ---------------------------------------------------------------------------------------------
  // periodic refresh

  let refreshing = false;
  let refreshFailed = false;

  async function refreshAll(announce) {
    if (refreshing || (!announce && !mayPoll())) {
      return;
    }
    refreshing = true;
    try {
      await Promise.all([refreshAdapters(), refreshFiles(), refreshJobs(), refreshSweeps(), refreshModels()]);
      if (announce || refreshFailed) {
        status(''); // the error the last refresh showed is over
      }
      refreshFailed = false;
    } catch (e) {
      refreshFailed = true;
      report(e);
    } finally {
      refreshing = false;
    }
  }

  /** Redraws a section only when its data changed (keeps the buttons under the pointer stable). */
  function changed(section, data) {
    const json = JSON.stringify(data);
    if (state.rendered[section] === json) {
      return false;
    }
    state.rendered[section] = json;
    return true;
  }

  // ---------------------------------------------------------------------------------------------
  // adapters

  async function refreshAdapters() {
    const list = await api('GET', '/v1/adapters');
    const adapters = list.data || [];
    if (!changed('adapters', adapters)) {
      return;
    }
    const root = $('adapters');
    clear(root);
    if (adapters.length === 0) {
      root.appendChild(el('p', {class: 'muted'}, 'No adapters yet: train one below.'));
      return;
    }
    for (const a of adapters) {
      root.appendChild(adapterView(a));
    }
  }

  function adapterView(a) {
    const recent = a.recent_requests || {counts: [], total: 0, per_minute: 0};
    const head = el('div', {class: 'adapter-head'},
        el('span', {class: 'adapter-name'}, a.name),
        el('span', null, 'active ', el('strong', {'data-role': 'active-version'}, 'v' + a.active_version)),
        el('span', {class: 'tag' + (a.pinned ? ' on' : '')}, a.pinned ? 'alias pinned' : 'alias not pinned'),
        a.pinned
            ? button('Unpin alias', {'data-action': 'unpin', 'data-adapter': a.name}, () => adapterAction(a.name, 'unpin', null))
            : button('Pin alias', {'data-action': 'pin', 'data-adapter': a.name}, () => adapterAction(a.name, 'pin', null)),
        el('span', {title: 'requests in the last 5 minutes, 10-second buckets'},
            sparkline(recent.counts || []), ' ',
            el('span', {'data-role': 'rate'}, fmt(recent.per_minute) + ' req/min'),
            el('span', {class: 'muted'}, ' (' + recent.total + ' in 5 min)')));
    const rows = a.versions.map(v => [
      v.id,
      v.active ? 'active' : '',
      v.peft_type,
      v.rank,
      bytes(v.bytes),
      v.state + (v.error ? ': ' + v.error : ''),
      el('span', {class: 'tag' + (v.loaded ? ' on' : ''), 'data-role': 'resident'}, v.loaded ? 'resident' : 'not loaded'),
      el('span', {class: 'tag' + (v.pinned ? ' on' : ''), 'data-role': 'pinned'}, v.pinned ? 'pinned' : 'no'),
      el('span', null,
          v.active ? null : button('Activate', {'data-action': 'activate', 'data-adapter': a.name, 'data-version': v.version},
              () => activate(a.name, v.version)),
          ' ',
          v.version_pinned
              ? button('Unpin version', {'data-action': 'unpin-version', 'data-adapter': a.name, 'data-version': v.version},
                  () => adapterAction(a.name, 'unpin', v.version))
              : button('Pin version', {'data-action': 'pin-version', 'data-adapter': a.name, 'data-version': v.version},
                  () => adapterAction(a.name, 'pin', v.version))),
    ]);
    const t = table(['version', '', 'type', 'rank', 'size', 'state', 'cache', 'pinned', ''], rows,
        i => ({'data-version-id': a.versions[i].id}));
    return el('div', {class: 'adapter', 'data-adapter': a.name}, head, t);
  }

  function sparkline(counts) {
    const w = 90;
    const h = 20;
    const max = Math.max(1, ...counts);
    const pts = counts.map((c, i) => {
      const x = counts.length < 2 ? 0 : (i * w) / (counts.length - 1);
      const y = h - 1 - (c / max) * (h - 2);
      return x.toFixed(1) + ',' + y.toFixed(1);
    });
    return svgEl('svg', {class: 'spark', viewBox: '0 0 ' + w + ' ' + h, 'aria-hidden': 'true'},
        svgEl('polyline', {points: pts.join(' ')}));
  }

  async function activate(name, version) {
    try {
      await api('PUT', '/v1/adapters/' + encodeURIComponent(name) + '/active', {version: version});
      status(name + ': version ' + version + ' is now active');
      await refreshAdapters();
    } catch (e) {
      report(e);
    }
  }

  async function adapterAction(name, action, version) {
    const query = version === null ? '' : '?version=' + encodeURIComponent(version);
    try {
      await api('POST', '/v1/adapters/' + encodeURIComponent(name) + '/' + action + query);
      status(name + (version === null ? '' : '@' + version) + ': ' + action + 'ned');
      await refreshAdapters();
    } catch (e) {
      report(e);
    }
  }

  // ---------------------------------------------------------------------------------------------
  // datasets

  async function refreshFiles() {
    const list = await api('GET', '/v1/files');
    state.files = list.data || [];
    fillFileSelect();
    if (!changed('files', state.files)) {
      return;
    }
    const root = $('files');
    clear(root);
    if (state.files.length === 0) {
      root.appendChild(el('p', {class: 'muted'}, 'No datasets yet.'));
      return;
    }
    const rows = state.files.map(f => {
      const r = f.report || {};
      return [f.filename, el('code', null, f.id), bytes(f.bytes), r.format || 'no valid line', r.examples, r.error_count, time(f.created_at)];
    });
    root.appendChild(table(['file', 'id', 'size', 'format', 'examples', 'bad lines', 'uploaded'], rows, i => ({
      'class': 'clickable' + (state.files[i].id === state.selectedFile ? ' selected' : ''),
      'data-file-id': state.files[i].id,
    })));
    root.querySelectorAll('tr[data-file-id]').forEach(tr => tr.addEventListener('click', () => {
      state.selectedFile = tr.dataset.fileId;
      state.rendered.files = null;
      refreshFiles().catch(report);
    }));
    showFileReport();
  }

  function fillFileSelect() {
    const select = $('job-file');
    const keep = select.value;
    const ids = state.files.map(f => f.id).join(',');
    if (select.dataset.ids === ids) {
      return;
    }
    select.dataset.ids = ids;
    clear(select);
    for (const f of state.files) {
      const r = f.report || {};
      select.appendChild(el('option', {value: f.id}, f.filename + ' (' + (r.format || 'invalid') + ', ' + r.examples + ' examples) ' + f.id));
    }
    if (keep && state.files.some(f => f.id === keep)) {
      select.value = keep;
    }
  }

  function showFileReport() {
    const root = $('file-report');
    clear(root);
    const f = state.files.find(x => x.id === state.selectedFile);
    if (!f) {
      return;
    }
    const r = f.report || {};
    const t = r.tokens || {};
    root.appendChild(el('h3', null, 'Validation report: ', f.filename));
    root.appendChild(table(['format', 'examples', 'tokens min', 'mean', 'p95', 'max', 'total', 'truncated (> ' + fmt(r.max_length) + ')', 'duplicates', 'bad lines'],
        [[r.format || 'none', r.examples, t.min, t.mean, t.p95, t.max, t.total, r.truncated, r.duplicates, r.error_count]]));
    if (r.label_counts && Object.keys(r.label_counts).length > 0) {
      root.appendChild(el('h3', null, 'Labels'));
      root.appendChild(table(['label', 'examples'], Object.entries(r.label_counts).map(([k, v]) => [k, v])));
    }
    if (r.errors && r.errors.length > 0) {
      root.appendChild(el('h3', null, 'Bad lines', r.error_count > r.errors.length ? ' (first ' + r.errors.length + ' of ' + r.error_count + ')' : ''));
      root.appendChild(el('div', {class: 'errors'}, table(['line', 'reason'], r.errors.map(e => [e.line, e.reason]))));
    }
  }

  function setupUpload() {
    $('upload-form').addEventListener('submit', ev => {
      ev.preventDefault();
      const input = $('upload-file');
      if (!input.files || input.files.length === 0) {
        status('choose a JSON Lines file first', true);
        return;
      }
      upload(input.files[0]);
    });
  }

  /** XMLHttpRequest rather than fetch: it reports upload progress. */
  function upload(file) {
    const form = new FormData();
    form.append('purpose', 'fine-tune');
    form.append('file', file, file.name);
    const xhr = new XMLHttpRequest();
    const progress = $('upload-progress');
    const button = $('upload-button');
    progress.hidden = false;
    progress.value = 0;
    button.disabled = true;
    $('upload-state').textContent = 'uploading ' + file.name + '…';
    xhr.upload.addEventListener('progress', e => {
      if (e.lengthComputable) {
        progress.value = e.loaded / e.total;
      }
    });
    xhr.addEventListener('load', () => {
      button.disabled = false;
      progress.hidden = true;
      let body = null;
      try {
        body = JSON.parse(xhr.responseText);
      } catch (e) {
        body = null;
      }
      if (xhr.status >= 200 && xhr.status < 300 && body) {
        $('upload-state').textContent = 'uploaded ' + body.id;
        status(file.name + ' uploaded as ' + body.id + ': ' + fmt(body.report && body.report.examples) + ' examples');
        state.selectedFile = body.id;
        state.rendered.files = null;
        refreshFiles().then(() => {
          $('job-file').value = body.id;
          $('job-file').dispatchEvent(new Event('change')); // suggests the task for its format
        }).catch(report);
      } else {
        $('upload-state').textContent = '';
        report(errorFrom(xhr.status, body));
      }
    });
    xhr.addEventListener('error', () => {
      button.disabled = false;
      progress.hidden = true;
      $('upload-state').textContent = '';
      report(new ApiError(0, 'the upload failed: the gateway cannot be reached'));
    });
    xhr.open('POST', '/v1/files');
    for (const [k, v] of Object.entries(authHeaders())) {
      xhr.setRequestHeader(k, v);
    }
    xhr.send(form);
  }

  // ---------------------------------------------------------------------------------------------
  // base models (for the job form)

  async function refreshModels() {
    const list = await api('GET', '/v1/models');
    const bases = (list.data || []).filter(m => !m.parent).map(m => m.id);
    const select = $('job-model');
    if (select.dataset.ids === bases.join(',')) {
      return;
    }
    select.dataset.ids = bases.join(',');
    clear(select);
    bases.forEach(id => select.appendChild(el('option', {value: id}, id)));
  }

  // ---------------------------------------------------------------------------------------------
  // jobs

  async function refreshJobs() {
    const list = await api('GET', '/v1/fine_tuning/jobs?limit=50');
    const jobs = list.data || [];
    const rows = jobs.map(j => [el('code', null, j.id), j.suffix, j.status, j.progress ? j.progress.step + ' / ' + j.progress.total_steps : '—',
      j.fine_tuned_model, time(j.created_at)]);
    if (!changed('jobs', jobs.map(j => [j.id, j.suffix, j.status, j.progress, j.fine_tuned_model]))) {
      return;
    }
    const root = $('jobs');
    clear(root);
    if (jobs.length === 0) {
      root.appendChild(el('p', {class: 'muted'}, 'No jobs yet.'));
      return;
    }
    root.appendChild(table(['job', 'adapter', 'status', 'steps', 'published', 'created'], rows, i => ({
      'class': 'clickable' + (state.job && state.job.id === jobs[i].id ? ' selected' : ''),
      'data-job-id': jobs[i].id,
    })));
    root.querySelectorAll('tr[data-job-id]').forEach(tr => tr.addEventListener('click', () => openJob(tr.dataset.jobId)));
  }

  /** An integer or decimal typed in the form; other text goes to the server as typed, which names the field. */
  function numberField(id) {
    const raw = $(id).value.trim();
    if (raw === '') {
      return undefined;
    }
    const n = Number(raw);
    return Number.isFinite(n) ? n : raw;
  }

  function setupJobForm() {
    $('job-form').addEventListener('submit', async ev => {
      ev.preventDefault();
      const hyper = {};
      const put = (obj, key, value) => {
        if (value !== undefined) {
          obj[key] = value;
        }
      };
      put(hyper, 'epochs', numberField('job-epochs'));
      put(hyper, 'batch_size', numberField('job-batch'));
      put(hyper, 'learning_rate', numberField('job-lr'));
      put(hyper, 'eval_every_steps', numberField('job-eval-every'));
      const adapter = {method: $('job-method').value};
      put(adapter, 'r', numberField('job-r'));
      const body = {
        model: $('job-model').value,
        training_file: $('job-file').value,
        suffix: $('job-suffix').value.trim(),
        activate: $('job-activate').checked,
        method: {type: $('job-type').value, hyperparameters: hyper, adapter: adapter},
      };
      put(body, 'seed', numberField('job-seed'));
      const submit = $('job-submit');
      submit.disabled = true;
      try {
        const job = await api('POST', '/v1/fine_tuning/jobs', body);
        status('job ' + job.id + ' created (' + job.status + ')');
        state.rendered.jobs = null;
        await refreshJobs();
        openJob(job.id);
      } catch (e) {
        report(e);
      } finally {
        submit.disabled = false;
      }
    });
    // a classification file suggests the classification task
    $('job-file').addEventListener('change', () => {
      const f = state.files.find(x => x.id === $('job-file').value);
      const format = f && f.report ? f.report.format : null;
      if (format) {
        $('job-type').value = format === 'classification' ? 'classification' : 'supervised';
      }
    });
  }

  function closeJob() {
    if (state.job && state.job.timer) {
      clearTimeout(state.job.timer);
    }
    state.job = null;
  }

  /** Shows one job and follows its events until it is final. */
  function openJob(id) {
    closeJob();
    const view = {
      id: id,
      seen: new Set(),      // event ids already read
      newest: null,         // the newest event id read
      train: [],            // [step, train_loss]
      evals: [],            // [step, eval_loss]
      log: [],              // event lines, oldest first
      eta: null,
      finalSeen: false,
      timer: null,
    };
    state.job = view;
    state.rendered.jobs = null;
    const root = $('job-detail');
    clear(root);
    root.appendChild(el('h3', null, 'Job ', el('span', {'data-role': 'job-id'}, id)));
    root.appendChild(el('div', {id: 'job-summary'}));
    root.appendChild(el('div', null,
        el('progress', {id: 'job-progress', max: 1, value: 0}), ' ',
        el('span', {id: 'job-progress-text', class: 'muted'})));
    const chart = svgEl('svg', {id: 'loss-chart', class: 'chart', viewBox: '0 0 760 280', role: 'img',
      'aria-label': 'training and validation loss by step'});
    root.appendChild(chart);
    root.appendChild(el('div', {id: 'job-events', class: 'events'}));
    root.appendChild(el('div', {id: 'job-report'}));
    lineChart(chart, [], {});
    refreshJobs().catch(report);
    pollJob(view);
  }

  async function pollJob(view) {
    if (state.job !== view) {
      return;
    }
    if (!mayPoll()) {
      view.timer = setTimeout(() => pollJob(view), JOB_POLL_MS);
      return;
    }
    let job = null;
    try {
      job = await api('GET', '/v1/fine_tuning/jobs/' + encodeURIComponent(view.id));
      await readNewEvents(view);
    } catch (e) {
      if (state.job === view) {
        report(e);
      }
    }
    if (state.job !== view) {
      return;
    }
    if (job) {
      renderJob(view, job);
    }
    const final = job && FINAL.includes(job.status);
    // after the job ends, one more read picks up events written with its final state
    if (final && view.finalSeen) {
      return;
    }
    view.finalSeen = final;
    view.timer = setTimeout(() => pollJob(view), JOB_POLL_MS);
  }

  /**
   * The API pages events newest first ('after' = the oldest id of the previous page): read pages
   * from the newest until an event already seen, then take them oldest first.
   */
  async function readNewEvents(view) {
    const fresh = [];
    let after = null;
    for (let page = 0; page < MAX_EVENT_PAGES; page++) {
      const size = page === 0 && view.seen.size > 0 ? EVENT_TAIL : EVENT_PAGE;
      const query = '?limit=' + size + (after ? '&after=' + encodeURIComponent(after) : '');
      const list = await api('GET', '/v1/fine_tuning/jobs/' + encodeURIComponent(view.id) + '/events' + query);
      const data = list.data || [];
      let reachedSeen = false;
      for (const e of data) {
        if (view.seen.has(e.id)) {
          reachedSeen = true;
          break;
        }
        fresh.push(e);
      }
      if (reachedSeen || !list.has_more || data.length === 0) {
        break;
      }
      after = data[data.length - 1].id;
    }
    if (state.job !== view) {
      return;
    }
    fresh.reverse();
    for (const e of fresh) {
      view.seen.add(e.id);
      const d = e.data;
      if (e.type === 'metrics' && d && typeof d.step === 'number') {
        if (typeof d.train_loss === 'number' && Number.isFinite(d.train_loss)) {
          view.train.push([d.step, d.train_loss]);
        }
        if (typeof d.eval_loss === 'number' && Number.isFinite(d.eval_loss)) {
          view.evals.push([d.step, d.eval_loss]);
        }
        if (typeof d.eta_seconds === 'number') {
          view.eta = d.eta_seconds;
        }
      }
      view.log.push('[' + new Date(e.created_at * 1000).toLocaleTimeString() + '] ' + e.level + ' ' + e.message);
    }
    if (view.log.length > MAX_LOG_LINES) {
      view.log.splice(0, view.log.length - MAX_LOG_LINES);
    }
    if (fresh.length > 0) {
      lineChart($('loss-chart'), [
        {name: 'training loss', cls: 'train', points: view.train},
        {name: 'validation loss', cls: 'eval', points: view.evals, dots: true},
      ], {xLabel: 'step', yLabel: 'loss'});
      const log = $('job-events');
      clear(log);
      view.log.forEach(line => log.appendChild(el('div', null, line)));
      log.scrollTop = log.scrollHeight;
    }
  }

  function renderJob(view, job) {
    const summary = $('job-summary');
    clear(summary);
    const final = FINAL.includes(job.status);
    summary.appendChild(table(['status', 'model', 'adapter', 'published', 'training file', 'created', 'finished'],
        [[el('strong', {'data-role': 'job-status', class: job.status === 'failed' ? 'bad' : ''}, job.status), job.model, job.suffix,
          el('span', {'data-role': 'published'}, job.fine_tuned_model || '—'), job.training_file, time(job.created_at), time(job.finished_at)]]));
    if (job.error && job.error.message) {
      summary.appendChild(el('p', {class: 'bad'}, 'Error: ', job.error.message));
    }
    if (!final) {
      summary.appendChild(button('Cancel job', {'data-action': 'cancel-job'}, async () => {
        try {
          await api('POST', '/v1/fine_tuning/jobs/' + encodeURIComponent(job.id) + '/cancel');
          status('cancelling ' + job.id);
        } catch (e) {
          report(e);
        }
      }));
    }
    const p = job.progress || {step: 0, total_steps: 0};
    const bar = $('job-progress');
    bar.max = Math.max(1, p.total_steps || 1);
    bar.value = p.step || 0;
    $('job-progress-text').textContent = 'step ' + (p.step || 0) + ' / ' + (p.total_steps || '?')
        + (!final && view.eta !== null ? ', about ' + Math.round(view.eta) + ' s left' : '');
    const reportRoot = $('job-report');
    const reportJson = JSON.stringify(job.report);
    if (reportRoot.dataset.shown !== reportJson) {
      reportRoot.dataset.shown = reportJson;
      clear(reportRoot);
      if (job.report) {
        renderReport(reportRoot, job.report);
      }
    }
  }

  // ---------------------------------------------------------------------------------------------
  // evaluation report and diagnostics

  const MODEL_COLUMNS = ['base', 'base_probe', 'bag_of_words', 'adapter'];
  const METRIC_ROWS = ['examples', 'loss', 'perplexity', 'accuracy', 'macro_f1', 'ece'];

  function renderReport(root, r) {
    root.appendChild(el('h3', null, 'Evaluation report'));
    const models = MODEL_COLUMNS.filter(m => r[m] && typeof r[m] === 'object');
    const metrics = METRIC_ROWS.filter(k => models.some(m => r[m][k] !== undefined && r[m][k] !== null));
    root.appendChild(el('div', {id: 'eval-table'}, table(['metric'].concat(models), metrics.map(k => [k].concat(models.map(m => r[m][k]))))));
    const facts = [
      ['task', r.task], ['validation examples', r.validation_examples], ['steps', r.steps], ['early stopped', r.early_stopped],
      ['eval loss ratio (adapter / base)', r.eval_loss_ratio], ['gain over bag of words', r.gain_over_baseline],
      ['negative transfer', r.negative_transfer],
    ].filter(([, v]) => v !== undefined);
    if (r.publish_if) {
      facts.push(['publication gate passed', r.publish_if.passed]);
      if (Array.isArray(r.publish_if.reasons) && r.publish_if.reasons.length > 0) {
        facts.push(['not published because', r.publish_if.reasons.join('; ')]);
      }
    }
    root.appendChild(table(['', 'value'], facts));
    if (Array.isArray(r.negative_transfer_metrics) && r.negative_transfer_metrics.length > 0) {
      root.appendChild(el('h3', null, 'Negative transfer'));
      root.appendChild(table(['metric', 'adapter', 'better baseline', 'its value'],
          r.negative_transfer_metrics.map(m => [m.metric, m.adapter, m.baseline, m.baseline_value])));
    }
    renderDiagnostics(root, r);
  }

  function renderDiagnostics(root, r) {
    if (r.diagnostics_error) {
      root.appendChild(el('p', {class: 'bad'}, 'Diagnostics failed: ', r.diagnostics_error));
    }
    if (Array.isArray(r.layers) && r.layers.length > 0) {
      root.appendChild(el('h3', null, 'Diagnostics: layers'));
      const probes = r.layers.some(l => l.probe_accuracy_base !== undefined);
      const headers = ['layer', 'CKA base vs adapter'].concat(probes ? ['probe accuracy base', 'probe accuracy adapter'] : []);
      root.appendChild(el('div', {id: 'layers-table'}, table(headers, r.layers.map(l => [l.layer, l.cka]
          .concat(probes ? [l.probe_accuracy_base, l.probe_accuracy_adapter] : [])))));
    }
    if (r.forgetting && typeof r.forgetting === 'object') {
      root.appendChild(el('h3', null, 'Diagnostics: forgetting'));
      root.appendChild(table(['', 'value'], Object.entries(r.forgetting).map(([k, v]) => [k, v])));
    }
    if (r.slices && typeof r.slices === 'object' && Object.keys(r.slices).length > 0) {
      root.appendChild(el('h3', null, 'Diagnostics: slices'));
      const rows = Object.entries(r.slices).map(([name, s]) => {
        const adapter = s.adapter || {};
        const base = s.base || s.base_probe || {};
        return [name, s.examples, base.loss, adapter.loss, base.accuracy, adapter.accuracy, s.negative_transfer];
      });
      root.appendChild(table(['slice', 'examples', 'baseline loss', 'adapter loss', 'baseline accuracy', 'adapter accuracy',
        'negative transfer'], rows));
    }
    if (r.diagnostics && typeof r.diagnostics === 'object') {
      const d = r.diagnostics;
      root.appendChild(el('p', {class: 'muted'}, 'Diagnostics ran on ', fmt(d.validation_examples), ' validation examples in ',
          fmt(d.seconds), ' s', d.probe ? '; probe: ' + d.probe : ''));
    }
  }

  // ---------------------------------------------------------------------------------------------
  // sweeps

  const SWEEP_COLUMNS = ['method', 'status', 'fine_tuned_model', 'trainable_params', 'adapter_bytes', 'train_seconds',
    'estimated_train_seconds', 'eval_loss', 'eval_loss_ratio', 'accuracy', 'macro_f1', 'ece', 'error'];

  async function refreshSweeps() {
    const list = await api('GET', '/v1/fine_tuning/sweeps?limit=20');
    const sweeps = list.data || [];
    if (!changed('sweeps', sweeps)) {
      return;
    }
    const root = $('sweeps');
    clear(root);
    if (sweeps.length === 0) {
      root.appendChild(el('p', {class: 'muted'}, 'No sweeps. Start one with POST /v1/fine_tuning/sweeps.'));
      clear($('sweep-detail'));
      return;
    }
    root.appendChild(table(['sweep', 'status', 'methods', 'created'], sweeps.map(s => [el('code', null, s.id), s.status,
      Array.isArray(s.methods) ? s.methods.join(', ') : '—', time(s.created_at)]), i => ({
      'class': 'clickable' + (sweeps[i].id === state.selectedSweep ? ' selected' : ''),
      'data-sweep-id': sweeps[i].id,
    })));
    root.querySelectorAll('tr[data-sweep-id]').forEach(tr => tr.addEventListener('click', () => {
      state.selectedSweep = tr.dataset.sweepId;
      state.rendered.sweeps = null;
      refreshSweeps().catch(report);
    }));
    const detail = $('sweep-detail');
    clear(detail);
    const s = sweeps.find(x => x.id === state.selectedSweep);
    if (s && Array.isArray(s.table)) {
      detail.appendChild(el('h3', null, 'Sweep ', s.id));
      detail.appendChild(el('div', {id: 'sweep-table'}, table(SWEEP_COLUMNS, s.table.map(row => SWEEP_COLUMNS.map(c => row[c])))));
    }
  }

  // ---------------------------------------------------------------------------------------------
  // the line chart: SVG, drawn from scratch

  /** Ticks at 1, 2 or 5 times a power of ten covering [lo, hi]. */
  function ticks(lo, hi, count) {
    const span = hi - lo;
    if (!(span > 0)) {
      return [lo];
    }
    const raw = span / count;
    const power = Math.pow(10, Math.floor(Math.log10(raw)));
    const step = [1, 2, 5, 10].map(m => m * power).find(s => s >= raw);
    const out = [];
    for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) {
      out.push(Math.abs(v) < step * 1e-9 ? 0 : v);
    }
    return out;
  }

  /** 5.5, not 5.500: ticks are round numbers, printed without trailing zeros. */
  function tickLabel(t) {
    return String(Number(t.toPrecision(6)));
  }

  /**
   * Draws series [{name, cls, points: [[x, y], ...], dots}] into the SVG (viewBox 760 x 280) with
   * axes, grid, tick labels and a legend. The SVG's data-points-<cls> attributes say how many points
   * each series has (what the browser test reads).
   */
  function lineChart(svg, series, opts) {
    clear(svg);
    const W = 760;
    const H = 280;
    const m = {left: 56, right: 16, top: 26, bottom: 34};
    const all = series.flatMap(s => s.points);
    series.forEach(s => svg.setAttribute('data-points-' + s.cls, String(s.points.length)));
    if (all.length === 0) {
      svg.appendChild(svgEl('text', {x: W / 2, y: H / 2, 'text-anchor': 'middle'}, 'waiting for the first training step…'));
      return;
    }
    let x0 = Math.min(...all.map(p => p[0]));
    let x1 = Math.max(...all.map(p => p[0]));
    let y0 = Math.min(...all.map(p => p[1]));
    let y1 = Math.max(...all.map(p => p[1]));
    if (x1 === x0) {
      x1 = x0 + 1;
    }
    if (y1 === y0) {
      y1 = y0 + Math.max(Math.abs(y0) * 0.1, 1e-6);
      y0 = y0 - Math.max(Math.abs(y0) * 0.1, 1e-6);
    }
    const pad = (y1 - y0) * 0.05;
    y0 -= pad;
    y1 += pad;
    const sx = x => m.left + ((x - x0) / (x1 - x0)) * (W - m.left - m.right);
    const sy = y => H - m.bottom - ((y - y0) / (y1 - y0)) * (H - m.top - m.bottom);
    for (const t of ticks(y0, y1, 5)) {
      svg.appendChild(svgEl('line', {class: 'grid', x1: m.left, x2: W - m.right, y1: sy(t), y2: sy(t)}));
      svg.appendChild(svgEl('text', {x: m.left - 6, y: sy(t) + 4, 'text-anchor': 'end'}, tickLabel(t)));
    }
    for (const t of ticks(x0, x1, 8).filter(v => Number.isInteger(v) || x1 - x0 < 8)) {
      svg.appendChild(svgEl('line', {class: 'grid', x1: sx(t), x2: sx(t), y1: m.top, y2: H - m.bottom}));
      svg.appendChild(svgEl('text', {x: sx(t), y: H - m.bottom + 16, 'text-anchor': 'middle'}, tickLabel(t)));
    }
    svg.appendChild(svgEl('line', {class: 'axis', x1: m.left, x2: m.left, y1: m.top, y2: H - m.bottom}));
    svg.appendChild(svgEl('line', {class: 'axis', x1: m.left, x2: W - m.right, y1: H - m.bottom, y2: H - m.bottom}));
    if (opts.xLabel) {
      svg.appendChild(svgEl('text', {x: W - m.right, y: H - 4, 'text-anchor': 'end'}, opts.xLabel));
    }
    if (opts.yLabel) {
      svg.appendChild(svgEl('text', {x: 4, y: 14}, opts.yLabel));
    }
    let legendX = m.left;
    for (const s of series) {
      const pts = s.points.map(p => sx(p[0]).toFixed(1) + ',' + sy(p[1]).toFixed(1)).join(' ');
      if (s.points.length > 1) {
        svg.appendChild(svgEl('polyline', {class: 'line ' + s.cls, points: pts}));
      }
      if (s.dots || s.points.length === 1) {
        s.points.forEach(p => svg.appendChild(svgEl('circle', {class: 'dot ' + s.cls, cx: sx(p[0]), cy: sy(p[1]), r: 3})));
      }
      svg.appendChild(svgEl('rect', {class: 'legend-' + s.cls, x: legendX, y: 8, width: 12, height: 4}));
      svg.appendChild(svgEl('text', {x: legendX + 16, y: 14}, s.name + ' (' + s.points.length + ')'));
      legendX += 180;
    }
  }

  // ---------------------------------------------------------------------------------------------

  function start() {
    setupKey();
    setupUpload();
    setupJobForm();
    refreshAll(false);
    setInterval(() => refreshAll(false), REFRESH_MS);
  }

  document.addEventListener('DOMContentLoaded', start);
}());
