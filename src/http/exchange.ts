import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ApolloServerPlugin } from '@apollo/server';
import type { GraphQLFormattedError } from 'graphql';
import type { Context } from '../../schema/context';
import type { Principal } from '../auth';
import type { Logger } from '../logger';
import type { Metrics } from '../metrics';
import { admittedCost } from '../../schema/costPlugin';

/*
 * One HTTP request from arrival to its log line: it watches for the client leaving (the request's
 * AbortSignal fires, so no further command or scan starts), drops a client that does not read its
 * answer within the send timeout, and writes exactly one log line, and one set of metrics, once both
 * the work and the response are over, whichever way they ended.
 */

export interface ExchangeOptions {
  requestId: string;
  path: string;
  logger: Logger;
  metrics: Metrics;
  /** A finished answer not handed to the client within this many milliseconds: drop the connection. */
  sendTimeoutMs: number;
  /** The server's request timeout: node answers 408 and closes a request that has not arrived in full by then. */
  requestTimeoutMs: number;
}

/**
 * How the response ended: sent in full; the client left; the request did not arrive in full in time
 * (node answered 408); or the server dropped a client that did not read its answer.
 */
type ResponseEnd = 'sent' | 'client_closed' | 'request_timeout' | 'send_timeout';

const ABORTED: Record<Exclude<ResponseEnd, 'sent'>, { status: number; why: string }> = {
  // 499: nginx's "client closed request", for an answer that never reached the client.
  client_closed: { status: 499, why: 'the client closed the connection before the answer' },
  request_timeout: { status: 408, why: 'the request did not arrive in full within the request timeout' },
  send_timeout: { status: 499, why: 'the client did not read the answer in time; the connection was dropped' },
};

export class Exchange {
  private readonly controller = new AbortController();
  private readonly started = performance.now();
  /** Aborts when the client has gone before its answer was sent. */
  readonly signal = this.controller.signal;
  principal: Principal | null = null;
  /** The GraphQL operation's name, once known. */
  operation: string | null = null;
  /** The request's admitted cost (the query cost analysis fills this slot); null when unknown. */
  cost: number | null = null;
  /** The errors answered, as code and reason. */
  readonly errors: { code: string; reason: string | null }[] = [];
  private workDone = false;
  private responseEnd: ResponseEnd | null = null;
  private sendTimer: NodeJS.Timeout | null = null;
  private logged = false;

  constructor(
    private readonly req: IncomingMessage,
    private readonly res: ServerResponse,
    private readonly options: ExchangeOptions,
  ) {
    // 'finish', not writableFinished: after destroy() a response whose end() was called reads as finished.
    res.once('finish', () => this.responseEnded('sent'));
    res.once('close', () => {
      const late = !req.complete && performance.now() - this.started >= options.requestTimeoutMs;
      this.responseEnded(late ? 'request_timeout' : 'client_closed');
    });
  }

  /** An error answered (HTTP refusal or GraphQL error), for the log and the metrics. */
  recordError(code: string, reason: string | null | undefined): void {
    this.errors.push({ code, reason: reason ?? null });
  }

  /**
   * The request's work is over (its answer written, or never to be). From here, the answer must reach
   * the client within the send timeout, or the connection is dropped and its buffers freed.
   */
  workEnded(): void {
    if (this.workDone) return;
    this.workDone = true;
    if (this.responseEnd === null && !this.res.destroyed) {
      this.sendTimer = setTimeout(() => {
        // Recorded before destroy(): a destroyed response may still emit 'finish' as its write fails.
        this.responseEnded('send_timeout');
        this.res.destroy();
      }, this.options.sendTimeoutMs);
    }
    this.maybeLog();
  }

  private responseEnded(how: ResponseEnd): void {
    if (this.responseEnd !== null) return;
    if (this.sendTimer !== null) clearTimeout(this.sendTimer);
    this.sendTimer = null;
    this.responseEnd = how;
    if (how !== 'sent') this.controller.abort();
    this.maybeLog();
  }

  private maybeLog(): void {
    if (this.logged || !this.workDone || this.responseEnd === null) return;
    this.logged = true;
    const seconds = (performance.now() - this.started) / 1000;
    const end = this.responseEnd;
    const status = end === 'sent' ? this.res.statusCode : ABORTED[end].status;
    const first = this.errors[0];
    const refusal = this.errors.find((e) => e.code === 'RATE_LIMITED');
    this.options.logger.info('request', {
      requestId: this.options.requestId,
      method: this.req.method,
      path: this.options.path,
      status,
      ms: Math.round(seconds * 10_000) / 10,
      ...(this.principal ? { organisationId: this.principal.organisationId } : {}),
      ...(this.operation ? { operation: this.operation } : {}),
      cost: this.cost,
      ...(refusal ? { refused: refusal.reason } : {}),
      ...(end !== 'sent' ? { aborted: ABORTED[end].why } : {}),
    });
    if (this.options.path !== '/graphql') return;
    for (const error of this.errors) {
      if (error.reason !== null || error.code === 'RATE_LIMITED' || error.code === 'PAYLOAD_TOO_LARGE') {
        this.options.metrics.refused(error.code, error.reason);
      }
    }
    const outcome = end !== 'sent' ? end : first ? first.code.toLowerCase() : status < 400 ? 'ok' : `http_${status}`;
    this.options.metrics.observeRequest({ operation: this.operation, outcome, seconds, cost: this.cost });
  }
}

/**
 * The exchange a GraphQL context belongs to. A symbol-keyed property, not a WeakMap: Apollo hands
 * plugins a shallow copy of the context, which keeps symbol-keyed properties.
 */
const EXCHANGE = Symbol('exchange');

export function bindContext(context: Context, exchange: Exchange): Context {
  (context as Context & { [EXCHANGE]?: Exchange })[EXCHANGE] = exchange;
  return context;
}

const exchangeOf = (context: Context): Exchange | undefined => (context as Context & { [EXCHANGE]?: Exchange })[EXCHANGE];

const isRateLimited = (e: GraphQLFormattedError) => e.extensions?.code === 'RATE_LIMITED';

/**
 * Records each GraphQL request's operation name and answered errors on its exchange; and when
 * admission refused part of the work (RATE_LIMITED), adds `Retry-After`, with HTTP 429 when nothing
 * else was answered.
 */
export function exchangePlugin(): ApolloServerPlugin<Context> {
  return {
    async requestDidStart({ contextValue, request }) {
      const exchange = exchangeOf(contextValue);
      if (!exchange) return;
      exchange.operation = request.operationName ?? null;
      return {
        async didResolveOperation({ operationName }) {
          exchange.operation = operationName ?? exchange.operation;
          // The cost plugin, earlier in the list, has measured and admitted the operation by now: a request
          // that is aborted later is still logged with its cost.
          exchange.cost = admittedCost(contextValue);
        },
        async willSendResponse({ response }) {
          exchange.cost = admittedCost(contextValue);
          const result = response.body.kind === 'single' ? response.body.singleResult : response.body.initialResult;
          const errors = result.errors ?? [];
          for (const error of errors) {
            const { code, reason } = error.extensions ?? {};
            exchange.recordError(typeof code === 'string' ? code : 'UNKNOWN', typeof reason === 'string' ? reason : null);
          }
          const refused = errors.filter(isRateLimited);
          if (refused.length === 0) return;
          const seconds = Math.max(...refused.map((e) => Number(e.extensions?.retryAfterSeconds) || 1));
          response.http.headers.set('retry-after', String(seconds));
          if (result.data == null && refused.length === errors.length) response.http.status = 429;
        },
      };
    },
  };
}
