import type { ObjectiveAligned, ObjectiveEvent, ObjectiveRetired } from '../../events/catalogue';
import {
  LIMITS,
  alignObjective,
  commitObjective,
  draftObjective,
  refineObjective,
  retireObjective,
  type AlignmentContext,
  type DraftObjective,
  type ObjectiveState,
} from '../../domain';
import { decider, stateOf } from '../support/decider';
import {
  Q1,
  Q2,
  acme,
  closedQuarter,
  companyObjective,
  companyObjectiveDrafted,
  engineering,
  functionObjective,
  functionObjectiveDrafted,
  noObjective,
  noQuarter,
  noUnit,
  objectiveDrafted,
  objectiveStream,
  openQuarter,
  payments,
  retired,
  teamObjective,
  teamObjectiveDrafted,
  teamObjectiveScope as scope,
  text,
} from './fixtures';

const draft = decider(objectiveStream, draftObjective);
const refine = decider(objectiveStream, refineObjective);
const align = decider(objectiveStream, alignObjective);
const commit = decider(objectiveStream, commitObjective);
const retire = decider(objectiveStream, retireObjective);

const unaligned: AlignmentContext = { parent: null, ancestors: [] };
const alignedTo = (parent: ObjectiveState, ...ancestors: ObjectiveState[]): AlignmentContext => ({ parent, ancestors });

/** Another team objective and a function objective of the next quarter, as alignment targets. */
const otherTeamObjective = stateOf(objectiveStream, [objectiveDrafted({ objectiveId: 'o-pay-2', unitId: 'payments', unitLevel: 'TEAM' })]);
const nextQuarterFunctionObjective = stateOf(objectiveStream, [
  objectiveDrafted({ objectiveId: 'o-eng-q2', unitId: 'eng', unitLevel: 'FUNCTION', quarterId: Q2 }),
]);

const committed: ObjectiveEvent = { type: 'ObjectiveCommitted', data: scope };
const retiredEvent: ObjectiveRetired = { type: 'ObjectiveRetired', data: { ...scope, reason: 'Superseded by the platform plan' } };
const alignedToEng: ObjectiveAligned = { type: 'ObjectiveAligned', data: { ...scope, parentId: 'o-eng', previousParentId: null } };

