import { createRemoteJWKSet, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import { isWellFormedText } from '../domain/validate';
import { DEFAULT_JWT_MAX_LIFETIME_SECONDS } from './config';

export const ROLES = ['admin', 'member', 'analyst', 'auditor', 'service'] as const;
export type Role = (typeof ROLES)[number];

/**
 * Who is asking: the person (or, for a service, the system), their organisation, their role, and what a
 * member may change (units) or a service may measure (keyResults).
 */
export interface Principal {
  subject: string;
  organisationId: string;
  role: Role;
  /** Units a member may change; ignored for other roles. */
  units: readonly string[];
  /** Key results a service may record measurements of (and read); empty for other roles. */
  keyResults?: readonly string[];
  /** When the token expires (its `exp`); a WebSocket connection is closed then. None in local development mode. */
  expiresAt?: Date;
}

/** The request carries no usable credentials. Answered with HTTP 401 and code UNAUTHENTICATED. */
export class AuthenticationError extends Error {
  readonly code = 'UNAUTHENTICATED';
  constructor(message: string) {
    super(message);
    this.name = 'AuthenticationError';
  }
}

export interface Authenticator {
  /** True when requests are checked; false in local development mode. */
  readonly enforced: boolean;
  authenticate(authorization: string | undefined): Promise<Principal>;
}

/** Local development: no credentials, every request is the admin of one organisation. */
export function localAuthenticator(organisationId: string, subject: string): Authenticator {
  const principal: Principal = { subject, organisationId, role: 'admin', units: [] };
  return { enforced: false, authenticate: async () => principal };
}

export interface JwtOptions {
  /** HS256 shared secret. */
  secret?: string | null;
  /** Or a JWKS URL whose keys sign the tokens (RS256, ES256, EdDSA...). */
  jwksUrl?: string | null;
  issuer?: string | null;
  audience?: string | null;
  /** The longest a token may live, in seconds (OKR_JWT_MAX_LIFETIME): exp - iat, and exp - now. Default 24 h. */
  maxLifetimeSeconds?: number;
  /** For tests: a key resolver to use instead of fetching jwksUrl. */
  keys?: JWTVerifyGetKey;
  /** For tests: the wall clock tokens are judged by (default: the real one). */
  clock?: () => Date;
}

/** Seconds the issuer's clock and ours may disagree (exp, nbf and iat are judged with this slack). */
export const CLOCK_TOLERANCE_SECONDS = 30;

const MAX_TOKEN_LENGTH = 8192;
const MAX_CLAIM_LENGTH = 200;
/** An organisation id in a token: a short key, no spaces or other characters that could be confused. */
const ORGANISATION_ID = /^[A-Za-z0-9._:@-]{1,200}$/;

/**
 * Control characters (Cc: NUL, newlines, ESC...), format characters (Cf: the bidirectional overrides,
 * embeddings, isolates and marks U+202A-202E, U+2066-2069, U+200E/200F, U+061C, zero-width characters,
 * the BOM...), lone surrogates (Cs) and line or paragraph separators: nothing a person's or a unit's id
 * needs, and what makes an id in a log or a UI look like another one.
 */
const NOT_PRINTABLE = /[\p{Cc}\p{Cf}\p{Cs}\p{Zl}\p{Zp}]/u;

/** An identity claim (sub, a unit id) as this server accepts it: printable text, no surrounding spaces, 1-200 characters. */
export const isPrintableId = (text: unknown): text is string =>
  typeof text === 'string' &&
  text.length > 0 &&
  text.length <= MAX_CLAIM_LENGTH &&
  text.trim() === text &&
  isWellFormedText(text) &&
  !NOT_PRINTABLE.test(text);

/** An organisation claim as this server accepts it. */
export const isOrganisationId = (text: unknown): text is string => typeof text === 'string' && ORGANISATION_ID.test(text);

/** The most ids a units or keyResults claim may list. */
const MAX_CLAIM_IDS = 1000;

function principalOf(payload: JWTPayload): Principal {
  const { sub, org, role, units, keyResults } = payload as JWTPayload & { org?: unknown; role?: unknown; units?: unknown; keyResults?: unknown };
  if (!isPrintableId(sub)) {
    throw new AuthenticationError(
      'The token has no usable subject (sub): it must be 1-200 characters of printable text, without control or bidirectional formatting characters.',
    );
  }
  if (!isOrganisationId(org)) throw new AuthenticationError('The token names no valid organisation (org).');
  if (typeof role !== 'string' || !(ROLES as readonly string[]).includes(role)) {
    throw new AuthenticationError(`The token's role must be one of ${ROLES.join(', ')}.`);
  }
  const list = units === undefined ? [] : units;
  if (!Array.isArray(list) || list.length > MAX_CLAIM_IDS || !list.every(isPrintableId)) {
    throw new AuthenticationError(
      'The token\'s units claim must be a list of unit ids (printable text, without control or bidirectional formatting characters).',
    );
  }
  const expiresAt = typeof payload.exp === 'number' ? new Date(payload.exp * 1000) : undefined;
  if (role !== 'service') return { subject: sub, organisationId: org, role: role as Role, units: list as string[], expiresAt };
  // A service is only ever as wide as the key results it names: without any, it could do nothing.
  if (!Array.isArray(keyResults) || keyResults.length === 0 || keyResults.length > MAX_CLAIM_IDS || !keyResults.every(isPrintableId)) {
    throw new AuthenticationError(
      `A service token must name the key results it measures: a keyResults claim listing 1-${MAX_CLAIM_IDS} key result ids (printable text).`,
    );
  }
  return { subject: sub, organisationId: org, role: 'service', units: [], keyResults: keyResults as string[], expiresAt };
}

/** Refuses tokens that never expire, live longer than allowed, or claim to be issued in the future. */
function checkLifetime(payload: JWTPayload, nowSeconds: number, maxLifetime: number): void {
  const { exp, iat } = payload;
  if (typeof exp !== 'number') {
    throw new AuthenticationError(`The token has no expiry (exp): this server accepts only tokens that expire within ${maxLifetime} seconds.`);
  }
  if (exp - nowSeconds > maxLifetime + CLOCK_TOLERANCE_SECONDS) {
    throw new AuthenticationError(
      `The token lives too long: it expires more than ${maxLifetime} seconds from now, the longest lifetime this server accepts.`,
    );
  }
  if (typeof iat !== 'number') return;
  if (iat - nowSeconds > CLOCK_TOLERANCE_SECONDS) {
    throw new AuthenticationError(
      `The token was issued in the future (iat is more than ${CLOCK_TOLERANCE_SECONDS} seconds ahead of this server's clock): check the issuer's clock.`,
    );
  }
  if (exp - iat > maxLifetime) {
    throw new AuthenticationError(
      `The token lives too long: it expires more than ${maxLifetime} seconds after it was issued (iat), the longest lifetime this server accepts.`,
    );
  }
}

/**
 * Verifies `Authorization: Bearer <JWT>` (signature, issuer/audience when configured, an expiry no
 * further away than the longest lifetime, no issue date in the future) and reads its claims.
 */
export function jwtAuthenticator(options: JwtOptions): Authenticator {
  const secret = options.secret ? new TextEncoder().encode(options.secret) : null;
  const keys = options.keys ?? (options.jwksUrl ? createRemoteJWKSet(new URL(options.jwksUrl)) : null);
  if (!secret && !keys) throw new Error('jwtAuthenticator needs a secret or a JWKS URL.');
  const maxLifetime = options.maxLifetimeSeconds ?? DEFAULT_JWT_MAX_LIFETIME_SECONDS;
  if (!Number.isInteger(maxLifetime) || maxLifetime <= 0) throw new Error('jwtAuthenticator: maxLifetimeSeconds must be a positive whole number.');
  const clock = options.clock ?? (() => new Date());
  return {
    enforced: true,
    async authenticate(authorization) {
      if (!authorization) throw new AuthenticationError('Send Authorization: Bearer <token>.');
      const match = /^Bearer ([A-Za-z0-9_\-.]+)$/.exec(authorization.trim());
      if (!match || (match[1]?.length ?? 0) > MAX_TOKEN_LENGTH) throw new AuthenticationError('The Authorization header must be "Bearer <token>".');
      const token = match[1] as string;
      const now = clock();
      const verifyOptions = {
        issuer: options.issuer ?? undefined,
        audience: options.audience ?? undefined,
        clockTolerance: CLOCK_TOLERANCE_SECONDS,
        currentDate: now,
      };
      try {
        const { payload } = secret
          ? await jwtVerify(token, secret, { ...verifyOptions, algorithms: ['HS256'] })
          : await jwtVerify(token, keys as JWTVerifyGetKey, verifyOptions);
        checkLifetime(payload, Math.floor(now.getTime() / 1000), maxLifetime);
        return principalOf(payload);
      } catch (error) {
        if (error instanceof AuthenticationError) throw error;
        const reason = (error as { code?: string }).code === 'ERR_JWT_EXPIRED' ? 'The token has expired.' : 'The token is not valid.';
        throw new AuthenticationError(reason);
      }
    },
  };
}
