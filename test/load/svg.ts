// Self-contained SVG charts (no library): line charts with several series, bar charts (optionally
// stacked) and histograms. Every chart carries data-points="<n>" so tests can see it is not empty.

export interface Series {
  name: string;
  points: Array<[number, number]>;
  color?: string;
  /** Draw dots at each point (default when there are few points). */
  dots?: boolean;
  /** Step line (value holds until the next point), e.g. the epoch. */
  step?: boolean;
}

export interface ChartOptions {
  id: string;
  title: string;
  xLabel: string;
  yLabel: string;
  width?: number;
  height?: number;
  /** Horizontal reference line (e.g. a target). */
  yLine?: { value: number; label: string };
  yMin?: number;
}

const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf'];
const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** "Nice" tick values covering [min, max]. */
export function ticks(min: number, max: number, count = 5): number[] {
  if (!Number.isFinite(min) || !Number.isFinite(max)) return [0];
  if (max === min) max = min + 1;
  const span = max - min;
  const raw = span / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const norm = raw / mag;
  const step = (norm >= 5 ? 10 : norm >= 2 ? 5 : norm >= 1 ? 2 : 1) * mag;
  const out: number[] = [];
  for (let v = Math.ceil(min / step) * step; v <= max + step * 1e-9; v += step) out.push(Math.round(v * 1e6) / 1e6);
  return out;
}

const fmt = (v: number) => (Math.abs(v) >= 1000 ? `${Math.round(v / 100) / 10}k` : Math.abs(v) >= 10 ? String(Math.round(v)) : String(Math.round(v * 100) / 100));

interface Frame {
  w: number;
  h: number;
  left: number;
  right: number;
  top: number;
  bottom: number;
  x: (v: number) => number;
  y: (v: number) => number;
  xTicks: number[];
  yTicks: number[];
}

function frame(o: ChartOptions, xMin: number, xMax: number, yMin: number, yMax: number): Frame {
  const w = o.width ?? 640;
  const h = o.height ?? 260;
  const left = 56;
  const right = 16;
  const top = 30;
  const bottom = 44;
  if (xMax === xMin) xMax = xMin + 1;
  if (yMax === yMin) yMax = yMin + 1;
  const yT = ticks(yMin, yMax);
  const yTop = Math.max(yMax, yT[yT.length - 1] ?? yMax);
  const x = (v: number) => left + ((v - xMin) / (xMax - xMin)) * (w - left - right);
  const y = (v: number) => h - bottom - ((v - yMin) / (yTop - yMin)) * (h - top - bottom);
  return { w, h, left, right, top, bottom, x, y, xTicks: ticks(xMin, xMax, 6), yTicks: yT };
}

