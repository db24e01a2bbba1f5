/**
 * The edges of both HTTP APIs (fastify inject, no network), one table: every route of the
 * sentinel's admin API and of the agent's API gets malformed, mistyped, oversized and
 * unknown-field bodies, bad and unknown query parameters, missing and wrong tokens, and empty
 * bodies with and without `Content-Type: application/json`. A refused row answers its status
 * with exactly one line `{"status":"error","message"}` and reaches no dependency (recording
 * fakes: no intent submitted, no agent action run, nothing read).
 */
import type { FastifyInstance } from 'fastify';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';

import { buildAgentApi } from '../../../../src/adapters/http/agent-api.js';
import { buildSentinelApi, type IntentOp } from '../../../../src/adapters/http/api.js';
import { CoordinationUnavailable, UserError } from '../../../../src/core/errors.js';

const TOKEN = 's3cret-token';
const AUTH = { authorization: `Bearer ${TOKEN}` };
const JSON_CT = { 'content-type': 'application/json' };
const SENTINEL_LIMIT = 64 * 1024;
const AGENT_LIMIT = 16 * 1024;

type Api = 'sentinel' | 'agent';
type Method = 'GET' | 'POST' | 'PUT' | 'DELETE' | 'PATCH' | 'OPTIONS';

interface Fake {
  app: FastifyInstance;
  /** every dependency call, in order: `topology c1`, `failover c1 {}`, `stop 3` */
  calls: string[];
}

/** What a dependency does when called (the rows of the last table make it fail). */
type Behaviour = () => void;
const fine: Behaviour = () => undefined;

/** Records `call`, then behaves (returns or throws), then answers `value`. */
function recorder(calls: string[], behave: Behaviour) {
  return <T>(call: string, value: T): T => {
    calls.push(call);
    behave();
    return value;
  };
}

function sentinelFake(behave: Behaviour = fine): Fake {
  const calls: string[] = [];
  const rec = recorder(calls, behave);
  const intent = (op: IntentOp) => async (cluster: string, body: { to?: string }) =>
    rec(`${op} ${cluster} ${JSON.stringify(body)}`, {
      code: 200,
      body: { status: 'success', message: `${op} ok` },
    });
  const app = buildSentinelApi({
    host: '127.0.0.1',
    port: 8088,
    token: TOKEN,
    registry: new Registry(),
    clusters: ['c1', 'c2'],
    health: () => rec('health', { ok: true }),
    topology: async (c) => rec(`topology ${c}`, { epoch: 3, primary: 'pg1' }),
    status: async (c) => rec(`status ${c}`, { ok: true }),
    events: async (c, since, count) => rec(`events ${c} ${since} ${count}`, []),
    intents: {
      failover: intent('failover'),
      failback: intent('failback'),
      switchover: intent('switchover'),
    },
    fence: {
      nodes: (c) => (c === 'c1' ? ['pg1', 'pg2'] : ['pg3']),
      run: async (c, node, fenced) =>
        rec(`${fenced ? 'fence' : 'unfence'} ${c} ${node}`, {
          message: `${node}: ${fenced ? 'fenced' : 'unfenced'}`,
          epoch: 4,
          paused: false,
        }),
    },
    backups: {
      list: async (c) => rec(`backups ${c}`, { records: {} }),
      start: async (c, type) => rec(`backup ${c} ${type}`, { started: true as const }),
    },
  });
  return { app, calls };
}

function agentFake(behave: Behaviour = fine): Fake {
  const calls: string[] = [];
  const rec = recorder(calls, behave);
  const app = buildAgentApi({
    token: TOKEN,
    health: () => rec('health', { ok: true }),
    primary: () => rec('primary', { ok: true }),
    replica: (lag) => rec(`replica ${lag}`, { ok: true }),
    status: () => rec('status', {}),
    stop: async (epoch) =>
      rec(`stop ${epoch}`, { checkpointLsn: 4096, checkpointLsnText: '0/1000' }),
    start: async (epoch) => rec(`start ${epoch}`, {}),
    backup: async (type) => rec(`backup ${type}`, { started: true as const }),
  });
  return { app, calls };
}