describe('draftObjective', () => {
  const command = (overrides: Partial<DraftObjective> = {}): DraftObjective => ({
    objectiveId: 'o-pay',
    unitId: 'payments',
    quarterId: Q1,
    title: 'Checkout that never loses a sale',
    ...overrides,
  });

  describe('no objective yet', () => {
    it('drafts an aspirational, unaligned objective by default, at its unit level', () => {
      draft.given([]).when(command(), payments, openQuarter, unaligned).then([teamObjectiveDrafted]);
    });

    it('treats aspirational null as the default (true) and keeps an explicit false', () => {
      draft.given([]).when(command({ aspirational: null }), payments, openQuarter, unaligned).then([teamObjectiveDrafted]);
      draft
        .given([])
        .when(command({ aspirational: false }), payments, openQuarter, unaligned)
        .then([{ ...teamObjectiveDrafted, data: { ...teamObjectiveDrafted.data, aspirational: false } }]);
    });

    it('trims the title and description, and drops a blank description', () => {
      draft
        .given([])
        .when(command({ title: '  Checkout that never loses a sale ', description: ' Why it matters \n' }), payments, openQuarter, unaligned)
        .then([{ ...teamObjectiveDrafted, data: { ...teamObjectiveDrafted.data, description: 'Why it matters' } }]);
      draft
        .given([])
        .when(command({ description: '   ' }), payments, openQuarter, unaligned)
        .then([teamObjectiveDrafted]);
    });

    it('aligns to a higher-level objective of the same quarter', () => {
      draft
        .given([])
        .when(command({ parentId: 'o-eng' }), payments, openQuarter, alignedTo(functionObjective, companyObjective))
        .then([{ ...teamObjectiveDrafted, data: { ...teamObjectiveDrafted.data, parentId: 'o-eng' } }]);
      // A team may contribute straight to a company objective: "higher" need not be the next level.
      draft
        .given([])
        .when(command({ parentId: 'o-acme' }), payments, openQuarter, alignedTo(companyObjective))
        .then([{ ...teamObjectiveDrafted, data: { ...teamObjectiveDrafted.data, parentId: 'o-acme' } }]);
    });

    it('drafts a company objective with COMPANY level', () => {
      draft
        .given([])
        .when({ objectiveId: 'o-acme', unitId: 'acme', quarterId: Q1, title: 'Objective o-acme' }, acme, openQuarter, unaligned)
        .then([companyObjectiveDrafted]);
    });

    it('rejects an unknown unit (NOT_FOUND)', () => {
      draft.given([]).when(command(), noUnit, openQuarter, unaligned).thenRejects('NOT_FOUND', 'UNIT_NOT_FOUND');
    });

    it('rejects an unknown quarter (NOT_FOUND)', () => {
      draft.given([]).when(command(), payments, noQuarter, unaligned).thenRejects('NOT_FOUND', 'QUARTER_NOT_FOUND');
    });

    it.each(['', '  \t '])('rejects an empty title (%j)', (title) => {
      draft.given([]).when(command({ title }), payments, openQuarter, unaligned).thenRejects('BAD_USER_INPUT', 'TITLE_EMPTY');
    });

    it(`accepts a title of ${LIMITS.title} characters and rejects one more`, () => {
      draft
        .given([])
        .when(command({ title: text(LIMITS.title) }), payments, openQuarter, unaligned)
        .then([{ ...teamObjectiveDrafted, data: { ...teamObjectiveDrafted.data, title: text(LIMITS.title) } }]);
      draft
        .given([])
        .when(command({ title: text(LIMITS.title + 1) }), payments, openQuarter, unaligned)
        .thenRejects('BAD_USER_INPUT', 'TITLE_TOO_LONG');
    });

    it(`accepts a description of ${LIMITS.description} characters and rejects one more`, () => {
      draft
        .given([])
        .when(command({ description: text(LIMITS.description) }), payments, openQuarter, unaligned)
        .then([{ ...teamObjectiveDrafted, data: { ...teamObjectiveDrafted.data, description: text(LIMITS.description) } }]);
      draft
        .given([])
        .when(command({ description: text(LIMITS.description + 1) }), payments, openQuarter, unaligned)
        .thenRejects('BAD_USER_INPUT', 'DESCRIPTION_TOO_LONG');
    });

    it('rejects alignment to itself', () => {
      draft
        .given([])
        .when(command({ parentId: 'o-pay' }), payments, openQuarter, alignedTo(teamObjective))
        .thenRejects('BAD_USER_INPUT', 'ALIGN_TO_SELF');
    });

    it('rejects alignment to an unknown objective (NOT_FOUND)', () => {
      draft
        .given([])
        .when(command({ parentId: 'o-ghost' }), payments, openQuarter, unaligned)
        .thenRejects('NOT_FOUND', 'OBJECTIVE_NOT_FOUND');
      draft
        .given([])
        .when(command({ parentId: 'o-ghost' }), payments, openQuarter, alignedTo(noObjective))
        .thenRejects('NOT_FOUND', 'OBJECTIVE_NOT_FOUND');
    });

    it('rejects alignment to a retired objective', () => {
      draft
        .given([])
        .when(command({ parentId: 'o-eng' }), payments, openQuarter, alignedTo(retired(functionObjectiveDrafted)))
        .thenRejects('BAD_USER_INPUT', 'ALIGN_TO_RETIRED');
    });

    it.each([
      ['a team objective to another team objective (same level)', payments, 'o-pay-2', otherTeamObjective],
      ['a function objective to a team objective (lower level)', engineering, 'o-pay-2', otherTeamObjective],
      ['a company objective to anything (nothing is higher)', acme, 'o-eng', functionObjective],
    ] as const)('rejects aligning %s', (_, unit, parentId, parent) => {
      draft
        .given([])
        .when(command({ unitId: unit.status === 'registered' ? unit.id : '', parentId }), unit, openQuarter, alignedTo(parent))
        .thenRejects('BAD_USER_INPUT', 'ALIGN_LEVEL_INVALID');
    });

    it("rejects alignment to another quarter's objective", () => {
      draft
        .given([])
        .when(command({ parentId: 'o-eng-q2' }), payments, openQuarter, alignedTo(nextQuarterFunctionObjective))
        .thenRejects('BAD_USER_INPUT', 'ALIGN_OTHER_QUARTER');
    });
  });

  describe('an existing objective', () => {
    it('cannot be drafted again', () => {
      draft.given([teamObjectiveDrafted]).when(command(), payments, openQuarter, unaligned).thenRejects('BAD_USER_INPUT', 'OBJECTIVE_EXISTS');
    });
  });

  describe('in a closed quarter', () => {
    it('rejects a draft', () => {
      draft.given([]).when(command(), payments, closedQuarter, unaligned).thenRejects('BAD_USER_INPUT', 'QUARTER_CLOSED');
    });
  });
});

