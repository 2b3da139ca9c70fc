// The moongate dashboard: polls the admin API of the listener that served
// this page and shows what it reads. Every name that comes from the
// gateway (routes, upstreams, targets, scripts, errors) is written with
// textContent, never as HTML.

import { parseMetrics, increases, sum, groupSum, buckets, quantile } from './prom.js';
import { LineChart } from './chart.js';

const TOKEN_KEY = 'moongate.admin.token';
const REFRESH_KEY = 'moongate.refresh';

const $ = (id) => document.getElementById(id);

// el builds an element; strings among children become text nodes.
function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') e.className = v;
    else if (k === 'title') e.title = v;
    else e.setAttribute(k, String(v));
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

function setText(id, text) {
  const e = $(id);
  if (e) e.textContent = text;
}

// Formatting.

function fmtRate(v) {
  if (v === null || v === undefined) return '–';
  if (v >= 100) return v.toFixed(0);
  if (v >= 10) return v.toFixed(1);
  return v.toFixed(2);
}

function fmtPct(ratio) {
  if (ratio === null || ratio === undefined) return '–';
  const p = ratio * 100;
  return (p === 0 || p >= 10 ? p.toFixed(1) : p.toFixed(2)) + ' %';
}

function fmtSeconds(s) {
  if (s === null || s === undefined) return '–';
  if (s === 0) return '0';
  if (s < 0.001) return (s * 1e6).toFixed(0) + ' µs';
  if (s < 1) return (s * 1000).toFixed(s < 0.01 ? 2 : 1) + ' ms';
  return s.toFixed(2) + ' s';
}

function fmtCount(n) {
  if (n === null || n === undefined) return '–';
  return Math.round(n).toLocaleString('en-US');
}

function fmtBytes(n) {
  if (n === null || n === undefined) return '–';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return (i === 0 ? n.toFixed(0) : n.toFixed(1)) + ' ' + units[i];
}

function fmtUptime(s) {
  s = Math.floor(s);
  const d = Math.floor(s / 86400), h = Math.floor((s % 86400) / 3600), m = Math.floor((s % 3600) / 60);
  if (d > 0) return `${d}d ${h}h`;
  if (h > 0) return `${h}h ${m}m`;
  if (m > 0) return `${m}m ${s % 60}s`;
  return `${s}s`;
}

function fmtTime(iso) {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? String(iso) : d.toLocaleString();
}

// The admin API.

class APIError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

async function api(path, text) {
  const headers = {};
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (token) headers.Authorization = 'Bearer ' + token;
  let r;
  try {
    r = await fetch(path, { headers, cache: 'no-store', credentials: 'omit', redirect: 'error' });
  } catch (e) {
    throw new APIError(0, 'cannot reach the gateway');
  }
  if (!r.ok) {
    let msg = r.statusText;
    try {
      const body = await r.json();
      if (body && typeof body.error === 'string') msg = body.error;
    } catch (e) {
      // not the admin API's JSON error
    }
    throw new APIError(r.status, msg);
  }
  return text ? r.text() : r.json();
}

// State kept between polls.

const state = {
  timer: 0,
  prev: null, // {t, m}: the previous scrape of /metrics
  prevTargets: null, // {t, counts: Map}: requests per target at the previous poll
  charts: null,
  stopped: false,
};

function refreshSeconds() {
  const v = Number(sessionStorage.getItem(REFRESH_KEY));
  return [1, 2, 5, 10].includes(v) ? v : 2;
}

function schedule() {
  clearTimeout(state.timer);
  if (!state.stopped) state.timer = setTimeout(poll, refreshSeconds() * 1000);
}

function banner(text) {
  const b = $('banner');
  b.textContent = text || '';
  b.hidden = !text;
}

// askToken stops polling and shows the token form with why it is asked.
function askToken(message) {
  state.stopped = true;
  clearTimeout(state.timer);
  $('login-msg').textContent = message;
  $('login').hidden = false;
  $('main').hidden = true;
  $('forget').hidden = true;
  setText('conn', 'needs the admin token');
  $('conn').className = 'conn bad';
  banner('');
  $('token').focus();
}

