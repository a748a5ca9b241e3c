import { registerEnumType } from 'type-graphql';

/* GraphQL enums mirror the catalogue's string unions value for value. */

export enum UnitLevel { COMPANY = 'COMPANY', FUNCTION = 'FUNCTION', TEAM = 'TEAM' }
export enum QuarterPhase { PLANNED = 'PLANNED', SETTING = 'SETTING', ACTIVE = 'ACTIVE', SCORING = 'SCORING', CLOSED = 'CLOSED' }
export enum ObjectiveStatus { DRAFT = 'DRAFT', COMMITTED = 'COMMITTED', SCORED = 'SCORED', RETIRED = 'RETIRED' }
export enum KeyResultKind { OUTCOME = 'OUTCOME', OUTPUT = 'OUTPUT' }
export enum Direction { INCREASE = 'INCREASE', DECREASE = 'DECREASE' }
export enum ProcessActivity { SETTING = 'SETTING', CHECK_IN = 'CHECK_IN', SCORING = 'SCORING', RETROSPECTIVE = 'RETROSPECTIVE' }
export enum Severity { INFO = 'INFO', WARNING = 'WARNING', PROBLEM = 'PROBLEM' }
export enum Calibration { TOO_EASY = 'TOO_EASY', RIGHT = 'RIGHT', TOO_HARD = 'TOO_HARD' }

export enum CheckInCadence { BIWEEKLY = 'BIWEEKLY', MONTHLY = 'MONTHLY' }
export enum ReadingKind { CHECK_IN = 'CHECK_IN', MEASUREMENT = 'MEASUREMENT' }

registerEnumType(UnitLevel, { name: 'UnitLevel' });
registerEnumType(CheckInCadence, {
  name: 'CheckInCadence',
  description: 'How often a unit checks in on its key results; a forgotten check-in is judged against it.',
});
registerEnumType(QuarterPhase, {
  name: 'QuarterPhase',
  description:
    'Derived from the quarter\'s dates and the clock (or the asOf instant):\nPLANNED before settingOpensOn; SETTING from settingOpensOn to startsOn; ACTIVE from startsOn to endsOn;\nSCORING after endsOn until the quarter is closed; CLOSED after closeQuarter.',
});
registerEnumType(ObjectiveStatus, { name: 'ObjectiveStatus' });
registerEnumType(KeyResultKind, {
  name: 'KeyResultKind',
  description: 'OUTCOME: a change in the state of the world. OUTPUT: a thing done or built (a delivery plan, not a key result).',
});
registerEnumType(Direction, {
  name: 'Direction',
  description: 'Whether success means the metric goes up (INCREASE) or down (DECREASE) from the baseline to the target.',
});
registerEnumType(ProcessActivity, { name: 'ProcessActivity', description: 'The four parts of the quarterly cycle whose effort is audited.' });
registerEnumType(Severity, { name: 'Severity' });
registerEnumType(ReadingKind, {
  name: 'ReadingKind',
  description: 'CHECK_IN: a person\'s check-in, with a confidence. MEASUREMENT: a system\'s reading of the metric (recordMeasurement), without one.',
});
registerEnumType(Calibration, { name: 'Calibration', description: 'How a key result\'s ambition turned out, judged in the retrospective.' });
