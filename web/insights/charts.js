// @ts-check
import uPlot from './uPlot.esm.js';

/**
 * The page's charts, drawn by uPlot (served by this server from its npm package). Each chart takes the
 * width of its container and follows it when the page is resized; times are shown in UTC.
 */

/** Okabe-Ito colours: told apart with every common colour-vision deficiency. */
export const COLOURS = ['#0072b2', '#e69f00', '#009e73', '#cc79a7', '#56b4e9', '#d55e00', '#000000', '#999999'];
const MARK = { backdated: '#7b3fb3', correction: '#009e73', superseded: '#8a8a8a', over: '#d55e00', budget: '#b00020' };

/** @type {Map<HTMLElement, { plot: uPlot, observer: ResizeObserver }>} */
const mounted = new Map();

const utc = (/** @type {number} */ seconds) => uPlot.tzDate(new Date(seconds * 1000), 'Etc/UTC');
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
/** Time axis labels: "28 Sep" (UTC). */
const days = (/** @type {uPlot} */ _u, /** @type {number[]} */ splits) =>
  splits.map((s) => {
    const d = new Date(s * 1000);
    return `${d.getUTCDate()} ${MONTHS[d.getUTCMonth()]}`;
  });
/** No zooming by dragging: every chart shows the whole quarter up to the instant chosen. */
const STILL = { drag: { x: false, y: false } };

/**
 * @param {HTMLElement} container
 * @param {number} height
 * @param {Omit<uPlot.Options, 'width' | 'height'>} options
 * @param {uPlot.AlignedData} data
 */
function mount(container, height, options, data) {
  const width = () => Math.max(200, Math.floor(container.clientWidth));
  const plot = new uPlot({ ...options, width: width(), height }, data, container);
  const observer = new ResizeObserver(() => {
    if (Math.abs(plot.width - width()) > 1) plot.setSize({ width: width(), height });
  });
  observer.observe(container);
  mounted.set(container, { plot, observer });
  return plot;
}

/**
 * Destroys the charts inside `root` (before its content is replaced).
 * @param {Element} root
 */
export function clearCharts(root) {
  for (const [container, { plot, observer }] of mounted) {
    if (!root.contains(container)) continue;
    observer.disconnect();
    plot.destroy();
    mounted.delete(container);
  }
}

/**
 * The time axis: the span asked for (seconds), widened to every x given; never empty.
 * @param {{ from: number, to: number }} span
 * @param {number[]} xs ascending
 * @returns {[number, number]}
 */
function timeRange(span, xs) {
  const from = Math.min(span.from, xs[0] ?? span.from);
  const to = Math.max(span.to, xs.at(-1) ?? span.to);
  return [from, Math.max(to, from + 86_400)];
}

/** Draws only points (markers of particular readings). */
const noLine = () => null;

/**
 * Confidence (0-100) by week, one line per unit; the first line, the unit chosen, is drawn thicker.
 * @param {HTMLElement} container
 * @param {{ weeks: number[], lines: { label: string, values: (number | null)[] }[], span: { from: number, to: number } }} model
 *   weeks and span in seconds
 */
export function confidenceLines(container, model) {
  /** @type {uPlot.Series[]} */
  const series = [
    { label: 'Week starting', value: (_u, v) => (v == null ? '–' : new Date(v * 1000).toISOString().slice(0, 10)) },
    ...model.lines.map((line, i) => ({
      label: line.label,
      stroke: COLOURS[i % COLOURS.length],
      width: i === 0 ? 3 : 1.5,
      spanGaps: true,
      points: { show: true, size: i === 0 ? 6 : 4 },
      value: (/** @type {uPlot} */ _u, /** @type {number | null} */ v) => (v == null ? '–' : v.toFixed(1)),
    })),
  ];
  return mount(
    container,
    260,
    {
      tzDate: utc,
      cursor: STILL,
      scales: { x: { time: true, range: timeRange(model.span, model.weeks) }, y: { range: [0, 100] } },
      axes: [{ values: days }, { label: 'Confidence', values: (_u, splits) => splits.map(String) }],
      series,
    },
    [model.weeks, ...model.lines.map((line) => line.values)],
  );
}

/**
 * One key result: confidence (left axis) and value (right axis) by effective time, the target, and markers
 * on the readings that were back-dated, that correct an earlier one, and that a correction replaced.
 * @param {HTMLElement} container
 * @param {{
 *   times: number[], confidence: (number | null)[], value: (number | null)[], target: number,
 *   backdated: (number | null)[], correction: (number | null)[], superseded: (number | null)[], span: { from: number, to: number }
 * }} model times and span in seconds
 */
