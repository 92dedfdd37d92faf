// sluice's search page. Plain JS, no build, no CDN. Everything from a log event is put on the
// page with textContent (never innerHTML), and the CSP forbids inline scripts besides.
'use strict';
(() => {
  const $ = (id) => document.getElementById(id);
  const SEVERITIES = ['emerg', 'alert', 'crit', 'err', 'warning', 'notice', 'info', 'debug'];
  const FACETS = ['host', 'app', 'severity'];
  const PAGE = 100;
  const MAX_ROWS = 2000;

  let csrf = null;
  let state = { q: '', since: '1h', from: null, to: null };
  let cursor = null;
  let generation = 0; // a newer search makes older answers stale
  let plot = null;
  let tail = null; // { source, paused, buffer: [] }

  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }

  // --- state <-> URL -----------------------------------------------------------------------
  function readUrl() {
    const p = new URLSearchParams(location.search);
    const s = { q: p.get('q') || '', since: null, from: p.get('from'), to: p.get('to') };
    if (!s.from) { s.since = p.get('since') || '1h'; s.from = null; s.to = null; }
    return s;
  }
  function rangeParams(s, p) {
    if (s.from) { p.set('from', s.from); if (s.to) p.set('to', s.to); } else p.set('since', s.since || '1h');
    return p;
  }
  function urlFor(s) {
    const p = new URLSearchParams();
    if (s.q) p.set('q', s.q);
    rangeParams(s, p);
    return `/?${p}`;
  }
  function apiParams(s, extra) {
    const p = rangeParams(s, new URLSearchParams());
    p.set('q', s.q);
    for (const [k, v] of Object.entries(extra || {})) p.set(k, String(v));
    return p;
  }
  function showState(s) {
    $('q').value = s.q;
    const sel = $('range');
    if (s.from) {
      sel.value = 'custom';
      $('absolute').hidden = false;
      $('from').value = toLocalInput(s.from);
      $('to').value = s.to ? toLocalInput(s.to) : '';
    } else {
      sel.value = [...sel.options].some((o) => o.value === s.since) ? s.since : '1h';
      $('absolute').hidden = true;
    }
    $('export-ndjson').href = `/api/export?${apiParams(s, { format: 'ndjson' })}`;
    $('export-csv').href = `/api/export?${apiParams(s, { format: 'csv' })}`;
  }
  function toLocalInput(iso) {
    const t = Date.parse(iso);
    return Number.isFinite(t) ? new Date(t).toISOString().slice(0, 19) : '';
  }
  function fromForm() {
    const s = { q: $('q').value.trim(), since: null, from: null, to: null };
    if ($('range').value === 'custom') {
      const f = $('from').value, t = $('to').value;
      if (f) s.from = new Date(`${f}Z`).toISOString();
      if (t) s.to = new Date(`${t}Z`).toISOString();
      if (!s.from) { s.since = '1h'; s.to = null; }
    } else s.since = $('range').value;
    return s;
  }
  /** Runs a new search; pushes a history entry unless it comes from the history itself. */
  function navigate(s, push) {
    state = s;
    if (push) history.pushState(null, '', urlFor(s));
    showState(s);
    run();
  }

  // --- requests -------------------------------------------------------------------------------
  async function api(path, params) {
    const r = await fetch(`${path}?${params}`, { credentials: 'same-origin' });
    if (r.status === 401) { location.reload(); throw new Error('signed out'); }
    const body = await r.json().catch(() => null);
    if (!r.ok) {
      const err = new Error((body && body.error && body.error.message) || `HTTP ${r.status}`);
      err.column = body && body.error && body.error.column;
      throw err;
    }
    return body;
  }

  function notice(text, cls) {
    const box = $('notices');
    box.replaceChildren();
    if (text) box.append(el('div', cls || 'notice', text));
  }
  function showNotices(list) {
    for (const n of list || []) $('notices').append(el('div', 'notice', `${n.code}: ${n.message}`));
  }

  async function run() {
    const gen = ++generation;
    stopTail();
    cursor = null;
    notice('');
    $('summary').textContent = 'searching…';
    $('more').hidden = true;
    // Results first: the histogram and facets start only once they are on the page, and a
    // slow or failed histogram never touches them.
    try {
      const r = await api('/api/search', apiParams(state, { limit: PAGE }));
      if (gen !== generation) return;
      $('rows').replaceChildren();
      if (r.rows) showRows(r.rows);
      else appendEvents(r.events);
      cursor = r.cursor || null;
      $('more').hidden = !cursor;
      $('summary').textContent = r.rows ? `${r.rows.length} rows` : `${r.events.length}${cursor ? '+' : ''} events, newest first`;
      showNotices(r.notices);
    } catch (e) {
      if (gen !== generation) return;
      $('rows').replaceChildren();
      $('summary').textContent = '';
      notice(e.column ? `query error (column ${e.column}): ${e.message}` : `search failed: ${e.message}`, "error");
      return;
    }
    // Histogram first: the store answers one request at a time, and facets over a wide range
    // can take seconds (bench/api-results.md); asked first they held the histogram back.
    loadHistogram(gen);
    loadFacets(gen);
  }

  async function more() {
    if (!cursor) return;
    const gen = generation;
    try {
      const r = await api('/api/search', apiParams(state, { limit: PAGE, cursor }));
      if (gen !== generation) return;
      appendEvents(r.events);
      cursor = r.cursor || null;
      $('more').hidden = !cursor;
    } catch (e) {
      notice(`search failed: ${e.message}`, 'error');
    }
  }

  // --- rows -----------------------------------------------------------------------------------
  function fmtTime(ms) {
    return new Date(ms).toISOString().replace('T', ' ').replace('Z', '');
  }
  function rowFor(item) {
    const e = item.event;
    const li = el('li', 'row');
    li.dataset.seq = String(item.seq);
    const line = el('div', 'line');
    line.tabIndex = 0;
    line.append(
      el('span', 'time', fmtTime(item.time)),
      el('span', `sev sev-${e.severity}`, e.severity === null ? '-' : SEVERITIES[e.severity] || e.severity),
      el('span', 'host', e.hostname || '-'),
      el('span', 'app', e.appname || '-'),
      el('span', 'msg', e.message === null ? '' : e.message),
    );
    line.addEventListener('click', () => toggle(li, item));
    line.addEventListener('keydown', (ev) => { if (ev.key === 'Enter') toggle(li, item); });
    li.append(line);
    return li;
  }
  function appendEvents(events) {
    const frag = document.createDocumentFragment();
    for (const item of events) frag.append(rowFor(item));
    $('rows').append(frag);
  }
  function showRows(rows) {
    const table = el('table', 'agg');
    const cols = rows.length ? Object.keys(rows[0]) : ['count'];
    const head = el('tr');
    for (const c of cols) head.append(el('th', null, c));
    table.append(head);
    for (const r of rows) {
      const tr = el('tr');
      for (const c of cols) tr.append(el('td', null, r[c] === null ? '' : r[c]));
      table.append(tr);
    }
    const li = el('li', 'agg-row');
    li.append(table);
    $('rows').append(li);
  }
  function toggle(li, item) {
    const open = li.querySelector('.details');
    if (open) { open.remove(); li.classList.remove('open'); return; }
    li.classList.add('open');
    const d = el('div', 'details');
    const e = item.event;
    const table = el('table', 'fields');
    const add = (k, v) => {
      if (v === null || v === undefined || v === '') return;
      const tr = el('tr');
      tr.append(el('th', null, k), el('td', null, typeof v === 'object' ? JSON.stringify(v) : v));
      table.append(tr);
    };
    add('seq', item.seq);
    add('timestamp', e.timestamp);
    add('received_at', e.received_at);
    add('host', e.hostname); add('app', e.appname); add('procid', e.procid); add('msgid', e.msgid);
    add('facility', e.facility); add('severity', e.severity);
    add('source', `${e.source.name} (${e.source.transport}${e.source.address ? ` from ${e.source.address}` : ''}${e.source.tls_peer ? `, ${e.source.tls_peer}` : ''})`);
    for (const [id, params] of Object.entries(e.structured_data || {})) for (const [k, v] of Object.entries(params)) add(`sd.${id}.${k}`, v);
    for (const [k, v] of Object.entries(e.fields || {})) add(`fields.${k}`, v);
    const pre = el('pre', 'json', JSON.stringify(e, null, 2));
    const bar = el('div', 'actions');
    const ctxHost = el('button', 'ctx', 'show context (same host)');
    const ctxSource = el('button', 'ctx', 'same source');
    ctxHost.type = ctxSource.type = 'button';
    ctxHost.addEventListener('click', () => showContext(d, item, 'host'));
    ctxSource.addEventListener('click', () => showContext(d, item, 'source'));
    bar.append(ctxHost, ctxSource);
    d.append(table, bar, pre);
    li.append(d);
  }
  async function showContext(box, item, by) {
    let c = box.querySelector('.context');
    if (!c) { c = el('ol', 'context'); box.insertBefore(c, box.querySelector('pre')); }
    c.replaceChildren(el('li', 'loading', 'loading context…'));
    try {
      const r = await api('/api/context', new URLSearchParams({ seq: String(item.seq), before: '10', after: '10', by }));
      c.replaceChildren();
      for (const x of r.events) {
        const li = el('li', x.seq === item.seq ? 'ctx-row target' : 'ctx-row');
        li.dataset.seq = String(x.seq);
        li.append(el('span', 'time', fmtTime(x.time)), el('span', 'host', x.event.hostname || '-'), el('span', 'app', x.event.appname || '-'), el('span', 'msg', x.event.message || ''));
        c.append(li);
      }
    } catch (e) {
      c.replaceChildren(el('li', 'error', `context failed: ${e.message}`));
    }
  }

  // --- facets ---------------------------------------------------------------------------------
  function quoteValue(v) {
    const s = String(v);
    return /^[A-Za-z0-9_.@\-\/]+$/.test(s) && !/^-/.test(s) ? s : `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
  }
  function addTerm(field, value, exclude) {
    const term = `${exclude ? '-' : ''}${field}:${quoteValue(value)}`;
    const q = state.q;
    const pipe = q.indexOf('|');
    const filter = (pipe < 0 ? q : q.slice(0, pipe)).trim();
    const rest = pipe < 0 ? '' : ` ${q.slice(pipe)}`;
    navigate({ ...state, q: `${filter ? `${filter} ` : ''}${term}${rest}` }, true);
  }
  async function loadFacets(gen) {
    const box = $('facets');
    try {
      const r = await api('/api/facets', apiParams(state, { fields: FACETS.join(','), limit: 10 }));
      if (gen !== generation) return;
      box.replaceChildren();
      for (const f of FACETS) {
        const sec = el('section', 'facet');
        sec.dataset.field = f;
        sec.append(el('h3', null, f));
        const ul = el('ul');
        for (const v of r.facets[f] || []) {
          if (v.value === null) continue;
          const li = el('li');
          const a = el('button', 'facet-value');
          a.type = 'button';
          a.title = 'click: only these; ctrl/alt-click: all but these';
          a.dataset.value = String(v.value);
          a.append(el('span', 'v', f === 'severity' ? `${SEVERITIES[v.value] || v.value}` : v.value), el('span', 'n', v.count));
          a.addEventListener('click', (ev) => addTerm(f, v.value, ev.altKey || ev.ctrlKey || ev.metaKey));
          li.append(a);
          ul.append(li);
        }
        sec.append(ul);
        box.append(sec);
      }
    } catch (e) {
      if (gen === generation) box.replaceChildren(el('div', 'error', `facets failed: ${e.message}`));
    }
  }

  // --- histogram ------------------------------------------------------------------------------
  async function loadHistogram(gen) {
    const status = $('hist-status');
    status.textContent = 'histogram loading…';
    try {
      const r = await api('/api/hits', apiParams(state, { buckets: 100 }));
      if (gen !== generation) return;
      status.textContent = `${r.total} events, ${r.step} buckets — drag to narrow the range`;
      drawHistogram(r);
    } catch (e) {
      if (gen !== generation) return;
      if (plot) { plot.destroy(); plot = null; }
      status.textContent = `histogram unavailable: ${e.message}`;
      status.className = 'error';
      return;
    }
    status.className = '';
  }
  function drawHistogram(r) {
    const xs = r.buckets.map((b) => b.time);
    const ys = r.buckets.map((b) => b.count);
    const box = $('histogram');
    if (plot) { plot.destroy(); plot = null; }
    if (typeof uPlot === 'undefined') { $('hist-status').textContent = 'histogram library missing'; return; }
    const width = Math.max(300, box.clientWidth || 800);
    plot = new uPlot({
      width, height: 120, ms: 1, tzDate: (ts) => uPlot.tzDate(new Date(ts), 'Etc/UTC'),
      legend: { show: false },
      cursor: { drag: { x: true, y: false, setScale: false } },
      scales: { x: { time: true } },
      axes: [{}, { size: 50 }],
      series: [{}, { label: 'events', stroke: '#3572b0', fill: 'rgba(53,114,176,0.45)', paths: uPlot.paths.bars({ size: [0.9, 60] }), points: { show: false } }],
      hooks: {
        setSelect: [(u) => {
          if (u.select.width < 3) return;
          const from = Math.floor(u.posToVal(u.select.left, 'x'));
          const to = Math.ceil(u.posToVal(u.select.left + u.select.width, 'x'));
          u.setSelect({ left: 0, width: 0, top: 0, height: 0 }, false);
          if (to > from) navigate({ q: state.q, since: null, from: new Date(from).toISOString(), to: new Date(to).toISOString() }, true);
        }],
      },
    }, [xs, ys], box);
  }

  // --- live tail ------------------------------------------------------------------------------
  function startTail() {
    stopTail();
    const params = new URLSearchParams({ q: state.q });
    // Continue after the newest stored event on the page (seq is arrival order), so nothing
    // that arrives while the stream connects is missed.
    let maxSeq = 0;
    for (const li of $('rows').querySelectorAll('li.row')) maxSeq = Math.max(maxSeq, Number(li.dataset.seq));
    if (maxSeq > 0) params.set('after', String(maxSeq));
    const source = new EventSource(`/api/tail?${params}`);
    tail = { source, paused: false, buffer: [] };
    $('tail-toggle').setAttribute('aria-pressed', 'true');
    $('tail-toggle').textContent = 'Stop tail';
    $('pause').hidden = false;
    $('pause').textContent = 'Pause';
    $('pause').setAttribute('aria-pressed', 'false');
    $('summary').textContent = 'live tail: newest on top';
    source.addEventListener('log', (m) => {
      const item = JSON.parse(m.data);
      if (!tail) return;
      // Never move what the user reads: while paused or scrolled away from the top, hold new rows.
      if (tail.paused || $('results').scrollTop > 0 || tail.buffer.length) { tail.buffer.push(item); showBuffer(); }
      else prepend([item]);
    });
    source.addEventListener('sampled', (m) => {
      const s = JSON.parse(m.data);
      notice(`live tail sampled: ${s.sent} of ${s.seen} events shown in the last ${Math.round(s.window_ms / 100) / 10} s (cap ${s.cap}/s)`, 'notice sampled');
    });
    source.addEventListener('error', () => { if (tail && source.readyState === EventSource.CLOSED) notice('live tail disconnected', 'error'); });
  }
  function stopTail() {
    if (!tail) return;
    tail.source.close();
    tail = null;
    $('tail-toggle').setAttribute('aria-pressed', 'false');
    $('tail-toggle').textContent = 'Live tail';
    $('pause').hidden = true;
    $('tail-buffer').hidden = true;
  }
  function prepend(items) {
    const rows = $('rows');
    const frag = document.createDocumentFragment();
    for (let i = items.length - 1; i >= 0; i--) frag.append(rowFor(items[i]));
    rows.insertBefore(frag, rows.firstChild);
    while (rows.children.length > MAX_ROWS) rows.lastChild.remove();
  }
  function showBuffer() {
    const b = $('tail-buffer');
    b.hidden = false;
    b.textContent = `${tail.buffer.length} new event${tail.buffer.length === 1 ? '' : 's'}${tail.paused ? ' (paused)' : ''} — show`;
  }
  function flushBuffer() {
    if (!tail) return;
    prepend(tail.buffer);
    tail.buffer = [];
    $('tail-buffer').hidden = true;
    $('results').scrollTop = 0;
  }

  // --- wiring ---------------------------------------------------------------------------------
  $('search').addEventListener('submit', (ev) => { ev.preventDefault(); navigate(fromForm(), true); });
  $('range').addEventListener('change', () => {
    if ($('range').value === 'custom') {
      $('absolute').hidden = false;
      const now = Date.now();
      if (!$('from').value) $('from').value = new Date(now - 3600_000).toISOString().slice(0, 19);
      if (!$('to').value) $('to').value = new Date(now).toISOString().slice(0, 19);
      return;
    }
    navigate(fromForm(), true);
  });
  $('more').addEventListener('click', more);
  $('tail-toggle').addEventListener('click', () => (tail ? stopTail() : startTail()));
  $('pause').addEventListener('click', () => {
    if (!tail) return;
    tail.paused = !tail.paused;
    $('pause').textContent = tail.paused ? 'Resume' : 'Pause';
    $('pause').setAttribute('aria-pressed', String(tail.paused));
    if (!tail.paused && $('results').scrollTop === 0) flushBuffer();
    else if (tail.buffer.length) showBuffer();
  });
  $('tail-buffer').addEventListener('click', () => { if (tail) { tail.paused = false; $('pause').textContent = 'Pause'; $('pause').setAttribute('aria-pressed', 'false'); } flushBuffer(); });
  $('results').addEventListener('scroll', () => { if (tail && !tail.paused && tail.buffer.length && $('results').scrollTop === 0) flushBuffer(); });
  $('logout').addEventListener('click', async () => {
    await fetch('/api/logout', { method: 'POST', headers: { 'x-csrf-token': csrf || '' }, credentials: 'same-origin' });
    location.reload();
  });
  window.addEventListener('popstate', () => navigate(readUrl(), false));
  document.addEventListener('keydown', (ev) => {
    if (ev.key !== '/' || ev.ctrlKey || ev.metaKey || ev.altKey) return;
    const t = ev.target;
    if (t && (t.tagName === 'INPUT' || t.tagName === 'TEXTAREA' || t.tagName === 'SELECT' || t.isContentEditable)) return;
    ev.preventDefault();
    $('q').focus();
    $('q').select();
  });
  window.addEventListener('resize', () => { if (plot) plot.setSize({ width: Math.max(300, $('histogram').clientWidth), height: 120 }); });

  (async () => {
    try {
      const s = await api('/api/session', new URLSearchParams());
      csrf = s.csrf;
      $('who').textContent = `${s.name} (${s.role})`;
    } catch { /* the reload on 401 shows the sign-in page */ }
    state = readUrl();
    history.replaceState(null, '', urlFor(state));
    showState(state);
    run();
  })();
})();
