/**
 * The HTTP edge shared by the sentinel's admin API (api.ts) and the agent's API (agent-api.ts),
 * so that both answer a bad request the same way:
 *
 * - Every error is one line of JSON, `{"status":"error","message":"<what and why>"}`:
 *   400 malformed JSON, a body that is not an object, an unknown or mistyped field, an unknown,
 *       repeated or malformed query parameter, a body sent to a GET, a malformed URL;
 *   401 missing or wrong `Authorization: Bearer <token>` on a POST when a token is set;
 *   404 no such route (api.ts: also an unknown cluster);
 *   405 the path exists but not with this method (the `Allow` header lists the methods);
 *   409 the cluster state forbids it (UserError); 413 a body over the API's limit;
 *   415 a non-empty body that is not `application/json`; 500 the action failed;
 *   501 (api.ts) a route without a handler; 503 no coordination majority.
 * - An empty (or all-blank) body is no body, whatever its Content-Type: the Fase2 curl sends
 *   none, and some clients send `Content-Type: application/json` with nothing after it.
 * - The token is compared in constant time (`bearerTokenMatches`).
 * - One loopback test (`isLoopbackAddress`) decides whether an API may run without a token.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { BlockList, isIP } from 'node:net';

import Fastify, {
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  type HTTPMethods,
} from 'fastify';
import type { z } from 'zod';

import { CoordinationUnavailable, UserError } from '../../core/errors.js';

/** An answer chosen by a route: `statusCode` and a one-line message. */
export class ApiError extends Error {
  constructor(
    readonly statusCode: number,
    message: string,
  ) {
    super(message);
  }
}

const MAX_MESSAGE = 500;

/** One line, bounded: no newline or stack of a library message reaches a client. */
export function oneLine(message: string): string {
  const flat = message.replace(/\s*[\r\n]+\s*/g, ' ').trim();
  return flat.length > MAX_MESSAGE ? `${flat.slice(0, MAX_MESSAGE - 3)}...` : flat;
}

export function errorBody(message: string): { status: 'error'; message: string } {
  return { status: 'error', message: oneLine(message) };
}

export interface HttpAppOptions {
  /** bytes; a larger body answers 413 */
  bodyLimit: number;
  /** when set, every POST needs `Authorization: Bearer <token>` */
  token?: string | undefined;
  /** the end of a 404: where the caller finds the routes */
  routesHint: string;
}

/** A fastify instance with the shared edge: bodies, token, errors, 404/405. */
export function httpApp(o: HttpAppOptions): FastifyInstance {
  const app = Fastify({
    logger: false,
    bodyLimit: o.bodyLimit,
    // a path that does not decode (e.g. /%zz) would otherwise get fastify's own error shape
    frameworkErrors: (err: Error, _req: FastifyRequest, reply: FastifyReply) => {
      void reply.code(400).send(errorBody(`malformed URL: ${err.message}`));
    },
  });
  acceptBodies(app, o.bodyLimit);
  requireToken(app, o.token);
  answerErrors(app, o);
  return app;
}

/** `POST /stop`: the method and the route's path (never the query string). */
export function where(req: FastifyRequest): string {
  return `${req.method} ${req.routeOptions.url ?? pathOf(req)}`;
}

function pathOf(req: FastifyRequest): string {
  return req.url.split('?')[0] ?? '/';
}

/** A value shown in a message: quoted, escaped (one line) and short. */
function shown(value: string): string {
  return JSON.stringify(value.length > 64 ? `${value.slice(0, 64)}...` : value);
}

// ---- bodies ---------------------------------------------------------------------------------

const BODYLESS = new Set(['GET', 'HEAD']);
const isBlank = (body: string): boolean => body.trim() === '';
const tooLarge = (req: FastifyRequest, limit: number): string =>
  `${where(req)}: the body is larger than the ${Math.round(limit / 1024)} KiB limit`;

/**
 * JSON or nothing. `req.body` is `undefined` for no body (an empty one of any Content-Type).
 * A GET with a body is refused rather than ignored: a caller who put `{"since": ...}` there
 * would otherwise read an answer to a question it did not ask.
 */
function acceptBodies(app: FastifyInstance, limit: number): void {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'string' }, parseJson);
  app.addContentTypeParser('*', { parseAs: 'string' }, refuseNonJson);
  app.addHook('preValidation', async (req) => {
    if (!BODYLESS.has(req.method) || req.is404) return;
    const length = Number(req.headers['content-length'] ?? 0);
    if (req.headers['transfer-encoding'] === undefined && !(length > 0)) return;
    if (length > limit) throw new ApiError(413, tooLarge(req, limit));
    throw new ApiError(400, `${where(req)} takes no body: put its parameters in the query string`);
  });
}

type Done = (err: Error | null, body?: unknown) => void;

function parseJson(req: FastifyRequest, body: string, done: Done): void {
  if (isBlank(body)) return done(null, undefined);
  let parsed: unknown;
  try {
    parsed = JSON.parse(body, refuseProto);
  } catch (err) {
    if (err instanceof ProtoKey)
      return done(new ApiError(400, `${where(req)}: unknown field __proto__: send a JSON object`));
    const why = err instanceof Error ? err.message : String(err);
    const message = `${where(req)}: malformed JSON body (${why}): send a JSON object or no body`;
    return done(new ApiError(400, message));
  }
  done(null, parsed);
}