describe('a draft objective', () => {
  const given = [teamObjectiveDrafted];

  describe('refineObjective', () => {
    it('records only a changed title', () => {
      refine
        .given(given)
        .when({ objectiveId: 'o-pay', title: ' Checkout that always completes ' }, openQuarter)
        .then([{ type: 'ObjectiveRefined', data: { ...scope, title: 'Checkout that always completes' } }]);
    });

    it('records only a changed description', () => {
      refine
        .given(given)
        .when({ objectiveId: 'o-pay', title: 'Checkout that never loses a sale', description: 'Lost sales are lost trust.' }, openQuarter)
        .then([{ type: 'ObjectiveRefined', data: { ...scope, description: 'Lost sales are lost trust.' } }]);
    });

    it('records both when both change', () => {
      refine
        .given(given)
        .when({ objectiveId: 'o-pay', title: 'New title', description: 'New description' }, openQuarter)
        .then([{ type: 'ObjectiveRefined', data: { ...scope, title: 'New title', description: 'New description' } }]);
    });

    it.each([null, '   '])('removes the description when given %j', (description) => {
      refine
        .given([...given, { type: 'ObjectiveRefined', data: { ...scope, description: 'Old' } }])
        .when({ objectiveId: 'o-pay', description }, openQuarter)
        .then([{ type: 'ObjectiveRefined', data: { ...scope, description: null } }]);
    });

    it('emits nothing when nothing changes', () => {
      refine.given(given).when({ objectiveId: 'o-pay', title: '  Checkout that never loses a sale ' }, openQuarter).thenNothing();
      refine.given(given).when({ objectiveId: 'o-pay', description: null }, openQuarter).thenNothing();
      refine.given(given).when({ objectiveId: 'o-pay', description: ' ' }, openQuarter).thenNothing();
    });

    it('reads the refined state: refining to the current title again emits nothing', () => {
      refine
        .given([...given, { type: 'ObjectiveRefined', data: { ...scope, title: 'New title', description: 'D' } }])
        .when({ objectiveId: 'o-pay', title: 'New title', description: 'D' }, openQuarter)
        .thenNothing();
    });

    it('rejects a refinement that names no field', () => {
      refine.given(given).when({ objectiveId: 'o-pay' }, openQuarter).thenRejects('BAD_USER_INPUT', 'NOTHING_TO_REFINE');
      refine.given(given).when({ objectiveId: 'o-pay', title: null }, openQuarter).thenRejects('BAD_USER_INPUT', 'NOTHING_TO_REFINE');
    });

    it.each(['', '   '])('rejects an empty title (%j)', (title) => {
      refine.given(given).when({ objectiveId: 'o-pay', title }, openQuarter).thenRejects('BAD_USER_INPUT', 'TITLE_EMPTY');
    });

    it(`accepts a title of ${LIMITS.title} characters and rejects one more`, () => {
      refine
        .given(given)
        .when({ objectiveId: 'o-pay', title: text(LIMITS.title) }, openQuarter)
        .then([{ type: 'ObjectiveRefined', data: { ...scope, title: text(LIMITS.title) } }]);
      refine
        .given(given)
        .when({ objectiveId: 'o-pay', title: text(LIMITS.title + 1) }, openQuarter)
        .thenRejects('BAD_USER_INPUT', 'TITLE_TOO_LONG');
    });

    it(`rejects a description over ${LIMITS.description} characters`, () => {
      refine
        .given(given)
        .when({ objectiveId: 'o-pay', description: text(LIMITS.description + 1) }, openQuarter)
        .thenRejects('BAD_USER_INPUT', 'DESCRIPTION_TOO_LONG');
    });
  });

  describe('alignObjective', () => {
    it('aligns to a function objective, recording the previous parent', () => {
      align.given(given).when({ objectiveId: 'o-pay', parentId: 'o-eng' }, openQuarter, alignedTo(functionObjective, companyObjective)).then([alignedToEng]);
    });

    it('moves to another parent and back to none, recording where it came from', () => {
      align
        .given([...given, alignedToEng])
        .when({ objectiveId: 'o-pay', parentId: 'o-acme' }, openQuarter, alignedTo(companyObjective))
        .then([{ type: 'ObjectiveAligned', data: { ...scope, parentId: 'o-acme', previousParentId: 'o-eng' } }]);
      align
        .given([...given, alignedToEng])
        .when({ objectiveId: 'o-pay', parentId: null }, openQuarter, unaligned)
        .then([{ type: 'ObjectiveAligned', data: { ...scope, parentId: null, previousParentId: 'o-eng' } }]);
    });

    it('emits nothing when the parent does not change', () => {
      align.given(given).when({ objectiveId: 'o-pay', parentId: null }, openQuarter, unaligned).thenNothing();
      align
        .given([...given, alignedToEng])
        .when({ objectiveId: 'o-pay', parentId: 'o-eng' }, openQuarter, alignedTo(functionObjective, companyObjective))
        .thenNothing();
    });

    it('rejects alignment to itself', () => {
      align
        .given(given)
        .when({ objectiveId: 'o-pay', parentId: 'o-pay' }, openQuarter, alignedTo(teamObjective))
        .thenRejects('BAD_USER_INPUT', 'ALIGN_TO_SELF');
    });

    it('rejects an alignment that makes a cycle (the objective is among its new ancestors)', () => {
      align
        .given(given)
        .when({ objectiveId: 'o-pay', parentId: 'o-eng' }, openQuarter, alignedTo(functionObjective, companyObjective, teamObjective))
        .thenRejects('BAD_USER_INPUT', 'ALIGN_CYCLE');
    });

    it('rejects alignment to a same-level or lower-level objective', () => {
      align
        .given(given)
        .when({ objectiveId: 'o-pay', parentId: 'o-pay-2' }, openQuarter, alignedTo(otherTeamObjective))
        .thenRejects('BAD_USER_INPUT', 'ALIGN_LEVEL_INVALID');
      align
        .given([functionObjectiveDrafted])
        .when({ objectiveId: 'o-eng', parentId: 'o-pay' }, openQuarter, alignedTo(teamObjective))
        .thenRejects('BAD_USER_INPUT', 'ALIGN_LEVEL_INVALID');
      align
        .given([companyObjectiveDrafted])
        .when({ objectiveId: 'o-acme', parentId: 'o-eng' }, openQuarter, alignedTo(functionObjective))
        .thenRejects('BAD_USER_INPUT', 'ALIGN_LEVEL_INVALID');
    });

    it("rejects alignment to another quarter's objective", () => {
      align
        .given(given)
        .when({ objectiveId: 'o-pay', parentId: 'o-eng-q2' }, openQuarter, alignedTo(nextQuarterFunctionObjective))
        .thenRejects('BAD_USER_INPUT', 'ALIGN_OTHER_QUARTER');
    });

    it('rejects alignment to a retired objective', () => {
      align
        .given(given)
        .when({ objectiveId: 'o-pay', parentId: 'o-eng' }, openQuarter, alignedTo(retired(functionObjectiveDrafted)))
        .thenRejects('BAD_USER_INPUT', 'ALIGN_TO_RETIRED');
    });

    it('rejects alignment to an unknown objective (NOT_FOUND)', () => {
      align
        .given(given)
        .when({ objectiveId: 'o-pay', parentId: 'o-ghost' }, openQuarter, unaligned)
        .thenRejects('NOT_FOUND', 'OBJECTIVE_NOT_FOUND');
    });
  });

  describe('commitObjective', () => {
    it('commits', () => {
      commit.given(given).when({ objectiveId: 'o-pay' }, openQuarter).then([{ type: 'ObjectiveCommitted', data: scope }]);
    });
  });

  describe('retireObjective', () => {
    it('retires with a trimmed reason', () => {
      retire
        .given(given)
        .when({ objectiveId: 'o-pay', reason: '  Superseded by the platform plan ' }, openQuarter)
        .then([retiredEvent]);
    });

    it.each(['', '  '])('rejects an empty reason (%j)', (reason) => {
      retire.given(given).when({ objectiveId: 'o-pay', reason }, openQuarter).thenRejects('BAD_USER_INPUT', 'REASON_EMPTY');
    });

    it(`accepts a reason of ${LIMITS.reason} characters and rejects one more`, () => {
      retire
        .given(given)
        .when({ objectiveId: 'o-pay', reason: text(LIMITS.reason) }, openQuarter)
        .then([{ type: 'ObjectiveRetired', data: { ...scope, reason: text(LIMITS.reason) } }]);
      retire
        .given(given)
        .when({ objectiveId: 'o-pay', reason: text(LIMITS.reason + 1) }, openQuarter)
        .thenRejects('BAD_USER_INPUT', 'REASON_TOO_LONG');
    });
  });
});

