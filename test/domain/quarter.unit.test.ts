import type { QuarterPlanned } from '../../events/catalogue';
import {
  DEFAULT_SETTING_WINDOW_DAYS,
  LIMITS,
  assertQuarterOpen,
  closeQuarter,
  planQuarter,
  quarterPhase,
  type PlanQuarter,
} from '../../domain';
import { decider, expectRejection } from '../support/decider';
import {
  ENDS,
  Q1,
  SETTING_OPENS,
  STARTS,
  closedQuarter,
  noQuarter,
  openQuarter,
  q1Closed,
  q1Planned,
  quarterStream,
  text,
} from './fixtures';

const plan = decider(quarterStream, planQuarter);
const close = decider(quarterStream, closeQuarter);

const planned = (data: Partial<QuarterPlanned['data']> = {}): QuarterPlanned => ({
  type: 'QuarterPlanned',
  data: { quarterId: Q1, startsOn: STARTS, endsOn: ENDS, settingOpensOn: SETTING_OPENS, ...data },
});
const command = (overrides: Partial<PlanQuarter> = {}): PlanQuarter => ({
  quarterId: Q1,
  startsOn: STARTS,
  endsOn: ENDS,
  ...overrides,
});

describe('planQuarter', () => {
  describe('an unplanned quarter', () => {
    it(`opens setting ${DEFAULT_SETTING_WINDOW_DAYS} days (three weeks) before the quarter starts by default`, () => {
      expect(DEFAULT_SETTING_WINDOW_DAYS).toBe(21);
      plan.given([]).when(command()).then([planned({ settingOpensOn: '2026-12-11T00:00:00.000Z' })]);
      plan.given([]).when(command({ settingOpensOn: null })).then([planned({ settingOpensOn: '2026-12-11T00:00:00.000Z' })]);
    });

    it('keeps an explicit settingOpensOn', () => {
      plan
        .given([])
        .when(command({ settingOpensOn: '2026-12-01T00:00:00.000Z' }))
        .then([planned({ settingOpensOn: '2026-12-01T00:00:00.000Z' })]);
    });

    it('normalises the dates to UTC ISO instants and trims the id', () => {
      plan
        .given([])
        .when({
          quarterId: ' 2027-Q1 ',
          startsOn: '2027-01-01T01:00:00+01:00',
          endsOn: '2027-04-01',
          settingOpensOn: '2026-12-14T19:00:00-05:00',
        })
        .then([planned({ settingOpensOn: '2026-12-15T00:00:00.000Z' })]);
    });

    it('accepts a setting window that opens as the quarter starts, and rejects one that opens after', () => {
      plan.given([]).when(command({ settingOpensOn: STARTS })).then([planned({ settingOpensOn: STARTS })]);
      plan
        .given([])
        .when(command({ settingOpensOn: '2027-01-01T00:00:00.001Z' }))
        .thenRejects('BAD_USER_INPUT', 'QUARTER_DATES_INVALID');
    });

    it.each([
      ['ends as it starts', ENDS],
      ['ends before it starts', '2026-12-31T00:00:00.000Z'],
    ])('rejects a quarter that %s', (_, endsOn) => {
      plan
        .given([])
        .when(command({ startsOn: ENDS, endsOn }))
        .thenRejects('BAD_USER_INPUT', 'QUARTER_DATES_INVALID');
    });

    it('accepts a quarter of 366 days and rejects a longer one', () => {
      plan
        .given([])
        .when(command({ endsOn: '2028-01-02T00:00:00.000Z' }))
        .then([planned({ endsOn: '2028-01-02T00:00:00.000Z' })]);
      plan
        .given([])
        .when(command({ endsOn: '2028-01-02T00:00:00.001Z' }))
        .thenRejects('BAD_USER_INPUT', 'QUARTER_DATES_INVALID');
    });

    it.each([
      ['startsOn', { startsOn: 'next monday' }, 'STARTS_ON_INVALID'],
      ['endsOn', { endsOn: '' }, 'ENDS_ON_INVALID'],
      ['settingOpensOn', { settingOpensOn: '2026-13-45' }, 'SETTING_OPENS_ON_INVALID'],
    ])('rejects a %s that is not an instant', (_, overrides, reason) => {
      plan.given([]).when(command(overrides)).thenRejects('BAD_USER_INPUT', reason);
    });

    it.each(['', '   ', '2027 Q1', '-2027-Q1', '2027/Q1', 'Q1\u00e9', text(LIMITS.quarterKey + 1, 'Q')])(
      'rejects the quarter id %j',
      (quarterId) => {
        plan.given([]).when(command({ quarterId })).thenRejects('BAD_USER_INPUT', 'QUARTER_ID_INVALID');
      },
    );

    it(`accepts a quarter id of ${LIMITS.quarterKey} characters with '.', '_' and '-'`, () => {
      const quarterId = `FY27.q1_${text(LIMITS.quarterKey - 11, 'a')}-01`;
      expect(quarterId).toHaveLength(LIMITS.quarterKey);
      plan.given([]).when(command({ quarterId })).then([planned({ quarterId })]);
    });

    it('cannot be closed (NOT_FOUND)', () => {
      close.given([]).when({ quarterId: Q1, at: ENDS }).thenRejects('NOT_FOUND', 'QUARTER_NOT_FOUND');
    });

    describe('at the edges of the accepted years (0001-9999)', () => {
      const year1 = { quarterId: '0001-Q1', startsOn: '0001-01-01T00:00:00Z', endsOn: '0001-04-01T00:00:00Z' };

      it('refuses a default setting window that would open before 0001-01-01 (it could not be stored)', () => {
        const error = plan.given([]).when(year1).thenRejects('BAD_USER_INPUT', 'SETTING_OPENS_ON_OUT_OF_RANGE');
        expect(error.message).toMatch(/pass settingOpensOn/);
      });

      it('plans year 1 with an explicit setting window, and keeps years below 100 as given', () => {
        plan
          .given([])
          .when({ ...year1, settingOpensOn: '0001-01-01T00:00:00Z' })
          .then([planned({ ...year1, startsOn: '0001-01-01T00:00:00.000Z', endsOn: '0001-04-01T00:00:00.000Z', settingOpensOn: '0001-01-01T00:00:00.000Z' })]);
        plan
          .given([])
          .when({ quarterId: '0050-Q2', startsOn: '0050-04-01T00:00:00Z', endsOn: '0050-07-01T00:00:00Z' })
          .then([planned({ quarterId: '0050-Q2', startsOn: '0050-04-01T00:00:00.000Z', endsOn: '0050-07-01T00:00:00.000Z', settingOpensOn: '0050-03-11T00:00:00.000Z' })]);
      });

      it('plans a quarter that ends at the last accepted instant', () => {
        plan
          .given([])
          .when({ quarterId: '9999-Q4', startsOn: '9999-10-01T00:00:00Z', endsOn: '9999-12-31T23:59:59.999Z' })
          .then([planned({ quarterId: '9999-Q4', startsOn: '9999-10-01T00:00:00.000Z', endsOn: '9999-12-31T23:59:59.999Z', settingOpensOn: '9999-09-10T00:00:00.000Z' })]);
      });

      it.each([
        ['startsOn', { startsOn: '0000-12-01T00:00:00Z', endsOn: '0001-03-01T00:00:00Z' }, 'STARTS_ON_OUT_OF_RANGE'],
        ['endsOn', { startsOn: '9999-10-01T00:00:00Z', endsOn: '+010000-01-01T00:00:00Z' }, 'ENDS_ON_OUT_OF_RANGE'],
        ['settingOpensOn', { ...year1, settingOpensOn: '0000-12-31T23:59:59.999Z' }, 'SETTING_OPENS_ON_OUT_OF_RANGE'],
      ])('refuses a %s outside the years 0001-9999', (_, overrides, reason) => {
        plan.given([]).when(command(overrides)).thenRejects('BAD_USER_INPUT', reason);
      });
    });
  });

  describe('a planned quarter', () => {
    it('cannot be planned again', () => {
      plan.given([q1Planned]).when(command()).thenRejects('BAD_USER_INPUT', 'QUARTER_EXISTS');
    });
  });

  describe('a closed quarter', () => {
    it('cannot be planned again', () => {
      plan.given([q1Planned, q1Closed]).when(command()).thenRejects('BAD_USER_INPUT', 'QUARTER_EXISTS');
    });
  });
});

