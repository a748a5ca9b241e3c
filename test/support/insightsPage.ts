import type { Page } from 'playwright-core';
import type { Chromium } from '../../src/chromium';
import type { GraphQLResponse } from './server';

/**
 * The insights page (web/insights/) in a real browser, and what it shows read back from the DOM in the
 * shape the API's answers are mapped to here: so that a test can say "the page equals the API".
 */

export interface OpenedPage {
  page: Page;
  /** Requests the page tried to send anywhere but its own server (all refused). */
  elsewhere: string[];
  /** Console errors, uncaught exceptions and content-security-policy reports. */
  problems: string[];
  /** The GraphQL operations the page sent: name and variables. */
  operations: { name: string; variables: Record<string, unknown> }[];
  /** HTTP statuses of the answers to them. */
  statuses: number[];
}

/**
 * A new tab on the page at `url`, its clock fixed at `now` (the server's clock), every request to another
 * origin refused; resolves once the page says it is ready or waits for a token.
 */
export async function openInsights(browser: Chromium, url: string, now: Date, viewport = { width: 1280, height: 800 }): Promise<OpenedPage> {
  const page = await browser.context.newPage();
  await page.setViewportSize(viewport);
  await page.clock.setFixedTime(now);
  const origin = new URL(url).origin;
  const opened: OpenedPage = { page, elsewhere: [], problems: [], operations: [], statuses: [] };
  await page.route('**/*', (route) => {
    const target = route.request().url();
    if (target.startsWith(`${origin}/`) || target.startsWith('data:')) return route.continue();
    opened.elsewhere.push(target);
    return route.abort();
  });
  page.on('console', (message) => {
    if (message.type() === 'error') opened.problems.push(`console: ${message.text()}`);
  });
  page.on('pageerror', (error) => opened.problems.push(`uncaught: ${error.message}`));
  page.on('request', (request) => {
    if (request.method() !== 'POST' || !request.url().endsWith('/graphql')) return;
    const body = JSON.parse(request.postData() ?? '{}') as { query?: string; variables?: Record<string, unknown> };
    opened.operations.push({ name: /query (\w+)/.exec(body.query ?? '')?.[1] ?? '?', variables: body.variables ?? {} });
  });
  page.on('response', (response) => {
    if (response.request().method() === 'POST' && response.url().endsWith('/graphql')) opened.statuses.push(response.status());
  });
  await page.goto(new URL('/', url).toString());
  await page.waitForFunction(() => ['ready', 'signed-out', 'failed'].includes((globalThis as any).document.body.dataset.state));
  return opened;
}

export interface Shown {
  quarter: string;
  unit: string;
  /** The instant the page describes; empty for the present. */
  asOf: string;
}

/**
 * Waits until the page shows this quarter, unit and instant, every section answered (the log's
 * section too): the page sets these on <body> when it starts asking, and `ready` when all answers are in.
 */
export async function waitShown(page: Page, shown: Shown): Promise<void> {
  await page.waitForFunction((expected) => {
    const { body } = (globalThis as any).document;
    const audit = body.querySelector('#audit');
    return (
      body.dataset.state === 'ready' &&
      body.dataset.quarter === expected.quarter &&
      body.dataset.unit === expected.unit &&
      body.dataset.asOf === expected.asOf &&
      audit.dataset.state === 'ready'
    );
  }, shown);
}

/** Chooses a quarter and a unit with the pickers, as a person would. */
export async function choose(page: Page, quarter: string, unit: string): Promise<void> {
  await page.selectOption('#quarter', quarter);
  await page.selectOption('#unit', unit);
  await waitShown(page, { quarter, unit, asOf: '' });
}

const num = (text: string | undefined): number | null => (text === undefined || text === '' ? null : Number(text));

/** Everything the page shows about the quarter, from the data attributes under its charts. */
export async function pageFigures(page: Page): Promise<Figures> {
  const raw = await page.evaluate(() => {
    const document = (globalThis as any).document;
    const rows = (selector: string) => [...document.querySelectorAll(selector)].map((row: any) => ({ ...row.dataset }));
    return {
      confidence: rows('#confidence tr[data-unit-id]'),
      keyResults: [...document.querySelectorAll('#key-results article.key-result')].map((card: any) => ({
        id: card.dataset.keyResultId,
        points: [...card.querySelectorAll('tr.point')].map((row: any) => ({ ...row.dataset })),
        calibration: card.querySelector('.badge.calibration') ? { ...card.querySelector('.badge.calibration').dataset } : null,
      })),
      calibrationUnits: rows('#calibration tr.unit-calibration'),
      calibrationKeyResults: rows('#calibration tr.key-result-calibration'),
      effort: rows('#effort tr[data-unit-id]'),
      health: [...document.querySelectorAll('#health li.finding')].map((item: any) => ({ ...item.dataset, message: item.querySelector('.message').textContent })),
    };
  });
  return {
    confidence: raw.confidence.map((r: any) => ({ unitId: r.unitId, week: r.week, meanConfidence: num(r.meanConfidence), checkIns: num(r.checkIns) })),
    keyResults: raw.keyResults.map((k: any) => ({
      id: k.id,
      points: k.points.map((p: any) => ({ at: p.at, recordedAt: p.recordedAt, confidence: num(p.confidence), value: num(p.value), flags: p.flags })),
      calibration: k.calibration && { lastConfidence: num(k.calibration.lastConfidence), score: num(k.calibration.score), gap: num(k.calibration.gap) },
    })),
    calibrationUnits: raw.calibrationUnits.map((r: any) => ({ unitId: r.unitId, meanGap: num(r.meanGap), meanAbsoluteGap: num(r.meanAbsoluteGap) })),
    calibrationKeyResults: raw.calibrationKeyResults.map((r: any) => ({
      unitId: r.unitId,
      keyResultId: r.keyResultId,
      lastConfidence: num(r.lastConfidence),
      score: num(r.score),
      gap: num(r.gap),
    })),
    effort: raw.effort.map((r: any) => ({
      unitId: r.unitId,
      personDays: num(r.personDays),
      budget: num(r.budget),
      overBudget: r.overBudget === 'true',
      byActivity: r.byActivity,
      checkIns: num(r.checkIns),
      retrospective: r.retrospective === 'true',
    })),
    health: raw.health.map((r: any) => ({ rule: r.rule, severity: r.severity, subjectId: r.subjectId || null, message: r.message })),
  };
}