function tokenGiven(token) {
  sessionStorage.setItem(TOKEN_KEY, token);
  $('login').hidden = true;
  $('main').hidden = false;
  $('token').value = '';
  state.stopped = false;
  state.prev = null;
  state.prevTargets = null;
  poll();
}

async function poll() {
  clearTimeout(state.timer);
  const [status, routes, upstreams, reloads, metrics] = await Promise.allSettled([
    api('/status'),
    api('/routes'),
    api('/upstreams'),
    api('/reloads'),
    api('/metrics', true),
  ]);
  const now = Date.now();
  const all = [status, routes, upstreams, reloads, metrics];
  if (all.some((r) => r.status === 'rejected' && r.reason.status === 401)) {
    const had = sessionStorage.getItem(TOKEN_KEY);
    sessionStorage.removeItem(TOKEN_KEY);
    askToken(
      had
        ? 'The admin API refused this token (401 Unauthorized). Type the admin.token of the configuration again.'
        : 'This admin API needs a token (admin.token in the configuration). It is kept in this tab only (sessionStorage) and sent as "Authorization: Bearer".',
    );
    return;
  }
  $('forget').hidden = !sessionStorage.getItem(TOKEN_KEY);
  const failed = all.filter((r) => r.status === 'rejected' && r.reason.status !== 404);
  if (failed.length > 0) {
    const e = failed[0].reason;
    banner(e.status ? `The admin API answered ${e.status}: ${e.message}` : 'Cannot reach the gateway: retrying.');
    $('conn').className = 'conn bad';
    setText('conn', e.status ? 'error ' + e.status : 'offline');
  } else if (metrics.status === 'rejected') {
    banner('This gateway serves no /metrics (404): rates, errors, latency, cache and Lua figures are not available.');
    $('conn').className = 'conn ok';
    setText('conn', 'updated ' + new Date(now).toLocaleTimeString());
  } else {
    banner('');
    $('conn').className = 'conn ok';
    setText('conn', 'updated ' + new Date(now).toLocaleTimeString());
  }

  const m = metrics.status === 'fulfilled' ? parseMetrics(metrics.value) : null;
  const figures = m ? computeFigures(m, now) : null;
  if (status.status === 'fulfilled') showStatus(status.value);
  showTiles(figures, m, status.status === 'fulfilled' ? status.value : null);
  if (figures) pushCharts(figures, now);
  if (routes.status === 'fulfilled') showRoutes(routes.value, figures);
  if (upstreams.status === 'fulfilled') showUpstreams(upstreams.value, now);
  showScripts(m, figures);
  showReloads(status.status === 'fulfilled' ? status.value : null, reloads);
  if (m) state.prev = { t: now, m };
  schedule();
}

// computeFigures reads one scrape, and what changed since the previous
// one: rates, ratios and quantiles over the interval between the two.
function computeFigures(m, now) {
  const f = {
    totalRequests: sum(m.get('moongate_http_requests_total')),
    interval: null,
  };
  const prev = state.prev;
  if (!prev) return f;
  const dt = (now - prev.t) / 1000;
  if (!(dt > 0)) return f;
  const req = increases(prev.m, m, 'moongate_http_requests_total');
  const total = sum(req);
  const n5 = sum(req, (l) => String(l.status).startsWith('5'));
  const n4 = sum(req, (l) => String(l.status).startsWith('4'));
  const lat = increases(prev.m, m, 'moongate_http_request_duration_seconds_bucket');
  const all = buckets(lat);
  const cache = groupSum(increases(prev.m, m, 'moongate_cache_requests_total'), (l) => l.status);
  const fromCache = (cache.get('hit') || 0) + (cache.get('stale') || 0) + (cache.get('revalidated') || 0);
  const cacheable = fromCache + (cache.get('miss') || 0) + (cache.get('expired') || 0);
  const luaErrors = increases(prev.m, m, 'moongate_lua_errors_total');
  const luaTimeouts = increases(prev.m, m, 'moongate_lua_timeouts_total');

  const perRoute = new Map();
  const route = (name) => {
    let r = perRoute.get(name);
    if (!r) perRoute.set(name, (r = { n: 0, n4: 0, n5: 0, p99: null }));
    return r;
  };
  for (const s of req) {
    const r = route(s.labels.route);
    r.n += s.value;
    if (String(s.labels.status).startsWith('5')) r.n5 += s.value;
    if (String(s.labels.status).startsWith('4')) r.n4 += s.value;
  }
  for (const name of new Set(lat.map((s) => s.labels.route))) {
    route(name).p99 = quantile(0.99, buckets(lat, (l) => l.route === name));
  }
  f.interval = {
    dt,
    rps: total / dt,
    err5: total > 0 ? n5 / total : null,
    err4: total > 0 ? n4 / total : null,
    rate5: n5 / dt,
    rate4: n4 / dt,
    p50: quantile(0.5, all),
    p99: quantile(0.99, all),
    cacheRatio: cacheable > 0 ? fromCache / cacheable : null,
    cacheBypass: cache.get('bypass') || 0,
    luaErrors: groupSum(luaErrors, (l) => l.script),
    luaTimeouts: groupSum(luaTimeouts, (l) => l.script),
    perRoute,
  };
  return f;
}

