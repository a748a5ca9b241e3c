// @ts-check
import { ApiError, forgetToken, graphql, keepToken, storedToken, tokenClaims } from './api.js';
import { clearCharts } from './charts.js';
import { byId, el, formatInstant } from './dom.js';
import { CALIBRATION, CHECKPOINT, confidenceByWeek, EFFORT, HEALTH, SETUP, TRENDS, UNITS_PER_CONFIDENCE_REQUEST, VERIFY } from './queries.js';
import { showAudit, showCalibration, showConfidence, showEffort, showHealth, showKeyResults, subjectNames } from './sections.js';

/**
 * The insights page: choose a quarter and a unit, and see the whole page as of any instant since the
 * quarter's setting window opened (the slider; its right end is the present). Read-only, and built only
 * on the public GraphQL API.
 *
 * The page says what it is doing on <body>: data-state (loading, ready, signed-out, failed), and the
 * quarter, unit and instant (data-as-of: empty for the present) its figures describe.
 */

/**
 * @typedef {{ id: string, startsOn: string, endsOn: string, settingOpensOn: string, phase: string }} Quarter
 * @typedef {import('./sections.js').Unit} Unit
 */

const HOUR = 3_600_000;
/** The slider waits this long after the last move before it asks the API. */
const DEBOUNCE_MS = 300;

const page = document.body;
const quarterPicker = /** @type {HTMLSelectElement} */ (byId('quarter'));
const unitPicker = /** @type {HTMLSelectElement} */ (byId('unit'));
const slider = /** @type {HTMLInputElement} */ (byId('instant'));
const instantLabel = byId('instant-label');

/** @type {{ quarters: Quarter[], units: Unit[], opensAt: number, asOf: string | null, generation: number, controller: AbortController | null, timer: number | undefined }} */
const state = { quarters: [], units: [], opensAt: 0, asOf: null, generation: 0, controller: null, timer: undefined };

/** @param {unknown} error */
function errorBox(error) {
  if (error instanceof ApiError) {
    return el(
      'div',
      { class: 'error', role: 'alert', 'data-code': error.code, 'data-reason': error.reason ?? '' },
      el('strong', {}, error.reason ? `${error.code} (${error.reason})` : error.code),
      `: ${error.message}`,
    );
  }
  return el('div', { class: 'error', role: 'alert', 'data-code': 'PAGE_ERROR' }, el('strong', {}, 'Error'), `: ${error instanceof Error ? error.message : String(error)}`);
}

const isAbort = (/** @type {unknown} */ error) => error instanceof DOMException && error.name === 'AbortError';
const unauthenticated = (/** @type {unknown} */ error) => error instanceof ApiError && error.code === 'UNAUTHENTICATED';

// ---- signing in --------------------------------------------------------------------------------------

/** @param {string} reason what the API said */
function askForToken(reason) {
  state.generation += 1;
  state.controller?.abort();
  forgetToken();
  page.dataset.state = 'signed-out';
  byId('sign-in-reason').textContent = reason;
  byId('sign-in').hidden = false;
  byId('insights').hidden = true;
  byId('controls').hidden = true;
  showIdentity();
  /** @type {HTMLInputElement} */ (byId('token')).focus();
}

function showIdentity() {
  const token = storedToken();
  const who = byId('identity');
  who.textContent = '';
  byId('forget-token').hidden = token === null;
  if (token === null) return;
  const claims = tokenClaims(token);
  who.textContent = claims?.sub ? `Signed in as ${claims.sub}${claims.role ? ` (${claims.role})` : ''}` : 'Signed in with a token';
}

byId('token-form').addEventListener('submit', (event) => {
  event.preventDefault();
  const input = /** @type {HTMLInputElement} */ (byId('token'));
  if (!input.value.trim()) return;
  keepToken(input.value);
  input.value = '';
  byId('sign-in').hidden = true;
  void start();
});

byId('forget-token').addEventListener('click', () => {
  forgetToken();
  void start();
});

// ---- quarter, unit and instant -----------------------------------------------------------------------

/** The quarter under way, else the one being set, scored or last started. */
function defaultQuarter(/** @type {Quarter[]} */ quarters) {
  for (const phase of ['ACTIVE', 'SETTING', 'SCORING']) {
    const found = quarters.find((q) => q.phase === phase);
    if (found) return found;
  }
  const started = quarters.filter((q) => Date.parse(q.startsOn) <= Date.now()).sort((a, b) => Date.parse(b.startsOn) - Date.parse(a.startsOn));
  return started[0] ?? quarters[0] ?? null;
}