const fakes: Record<Api, (behave?: Behaviour) => Fake> = {
  sentinel: sentinelFake,
  agent: agentFake,
};

interface Route {
  api: Api;
  method: 'GET' | 'POST';
  path: string;
  /** a body that route takes (POST only) and what the fake then records */
  good?: { body: string; calls: string[] };
  /** a body of the right shape with a value of the wrong type (failback has no field) */
  wrongType?: string;
  /** what no body does: the call it makes, or the 400 it answers */
  empty: { calls: string[] } | { says: RegExp };
  /** the query parameters it takes, as its 400 lists them */
  params?: string;
}

const ROUTES: Route[] = [
  { api: 'sentinel', method: 'GET', path: '/', empty: { calls: [] } },
  { api: 'sentinel', method: 'GET', path: '/health', empty: { calls: ['health'] } },
  {
    api: 'sentinel',
    method: 'GET',
    path: '/topology',
    empty: { calls: ['topology c1'] },
    params: 'cluster',
  },
  {
    api: 'sentinel',
    method: 'GET',
    path: '/status',
    empty: { calls: ['status c1'] },
    params: 'cluster',
  },
  {
    api: 'sentinel',
    method: 'GET',
    path: '/events',
    empty: { calls: ['events c1 0 100'] },
    params: 'cluster, since, count',
  },
  { api: 'sentinel', method: 'GET', path: '/metrics', empty: { calls: [] } },
  {
    api: 'sentinel',
    method: 'GET',
    path: '/backups',
    empty: { calls: ['backups c1'] },
    params: 'cluster',
  },
  {
    api: 'sentinel',
    method: 'POST',
    path: '/backups',
    good: { body: '{"type":"full"}', calls: ['backup c1 full'] },
    wrongType: '{"type": 1}',
    empty: { says: /^POST \/backups: type is missing: expected \{"type": "full\|incr\|diff"\}$/ },
    params: 'cluster',
  },
  {
    api: 'sentinel',
    method: 'POST',
    path: '/failover',
    good: { body: '{"to":"pg2"}', calls: ['failover c1 {"to":"pg2"}'] },
    wrongType: '{"to": 2}',
    empty: { calls: ['failover c1 {}'] },
    params: 'cluster',
  },
  {
    api: 'sentinel',
    method: 'POST',
    path: '/failback',
    good: { body: '{}', calls: ['failback c1 {}'] },
    empty: { calls: ['failback c1 {}'] },
    params: 'cluster',
  },
  {
    api: 'sentinel',
    method: 'POST',
    path: '/switchover',
    good: { body: '{"to":"pg2"}', calls: ['switchover c1 {"to":"pg2"}'] },
    wrongType: '{"to": ["pg2"]}',
    empty: { says: /^POST \/switchover: to is missing: expected \{"to": "<node>"\}$/ },
    params: 'cluster',
  },
  ...(['fence', 'unfence'] as const).map(
    (op): Route => ({
      api: 'sentinel',
      method: 'POST',
      path: `/${op}`,
      good: { body: '{"node":"pg2"}', calls: [`${op} c1 pg2`] },
      wrongType: '{"node": 2}',
      empty: { says: new RegExp(`^POST /${op}: node is missing: expected \\{"node": "<node>"\\}$`) },
      params: 'cluster',
    }),
  ),
  { api: 'agent', method: 'GET', path: '/health', empty: { calls: ['health'] } },
  { api: 'agent', method: 'GET', path: '/primary', empty: { calls: ['primary'] } },
  {
    api: 'agent',
    method: 'GET',
    path: '/replica',
    empty: { calls: ['replica undefined'] },
    params: 'lag',
  },
  { api: 'agent', method: 'GET', path: '/status', empty: { calls: ['status'] } },
  {
    api: 'agent',
    method: 'POST',
    path: '/stop',
    good: { body: '{"epoch":3}', calls: ['stop 3'] },
    wrongType: '{"epoch": "3"}',
    empty: { says: /^POST \/stop: epoch is missing: expected \{"epoch": <epoch/ },
  },
  {
    api: 'agent',
    method: 'POST',
    path: '/start',
    good: { body: '{"epoch":3}', calls: ['start 3'] },
    wrongType: '{"epoch": 1.5}',
    empty: { says: /^POST \/start: epoch is missing/ },
  },
  {
    api: 'agent',
    method: 'POST',
    path: '/backups',
    good: { body: '{"type":"incr"}', calls: ['backup incr'] },
    wrongType: '{"type": 2}',
    empty: { says: /^POST \/backups: type is missing: expected \{"type": "full\|incr\|diff"\}$/ },
  },
];

interface Row {
  name: string;
  api: Api;
  method: Method;
  url: string;
  headers?: Record<string, string>;
  payload?: string;
  status: number;
  /** the error message; absent = a success row */
  says?: RegExp;
  /** what reached the dependencies (default: nothing) */
  calls?: string[];
}

const big = (limit: number) => JSON.stringify({ to: 'x'.repeat(limit) });

/** The rows every route gets. */
function rowsOf(r: Route): Row[] {
  const at = `${r.api} ${r.method} ${r.path}`;
  const base = { api: r.api, method: r.method, url: r.path };
  const limit = r.api === 'sentinel' ? SENTINEL_LIMIT : AGENT_LIMIT;
  const other: Method = r.method === 'GET' ? 'POST' : 'GET';
  const rows: Row[] = [
    {
      ...base,
      name: `${at}: unknown query parameter`,
      url: `${r.path}?bogus=1`,
      headers: AUTH,
      status: 400,
      says: r.params
        ? new RegExp(`: unknown query parameter "bogus": it accepts ${r.params}$`)
        : /: takes no query parameters \(got "bogus"\)$/,
    },
    {
      ...base,
      name: `${at}: unknown route under it`,
      url: `${r.path === '/' ? '' : r.path}/nope`,
      headers: AUTH,
      status: 404,
      says: /^no route /,
    },
    // a path served by both methods (GET and POST /backups) has no other method to refuse
    ...(ROUTES.some((x) => x.api === r.api && x.path === r.path && x.method === other)
      ? []
      : [
          {
            ...base,
            method: other,
            name: `${at}: ${other} is not allowed (405)`,
            headers: AUTH,
            status: 405,
            says: new RegExp(`^${other} ${r.path} is not allowed: use ${r.method}`),
          },
        ]),
    {
      ...base,
      method: 'DELETE',
      name: `${at}: DELETE is not allowed (405)`,
      headers: AUTH,
      status: 405,
      says: / is not allowed: use /,
    },
  ];
  for (const [how, headers] of [
    ['no Content-Type', {}],
    ['Content-Type: application/json', { ...JSON_CT, 'content-length': '0' }],
    ['Content-Type: text/plain', { 'content-type': 'text/plain', 'content-length': '0' }],
  ] as const) {
    const empty = r.empty;
    rows.push({
      ...base,
      name: `${at}: empty body, ${how}`,
      headers: { ...AUTH, ...headers },
      payload: '',
      ...('says' in empty
        ? { status: 400, says: empty.says }
        : { status: 200, calls: empty.calls }),
    });
  }
  return r.method === 'GET'
    ? [...rows, ...getRows(r, at, limit)]
    : [...rows, ...postRows(r, at, limit)];
}

/** A GET takes no body and needs no token. */
function getRows(r: Route, at: string, limit: number): Row[] {
  const base = { api: r.api, method: r.method, url: r.path };
  return [
    {
      ...base,
      name: `${at}: no token needed`,
      status: 200,
      calls: 'calls' in r.empty ? r.empty.calls : [],
    },
    {
      ...base,
      name: `${at}: a JSON body is refused`,
      headers: JSON_CT,
      payload: '{"since": "0"}',
      status: 400,
      says: /takes no body: put its parameters in the query string$/,
    },
    {
      ...base,
      name: `${at}: a malformed body is refused`,
      headers: JSON_CT,
      payload: '{"to": ',
      status: 400,
      says: /takes no body/,
    },
    {
      ...base,
      name: `${at}: an oversized body is 413`,
      headers: JSON_CT,
      payload: big(limit),
      status: 413,
      says: new RegExp(`larger than the ${limit / 1024} KiB limit$`),
    },
  ];
}

/** A POST needs the token, takes JSON or no body, and names the field it refuses. */
function postRows(r: Route, at: string, limit: number): Row[] {
  const good = r.good!;
  const base = { api: r.api, method: r.method, url: r.path, payload: good.body };
  const auth = { ...AUTH, ...JSON_CT };
  const p = r.path.replace('/', '\\/');
  const tokenRows: [string, Record<string, string>][] = [
    ['no token', JSON_CT],
    ['a wrong token', { ...JSON_CT, authorization: `Bearer ${TOKEN.replace('s', 'S')}` }],
    ['a shorter token', { ...JSON_CT, authorization: `Bearer ${TOKEN.slice(0, -1)}` }],
    ['a longer token', { ...JSON_CT, authorization: `Bearer ${TOKEN}x` }],
    ['the token as Basic', { ...JSON_CT, authorization: `Basic ${TOKEN}` }],
    ['the bare token', { ...JSON_CT, authorization: TOKEN }],
    ['an empty Bearer', { ...JSON_CT, authorization: 'Bearer ' }],
  ];
  return [
    { ...base, name: `${at}: the right token`, headers: auth, status: 200, calls: good.calls },
    {
      ...base,
      name: `${at}: the scheme in lower case`,
      headers: { ...JSON_CT, authorization: `bearer ${TOKEN}` },
      status: 200,
      calls: good.calls,
    },
    ...tokenRows.map(([what, headers]): Row => ({
      ...base,
      name: `${at}: ${what} (401)`,
      headers,
      status: 401,
      says: /missing or wrong bearer token/,
    })),
    {
      ...base,
      name: `${at}: a malformed body and no token: 401 first`,
      headers: JSON_CT,
      payload: '{"to": ',
      status: 401,
      says: /bearer token/,
    },
    ...(
      [
        ['malformed JSON', '{"to": ', /malformed JSON body \(.+\): send a JSON object or no body$/],
        ['truncated JSON', '{', /malformed JSON body/],
        ['an array', '[]', /the body must be a JSON object, not an array: expected /],
        ['a string', '"pg2"', /not a string/],
        ['a number', '42', /not a number/],
        ['null', 'null', /not null/],
        ['an unknown field', '{"bogus": 1}', /unknown field bogus: expected /],
        ['__proto__', '{"__proto__": {"x": 1}}', /: unknown field __proto__: send a JSON object$/],
        ...(r.wrongType
          ? [
              [
                'a wrong type',
                r.wrongType,
                new RegExp(`^POST ${p}: (to|epoch|type|node): .+: expected `),
              ],
            ]
          : []),
      ] as [string, string, RegExp][]
    ).map(([what, payload, says]): Row => ({
      ...base,
      name: `${at}: ${what} (400)`,
      headers: auth,
      payload,
      status: 400,
      says,
    })),
    {
      ...base,
      name: `${at}: a body over the limit (413)`,
      headers: auth,
      payload: big(limit),
      status: 413,
      says: new RegExp(`^POST ${p}: the body is larger than the ${limit / 1024} KiB limit$`),
    },
    {
      ...base,
      name: `${at}: a body that is not JSON (415)`,
      headers: { ...AUTH, 'content-type': 'application/x-www-form-urlencoded' },
      payload: 'to=pg2',
      status: 415,
      says: /Content-Type application\/x-www-form-urlencoded is not accepted/,
    },
    {
      ...base,
      name: `${at}: an unparsable Content-Type (415)`,
      headers: { ...AUTH, 'content-type': 'nonsense' },
      status: 415,
      says: /Content-Type/,
    },
  ];
}

/** Query parameters, one route at a time. */
const QUERY_ROWS: Row[] = [
  ...(
    [
      [
        '/events?since=garbage',
        /since must be 0 \(every event\) or an event id such as 1700000000000-0, got "garbage"$/,
      ],
      ['/events?since=', /since must be/],
      ['/events?since=1-2-3', /since must be/],
      ['/events?since=0&since=5', /since is given more than once/],
      ['/events?count=0', /count must be a whole number from 1 to 1000, got "0"$/],
      ['/events?count=1001', /count must be a whole number from 1 to 1000/],
      ['/events?count=abc', /count must be/],
      ['/events?count=-5', /count must be/],
      ['/events?count=1e2', /count must be/],
      ['/events?count=', /count must be/],
      ['/events?cluster=', /cluster must be a cluster name \(c1, c2\), got ""$/],
      [`/topology?cluster=${'x'.repeat(64)}`, /cluster must be a cluster name/],
      ['/status?cluster=c1&cluster=c2', /cluster is given more than once/],
      ['/events?Since=0', /unknown query parameter "Since": it accepts cluster, since, count$/],
      ['/health?cluster=c1', /takes no query parameters \(got "cluster"\)$/],
    ] as const
  ).map(([url, says]): Row => ({
    name: `sentinel GET ${url}`,
    api: 'sentinel' as const,
    method: 'GET' as const,
    url,
    status: 400,
    says,
  })),
  ...['/topology', '/status', '/events'].map((path): Row => ({
    name: `sentinel GET ${path}?cluster=nope (404)`,
    api: 'sentinel' as const,
    method: 'GET' as const,
    url: `${path}?cluster=nope`,
    status: 404,
    says: /^unknown cluster nope: known clusters are c1, c2$/,
  })),
  ...['/fence', '/unfence'].flatMap((path): Row[] => [
    {
      name: `sentinel POST ${path} of an unknown node (400 naming it)`,
      api: 'sentinel' as const,
      method: 'POST' as const,
      url: path,
      headers: { ...AUTH, ...JSON_CT },
      payload: '{"node":"pg9"}',
      status: 400,
      says: new RegExp(`^POST \\${path}: unknown node pg9 in cluster c1: use one of pg1, pg2$`),
    },
    {
      name: `sentinel POST ${path}?cluster=c2 of a node of c1 (400)`,
      api: 'sentinel' as const,
      method: 'POST' as const,
      url: `${path}?cluster=c2`,
      headers: { ...AUTH, ...JSON_CT },
      payload: '{"node":"pg1"}',
      status: 400,
      says: /: unknown node pg1 in cluster c2: use one of pg3$/,
    },
    {
      name: `sentinel POST ${path}?cluster=nope (404)`,
      api: 'sentinel' as const,
      method: 'POST' as const,
      url: `${path}?cluster=nope`,
      headers: { ...AUTH, ...JSON_CT },
      payload: '{"node":"pg1"}',
      status: 404,
      says: /^unknown cluster nope/,
    },
  ]),
  ...['/failover', '/failback', '/switchover'].flatMap((path): Row[] => [
    {
      name: `sentinel POST ${path}?cluster=nope (404)`,
      api: 'sentinel' as const,
      method: 'POST' as const,
      url: `${path}?cluster=nope`,
      headers: { ...AUTH, ...JSON_CT },
      payload: path === '/failback' ? '{}' : '{"to":"pg2"}',
      status: 404,
      says: /^unknown cluster nope/,
    },
    {
      name: `sentinel POST ${path}?cluster= (400)`,
      api: 'sentinel' as const,
      method: 'POST' as const,
      url: `${path}?cluster=`,
      headers: AUTH,
      status: 400,
      says: new RegExp(`^POST \\${path}: query parameter cluster must be a cluster name`),
    },
  ]),
  ...(
    [
      ['/replica?lag=abc', /^GET \/replica: query parameter lag must be a whole number of bytes/],
      ['/replica?lag=-1', /lag must be/],
      ['/replica?lag=1.5', /lag must be/],
      ['/replica?lag=1e3', /lag must be/],
      ['/replica?lag=', /lag must be .*, got ""$/],
      ['/replica?lag=99999999999999999', /lag must be/],
      ['/replica?lag=1&lag=2', /lag is given more than once/],
      ['/replica?max_lag=1', /unknown query parameter "max_lag": it accepts lag$/],
      ['/primary?lag=1', /takes no query parameters/],
    ] as const
  ).map(([url, says]): Row => ({
    name: `agent GET ${url}`,
    api: 'agent' as const,
    method: 'GET' as const,
    url,
    status: 400,
    says,
  })),
];

/** The query parameters that are taken, to show the refusals are not blanket ones. */
const QUERY_OK: Row[] = [
  ['/events?cluster=c2&since=1700000000000-0&count=5', 'events c2 1700000000000-0 5'],
  ['/events?since=0&count=1000', 'events c1 0 1000'],
  ['/events?since=1700000000000', 'events c1 1700000000000 100'],
  ['/topology?cluster=c2', 'topology c2'],
  ['/status?cluster=c2', 'status c2'],
].map(([url, call]): Row => ({
  name: `sentinel GET ${url}`,
  api: 'sentinel' as const,
  method: 'GET' as const,
  url: url!,
  status: 200,
  calls: [call!],
}));
QUERY_OK.push(
  {
    name: 'sentinel POST /switchover?cluster=c2',
    api: 'sentinel',
    method: 'POST',
    url: '/switchover?cluster=c2',
    headers: { ...AUTH, ...JSON_CT },
    payload: '{"to":"pg2"}',
    status: 200,
    calls: ['switchover c2 {"to":"pg2"}'],
  },
  {
    name: 'sentinel POST /fence of a node of c2 without ?cluster= (its cluster)',
    api: 'sentinel',
    method: 'POST',
    url: '/fence',
    headers: { ...AUTH, ...JSON_CT },
    payload: '{"node":"pg3"}',
    status: 200,
    calls: ['fence c2 pg3'],
  },
  ...(
    [
      ['/replica?lag=0', 'replica 0'],
      ['/replica?lag=1048576', 'replica 1048576'],
    ] as const
  ).map(([url, call]): Row => ({
    name: `agent GET ${url}`,
    api: 'agent' as const,
    method: 'GET' as const,
    url,
    status: 200,
    calls: [call],
  })),
);

/** Outside every route. */
const OTHER_ROWS: Row[] = (['sentinel', 'agent'] as const).flatMap((api): Row[] => [
  {
    name: `${api}: GET /nope`,
    api,
    method: 'GET',
    url: '/nope',
    status: 404,
    says: /^no route GET \/nope: /,
  },
  {
    name: `${api}: POST /nope without a token is 404, not 401`,
    api,
    method: 'POST',
    url: '/nope',
    headers: JSON_CT,
    payload: '{"to": ',
    status: 404,
    says: /^no route POST \/nope/,
  },
  {
    name: `${api}: an oversized body to no route is 404`,
    api,
    method: 'POST',
    url: '/nope',
    headers: { ...AUTH, ...JSON_CT },
    payload: big(SENTINEL_LIMIT),
    status: 404,
    says: /^no route POST \/nope/,
  },
  {
    name: `${api}: PUT /nope`,
    api,
    method: 'PUT',
    url: '/nope',
    status: 404,
    says: /^no route PUT/,
  },
  {
    name: `${api}: a malformed URL`,
    api,
    method: 'GET',
    url: '/%zz',
    status: 400,
    says: /^malformed URL/,
  },
]);

const TABLE: Row[] = [...ROUTES.flatMap(rowsOf), ...QUERY_ROWS, ...QUERY_OK, ...OTHER_ROWS];

/** `METHOD /path` of every route of `app` but HEAD, from fastify's route tree print. */
function registered(app: FastifyInstance): string[] {
  const stack: string[] = [];
  const out: string[] = [];
  for (const line of app.printRoutes({ commonPrefix: false }).split('\n')) {
    // "│   ├── health (GET, HEAD)": 4 characters per level, the key relative to its parent
    const m = /^((?:[│ ] {3})*)[├└]── (\S+) \(([A-Z, ]+)\)$/.exec(line);
    if (!m) continue;
    stack.length = m[1]!.length / 4;
    stack.push(m[2]!);
    for (const method of m[3]!.split(', '))
      if (method !== 'HEAD') out.push(`${method} ${stack.join('')}`);
  }
  return out.sort();
}

/** The answer is one line of JSON with exactly `status: "error"` and a one-line message. */
function expectOneLineError(body: string, says: RegExp): void {
  expect(body).not.toMatch(/[\r\n]/);
  const json: unknown = JSON.parse(body);
  expect(json).toEqual({ status: 'error', message: expect.any(String) });
  const { message } = json as { message: string };
  expect(message.length).toBeGreaterThan(0);
  expect(message).not.toMatch(/\n|\bat \S+ \(|node_modules|FST_ERR/);
  expect(message).toMatch(says);
}

describe('both APIs refuse what they cannot take, in one shape, before any dependency', () => {
  it('covers every route the two APIs register, and no other', async () => {
    for (const api of ['sentinel', 'agent'] as const) {
      const { app } = fakes[api]();
      await app.ready();
      const tabled = ROUTES.filter((r) => r.api === api).map((r) => `${r.method} ${r.path}`);
      expect(registered(app)).toEqual(tabled.sort());
    }
  });

  for (const row of TABLE) {
    it(row.name, async () => {
      const { app, calls } = fakes[row.api]();
      const res = await app.inject({
        method: row.method,
        url: row.url,
        ...(row.headers ? { headers: row.headers } : {}),
        ...(row.payload !== undefined ? { payload: row.payload } : {}),
      });
      expect(res.statusCode, res.body).toBe(row.status);
      if (row.says) {
        expect(res.headers['content-type']).toMatch(/^application\/json/);
        expectOneLineError(res.body, row.says);
        if (row.status === 401) expect(res.headers['www-authenticate']).toBe('Bearer');
        if (row.status === 405) expect(res.headers.allow).toMatch(/^(GET, HEAD|POST|GET, HEAD, POST)$/);
      }
      expect(calls).toEqual(row.calls ?? []);
    });
  }
});

describe('a dependency that fails answers its class, one line', () => {
  const cases: { name: string; behave: Behaviour; status: number; says: RegExp }[] = [
    {
      name: 'no coordination majority: 503',
      behave: () => {
        throw new CoordinationUnavailable('no coordination majority (1/3 servers answered)');
      },
      status: 503,
      says: /^no coordination majority/,
    },
    {
      name: 'the cluster state forbids it: 409',
      behave: () => {
        throw new UserError('pg2 is not a healthy standby');
      },
      status: 409,
      says: /^pg2 is not a healthy standby$/,
    },
    {
      name: 'a bug with a multi-line message: 500, one line, no stack',
      behave: () => {
        throw new Error('it broke\n  on the second line\n');
      },
      status: 500,
      says: /^it broke on the second line$/,
    },
  ];
  const targets: [Api, Method, string, string | undefined][] = [
    ['sentinel', 'GET', '/topology', undefined],
    ['sentinel', 'GET', '/events', undefined],
    ['sentinel', 'POST', '/switchover', '{"to":"pg2"}'],
    ['sentinel', 'POST', '/failover', undefined],
    ['sentinel', 'POST', '/fence', '{"node":"pg1"}'],
    ['agent', 'POST', '/stop', '{"epoch":3}'],
    ['agent', 'POST', '/start', '{"epoch":3}'],
  ];
  for (const c of cases)
    for (const [api, method, url, payload] of targets)
      it(`${api} ${method} ${url}: ${c.name}`, async () => {
        const { app, calls } = fakes[api](c.behave);
        const res = await app.inject({
          method,
          url,
          headers: { ...AUTH, ...JSON_CT },
          ...(payload !== undefined ? { payload } : {}),
        });
        expect(res.statusCode).toBe(c.status);
        expectOneLineError(res.body, c.says);
        expect(calls).toHaveLength(1);
      });
});