function gauge(m, name) {
  const list = m && m.get(name);
  return list && list.length ? sum(list) : null;
}

function showStatus(st) {
  setText('version', `moongate ${st.version} · up ${fmtUptime(st.uptime_seconds || 0)}`);
}

function showTiles(f, m, st) {
  const iv = f && f.interval;
  setText('stat-rps', iv ? fmtRate(iv.rps) : '–');
  setText('stat-total', f ? fmtCount(f.totalRequests) + ' since start' : 'no /metrics');
  setText('stat-5xx', iv ? fmtPct(iv.err5) : '–');
  setText('stat-5xx-sub', iv ? fmtRate(iv.rate5) + ' /s' : '');
  setText('stat-4xx', iv ? fmtPct(iv.err4) : '–');
  setText('stat-4xx-sub', iv ? fmtRate(iv.rate4) + ' /s' : '');
  setText('stat-p50', iv ? fmtSeconds(iv.p50) : '–');
  setText('stat-p99', iv ? fmtSeconds(iv.p99) : '–');
  setText('stat-cache', iv ? fmtPct(iv.cacheRatio) : '–');
  const entries = gauge(m, 'moongate_cache_entries');
  const bytes = gauge(m, 'moongate_cache_bytes');
  setText('stat-cache-sub', entries === null ? '' : `${fmtCount(entries)} entries, ${fmtBytes(bytes)}`);
  const inflight = gauge(m, 'moongate_inflight_requests');
  setText('stat-inflight', inflight !== null ? fmtCount(inflight) : st ? fmtCount(st.in_flight) : '–');
  const conns = gauge(m, 'moongate_open_connections');
  setText('stat-inflight-sub', conns === null ? '' : `${fmtCount(conns)} open connections`);
  const luaErr = m ? sum(m.get('moongate_lua_errors_total')) + sum(m.get('moongate_lua_timeouts_total')) : null;
  setText('stat-lua', luaErr === null ? '–' : fmtCount(luaErr));
  if (iv) {
    const recent = sum([...iv.luaErrors.values(), ...iv.luaTimeouts.values()].map((value) => ({ labels: {}, value })));
    setText('stat-lua-sub', `${fmtRate(recent / iv.dt)} /s now`);
    $('tile-lua').classList.toggle('alert', recent > 0);
  }
  $('tile-5xx').classList.toggle('alert', !!(iv && iv.err5 > 0));
  if (st && st.reloads) {
    setText('stat-reloads', `${st.reloads.ok} ok · ${st.reloads.failed} failed`);
    $('tile-reloads').classList.toggle('alert', !!st.reloads.last_error);
  }
}

function pushCharts(f, now) {
  const iv = f.interval;
  if (!iv) return;
  const c = state.charts;
  c.requests.push(now, [iv.rps]);
  c.errors.push(now, [iv.err5, iv.err4]);
  c.latency.push(now, [iv.p50, iv.p99]);
  c.cache.push(now, [iv.cacheRatio]);
}

function chips(list, cls) {
  return (list || []).map((x) => el('span', { class: cls }, x));
}