function axes(o: ChartOptions, f: Frame, points: number, xTickLabels?: (v: number) => string): string[] {
  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" id="${esc(o.id)}" class="chart-svg" data-points="${points}" viewBox="0 0 ${f.w} ${f.h}" width="${f.w}" height="${f.h}" font-family="sans-serif" font-size="11">`);
  parts.push(`<rect x="0" y="0" width="${f.w}" height="${f.h}" fill="#fff"/>`);
  parts.push(`<text x="${f.w / 2}" y="18" text-anchor="middle" font-size="13" font-weight="bold">${esc(o.title)}</text>`);
  for (const t of f.yTicks) {
    const yy = f.y(t);
    parts.push(`<line x1="${f.left}" x2="${f.w - f.right}" y1="${yy.toFixed(1)}" y2="${yy.toFixed(1)}" stroke="#e5e5e5"/>`);
    parts.push(`<text x="${f.left - 6}" y="${(yy + 4).toFixed(1)}" text-anchor="end" fill="#444">${fmt(t)}</text>`);
  }
  for (const t of f.xTicks) {
    const xx = f.x(t);
    if (xx < f.left - 0.5 || xx > f.w - f.right + 0.5) continue;
    parts.push(`<line x1="${xx.toFixed(1)}" x2="${xx.toFixed(1)}" y1="${f.h - f.bottom}" y2="${f.h - f.bottom + 4}" stroke="#444"/>`);
    parts.push(`<text x="${xx.toFixed(1)}" y="${f.h - f.bottom + 16}" text-anchor="middle" fill="#444">${esc(xTickLabels ? xTickLabels(t) : fmt(t))}</text>`);
  }
  parts.push(`<line x1="${f.left}" x2="${f.w - f.right}" y1="${f.h - f.bottom}" y2="${f.h - f.bottom}" stroke="#444"/>`);
  parts.push(`<line x1="${f.left}" x2="${f.left}" y1="${f.top}" y2="${f.h - f.bottom}" stroke="#444"/>`);
  parts.push(`<text x="${(f.left + f.w - f.right) / 2}" y="${f.h - 8}" text-anchor="middle" fill="#222">${esc(o.xLabel)}</text>`);
  parts.push(`<text transform="translate(14 ${(f.top + f.h - f.bottom) / 2}) rotate(-90)" text-anchor="middle" fill="#222">${esc(o.yLabel)}</text>`);
  if (o.yLine) {
    const yy = f.y(o.yLine.value);
    parts.push(`<line x1="${f.left}" x2="${f.w - f.right}" y1="${yy.toFixed(1)}" y2="${yy.toFixed(1)}" stroke="#888" stroke-dasharray="5 4"/>`);
    parts.push(`<text x="${f.w - f.right - 4}" y="${(yy - 4).toFixed(1)}" text-anchor="end" fill="#666">${esc(o.yLine.label)}</text>`);
  }
  return parts;
}

function legend(names: string[], colors: string[], f: Frame): string[] {
  const parts: string[] = [];
  let x = f.left + 8;
  let y = f.top + 2;
  for (let i = 0; i < names.length; i++) {
    const w = 24 + names[i]!.length * 6.2;
    if (x + w > f.w - f.right && x > f.left + 8) {
      x = f.left + 8;
      y += 14;
    }
    parts.push(`<rect x="${x}" y="${y}" width="10" height="10" fill="${colors[i]}"/>`);
    parts.push(`<text x="${x + 14}" y="${y + 9}" fill="#222" paint-order="stroke" stroke="#fff" stroke-width="3">${esc(names[i]!)}</text>`);
    x += w;
  }
  return parts;
}

function empty(o: ChartOptions): string {
  const w = o.width ?? 640;
  const h = o.height ?? 260;
  return `<svg xmlns="http://www.w3.org/2000/svg" id="${esc(o.id)}" class="chart-svg" data-points="0" viewBox="0 0 ${w} ${h}" width="${w}" height="${h}" font-family="sans-serif" font-size="12"><rect width="${w}" height="${h}" fill="#fff"/><text x="${w / 2}" y="18" text-anchor="middle" font-size="13" font-weight="bold">${esc(o.title)}</text><text x="${w / 2}" y="${h / 2}" text-anchor="middle" fill="#888">no data in this run</text></svg>`;
}

export function lineChart(o: ChartOptions, series: Series[]): string {
  const all = series.flatMap((s) => s.points).filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
  if (all.length === 0) return empty(o);
  const xs = all.map((p) => p[0]);
  const ys = all.map((p) => p[1]);
  const yMin = o.yMin ?? Math.min(0, ...ys);
  const yMax = Math.max(...ys, o.yLine?.value ?? -Infinity);
  const f = frame(o, Math.min(...xs), Math.max(...xs), yMin, yMax);
  const parts = axes(o, f, all.length);
  const colors = series.map((s, i) => s.color ?? PALETTE[i % PALETTE.length]!);
  series.forEach((s, i) => {
    const pts = s.points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
    if (pts.length === 0) return;
    let d = '';
    pts.forEach(([x, y], j) => {
      if (j === 0) d += `M${f.x(x).toFixed(1)},${f.y(y).toFixed(1)}`;
      else if (s.step) d += `H${f.x(x).toFixed(1)}V${f.y(y).toFixed(1)}`;
      else d += `L${f.x(x).toFixed(1)},${f.y(y).toFixed(1)}`;
    });
    parts.push(`<path class="series" data-series="${esc(s.name)}" d="${d}" fill="none" stroke="${colors[i]}" stroke-width="1.6"/>`);
    if (s.dots ?? pts.length <= 80) {
      for (const [x, y] of pts) parts.push(`<circle cx="${f.x(x).toFixed(1)}" cy="${f.y(y).toFixed(1)}" r="2.4" fill="${colors[i]}"/>`);
    }
  });
  parts.push(...legend(series.map((s) => s.name), colors, f));
  parts.push('</svg>');
  return parts.join('\n');
}

