// @ts-check
import { calibrationScatter, confidenceLines, effortBars, keyResultChart } from './charts.js';
import { el, figures, formatDay, formatGap, formatInstant, formatNumber, plainId, table } from './dom.js';

/**
 * What each section of the page shows, built from the API's answers. Every figure also goes into the DOM
 * as text and, exactly as the API gave it, as data attributes of a table row (read by the browser tests
 * and by assistive technology alike), under a chart drawn from the same arrays.
 */

/**
 * @typedef {{ id: string, name: string, level: string, parent: { id: string } | null }} Unit
 * @typedef {{ weekStarting: string, meanConfidence: number, checkIns: number }} Bucket
 * @typedef {{ at: string, recordedAt: string, confidence: number, value: number | null, backdated: boolean, correction: boolean, superseded: boolean }} Point
 * @typedef {{ lastConfidence: number, score: number, gap: number }} Gap
 * @typedef {{
 *   keyResult: { id: string, title: string, metric: string, unit: string | null, baseline: number, target: number,
 *                objective: { id: string, title: string, unit: { id: string, name: string } } },
 *   points: Point[], calibration: Gap | null }} Series
 * @typedef {{ unit: { id: string, name: string }, meanGap: number, meanAbsoluteGap: number, keyResults: (Gap & { keyResult: { id: string, title: string } })[] }} UnitCalibration
 * @typedef {{ unit: { id: string, name: string, level: string }, personDays: number, budgetPersonDays: number, overBudget: boolean,
 *   byActivity: { activity: string, personDays: number }[], checkIns: number, retrospectiveRecorded: boolean }} EffortAudit
 * @typedef {{ rule: string, severity: string, message: string, subjectId: string | null }} Finding
 * @typedef {{ origin: string, treeSize: number, rootHash: string, keyName: string, signedAt: string, note: string }} Checkpoint
 * @typedef {{ ok: boolean, full: boolean, checkedFrom: number, treeSize: number, eventsChecked: number, checkpointsChecked: number,
 *   rootHash: string | null, firstBrokenPosition: string | null, reason: string | null }} Verification
 */

const seconds = (/** @type {string} */ iso) => Date.parse(iso) / 1000;
const plural = (/** @type {number} */ n, /** @type {string} */ noun) => `${n} ${noun}${n === 1 ? '' : 's'}`;

/**
 * The time the charts span, in seconds: the quarter, up to the instant shown.
 * @typedef {{ from: number, to: number }} Span
 */

/**
 * @param {string} text
 */
const empty = (text) => el('p', { class: 'empty' }, text);

/**
 * Weekly confidence of the unit chosen and of each unit directly below it.
 * @param {HTMLElement} body
 * @param {{ unit: Unit, buckets: Bucket[] }[]} lines the unit chosen first
 * @param {Span} span
 */
export function showConfidence(body, lines, span) {
  const weeks = [...new Set(lines.flatMap((line) => line.buckets.map((b) => seconds(b.weekStarting))))].sort((a, b) => a - b);
  if (weeks.length === 0) {
    body.append(empty('No check-ins in this quarter yet.'));
    return;
  }
  const chart = el('div', { class: 'chart', role: 'img', 'aria-label': 'Line chart of mean confidence by week; the figures are in the table below.' });
  body.append(chart);
  confidenceLines(chart, {
    weeks,
    span,
    lines: lines.map((line, i) => {
      const byWeek = new Map(line.buckets.map((b) => [seconds(b.weekStarting), b.meanConfidence]));
      return { label: i === 0 ? `${line.unit.name} (everything below)` : line.unit.name, values: weeks.map((w) => byWeek.get(w) ?? null) };
    }),
  });
  const rows = lines.flatMap((line) =>
    line.buckets.map((b) => ({
      cells: [line.unit.name, formatDay(b.weekStarting), formatNumber(b.meanConfidence, 1), String(b.checkIns)],
      data: { 'unit-id': line.unit.id, week: b.weekStarting, 'mean-confidence': b.meanConfidence, 'check-ins': b.checkIns },
    })),
  );
  body.append(figures('Figures', table('Mean confidence by week (Monday, UTC)', ['Unit', 'Week starting', 'Mean confidence', 'Check-ins'], rows)));
}

