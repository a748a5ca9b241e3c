/**
 * Given/when/then specifications for the pure deciders, in the style of emmett's
 * DeciderSpecification: the stream's state is folded from the given events with its evolve
 * function, then the decision runs on it. No database, no mocks.
 *
 * Deciders here take context beyond their own state (the quarter, the owning objective, a parent
 * unit...). `when` accepts that context after the command, typed from the decider's own signature;
 * build a context state from its own events with `stateOf`.
 *
 * @example
 * const refine = decider(objectiveStream, refineObjective);
 * refine.given([drafted]).when({ objectiveId: 'o1', title: 'New' }, stateOf(quarterStream, [planned]))
 *   .then([{ type: 'ObjectiveRefined', data: { ... } }]);
 */
import { DomainError, type DomainErrorCode } from '../../domain/errors';

/** How a stream's events fold into the state its decisions read. */
export interface Evolver<S, E> {
  readonly initialState: S;
  readonly evolve: (state: S, event: E) => S;
}

/** The state a stream reaches after the given events (the initial state when there are none). */
export function stateOf<S, E>(stream: Evolver<S, E>, events: readonly E[]): S {
  return events.reduce<S>((state, event) => stream.evolve(state, event), stream.initialState);
}

export interface Outcome<R> {
  /** The decision emits exactly these events, in this order. */
  then(expected: readonly R[]): void;
  /** The decision accepts the command but changes nothing. */
  thenNothing(): void;
  /** The decision refuses the command with a DomainError of this code and reason. */
  thenRejects(code: DomainErrorCode, reason: string): DomainError;
}

export interface Given<C, E, Ctx extends unknown[], R> {
  given(events: readonly E[]): { when(command: C, ...context: Ctx): Outcome<R> };
}

/** Binds one decision function to the stream whose state it decides on. */
export function decider<S, E, C, Ctx extends unknown[], R extends E>(
  stream: Evolver<S, E>,
  decide: (command: C, state: S, ...context: Ctx) => R[],
): Given<C, E, Ctx, R> {
  return {
    given: (events) => ({
      when: (command, ...context) => {
        // Folded outside the decision so a failing evolve is never mistaken for a rejection.
        const state = stateOf(stream, events);
        return outcome(() => decide(command, state, ...context));
      },
    }),
  };
}

function outcome<R>(run: () => R[]): Outcome<R> {
  return {
    then: (expected) => expect(run()).toEqual(expected),
    thenNothing: () => expect(run()).toEqual([]),
    thenRejects: (code, reason) => expectRejection(run, code, reason),
  };
}

/** Asserts that `run` throws a DomainError with this code and reason (and a message to act on). */
export function expectRejection(run: () => unknown, code: DomainErrorCode, reason: string): DomainError {
  let result: unknown;
  try {
    result = run();
  } catch (error) {
    if (!(error instanceof DomainError)) throw error;
    expect({ code: error.code, reason: error.reason }).toEqual({ code, reason });
    expect(error.message.trim()).not.toBe('');
    return error;
  }
  throw new Error(`Expected a rejection ${code}/${reason}, but it returned ${JSON.stringify(result)}.`);
}