/** Bars at category positions; several series stack. */
export function barChart(o: ChartOptions, categories: Array<string | number>, series: Array<{ name: string; values: number[]; color?: string }>): string {
  const n = categories.length;
  const totals = categories.map((_, i) => series.reduce((s, se) => s + (se.values[i] ?? 0), 0));
  const points = series.reduce((s, se) => s + se.values.filter((v) => Number.isFinite(v)).length, 0);
  if (n === 0 || points === 0) return empty(o);
  const f = frame(o, 0, n, o.yMin ?? 0, Math.max(totals.some((t) => t > 0 && t < 1) ? 1e-9 : 1, ...totals, o.yLine?.value ?? 0));
  const labelEvery = Math.max(1, Math.ceil(n / 12));
  const parts = axes({ ...o }, { ...f, xTicks: [] }, points);
  const colors = series.map((s, i) => s.color ?? PALETTE[i % PALETTE.length]!);
  const bw = Math.max(1, ((f.w - f.left - f.right) / n) * 0.8);
  for (let i = 0; i < n; i++) {
    let base = 0;
    const cx = f.x(i + 0.5);
    series.forEach((se, k) => {
      const v = se.values[i] ?? 0;
      if (!Number.isFinite(v) || v <= 0) return;
      const y0 = f.y(base);
      const y1 = f.y(base + v);
      parts.push(`<rect class="bar" x="${(cx - bw / 2).toFixed(1)}" y="${y1.toFixed(1)}" width="${bw.toFixed(1)}" height="${Math.max(0.5, y0 - y1).toFixed(1)}" fill="${colors[k]}"><title>${esc(`${categories[i]}: ${se.name} ${v}`)}</title></rect>`);
      base += v;
    });
    if (i % labelEvery === 0) parts.push(`<text x="${cx.toFixed(1)}" y="${f.h - f.bottom + 16}" text-anchor="middle" fill="#444">${esc(String(categories[i]))}</text>`);
  }
  if (series.length > 1) parts.push(...legend(series.map((s) => s.name), colors, f));
  parts.push('</svg>');
  return parts.join('\n');
}

/** Histogram of samples with `bins` equal bins (values above p99.5 go to the last bin). */
export function histogram(o: ChartOptions, samples: Array<{ name: string; values: number[] }>, bins = 30): string {
  const all = samples.flatMap((s) => s.values).filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  if (all.length === 0) return empty(o);
  const lo = Math.min(0, all[0]!);
  const hi = all[Math.min(all.length - 1, Math.floor(all.length * 0.995))]! || 1;
  const width = (hi - lo) / bins || 1;
  const cats: string[] = [];
  for (let i = 0; i < bins; i++) cats.push(fmt(lo + (i + 0.5) * width));
  const series = samples.map((s) => {
    const counts = new Array<number>(bins).fill(0);
    for (const v of s.values) {
      if (!Number.isFinite(v)) continue;
      counts[Math.min(bins - 1, Math.max(0, Math.floor((v - lo) / width)))]!++;
    }
    return { name: `${s.name} (n=${s.values.length})`, values: counts };
  });
  return barChart(o, cats, series);
}
