// Line charts drawn as SVG, for the dashboard's time series.
//
// A chart keeps the points of the last few minutes and redraws itself
// whole on each push: a few series of at most a few hundred points each,
// nothing a browser notices. Names and values are written with
// textContent, never as markup.

const NS = 'http://www.w3.org/2000/svg';
const HEIGHT = 170;
const PAD = { left: 56, right: 10, top: 10, bottom: 22 };

function svg(tag, attrs) {
  const e = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, String(v));
  return e;
}

// niceCeil returns a round number (1, 2 or 5 times a power of ten) at
// least v, for the top of the y axis.
export function niceCeil(v) {
  if (!(v > 0)) return 1;
  const p = Math.pow(10, Math.floor(Math.log10(v)));
  for (const m of [1, 2, 5, 10]) {
    if (m * p >= v * (1 - 1e-9)) return m * p;
  }
  return 10 * p;
}

// LineChart draws series of numbers over time in a container element.
//
//   const c = new LineChart(div, { title: 'Requests', series: ['req/s'], format: v => v.toFixed(1) });
//   c.push(Date.now(), [12.5]);     // one value per series; null leaves a gap
//
// Options: title; series (names, in legend order); format (value to
// text); min (the least top of the y axis, e.g. 1 for a ratio that is
// mostly near 0); max (a fixed top, e.g. 1 for a ratio); window (the
// time shown, in ms, 5 minutes by default).
export class LineChart {
  constructor(root, opts) {
    this.root = root;
    this.opts = Object.assign({ format: (v) => String(v), min: 0, max: null, window: 5 * 60 * 1000 }, opts);
    this.points = []; // {t, v: [number|null per series]}, oldest first
    root.classList.add('chart');
    root.replaceChildren();
    const head = document.createElement('div');
    head.className = 'chart-head';
    const title = document.createElement('h3');
    title.textContent = this.opts.title;
    this.legend = document.createElement('div');
    this.legend.className = 'legend';
    this.values = this.opts.series.map((name, i) => {
      const item = document.createElement('span');
      item.className = 'legend-item';
      item.dataset.series = name;
      const sw = document.createElement('span');
      sw.className = 'swatch s' + i;
      const label = document.createElement('span');
      label.textContent = name + ' ';
      const value = document.createElement('b');
      value.className = 'legend-value';
      value.textContent = '–';
      item.append(sw, label, value);
      this.legend.append(item);
      return value;
    });
    head.append(title, this.legend);
    this.svg = svg('svg', { role: 'img', 'aria-label': this.opts.title, height: HEIGHT, width: '100%' });
    root.append(head, this.svg);
    this.draw();
  }

  // push adds the values of one moment and redraws.
  push(t, values) {
    this.points.push({ t, v: values.map((x) => (typeof x === 'number' && Number.isFinite(x) ? x : null)) });
    const oldest = t - this.opts.window;
    while (this.points.length > 0 && this.points[0].t < oldest) this.points.shift();
    this.values.forEach((el, i) => {
      const v = this.points[this.points.length - 1].v[i];
      el.textContent = v === null ? '–' : this.opts.format(v);
    });
    this.draw();
  }

  // draw renders the axes and the series in the chart's current width.
  draw() {
    const width = Math.max(this.svg.clientWidth || this.root.clientWidth || 600, 200);
    this.svg.setAttribute('viewBox', `0 0 ${width} ${HEIGHT}`);
    this.svg.replaceChildren();
    const x0 = PAD.left, x1 = width - PAD.right;
    const y0 = HEIGHT - PAD.bottom, y1 = PAD.top;

    let top = this.opts.max;
    if (top === null) {
      let m = this.opts.min;
      for (const p of this.points) for (const v of p.v) if (v !== null && v > m) m = v;
      top = niceCeil(m);
    }
    const now = this.points.length ? this.points[this.points.length - 1].t : Date.now();
    const span = this.opts.window;
    const x = (t) => x1 - ((now - t) / span) * (x1 - x0);
    const y = (v) => y0 - (Math.min(v, top) / top) * (y0 - y1);

    const grid = svg('g', { class: 'grid' });
    for (let i = 0; i <= 4; i++) {
      const v = (top * i) / 4;
      const yy = y(v);
      grid.append(svg('line', { x1: x0, x2: x1, y1: yy, y2: yy }));
      const label = svg('text', { x: x0 - 6, y: yy + 4, 'text-anchor': 'end' });
      label.textContent = this.opts.format(v);
      grid.append(label);
    }
    const minutes = Math.round(span / 60000);
    const left = svg('text', { x: x0, y: HEIGHT - 6, 'text-anchor': 'start' });
    left.textContent = minutes >= 1 ? `−${minutes} min` : `−${Math.round(span / 1000)} s`;
    const right = svg('text', { x: x1, y: HEIGHT - 6, 'text-anchor': 'end' });
    right.textContent = 'now';
    grid.append(left, right);
    this.svg.append(grid);

    this.opts.series.forEach((name, i) => {
      const g = svg('g', { class: 'series s' + i, 'data-series': name });
      let run = [];
      const flush = () => {
        if (run.length > 1) g.append(svg('polyline', { points: run.join(' ') }));
        run = [];
      };
      let last = null;
      for (const p of this.points) {
        const v = p.v[i];
        if (v === null) {
          flush();
          continue;
        }
        const pt = [x(p.t).toFixed(1), y(v).toFixed(1)];
        run.push(pt.join(','));
        last = pt;
      }
      flush();
      if (last) g.append(svg('circle', { cx: last[0], cy: last[1], r: 2.5 }));
      this.svg.append(g);
    });
  }
}