export function keyResultChart(container, model) {
  /** @param {string} colour @param {number} size @param {boolean} filled @returns {uPlot.Series.Points} */
  const marker = (colour, size, filled) => ({ show: true, size, width: 2, stroke: colour, fill: filled ? colour : '#ffffff' });
  return mount(
    container,
    170,
    {
      tzDate: utc,
      legend: { show: false },
      cursor: STILL,
      scales: { x: { time: true, range: timeRange(model.span, model.times) }, confidence: { range: [0, 100] }, value: { auto: true } },
      axes: [
        { space: 60, values: days },
        { scale: 'confidence', values: (_u, splits) => splits.map(String), size: 36 },
        { scale: 'value', side: 1, grid: { show: false }, size: 52 },
      ],
      series: [
        {},
        { label: 'Confidence', scale: 'confidence', stroke: COLOURS[0], width: 2, spanGaps: true, points: { show: true, size: 5 } },
        { label: 'Value', scale: 'value', stroke: COLOURS[1], width: 1.5, spanGaps: true, points: { show: true, size: 4 } },
        { label: 'Target', scale: 'value', stroke: COLOURS[1], width: 1, dash: [4, 4], points: { show: false } },
        { label: 'Back-dated', scale: 'confidence', stroke: MARK.backdated, paths: noLine, points: marker(MARK.backdated, 13, false) },
        { label: 'Correction', scale: 'confidence', stroke: MARK.correction, paths: noLine, points: marker(MARK.correction, 10, true) },
        { label: 'Superseded', scale: 'confidence', stroke: MARK.superseded, paths: noLine, points: marker(MARK.superseded, 9, false) },
      ],
    },
    [model.times, model.confidence, model.value, model.times.map(() => model.target), model.backdated, model.correction, model.superseded],
  );
}

/**
 * Process effort per unit as bars (over-budget ones in another colour), each with its budget marked.
 * @param {HTMLElement} container
 * @param {{ names: string[], personDays: number[], budgets: number[], over: boolean[] }} model
 */
export function effortBars(container, model) {
  const xs = model.names.map((_, i) => i);
  const top = Math.max(1, ...model.personDays, ...model.budgets) * 1.15;
  const bars = uPlot.paths.bars?.({ size: [0.6, 64] });
  // Names turned aslant when they would not fit side by side.
  const narrow = container.clientWidth / Math.max(1, model.names.length) < 95;
  return mount(
    container,
    narrow ? 300 : 260,
    {
      cursor: STILL,
      legend: { live: false },
      scales: { x: { time: false, range: [-0.5, Math.max(0.5, model.names.length - 0.5)] }, y: { range: [0, top] } },
      axes: [
        {
          splits: () => xs,
          values: (_u, splits) => splits.map((i) => model.names[i] ?? ''),
          rotate: narrow ? -45 : 0,
          size: narrow ? 80 : 40,
          grid: { show: false },
        },
        { label: 'Person-days' },
      ],
      series: [
        { label: 'Unit', value: (_u, i) => (i == null ? '–' : (model.names[i] ?? '')) },
        { label: 'Within budget', stroke: COLOURS[0], fill: `${COLOURS[0]}cc`, paths: bars, points: { show: false } },
        { label: 'Over budget', stroke: MARK.over, fill: `${MARK.over}cc`, paths: bars, points: { show: false } },
        { label: 'Budget', stroke: MARK.budget, dash: [6, 4], width: 2, paths: noLine, points: { show: false } },
      ],
      hooks: {
        // Each bar's budget as a dashed line across its slot.
        draw: [
          (u) => {
            const { ctx } = u;
            ctx.save();
            ctx.strokeStyle = MARK.budget;
            ctx.lineWidth = 2 * uPlot.pxRatio;
            ctx.setLineDash([6 * uPlot.pxRatio, 4 * uPlot.pxRatio]);
            model.budgets.forEach((budget, i) => {
              const left = u.valToPos(i - 0.42, 'x', true);
              const right = u.valToPos(i + 0.42, 'x', true);
              const y = u.valToPos(budget, 'y', true);
              ctx.beginPath();
              ctx.moveTo(left, y);
              ctx.lineTo(right, y);
              ctx.stroke();
            });
            ctx.restore();
          },
        ],
      },
    },
    [
      xs,
      model.personDays.map((days, i) => (model.over[i] ? null : days)),
      model.personDays.map((days, i) => (model.over[i] ? days : null)),
      model.budgets,
    ],
  );
}

/**
 * Score (0-1) against the last confidence before it (0-100), one colour per unit, beside the diagonal
 * where the score equals the confidence: points above it were under-confident, below over-confident.
 * @param {HTMLElement} container
 * @param {{ units: { label: string, points: { lastConfidence: number, score: number }[] }[] }} model
 */
export function calibrationScatter(container, model) {
  const all = model.units.flatMap((unit, u) => unit.points.map((p) => ({ ...p, u })));
  all.sort((a, b) => a.lastConfidence - b.lastConfidence);
  const xs = [0, ...all.map((p) => p.lastConfidence), 100];
  return mount(
    container,
    260,
    {
      cursor: STILL,
      legend: { live: false },
      scales: { x: { time: false, range: [0, 100] }, y: { range: [0, 1] } },
      axes: [{ label: 'Last confidence before the score' }, { label: 'Score' }],
      series: [
        { label: 'Confidence' },
        { label: 'Score = confidence', stroke: MARK.superseded, dash: [4, 4], width: 1, points: { show: false } },
        ...model.units.map((unit, u) => ({
          label: unit.label,
          stroke: COLOURS[u % COLOURS.length],
          paths: noLine,
          points: { show: true, size: 9, width: 2, fill: COLOURS[u % COLOURS.length] },
        })),
      ],
    },
    [
      xs,
      xs.map((x) => x / 100),
      ...model.units.map((_, u) => [null, ...all.map((p) => (p.u === u ? p.score : null)), null]),
    ],
  );
}