describe('closeQuarter', () => {
  describe('a planned quarter', () => {
    it('closes once it has ended (at endsOn exactly)', () => {
      close
        .given([q1Planned])
        .when({ quarterId: Q1, at: ENDS })
        .then([{ type: 'QuarterClosed', data: { quarterId: Q1, closedAt: ENDS } }]);
    });

    it('closes after it has ended', () => {
      close
        .given([q1Planned])
        .when({ quarterId: Q1, at: '2027-04-10T09:00:00.000Z' })
        .then([{ type: 'QuarterClosed', data: { quarterId: Q1, closedAt: '2027-04-10T09:00:00.000Z' } }]);
    });

    it.each([
      ['while it is running', '2027-03-31T23:59:59.999Z'],
      ['before it starts', '2026-12-20T00:00:00.000Z'],
    ])('rejects closing %s', (_, at) => {
      close.given([q1Planned]).when({ quarterId: Q1, at }).thenRejects('BAD_USER_INPUT', 'QUARTER_NOT_ENDED');
    });
  });

  describe('a closed quarter', () => {
    it('cannot be closed twice', () => {
      close
        .given([q1Planned, q1Closed])
        .when({ quarterId: Q1, at: '2027-05-01T00:00:00.000Z' })
        .thenRejects('BAD_USER_INPUT', 'QUARTER_CLOSED');
    });
  });
});

