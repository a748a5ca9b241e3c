// @ts-check
/** Small DOM and formatting helpers of the insights page. Everything is shown in UTC, as the API counts weeks. */

/**
 * An element with attributes and children. Text is always set as text, never parsed as HTML.
 * @template {keyof HTMLElementTagNameMap} K
 * @param {K} tag
 * @param {Record<string, string | number | boolean | null | undefined>} [attributes] `false`, null and undefined leave one out
 * @param {...(Node | string | null | undefined | false)} children
 * @returns {HTMLElementTagNameMap[K]}
 */
export function el(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === false || value === null || value === undefined) continue;
    element.setAttribute(name, value === true ? '' : String(value));
  }
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    element.append(child);
  }
  return element;
}

/**
 * @param {string} id
 * @returns {HTMLElement}
 */
export function byId(id) {
  const element = document.getElementById(id);
  if (!element) throw new Error(`The page has no #${id}.`);
  return element;
}

/**
 * "2026-11-04 09:30 UTC"
 * @param {string | number | Date} instant
 */
export function formatInstant(instant) {
  const iso = new Date(instant).toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC`;
}

/**
 * "2026-11-04"
 * @param {string | number | Date} instant
 */
export function formatDay(instant) {
  return new Date(instant).toISOString().slice(0, 10);
}

const numberFormats = new Map();
/**
 * A number for people: at most `digits` decimals, grouped thousands; an en dash for none.
 * @param {number | null | undefined} value
 * @param {number} [digits]
 */
export function formatNumber(value, digits = 2) {
  if (value === null || value === undefined) return '–';
  let format = numberFormats.get(digits);
  if (!format) {
    format = new Intl.NumberFormat('en', { maximumFractionDigits: digits });
    numberFormats.set(digits, format);
  }
  return format.format(value);
}

/**
 * A signed gap: "+0.12", "−0.30", "0".
 * @param {number} value
 */
export function formatGap(value) {
  const text = formatNumber(Math.abs(value), 2);
  if (text === '0') return '0';
  return `${value > 0 ? '+' : '−'}${text}`;
}

/**
 * An id without the instant an answer about the past versions it with (`<id>@<instant>`).
 * @param {string} id
 */
export function plainId(id) {
  const at = id.indexOf('@');
  return at === -1 ? id : id.slice(0, at);
}

/**
 * A table whose cells are text; `rows` carry their data attributes (the figures, exactly as the API gave them).
 * @param {string} caption
 * @param {string[]} headings
 * @param {{ cells: (string | Node)[], data: Record<string, string | number | boolean | null>, className?: string }[]} rows
 */
export function table(caption, headings, rows) {
  const body = el('tbody');
  for (const row of rows) {
    /** @type {Record<string, string | number | boolean | null>} */
    const attributes = { class: row.className ?? null };
    for (const [name, value] of Object.entries(row.data)) attributes[`data-${name}`] = value === null ? '' : String(value);
    body.append(el('tr', attributes, ...row.cells.map((cell) => el('td', {}, cell))));
  }
  return el(
    'div',
    { class: 'table-scroll' },
    el('table', {}, el('caption', {}, caption), el('thead', {}, el('tr', {}, ...headings.map((h) => el('th', { scope: 'col' }, h)))), body),
  );
}

/**
 * A closed disclosure with the figures behind a chart.
 * @param {string} summary
 * @param {Node} content
 */
export function figures(summary, content) {
  return el('details', { class: 'figures' }, el('summary', {}, summary), content);
}