function showRoutes(routes, f) {
  const body = $('routes-body');
  const iv = f && f.interval;
  const rows = routes.map((r) => {
    const pr = iv && iv.perRoute.get(r.name);
    const match = [
      r.methods && r.methods.length ? r.methods.join(' ') : 'any method',
      r.hosts && r.hosts.length ? r.hosts.join(', ') : 'any host',
    ].join(' · ');
    return el(
      'tr',
      { 'data-route': r.name, class: pr && pr.n5 > 0 ? 'bad' : undefined },
      el('td', { class: 'name' }, r.name),
      el('td', null, el('div', { class: 'paths' }, chips(r.paths, 'path')), el('div', { class: 'muted' }, match)),
      el('td', null, r.upstream || el('span', { class: 'muted' }, 'none')),
      el('td', { class: 'chain' }, r.chain && r.chain.length ? chips(r.chain, 'step') : el('span', { class: 'muted' }, 'empty')),
      el('td', { class: 'num' }, iv ? fmtRate((pr ? pr.n : 0) / iv.dt) : '–'),
      el('td', { class: 'num' }, pr && pr.n > 0 ? fmtPct(pr.n4 / pr.n) : '–'),
      el('td', { class: 'num' }, pr && pr.n > 0 ? fmtPct(pr.n5 / pr.n) : '–'),
      el('td', { class: 'num' }, pr ? fmtSeconds(pr.p99) : '–'),
    );
  });
  if (rows.length === 0) rows.push(el('tr', null, el('td', { colspan: 8, class: 'muted' }, 'no routes')));
  body.replaceChildren(...rows);
}

function showUpstreams(ups, now) {
  const counts = new Map();
  const prev = state.prevTargets;
  const dt = prev ? (now - prev.t) / 1000 : 0;
  const blocks = ups.map((u) => {
    const rows = (u.targets || []).map((t) => {
      const key = JSON.stringify([u.name, t.url]);
      counts.set(key, t.requests);
      const before = prev && prev.counts.get(key);
      let rate = null;
      if (before !== undefined && dt > 0) rate = Math.max(0, t.requests - before) / dt;
      const health = t.state === 'ejected' && t.ejected_until ? `ejected until ${new Date(t.ejected_until).toLocaleTimeString()}` : t.state;
      return el(
        'tr',
        { 'data-target': t.url, class: t.state === 'healthy' ? undefined : 'bad' },
        el('td', { class: 'name' }, t.url),
        el('td', null, el('span', { class: 'badge ' + (t.state === 'healthy' ? 'ok' : 'bad'), 'data-health': t.state }, health)),
        el('td', { class: 'num' }, t.weight),
        el('td', { class: 'num' }, t.active),
        el('td', { class: 'num' }, rate === null ? '–' : fmtRate(rate)),
        el('td', { class: 'num' }, fmtCount(t.requests)),
        el('td', { class: 'num' }, fmtCount(t.failures)),
        el('td', { class: 'num' }, fmtCount(t.ejections)),
        el('td', { class: 'num' }, t.latency_ms ? t.latency_ms.toFixed(1) + ' ms' : '–'),
        el('td', { class: 'err' }, t.last_error || t.resolve_error || ''),
      );
    });
    const n = (u.targets || []).length;
    return el(
      'div',
      { class: 'upstream', 'data-upstream': u.name },
      el(
        'h3',
        null,
        el('span', { class: 'name' }, u.name),
        ' ',
        el('span', { class: 'muted' }, u.balancer || ''),
        ' ',
        el('span', { class: 'badge ' + (u.healthy === n ? 'ok' : u.healthy === 0 ? 'bad' : 'warn') }, `${u.healthy}/${n} healthy`),
      ),
      el(
        'table',
        null,
        el(
          'thead',
          null,
          el('tr', null, ['target', 'health', 'weight', 'active', 'req/s', 'requests', 'failures', 'ejections', 'latency', 'last error'].map((h) => el('th', null, h))),
        ),
        el('tbody', null, rows),
      ),
    );
  });
  state.prevTargets = { t: now, counts };
  if (blocks.length === 0) blocks.push(el('p', { class: 'muted' }, 'no upstreams'));
  $('upstreams').replaceChildren(...blocks);
}

