import { createRemoteJWKSet, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import { isWellFormedText } from '../domain/validate';

export const ROLES = ['admin', 'member', 'analyst', 'auditor'] as const;
export type Role = (typeof ROLES)[number];

/** Who is asking: the person, their organisation, their role and (for members) the units they may change. */
export interface Principal {
  subject: string;
  organisationId: string;
  role: Role;
  /** Units a member may change; ignored for other roles. */
  units: readonly string[];
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
  /** For tests: a key resolver to use instead of fetching jwksUrl. */
  keys?: JWTVerifyGetKey;
}

const MAX_TOKEN_LENGTH = 8192;
const CLAIM_ID = /^[A-Za-z0-9._:@-]{1,200}$/;

function principalOf(payload: JWTPayload): Principal {
  const { sub, org, role, units } = payload as JWTPayload & { org?: unknown; role?: unknown; units?: unknown };
  // A NUL or lone surrogate could not be stored in the log's metadata: not a usable identity.
  if (typeof sub !== 'string' || sub.length === 0 || sub.length > 200 || !isWellFormedText(sub)) {
    throw new AuthenticationError('The token has no usable subject (sub).');
  }
  if (typeof org !== 'string' || !CLAIM_ID.test(org)) throw new AuthenticationError('The token names no valid organisation (org).');
  if (typeof role !== 'string' || !(ROLES as readonly string[]).includes(role)) {
    throw new AuthenticationError(`The token's role must be one of ${ROLES.join(', ')}.`);
  }
  const list = units === undefined ? [] : units;
  if (!Array.isArray(list) || list.length > 1000 || !list.every((u) => typeof u === 'string' && u.length <= 200 && isWellFormedText(u))) {
    throw new AuthenticationError('The token\'s units claim must be a list of unit ids.');
  }
  const expiresAt = typeof payload.exp === 'number' ? new Date(payload.exp * 1000) : undefined;
  return { subject: sub, organisationId: org, role: role as Role, units: list as string[], expiresAt };
}

/** Verifies `Authorization: Bearer <JWT>` (signature, expiry, issuer/audience when configured) and reads its claims. */
export function jwtAuthenticator(options: JwtOptions): Authenticator {
  const secret = options.secret ? new TextEncoder().encode(options.secret) : null;
  const keys = options.keys ?? (options.jwksUrl ? createRemoteJWKSet(new URL(options.jwksUrl)) : null);
  if (!secret && !keys) throw new Error('jwtAuthenticator needs a secret or a JWKS URL.');
  const verifyOptions = {
    issuer: options.issuer ?? undefined,
    audience: options.audience ?? undefined,
    clockTolerance: 30,
  };
  return {
    enforced: true,
    async authenticate(authorization) {
      if (!authorization) throw new AuthenticationError('Send Authorization: Bearer <token>.');
      const match = /^Bearer ([A-Za-z0-9_\-.]+)$/.exec(authorization.trim());
      if (!match || (match[1]?.length ?? 0) > MAX_TOKEN_LENGTH) throw new AuthenticationError('The Authorization header must be "Bearer <token>".');
      const token = match[1] as string;
      try {
        const { payload } = secret
          ? await jwtVerify(token, secret, { ...verifyOptions, algorithms: ['HS256'] })
          : await jwtVerify(token, keys as JWTVerifyGetKey, verifyOptions);
        return principalOf(payload);
      } catch (error) {
        if (error instanceof AuthenticationError) throw error;
        const reason = (error as { code?: string }).code === 'ERR_JWT_EXPIRED' ? 'The token has expired.' : 'The token is not valid.';
        throw new AuthenticationError(reason);
      }
    },
  };
}
