/**
 * Name lookups of the sessions to PostgreSQL nodes (session.ts), shared per name.
 *
 * Why: `dns.lookup` is getaddrinfo on libuv's threadpool, and libuv runs at most half of that
 * pool (2 of 4 threads) on lookups at once, queueing the rest in order. When the name of a dead
 * node hangs instead of failing (a resolver that never answers: glibc then waits 5 s x 2
 * attempts; Docker 20.10's embedded DNS does that for a stopped container's name when no
 * upstream answers), every probe of that node started one more 10 s lookup, the queue grew
 * faster than two threads drained it, and the lookup of the live standby waited behind them:
 * each promote connect to it timed out at connectTimeoutMs and no failover completed
 * (`npm run test:containers`, README "Containers").
 *
 * So: a name has at most one lookup in flight, which every caller of that name joins (a dead
 * name holds one thread, not all of them); and when that lookup is late (GRACE_MS) and the name
 * answered before, its last answer is used, since a late resolver must not cut us off from a
 * node we could reach. A fresh answer always replaces the remembered one; a name the resolver
 * says does not exist (ENOTFOUND) is forgotten.
 */
import dns, { type LookupAddress, type LookupOptions } from 'node:dns';
import { isIP, Socket, type TcpSocketConnectOpts } from 'node:net';

type Answer = (
  err: NodeJS.ErrnoException | null,
  address: string | LookupAddress[],
  family?: number,
) => void;
/** the `lookup` option of net.connect */
export type LookupFn = (hostname: string, options: LookupOptions, callback: Answer) => void;
/** getaddrinfo for all addresses of a name (dns.lookup with all: true) */
export type ResolveAll = (hostname: string, family: number) => Promise<LookupAddress[]>;

/** how long a caller waits for a fresh lookup before it takes the name's last answer */
export const GRACE_MS = 200;

const systemResolve: ResolveAll = (hostname, family) =>
  dns.promises.lookup(hostname, { all: true, family });

export function sharedLookup(resolve: ResolveAll = systemResolve, graceMs = GRACE_MS): LookupFn {
  const inFlight = new Map<string, Promise<LookupAddress[]>>();
  const last = new Map<string, LookupAddress[]>();

  const fresh = (key: string, hostname: string, family: number): Promise<LookupAddress[]> => {
    let p = inFlight.get(key);
    if (!p) {
      p = resolve(hostname, family).then(
        (addrs) => {
          last.set(key, addrs);
          return addrs;
        },
        (err: unknown) => {
          if ((err as NodeJS.ErrnoException).code === 'ENOTFOUND') last.delete(key);
          throw err;
        },
      );
      const settled = () => {
        if (inFlight.get(key) === p) inFlight.delete(key);
      };
      p.then(settled, settled);
      inFlight.set(key, p);
    }
    return p;
  };

  const addresses = async (hostname: string, family: number): Promise<LookupAddress[]> => {
    const key = `${family}/${hostname}`;
    const p = fresh(key, hostname, family);
    const known = last.get(key);
    if (!known) return p;
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<LookupAddress[]>((r) => {
      timer = setTimeout(() => r(known), graceMs);
      timer.unref();
    });
    try {
      // a resolver that fails at once (EAI_AGAIN) is as late as one that hangs: the last answer
      const failedOver = p.catch((err: unknown) => {
        if ((err as NodeJS.ErrnoException).code === 'ENOTFOUND') throw err;
        return known;
      });
      return await Promise.race([failedOver, late]);
    } finally {
      clearTimeout(timer);
    }
  };

  return (hostname, options, callback) => {
    const f = options.family;
    const family = f === 4 || f === 'IPv4' ? 4 : f === 6 || f === 'IPv6' ? 6 : 0;
    const literal = isIP(hostname);
    const found: Promise<LookupAddress[]> = literal
      ? Promise.resolve([{ address: hostname, family: literal }])
      : addresses(hostname, family);
    found.then(
      (addrs) => {
        if (options.all) return callback(null, addrs);
        const first = addrs[0];
        if (!first) return callback(notFound(hostname), '', 0);
        callback(null, first.address, first.family);
      },
      (err: NodeJS.ErrnoException) => callback(err, '', 0),
    );
  };
}

function notFound(hostname: string): NodeJS.ErrnoException {
  const err: NodeJS.ErrnoException = new Error(`getaddrinfo ENOTFOUND ${hostname}`);
  err.code = 'ENOTFOUND';
  return err;
}

/** the lookup of every session of this process: one in-flight lookup per name process-wide */
export const nodeLookup: LookupFn = sharedLookup();

/**
 * A socket for node-postgres's `stream` option that dials names through `nodeLookup`
 * (node-postgres calls stream.connect(port, host), or (path) for a socket directory).
 */
export function lookupSocket(): Socket {
  const socket = new Socket();
  const dial = Socket.prototype.connect as (
    this: Socket,
    o: TcpSocketConnectOpts | { path: string },
  ) => Socket;
  socket.connect = ((port: number | string, host?: string) =>
    typeof port === 'string'
      ? dial.call(socket, { path: port })
      : dial.call(socket, {
          port,
          host: host ?? 'localhost',
          lookup: nodeLookup,
        })) as Socket['connect'];
  return socket;
}