function showScripts(m, f) {
  const body = $('scripts-body');
  if (!m) {
    body.replaceChildren(el('tr', null, el('td', { colspan: 5, class: 'muted' }, 'no /metrics')));
    return;
  }
  const calls = groupSum(m.get('moongate_lua_calls_total'), (l) => l.script);
  const errors = groupSum(m.get('moongate_lua_errors_total'), (l) => l.script);
  const timeouts = groupSum(m.get('moongate_lua_timeouts_total'), (l) => l.script);
  const names = [...new Set([...calls.keys(), ...errors.keys(), ...timeouts.keys()])].sort();
  const iv = f && f.interval;
  const rows = names.map((name) => {
    const recent = iv ? (iv.luaErrors.get(name) || 0) + (iv.luaTimeouts.get(name) || 0) : 0;
    return el(
      'tr',
      { 'data-script': name, class: recent > 0 ? 'bad' : undefined },
      el('td', { class: 'name' }, name),
      el('td', { class: 'num' }, fmtCount(calls.get(name) || 0)),
      el('td', { class: 'num' }, fmtCount(errors.get(name) || 0)),
      el('td', { class: 'num' }, fmtCount(timeouts.get(name) || 0)),
      el('td', { class: 'num' }, iv ? fmtRate(recent / iv.dt) : '–'),
    );
  });
  if (rows.length === 0) rows.push(el('tr', null, el('td', { colspan: 5, class: 'muted' }, 'no Lua script steps')));
  body.replaceChildren(...rows);
}

function showReloads(st, reloads) {
  if (st && st.config) {
    $('config').replaceChildren(
      'Serving ',
      el('code', null, st.config.file || '(no file)'),
      ', hash ',
      el('code', { title: st.config.hash }, (st.config.hash || '').slice(0, 12)),
      ', loaded ' + fmtTime(st.config.loaded_at) + '.',
    );
  }
  const body = $('reloads-body');
  if (reloads.status !== 'fulfilled') {
    body.replaceChildren(el('tr', null, el('td', { colspan: 4, class: 'muted' }, 'this gateway has no GET /reloads')));
    return;
  }
  const rows = reloads.value.map((r) =>
    el(
      'tr',
      { class: r.ok ? undefined : 'bad' },
      el('td', null, fmtTime(r.time)),
      el('td', null, el('span', { class: 'badge ' + (r.ok ? 'ok' : 'bad') }, r.ok ? 'ok' : 'failed')),
      el('td', null, el('code', { title: r.hash }, (r.hash || '').slice(0, 12))),
      el(
        'td',
        { class: 'err' },
        (r.errors || []).join('\n') || ((r.warnings || []).length ? (r.warnings || []).join('\n') : ''),
      ),
    ),
  );
  if (rows.length === 0) rows.push(el('tr', null, el('td', { colspan: 4, class: 'muted' }, 'no reload since the start')));
  body.replaceChildren(...rows);
}

function start() {
  state.charts = {
    requests: new LineChart($('chart-requests'), { title: 'Requests per second', series: ['req/s'], format: fmtRate }),
    errors: new LineChart($('chart-errors'), {
      title: 'Error rate (share of requests)',
      series: ['5xx', '4xx'],
      format: fmtPct,
      min: 0.01,
      max: null,
    }),
    latency: new LineChart($('chart-latency'), { title: 'Latency', series: ['p50', 'p99'], format: fmtSeconds, min: 0.001 }),
    cache: new LineChart($('chart-cache'), { title: 'Cache hit ratio', series: ['hit ratio'], format: fmtPct, max: 1 }),
  };
  window.addEventListener('resize', () => Object.values(state.charts).forEach((c) => c.draw()));

  const sel = $('refresh');
  sel.value = String(refreshSeconds());
  sel.addEventListener('change', () => {
    sessionStorage.setItem(REFRESH_KEY, sel.value);
    if (!state.stopped) schedule();
  });
  $('login').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const token = $('token').value.trim();
    if (token === '') {
      $('login-msg').textContent = 'Type the token first.';
      return;
    }
    if (!/^[\x20-\x7e]+$/.test(token)) {
      // fetch cannot send other bytes in a header.
      $('login-msg').textContent = 'The token has characters (non-ASCII or control characters) that a browser cannot send in a header: use curl.';
      return;
    }
    tokenGiven(token);
  });
  $('forget').addEventListener('click', () => {
    sessionStorage.removeItem(TOKEN_KEY);
    askToken('Token forgotten. Type it again to go on.');
  });
  poll();
}

start();