/**
 * @param {HTMLElement} body
 * @param {EffortAudit[]} audits
 */
export function showEffort(body, audits) {
  if (audits.length === 0) {
    body.append(empty('No unit logged effort or has objectives in this quarter.'));
    return;
  }
  const chart = el('div', { class: 'chart', role: 'img', 'aria-label': 'Bar chart of process effort per unit against its budget; the figures are in the table below.' });
  body.append(chart);
  effortBars(chart, {
    names: audits.map((a) => a.unit.name),
    personDays: audits.map((a) => a.personDays),
    budgets: audits.map((a) => a.budgetPersonDays),
    over: audits.map((a) => a.overBudget),
  });
  const over = audits.filter((a) => a.overBudget);
  if (over.length > 0) body.append(el('p', { class: 'note warning' }, `Over budget: ${over.map((a) => a.unit.name).join(', ')}.`));
  const activities = (/** @type {EffortAudit} */ a) => a.byActivity.map((x) => `${x.activity}:${x.personDays}`).join(' ');
  const rows = audits.map((a) => ({
    className: a.overBudget ? 'over' : undefined,
    cells: [
      a.unit.name,
      formatNumber(a.personDays),
      formatNumber(a.budgetPersonDays),
      a.overBudget ? 'over' : 'within',
      a.byActivity.map((x) => `${x.activity.toLowerCase().replace('_', '-')} ${formatNumber(x.personDays)}`).join(', ') || '–',
      String(a.checkIns),
      a.retrospectiveRecorded ? 'yes' : 'no',
    ],
    data: {
      'unit-id': a.unit.id,
      'person-days': a.personDays,
      budget: a.budgetPersonDays,
      'over-budget': a.overBudget,
      'by-activity': activities(a),
      'check-ins': a.checkIns,
      retrospective: a.retrospectiveRecorded,
    },
  }));
  body.append(
    figures(
      'Figures',
      table('Process effort per unit (person-days)', ['Unit', 'Effort', 'Budget', 'Budget kept', 'By activity', 'Check-ins', 'Retrospective'], rows),
    ),
  );
}

/**
 * @param {HTMLElement} body
 * @param {UnitCalibration[]} units
 */
export function showCalibration(body, units) {
  if (units.length === 0) {
    body.append(empty('No key result of this quarter is scored yet: calibration compares scores with the confidence before them.'));
    return;
  }
  const chart = el('div', { class: 'chart', role: 'img', 'aria-label': 'Scatter chart of each score against the last confidence before it; the figures are in the tables below.' });
  body.append(chart);
  calibrationScatter(chart, { units: units.map((u) => ({ label: u.unit.name, points: u.keyResults })) });
  const unitRows = units.map((u) => ({
    className: 'unit-calibration',
    cells: [u.unit.name, formatGap(u.meanGap), formatNumber(u.meanAbsoluteGap), u.meanGap > 0 ? 'under-confident' : u.meanGap < 0 ? 'over-confident' : 'exact'],
    data: { 'unit-id': u.unit.id, 'mean-gap': u.meanGap, 'mean-absolute-gap': u.meanAbsoluteGap },
  }));
  body.append(table('Per unit: mean gap (score − confidence / 100)', ['Unit', 'Mean gap', 'Mean |gap|', 'Leaning'], unitRows));
  const krRows = units.flatMap((u) =>
    u.keyResults.map((k) => ({
      className: 'key-result-calibration',
      cells: [u.unit.name, k.keyResult.title, String(k.lastConfidence), formatNumber(k.score), formatGap(k.gap)],
      data: { 'unit-id': u.unit.id, 'key-result-id': k.keyResult.id, 'last-confidence': k.lastConfidence, score: k.score, gap: k.gap },
    })),
  );
  body.append(figures('Every scored key result', table('Score against last confidence', ['Unit', 'Key result', 'Last confidence', 'Score', 'Gap'], krRows)));
}

/**
 * @param {HTMLElement} body
 * @param {Finding[]} findings
 * @param {(id: string) => string | null} nameOf what a subject id names, when the page knows it
 */
