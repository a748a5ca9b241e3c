import type { RecordedEvent } from '../events/catalogue';
import type { LogFollower } from './logFollower';

export interface FeedFilter {
  organisationId: string;
  quarterId?: string | null;
  unitId?: string | null;
}

/** Events concern a quarter or unit when their data names it. */
export function concerns(event: RecordedEvent, filter: FeedFilter): boolean {
  if (event.metadata.organisationId !== filter.organisationId) return false;
  const data = event.data as { quarterId?: unknown; unitId?: unknown };
  if (filter.quarterId && data.quarterId !== filter.quarterId) return false;
  if (filter.unitId && data.unitId !== filter.unitId) return false;
  return true;
}

/**
 * A subscriber did not take its events as fast as they were appended. The WebSocket endpoint answers it
 * with code SUBSCRIBER_TOO_SLOW (README, "Errors"); the subscription ends, the connection stays open.
 */
export class SlowSubscriberError extends Error {
  readonly code = 'SUBSCRIBER_TOO_SLOW';
  constructor(readonly limit: number) {
    super(`More than ${limit} events waited for this subscriber, so its subscription was ended. Resubscribe and catch up with the events query.`);
    this.name = 'SlowSubscriberError';
  }
}

/**
 * One subscriber's view of the follower: the events matching `filter`, from now on, as an async
 * iterator. A subscriber that falls more than `maxQueued` events behind is ended with a
 * SlowSubscriberError, and its queue is dropped at once, rather than buffering without bound.
 * It listens to its own organisation's events only (see LogFollower.subscribe).
 */
export function eventFeed(follower: LogFollower, filter: FeedFilter, maxQueued = follower.maxQueuedPerSubscriber): AsyncIterableIterator<RecordedEvent> {
  const queued: RecordedEvent[] = [];
  let waiting: ((result: IteratorResult<RecordedEvent>) => void) | undefined;
  let failed: Error | undefined;
  let done = false;
  const finish = () => {
    done = true;
    unsubscribe();
    if (waiting) {
      const resolve = waiting;
      waiting = undefined;
      resolve({ value: undefined, done: true });
    }
  };
  const unsubscribe = follower.subscribe((event) => {
    if (done || !concerns(event, filter)) return;
    if (waiting) {
      const resolve = waiting;
      waiting = undefined;
      resolve({ value: event, done: false });
    } else if (queued.length >= maxQueued) {
      queued.length = 0;
      failed = new SlowSubscriberError(maxQueued);
      finish();
    } else {
      queued.push(event);
    }
  }, filter.organisationId);
  return {
    next() {
      if (failed) return Promise.reject(failed);
      const event = queued.shift();
      if (event) return Promise.resolve({ value: event, done: false });
      if (done) return Promise.resolve({ value: undefined, done: true });
      return new Promise((resolve) => {
        waiting = resolve;
      });
    },
    return() {
      finish();
      queued.length = 0;
      return Promise.resolve({ value: undefined, done: true });
    },
    [Symbol.asyncIterator]() {
      return this;
    },
  };
}