/** Units depth first under their parents, indented by level. */
function fillUnits(/** @type {Unit[]} */ units) {
  const children = (/** @type {string | null} */ parentId) => units.filter((u) => (u.parent?.id ?? null) === parentId);
  const known = new Set(units.map((u) => u.id));
  const roots = units.filter((u) => u.parent === null || !known.has(u.parent.id));
  unitPicker.replaceChildren();
  const add = (/** @type {Unit} */ unit, /** @type {number} */ depth) => {
    unitPicker.append(el('option', { value: unit.id }, `${'\u2003'.repeat(depth)}${unit.name} (${unit.level.toLowerCase()})`));
    for (const child of children(unit.id)) add(child, depth + 1);
  };
  for (const root of roots) add(root, 0);
}

const selectedQuarter = () => state.quarters.find((q) => q.id === quarterPicker.value) ?? null;

/** The slider counts hours since the quarter's setting window opened; its last position is the present. */
function resetSlider() {
  const quarter = selectedQuarter();
  state.opensAt = quarter ? Date.parse(quarter.settingOpensOn) : Date.now();
  const hours = Math.max(0, Math.ceil((Date.now() - state.opensAt) / HOUR));
  slider.min = '0';
  slider.max = String(hours);
  slider.value = String(hours);
  slider.disabled = hours === 0;
  state.asOf = null;
  showInstant();
}

function showInstant() {
  const text = state.asOf === null ? `Now, ${formatInstant(Date.now())} (live)` : `As of ${formatInstant(state.asOf)}`;
  instantLabel.textContent = text;
  slider.setAttribute('aria-valuetext', text);
  byId('now').toggleAttribute('disabled', state.asOf === null);
}

function sliderMoved() {
  const hours = Number(slider.value);
  state.asOf = hours >= Number(slider.max) ? null : new Date(state.opensAt + hours * HOUR).toISOString();
  showInstant();
  window.clearTimeout(state.timer);
  state.timer = window.setTimeout(render, DEBOUNCE_MS);
}

slider.addEventListener('input', sliderMoved);
byId('now').addEventListener('click', () => {
  slider.value = slider.max;
  sliderMoved();
});
quarterPicker.addEventListener('change', () => {
  resetSlider();
  render();
});
unitPicker.addEventListener('change', render);

// ---- rendering -----------------------------------------------------------------------------------------

/**
 * Fills one section from its answer; a failed answer shows its code and message in the section.
 * @template T
 * @param {string} id the section's id
 * @param {number} generation
 * @param {Promise<T>} answer
 * @param {(body: HTMLElement, value: T) => void} show
 */
async function fill(id, generation, answer, show) {
  const section = byId(id);
  const body = /** @type {HTMLElement} */ (section.querySelector('.body'));
  section.setAttribute('aria-busy', 'true');
  section.dataset.state = 'loading';
  let value;
  try {
    value = await answer;
  } catch (error) {
    if (generation !== state.generation || isAbort(error)) return;
    if (unauthenticated(error)) return askForToken(/** @type {Error} */ (error).message);
    clearCharts(body);
    body.replaceChildren(errorBox(error));
    section.dataset.state = 'failed';
    section.removeAttribute('aria-busy');
    return;
  }
  if (generation !== state.generation) return;
  clearCharts(body);
  body.replaceChildren();
  try {
    show(body, value);
    section.dataset.state = 'ready';
  } catch (error) {
    clearCharts(body);
    body.replaceChildren(errorBox(error));
    section.dataset.state = 'failed';
  }
  section.removeAttribute('aria-busy');
}