export function showHealth(body, findings, nameOf) {
  if (findings.length === 0) {
    body.append(empty('No findings: nothing in this quarter breaks the practice.'));
    return;
  }
  const counts = ['PROBLEM', 'WARNING', 'INFO'].map((s) => [s, findings.filter((f) => f.severity === s).length]).filter(([, n]) => n);
  body.append(el('p', { class: 'note' }, counts.map(([s, n]) => `${n} ${String(s).toLowerCase()}${n === 1 ? '' : 's'}`).join(', ')));
  const list = el('ul', { class: 'findings' });
  for (const f of findings) {
    const subject = f.subjectId === null ? null : (nameOf(f.subjectId) ?? f.subjectId);
    list.append(
      el(
        'li',
        { class: `finding ${f.severity.toLowerCase()}`, 'data-rule': f.rule, 'data-severity': f.severity, 'data-subject-id': f.subjectId ?? '' },
        el('span', { class: 'severity' }, f.severity),
        ' ',
        el('code', { class: 'rule' }, f.rule),
        subject ? el('span', { class: 'subject' }, ` · ${subject}`) : null,
        el('p', { class: 'message' }, f.message),
      ),
    );
  }
  body.append(list);
}

/** @param {Point} p */
const flagsOf = (p) => [p.backdated && 'backdated', p.correction && 'correction', p.superseded && 'superseded'].filter(Boolean).join(' ');

/**
 * Confidence and value of every key result over time, with the marked readings.
 * @param {HTMLElement} body
 * @param {Series[]} series
 * @param {Span} span
 */
export function showKeyResults(body, series, span) {
  if (series.length === 0) {
    body.append(empty('No key results in this quarter for this unit.'));
    return;
  }
  const grid = el('div', { class: 'cards' });
  body.append(grid);
  for (const s of series) grid.append(keyResultCard(s, span));
}

/**
 * @param {Series} s
 * @param {Span} span
 */
function keyResultCard(s, span) {
  const kr = s.keyResult;
  const card = el('article', { class: 'key-result', 'data-key-result-id': kr.id });
  card.append(
    el('h3', {}, kr.title),
    el('p', { class: 'meta' }, `${kr.objective.unit.name} · ${kr.objective.title}`),
    el('p', { class: 'meta' }, `Value: ${kr.metric}${kr.unit ? ` (${kr.unit})` : ''}, from ${formatNumber(kr.baseline, 4)} to ${formatNumber(kr.target, 4)}`),
  );
  const backdated = s.points.filter((p) => p.backdated).length;
  const corrections = s.points.filter((p) => p.correction).length;
  const badges = el('p', { class: 'badges' });
  if (backdated) badges.append(el('span', { class: 'badge backdated' }, `${backdated} back-dated`));
  if (corrections) badges.append(el('span', { class: 'badge correction' }, `${corrections} correction${corrections === 1 ? '' : 's'}`));
  if (s.calibration) {
    const c = s.calibration;
    badges.append(
      el(
        'span',
        { class: 'badge calibration', 'data-last-confidence': c.lastConfidence, 'data-score': c.score, 'data-gap': c.gap },
        `scored ${formatNumber(c.score)} after confidence ${c.lastConfidence} (gap ${formatGap(c.gap)})`,
      ),
    );
  }
  if (badges.childElementCount) card.append(badges);
  if (s.points.length === 0) {
    card.append(empty('No check-ins yet.'));
    return card;
  }
  const chart = el('div', { class: 'chart small', role: 'img', 'aria-label': `Confidence and value of “${kr.title}” over time; the readings are in the table below.` });
  card.append(chart);
  // One x per effective time: the reading in force there, and the one a correction replaced, if any.
  const times = [...new Set(s.points.map((p) => seconds(p.at)))].sort((a, b) => a - b);
  const shown = times.map((t) => s.points.filter((p) => seconds(p.at) === t && !p.superseded).at(-1) ?? null);
  const replaced = times.map((t) => s.points.filter((p) => seconds(p.at) === t && p.superseded).at(-1) ?? null);
  // Drawn once the card is in the page, so that the chart takes its width.
  queueMicrotask(() =>
    keyResultChart(chart, {
      times,
      confidence: shown.map((p) => p?.confidence ?? null),
      value: shown.map((p) => p?.value ?? null),
      target: kr.target,
      backdated: shown.map((p) => (p?.backdated ? p.confidence : null)),
      correction: shown.map((p) => (p?.correction ? p.confidence : null)),
      superseded: replaced.map((p) => p?.confidence ?? null),
      span,
    }),
  );
  const rows = s.points.map((p) => ({
    className: `point ${flagsOf(p)}`.trim(),
    cells: [
      formatInstant(p.at),
      formatInstant(p.recordedAt),
      String(p.confidence),
      formatNumber(p.value, 4),
      [p.backdated && 'back-dated', p.correction && 'correction', p.superseded && 'superseded'].filter(Boolean).join(', ') || '–',
    ],
    data: { at: p.at, 'recorded-at': p.recordedAt, confidence: p.confidence, value: p.value, flags: flagsOf(p) },
  }));
  card.append(
    figures(
      `Readings (${s.points.length}); target ${formatNumber(kr.target, 4)}`,
      table('Readings by effective time', ['Describes', 'Recorded', 'Confidence', 'Value', 'Marked'], rows),
    ),
  );
  return card;
}