function refuseNonJson(req: FastifyRequest, body: string, done: Done): void {
  if (isBlank(body)) return done(null, undefined);
  const type = req.headers['content-type'] ?? '(none)';
  done(
    new ApiError(
      415,
      `${where(req)}: a body of Content-Type ${type} is not accepted: send JSON with Content-Type: application/json, or no body`,
    ),
  );
}

/** `__proto__` in a body is never a field of ours; refusing it keeps prototypes out of reach. */
class ProtoKey extends Error {}
function refuseProto(key: string, value: unknown): unknown {
  if (key === '__proto__') throw new ProtoKey();
  return value;
}

/**
 * The body of the route as `schema`; no body reads as `{}`. Otherwise a 400 naming the bad
 * field and the body `expected` (e.g. `{"to": "<node>"}`).
 */
export function readBody<T>(req: FastifyRequest, schema: z.ZodType<T>, expected: string): T {
  const raw: unknown = req.body === undefined ? {} : req.body;
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    const kind = raw === null ? 'null' : Array.isArray(raw) ? 'an array' : `a ${typeof raw}`;
    throw new ApiError(
      400,
      `${where(req)}: the body must be a JSON object, not ${kind}: expected ${expected}`,
    );
  }
  const parsed = schema.safeParse(raw);
  if (parsed.success) return parsed.data;
  throw new ApiError(400, bodyIssue(where(req), parsed.error, raw, expected));
}

/** One line naming the bad field and the expected body. */
function bodyIssue(at: string, err: z.ZodError, raw: object, expected: string): string {
  // an unknown field first: `{"bogus": 1}` is a typo of a field more than a missing one
  const issue = err.issues.find((i) => i.code === 'unrecognized_keys') ?? err.issues[0];
  const tail = `expected ${expected}`;
  if (!issue) return `${at}: invalid body: ${tail}`;
  if (issue.code === 'unrecognized_keys')
    return `${at}: unknown field ${issue.keys.join(', ')}: ${tail}`;
  const field = issue.path.join('.') || 'body';
  if (issue.path.length === 1 && !Object.hasOwn(raw, String(issue.path[0])))
    return `${at}: ${field} is missing: ${tail}`;
  return `${at}: ${field}: ${issue.message}: ${tail}`;
}

// ---- query parameters -----------------------------------------------------------------------

/** A query parameter: what it accepts (said in the 400) and how to read it (undefined: refused). */
export interface QueryParam<T> {
  accepts: string;
  read(value: string): T | undefined;
}

type QueryOf<P> = { [K in keyof P]?: P[K] extends QueryParam<infer T> ? T : never };

/**
 * The route's query as `params`: an unknown, repeated or unreadable parameter is a 400 naming
 * it and what is accepted (a mistyped `?lag=` must not turn a health check into a looser one).
 */
export function readQuery<P extends Record<string, QueryParam<unknown>>>(
  req: FastifyRequest,
  params: P,
): QueryOf<P> {
  // fastify's querystring parser: a string per parameter, an array when it is repeated
  const query = (req.query ?? {}) as Record<string, string | string[]>;
  const names = Object.keys(params);
  const out: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(query)) {
    const param = Object.hasOwn(params, name) ? params[name] : undefined;
    if (!param)
      throw new ApiError(
        400,
        names.length === 0
          ? `${where(req)}: takes no query parameters (got ${shown(name)})`
          : `${where(req)}: unknown query parameter ${shown(name)}: it accepts ${names.join(', ')}`,
      );
    if (typeof value !== 'string')
      throw new ApiError(
        400,
        `${where(req)}: query parameter ${name} is given more than once: give it once, as ${param.accepts}`,
      );
    const read = param.read(value);
    if (read === undefined)
      throw new ApiError(
        400,
        `${where(req)}: query parameter ${name} must be ${param.accepts}, got ${shown(value)}`,
      );
    out[name] = read;
  }
  return out as QueryOf<P>;
}

/** A whole number from `min` to `max` in decimal digits (no sign, exponent or fraction). */
export function integerParam(accepts: string, min: number, max: number): QueryParam<number> {
  return {
    accepts,
    read: (v) => {
      if (!/^\d{1,16}$/.test(v)) return undefined;
      const n = Number(v);
      return Number.isSafeInteger(n) && n >= min && n <= max ? n : undefined;
    },
  };
}

// ---- token ----------------------------------------------------------------------------------

const sha256 = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();

/**
 * Whether `authorization` is `Bearer <token>` (the scheme in any case). The secret is compared
 * as SHA-256 digests with `timingSafeEqual`: equal lengths always, so the time says neither how
 * much of the token a guess got right nor how long the token is.
 */
