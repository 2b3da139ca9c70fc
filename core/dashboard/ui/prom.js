// Reading GET /metrics: the Prometheus text format, counter increases
// between two scrapes, and quantiles of histogram buckets.

// parseValue reads a sample value, +Inf, -Inf and NaN included.
export function parseValue(s) {
  switch (s) {
    case '+Inf':
    case 'Inf':
      return Infinity;
    case '-Inf':
      return -Infinity;
    case 'NaN':
    case '':
    case undefined:
      return NaN;
  }
  return Number(s);
}

function isNameChar(c, first) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c === '_' || c === ':' || (!first && c >= '0' && c <= '9');
}

// parseLine reads one sample line, `name{label="value",...} value
// [timestamp]`, or returns null for what is not one.
export function parseLine(line) {
  let i = 0;
  while (i < line.length && isNameChar(line[i], i === 0)) i++;
  const name = line.slice(0, i);
  if (name === '') return null;
  const labels = {};
  if (line[i] === '{') {
    i++;
    for (;;) {
      while (line[i] === ' ' || line[i] === '\t') i++;
      if (line[i] === '}') {
        i++;
        break;
      }
      let j = i;
      while (j < line.length && isNameChar(line[j], j === i) && line[j] !== ':') j++;
      const key = line.slice(i, j);
      while (line[j] === ' ') j++;
      if (key === '' || line[j] !== '=') return null;
      j++;
      while (line[j] === ' ') j++;
      if (line[j] !== '"') return null;
      i = j + 1;
      let v = '';
      for (;;) {
        if (i >= line.length) return null;
        const c = line[i++];
        if (c === '"') break;
        if (c === '\\') {
          const n = line[i++];
          v += n === 'n' ? '\n' : n === undefined ? '' : n;
        } else {
          v += c;
        }
      }
      labels[key] = v;
      while (line[i] === ' ' || line[i] === '\t') i++;
      if (line[i] === ',') i++;
      else if (line[i] !== '}') return null;
    }
  }
  const fields = line.slice(i).trim().split(/[ \t]+/);
  const value = parseValue(fields[0]);
  if (Number.isNaN(value) && fields[0] !== 'NaN') return null;
  return { name, labels, value };
}

// parseMetrics reads the Prometheus text exposition format into a Map
// from each metric name (as written: foo_bucket, foo_sum, foo_count for
// a histogram) to its samples, {labels, value}. Comments (# HELP,
// # TYPE) and lines it cannot read are skipped.
export function parseMetrics(text) {
  const out = new Map();
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line[0] === '#') continue;
    const s = parseLine(line);
    if (s === null) continue;
    let list = out.get(s.name);
    if (!list) out.set(s.name, (list = []));
    list.push({ labels: s.labels, value: s.value });
  }
  return out;
}

// labelKey identifies a series by its labels, whatever their order.
export function labelKey(labels) {
  return JSON.stringify(Object.keys(labels).sort().map((k) => [k, labels[k]]));
}

// increases returns how much each series of a counter (or of histogram
// buckets) grew from the scrape prev to the scrape cur, as samples. A
// series absent from prev was created since, from 0; one that went down
// was reset (the gateway restarted) and counts from 0 too.
export function increases(prev, cur, name) {
  const before = new Map();
  for (const s of prev.get(name) || []) before.set(labelKey(s.labels), s.value);
  return (cur.get(name) || []).map((s) => {
    const b = before.get(labelKey(s.labels));
    let d = s.value - (b === undefined ? 0 : b);
    if (d < 0) d = s.value;
    return { labels: s.labels, value: d };
  });
}

// sum adds the values of the samples that pass keep (all by default).
export function sum(samples, keep) {
  let n = 0;
  for (const s of samples || []) if (!keep || keep(s.labels)) n += s.value;
  return n;
}

// groupSum adds the values of samples by a key made of their labels.
export function groupSum(samples, key) {
  const out = new Map();
  for (const s of samples || []) {
    const k = key(s.labels);
    out.set(k, (out.get(k) || 0) + s.value);
  }
  return out;
}

// buckets turns histogram bucket samples (labels with "le") into
// cumulative buckets sorted by upper bound, adding those of the same
// bound (the series of several routes, for the whole gateway).
export function buckets(samples, keep) {
  const by = groupSum(
    (samples || []).filter((s) => !keep || keep(s.labels)),
    (l) => l.le,
  );
  const out = [];
  for (const [le, count] of by) {
    const bound = parseValue(le);
    if (!Number.isNaN(bound)) out.push({ le: bound, count });
  }
  return out.sort((a, b) => a.le - b.le);
}

// quantile estimates the q-quantile (0 < q < 1) of the observations
// counted in cumulative buckets, as Prometheus's histogram_quantile
// does: it finds the bucket the rank falls in and interpolates linearly
// between its bounds (the lower bound of the first bucket is 0); a rank
// in the +Inf bucket answers the highest finite bound. It returns null
// when there is no observation or no +Inf bucket.
export function quantile(q, bs) {
  if (bs.length < 2 || bs[bs.length - 1].le !== Infinity) return null;
  // Counts read at slightly different moments may not be monotonic.
  let running = 0;
  const b = bs.map((x) => ({ le: x.le, count: (running = Math.max(running, x.count)) }));
  const total = b[b.length - 1].count;
  if (!(total > 0)) return null;
  const rank = q * total;
  let i = 0;
  while (i < b.length - 1 && b[i].count < rank) i++;
  if (i === b.length - 1) return b[b.length - 2].le;
  const lower = i === 0 ? 0 : b[i - 1].le;
  const below = i === 0 ? 0 : b[i - 1].count;
  const inside = b[i].count - below;
  if (i === 0 && b[0].le <= 0) return b[0].le;
  if (inside <= 0) return b[i].le;
  return lower + ((b[i].le - lower) * (rank - below)) / inside;
}