export interface Figures {
  confidence: { unitId: string; week: string; meanConfidence: number | null; checkIns: number | null }[];
  keyResults: {
    id: string;
    points: { at: string; recordedAt: string; confidence: number | null; value: number | null; flags: string }[];
    calibration: { lastConfidence: number | null; score: number | null; gap: number | null } | null;
  }[];
  calibrationUnits: { unitId: string; meanGap: number | null; meanAbsoluteGap: number | null }[];
  calibrationKeyResults: { unitId: string; keyResultId: string; lastConfidence: number | null; score: number | null; gap: number | null }[];
  effort: { unitId: string; personDays: number | null; budget: number | null; overBudget: boolean; byActivity: string; checkIns: number | null; retrospective: boolean }[];
  health: { rule: string; severity: string; subjectId: string | null; message: string }[];
}

type Gql = <T = Record<string, any>>(query: string, variables?: Record<string, unknown>, token?: string) => Promise<GraphQLResponse<T>>;

/**
 * The same figures straight from the API, one query per field (each alone well inside the cost limit):
 * the unit's and each child unit's weekly confidence, trends, calibration, effort and health.
 */
export async function apiFigures(gql: Gql, quarterId: string, unitId: string, asOf: string | null, token?: string): Promise<Figures> {
  const ask = async (query: string, variables: Record<string, unknown> = {}): Promise<any> => {
    const res = await gql(query, { quarterId, unitId, asOf, ...variables }, token);
    if (res.errors?.length) throw new Error(`the API refused: ${JSON.stringify(res.errors)}`);
    return res.data;
  };
  const args = '$quarterId: ID!, $unitId: ID!, $asOf: DateTime';
  const pass = 'quarterId: $quarterId, unitId: $unitId, asOf: $asOf';
  const units: { id: string; parent: { id: string } | null }[] = (await ask('{ units { id parent { id } } }')).units;
  const lines = [unitId, ...units.filter((u) => u.parent?.id === unitId).map((u) => u.id)];
  const confidence = [];
  for (const id of lines) {
    const data = await ask(`query(${args}) { teamConfidence(${pass}) { weekStarting meanConfidence checkIns } }`, { unitId: id });
    for (const b of data.teamConfidence) confidence.push({ unitId: id, week: b.weekStarting, meanConfidence: b.meanConfidence, checkIns: b.checkIns });
  }
  const trends = (await ask(`query(${args}) { confidenceTrends(${pass}) {
    keyResult { id } points { at recordedAt confidence value backdated correction superseded } calibration { lastConfidence score gap } } }`)).confidenceTrends;
  const calibration = (await ask(`query(${args}) { confidenceCalibration(${pass}) {
    unit { id } meanGap meanAbsoluteGap keyResults { keyResult { id } lastConfidence score gap } } }`)).confidenceCalibration;
  const effort = (await ask(`query(${args}) { effortAudit(${pass}) {
    unit { id } personDays budgetPersonDays overBudget byActivity { activity personDays } checkIns retrospectiveRecorded } }`)).effortAudit;
  const health = (await ask(`query(${args}) { health(${pass}) { rule severity subjectId message } }`)).health;
  const flags = (p: any) => [p.backdated && 'backdated', p.correction && 'correction', p.superseded && 'superseded'].filter(Boolean).join(' ');
  return {
    confidence,
    keyResults: trends.map((s: any) => ({
      id: s.keyResult.id,
      points: s.points.map((p: any) => ({ at: p.at, recordedAt: p.recordedAt, confidence: p.confidence, value: p.value, flags: flags(p) })),
      calibration: s.calibration,
    })),
    calibrationUnits: calibration.map((u: any) => ({ unitId: u.unit.id, meanGap: u.meanGap, meanAbsoluteGap: u.meanAbsoluteGap })),
    calibrationKeyResults: calibration.flatMap((u: any) =>
      u.keyResults.map((k: any) => ({ unitId: u.unit.id, keyResultId: k.keyResult.id, lastConfidence: k.lastConfidence, score: k.score, gap: k.gap })),
    ),
    effort: effort.map((a: any) => ({
      unitId: a.unit.id,
      personDays: a.personDays,
      budget: a.budgetPersonDays,
      overBudget: a.overBudget,
      byActivity: a.byActivity.map((x: any) => `${x.activity}:${x.personDays}`).join(' '),
      checkIns: a.checkIns,
      retrospective: a.retrospectiveRecorded,
    })),
    health: health.map((f: any) => ({ rule: f.rule, severity: f.severity, subjectId: f.subjectId, message: f.message })),
  };
}