/**
 * The latest checkpoint and the verification of the log (the present: the slider does not move them).
 * @param {HTMLElement} body
 * @param {{ checkpoint: Checkpoint | null } | Error} checkpoint
 * @param {{ verification: Verification } | Error} verification
 * @param {(error: unknown) => HTMLElement} errorBox
 */
export function showAudit(body, checkpoint, verification, errorBox) {
  if (verification instanceof Error) {
    const forbidden = 'code' in verification && verification.code === 'FORBIDDEN';
    body.append(forbidden ? el('p', { class: 'verdict unknown', 'data-verified': 'forbidden' }, 'Your role may not verify the log.') : errorBox(verification));
  } else {
    const v = verification.verification;
    const data = {
      'data-verified': v.ok ? 'ok' : 'broken',
      'data-tree-size': v.treeSize,
      'data-root-hash': v.rootHash ?? '',
      'data-checked-from': v.checkedFrom,
      'data-events-checked': v.eventsChecked,
      'data-first-broken-position': v.firstBrokenPosition ?? '',
    };
    body.append(
      v.ok
        ? el(
            'p',
            { class: 'verdict ok', ...data },
            `✓ The log verifies: its ${plural(v.treeSize, 'event')} match its Merkle tree ` +
              (v.eventsChecked === 0
                ? '(nothing was appended since the last verification).'
                : `(this check recomputed ${plural(v.eventsChecked, 'event')} from event ${v.checkedFrom + 1} and checked ${plural(v.checkpointsChecked, 'signed checkpoint')}).`),
          )
        : el('p', { class: 'verdict broken', role: 'alert', ...data }, `✗ The log does not verify: event ${v.firstBrokenPosition ?? '?'} no longer matches (${v.reason ?? 'no reason given'}).`),
    );
  }
  if (checkpoint instanceof Error) {
    body.append(errorBox(checkpoint));
    return;
  }
  const c = checkpoint.checkpoint;
  if (c === null) {
    body.append(empty('No checkpoint signed yet.'));
    return;
  }
  const row = (/** @type {string} */ term, /** @type {string} */ value) => [el('dt', {}, term), el('dd', {}, value)];
  body.append(
    el(
      'dl',
      { class: 'checkpoint', 'data-tree-size': c.treeSize, 'data-root-hash': c.rootHash, 'data-signed-at': c.signedAt, 'data-origin': c.origin },
      ...row('Events', String(c.treeSize)),
      ...row('Root hash', c.rootHash),
      ...row('Signed', formatInstant(c.signedAt)),
      ...row('Origin', c.origin),
      ...row('Key', c.keyName),
    ),
    figures('The signed note (keep it to check the log later)', el('pre', { class: 'note-text' }, c.note)),
  );
}

/**
 * Names of what health findings are about: units, objectives and key results the page has seen.
 * @param {Unit[]} units
 * @param {Series[] | null} series
 * @returns {(id: string) => string | null}
 */
export function subjectNames(units, series) {
  const names = new Map(units.map((u) => [u.id, u.name]));
  for (const s of series ?? []) {
    names.set(plainId(s.keyResult.id), s.keyResult.title);
    names.set(plainId(s.keyResult.objective.id), s.keyResult.objective.title);
  }
  return (id) => names.get(plainId(id)) ?? null;
}