describe('assertQuarterOpen', () => {
  it('lets a planned quarter through', () => {
    expect(() => assertQuarterOpen(openQuarter, Q1)).not.toThrow();
  });

  it('rejects a closed quarter', () => {
    expectRejection(() => assertQuarterOpen(closedQuarter, Q1), 'BAD_USER_INPUT', 'QUARTER_CLOSED');
  });

  it('rejects an unplanned quarter (NOT_FOUND)', () => {
    expectRejection(() => assertQuarterOpen(noQuarter, Q1), 'NOT_FOUND', 'QUARTER_NOT_FOUND');
  });
});

describe('quarterPhase', () => {
  const dates = { startsOn: STARTS, endsOn: ENDS, settingOpensOn: SETTING_OPENS, closed: false };

  it.each([
    ['PLANNED', 'before settingOpensOn', '2026-12-10T23:59:59.999Z'],
    ['SETTING', 'at settingOpensOn', SETTING_OPENS],
    ['SETTING', 'just before startsOn', '2026-12-31T23:59:59.999Z'],
    ['ACTIVE', 'at startsOn', STARTS],
    ['ACTIVE', 'just before endsOn', '2027-03-31T23:59:59.999Z'],
    ['SCORING', 'at endsOn', ENDS],
    ['SCORING', 'long after endsOn, while not closed', '2028-01-01T00:00:00.000Z'],
  ])('is %s %s', (phase, _, at) => {
    expect(quarterPhase(dates, at)).toBe(phase);
  });

  it('is CLOSED once closed, whatever the instant', () => {
    expect(quarterPhase({ ...dates, closed: true }, '2026-01-01T00:00:00.000Z')).toBe('CLOSED');
    expect(quarterPhase({ ...dates, closed: true }, '2027-02-01T00:00:00.000Z')).toBe('CLOSED');
  });

  it('accepts Date objects and instants with an offset', () => {
    const asDates = { startsOn: new Date(STARTS), endsOn: new Date(ENDS), settingOpensOn: new Date(SETTING_OPENS), closed: false };
    expect(quarterPhase(asDates, new Date('2027-02-01T00:00:00.000Z'))).toBe('ACTIVE');
    // 00:30 on 1 January in Paris is still 31 December in UTC.
    expect(quarterPhase(dates, '2027-01-01T00:30:00+01:00')).toBe('SETTING');
  });
});