/** Every section as of the instant chosen, for the quarter and unit chosen; answers to earlier choices are dropped. */
function render() {
  window.clearTimeout(state.timer);
  const quarter = selectedQuarter();
  const unit = state.units.find((u) => u.id === unitPicker.value);
  if (!quarter || !unit) return;
  // The present has moved on since the slider was set: its right end follows.
  if (state.asOf === null) {
    slider.max = String(Math.max(0, Math.ceil((Date.now() - state.opensAt) / HOUR)));
    slider.value = slider.max;
    showInstant();
  }
  state.generation += 1;
  const generation = state.generation;
  state.controller?.abort();
  const controller = new AbortController();
  state.controller = controller;
  Object.assign(page.dataset, { state: 'loading', quarter: quarter.id, unit: unit.id, asOf: state.asOf ?? '' });
  const variables = { quarterId: quarter.id, unitId: unit.id, asOf: state.asOf };
  const ask = (/** @type {string} */ query, /** @type {Record<string, unknown>} */ vars = variables) => graphql(query, vars, controller.signal);

  const lines = [unit, ...state.units.filter((u) => u.parent?.id === unit.id)];
  const chunks = [];
  for (let i = 0; i < lines.length; i += UNITS_PER_CONFIDENCE_REQUEST) chunks.push(lines.slice(i, i + UNITS_PER_CONFIDENCE_REQUEST));
  const confidence = Promise.all(
    chunks.map(async (chunk) => {
      const ids = Object.fromEntries(chunk.map((u, i) => [`unit${i}`, u.id]));
      const data = await ask(confidenceByWeek(chunk.length), { quarterId: quarter.id, asOf: state.asOf, ...ids });
      return chunk.map((u, i) => ({ unit: u, buckets: data[`u${i}`] }));
    }),
  ).then((parts) => parts.flat());
  const trends = ask(TRENDS).then((d) => d.confidenceTrends);
  const health = Promise.all([ask(HEALTH).then((d) => d.health), trends.catch(() => null)]);

  // The charts' time axis: the quarter, up to the instant shown.
  const instant = state.asOf === null ? Date.now() : Date.parse(state.asOf);
  const span = { from: Date.parse(quarter.startsOn) / 1000, to: Math.min(Date.parse(quarter.endsOn), instant) / 1000 };
  const sections = [
    fill('confidence', generation, confidence, (body, lines) => showConfidence(body, lines, span)),
    fill('effort', generation, ask(EFFORT).then((d) => d.effortAudit), showEffort),
    fill('calibration', generation, ask(CALIBRATION).then((d) => d.confidenceCalibration), showCalibration),
    fill('health', generation, health, (body, [findings, series]) => showHealth(body, findings, subjectNames(state.units, series))),
    fill('key-results', generation, trends, (body, series) => showKeyResults(body, series, span)),
  ];
  void Promise.all(sections).then(() => {
    if (generation === state.generation && page.dataset.state === 'loading') page.dataset.state = 'ready';
  });
}

/** The log now: verified first (which may sign a checkpoint), then its latest checkpoint. */
async function loadAudit() {
  const section = byId('audit');
  const body = /** @type {HTMLElement} */ (section.querySelector('.body'));
  section.dataset.state = 'loading';
  section.setAttribute('aria-busy', 'true');
  /** @type {any} */
  const verification = await graphql(VERIFY, {}).catch((/** @type {unknown} */ e) => e);
  /** @type {any} */
  const checkpoint = await graphql(CHECKPOINT, {}).catch((/** @type {unknown} */ e) => e);
  if (unauthenticated(verification)) return askForToken(verification.message);
  body.replaceChildren();
  showAudit(body, checkpoint, verification.verifyAuditLog ? { verification: verification.verifyAuditLog } : verification, errorBox);
  section.dataset.state = 'ready';
  section.removeAttribute('aria-busy');
}

byId('verify-again').addEventListener('click', () => void loadAudit());

/** Loads what there is to choose from, then the page for the default choice. */
async function start() {
  showIdentity();
  page.dataset.state = 'loading';
  byId('sign-in').hidden = true;
  let setup;
  try {
    setup = await graphql(SETUP, {});
  } catch (error) {
    if (unauthenticated(error)) return askForToken(/** @type {Error} */ (error).message);
    page.dataset.state = 'failed';
    byId('setup-error').replaceChildren(errorBox(error));
    return;
  }
  byId('setup-error').replaceChildren();
  byId('insights').hidden = false;
  byId('controls').hidden = false;
  state.quarters = [...setup.quarters].sort((a, b) => Date.parse(a.startsOn) - Date.parse(b.startsOn));
  state.units = setup.units;
  if (state.quarters.length === 0 || state.units.length === 0) {
    page.dataset.state = 'ready';
    byId('setup-error').replaceChildren(el('p', { class: 'empty' }, 'The organisation has no quarters or units yet: nothing to show.'));
    byId('insights').hidden = true;
    return;
  }
  const previousQuarter = quarterPicker.value;
  const previousUnit = unitPicker.value;
  quarterPicker.replaceChildren(...state.quarters.map((q) => el('option', { value: q.id }, `${q.id} (${q.phase.toLowerCase()})`)));
  quarterPicker.value = state.quarters.some((q) => q.id === previousQuarter) ? previousQuarter : (defaultQuarter(state.quarters)?.id ?? '');
  fillUnits(state.units);
  if (state.units.some((u) => u.id === previousUnit)) unitPicker.value = previousUnit;
  resetSlider();
  render();
  void loadAudit();
}

void start();