describe('a committed objective', () => {
  const given = [teamObjectiveDrafted, committed];

  it('emits nothing when committed again', () => {
    commit.given(given).when({ objectiveId: 'o-pay' }, openQuarter).thenNothing();
  });

  it('can still be refined, aligned and retired', () => {
    refine
      .given(given)
      .when({ objectiveId: 'o-pay', title: 'New title' }, openQuarter)
      .then([{ type: 'ObjectiveRefined', data: { ...scope, title: 'New title' } }]);
    align.given(given).when({ objectiveId: 'o-pay', parentId: 'o-eng' }, openQuarter, alignedTo(functionObjective)).then([alignedToEng]);
    retire.given(given).when({ objectiveId: 'o-pay', reason: 'Superseded by the platform plan' }, openQuarter).then([retiredEvent]);
  });
});

describe('a retired objective', () => {
  const given = [teamObjectiveDrafted, retiredEvent];

  it('rejects a refinement', () => {
    refine.given(given).when({ objectiveId: 'o-pay', title: 'New title' }, openQuarter).thenRejects('BAD_USER_INPUT', 'OBJECTIVE_RETIRED');
  });

  it('rejects an alignment', () => {
    align
      .given(given)
      .when({ objectiveId: 'o-pay', parentId: 'o-eng' }, openQuarter, alignedTo(functionObjective))
      .thenRejects('BAD_USER_INPUT', 'OBJECTIVE_RETIRED');
  });

  it('rejects a commitment, even one recorded after the retirement', () => {
    commit.given(given).when({ objectiveId: 'o-pay' }, openQuarter).thenRejects('BAD_USER_INPUT', 'OBJECTIVE_RETIRED');
    commit.given([...given, committed]).when({ objectiveId: 'o-pay' }, openQuarter).thenRejects('BAD_USER_INPUT', 'OBJECTIVE_RETIRED');
  });

  it('cannot be retired twice', () => {
    retire.given(given).when({ objectiveId: 'o-pay', reason: 'Again' }, openQuarter).thenRejects('BAD_USER_INPUT', 'OBJECTIVE_RETIRED');
  });
});