export function bearerTokenMatches(authorization: string | undefined, token: string): boolean {
  const header = (authorization ?? '').trim();
  const space = header.indexOf(' ');
  const scheme = space < 0 ? header : header.slice(0, space);
  const given = space < 0 ? '' : header.slice(space + 1).trim();
  const same = timingSafeEqual(sha256(given), sha256(token));
  return same && given !== '' && scheme.toLowerCase() === 'bearer';
}

/** Every POST (every route that acts) needs the token when one is set: 401 otherwise. */
function requireToken(app: FastifyInstance, token: string | undefined): void {
  if (!token) return;
  app.addHook('onRequest', async (req, reply) => {
    // no route: the 404/405 says so, token or not (GET / lists the routes anyway)
    if (BODYLESS.has(req.method) || req.is404) return;
    if (bearerTokenMatches(req.headers.authorization, token)) return;
    return reply
      .code(401)
      .header('www-authenticate', 'Bearer')
      .send(
        errorBody(
          `${where(req)}: missing or wrong bearer token: send Authorization: Bearer <api.token>`,
        ),
      );
  });
}

// ---- errors ---------------------------------------------------------------------------------

const METHODS: HTTPMethods[] = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];

/** Every error as `{"status":"error","message"}`, with the status its class calls for. */
function answerErrors(app: FastifyInstance, o: HttpAppOptions): void {
  app.setErrorHandler(async (err: Error, req, reply) => {
    // an unrouted request whose body failed to parse is still an unknown route
    if (req.is404) return noRoute(app, req, reply, o.routesHint);
    const [code, message] = classify(err, req, o.bodyLimit);
    return reply.code(code).send(errorBody(message));
  });
  app.setNotFoundHandler(async (req, reply) => noRoute(app, req, reply, o.routesHint));
}

function classify(err: unknown, req: FastifyRequest, bodyLimit: number): [number, string] {
  const message = err instanceof Error ? err.message : String(err);
  if (err instanceof ApiError) return [err.statusCode, message];
  if (err instanceof CoordinationUnavailable) return [503, message];
  if (err instanceof UserError) return [409, message];
  const { code, statusCode } = (err ?? {}) as { code?: unknown; statusCode?: unknown };
  if (code === 'FST_ERR_CTP_BODY_TOO_LARGE') return [413, tooLarge(req, bodyLimit)];
  if (code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE')
    return [
      415,
      `${where(req)}: Content-Type ${shown(req.headers['content-type'] ?? '')} is not valid: send application/json, or no body`,
    ];
  if (code === 'FST_ERR_CTP_INVALID_CONTENT_LENGTH')
    return [400, `${where(req)}: the body does not match its Content-Length`];
  if (typeof statusCode === 'number' && statusCode >= 400 && statusCode < 500)
    return [statusCode, message];
  return [500, message];
}

/** 405 with `Allow` when the path exists under other methods, else 404. */
async function noRoute(
  app: FastifyInstance,
  req: FastifyRequest,
  reply: FastifyReply,
  hint: string,
): Promise<FastifyReply> {
  const path = pathOf(req);
  const allowed = METHODS.filter((m) => m !== req.method && app.hasRoute({ method: m, url: path }));
  if (allowed.length > 0)
    return reply
      .code(405)
      .header('allow', allowed.join(', '))
      .send(errorBody(`${req.method} ${path} is not allowed: use ${allowed.join(' or ')}`));
  return reply.code(404).send(errorBody(`no route ${req.method} ${path}: ${hint}`));
}

// ---- binding --------------------------------------------------------------------------------

const LOOPBACK = new BlockList();
LOOPBACK.addSubnet('127.0.0.0', 8, 'ipv4');
LOOPBACK.addAddress('::1', 'ipv6');

/**
 * Loopback = 127.0.0.0/8, ::1 (any spelling, bracketed or not) and `localhost`. A parsed
 * address test, not a prefix: `127.0.0.1.example.com` is a name anyone may own.
 */
export function isLoopbackAddress(host: string): boolean {
  const h = host
    .trim()
    .toLowerCase()
    .replace(/^\[(.*)\]$/, '$1');
  if (h === 'localhost') return true;
  const family = isIP(h);
  if (family === 4) return LOOPBACK.check(h, 'ipv4');
  if (family === 6) return LOOPBACK.check(h, 'ipv6');
  return false;
}

/**
 * Refuse a non-loopback bind without a token (the sentinel's config schema checks it too): an
 * open API without a token lets anyone on the network fail the cluster over or stop postgres.
 */
export function assertSafeBind(host: string, token: string | undefined): void {
  if (!isLoopbackAddress(host) && !token)
    throw new UserError(
      `refusing to bind the API on ${host} without sentinel.api.token (only 127.0.0.0/8, ::1 and localhost may go without one)`,
    );
}

/** Bind `app`; a busy port is one clear line (`hint` says how to pick another). */
export async function listenOn(
  app: FastifyInstance,
  o: { what: string; host: string; port: number; hint: string },
): Promise<void> {
  try {
    await app.listen({ host: o.host, port: o.port });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE')
      throw new UserError(`${o.what} port ${o.host}:${o.port} is busy: ${o.hint}`);
    throw err;
  }
}