describe('an unknown objective', () => {
  it('rejects refine, align, commit and retire (NOT_FOUND)', () => {
    refine.given([]).when({ objectiveId: 'o-ghost', title: 'T' }, openQuarter).thenRejects('NOT_FOUND', 'OBJECTIVE_NOT_FOUND');
    align
      .given([])
      .when({ objectiveId: 'o-ghost', parentId: 'o-eng' }, openQuarter, alignedTo(functionObjective))
      .thenRejects('NOT_FOUND', 'OBJECTIVE_NOT_FOUND');
    commit.given([]).when({ objectiveId: 'o-ghost' }, openQuarter).thenRejects('NOT_FOUND', 'OBJECTIVE_NOT_FOUND');
    retire.given([]).when({ objectiveId: 'o-ghost', reason: 'R' }, openQuarter).thenRejects('NOT_FOUND', 'OBJECTIVE_NOT_FOUND');
  });
});

describe('in a closed quarter', () => {
  describe.each([
    ['a draft objective', [teamObjectiveDrafted]],
    ['a committed objective', [teamObjectiveDrafted, committed]],
  ] as const)('%s', (_, given) => {
    it('rejects a refinement', () => {
      refine.given(given).when({ objectiveId: 'o-pay', title: 'New title' }, closedQuarter).thenRejects('BAD_USER_INPUT', 'QUARTER_CLOSED');
    });

    it('rejects an alignment', () => {
      align
        .given(given)
        .when({ objectiveId: 'o-pay', parentId: 'o-eng' }, closedQuarter, alignedTo(functionObjective))
        .thenRejects('BAD_USER_INPUT', 'QUARTER_CLOSED');
    });

    it('rejects a commitment', () => {
      commit.given(given).when({ objectiveId: 'o-pay' }, closedQuarter).thenRejects('BAD_USER_INPUT', 'QUARTER_CLOSED');
    });

    it('rejects a retirement', () => {
      retire.given(given).when({ objectiveId: 'o-pay', reason: 'Too late' }, closedQuarter).thenRejects('BAD_USER_INPUT', 'QUARTER_CLOSED');
    });
  });
});
