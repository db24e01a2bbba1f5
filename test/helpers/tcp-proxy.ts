/**
 * A TCP proxy the fault tests put in front of a node (or Redis) to make network faults on
 * demand, in the spirit of pg-boss test/halfOpenProxy.ts:
 *
 * - forwarding (default): bytes flow both ways, half-closes and closes are relayed.
 * - `blackhole()`: a partition. Every byte in either direction is swallowed and nothing is
 *   closed, so both ends see a half-open connection that only a timeout can detect. New
 *   connections are accepted and swallowed too (no upstream connection is made). A close on
 *   one side is not relayed while blackholed either.
 * - `restore()`: forwarding resumes for connections made from now on and for forwarding
 *   connections that survived (bytes swallowed meanwhile are lost, so their protocol stream
 *   is likely broken). Connections accepted while blackholed stay swallowed; connections
 *   whose other side closed while blackholed are reset now.
 * - `cutAll()`: every socket on both sides is reset (RST), as a crashed middlebox would.
 * - `close()`: cutAll + stop listening; the port is free when it resolves.
 */
import net from 'node:net';

export interface TcpProxyOptions {
  targetHost: string;
  targetPort: number;
  listenHost?: string;
  /** 0 (default) picks a free port */
  listenPort?: number;
}

export interface TcpProxy {
  readonly host: string;
  readonly port: number;
  /** client connections currently open through the proxy */
  readonly connectionCount: number;
  blackhole(): void;
  restore(): void;
  cutAll(): void;
  close(): Promise<void>;
}

interface Link {
  client: net.Socket;
  /** absent for a connection accepted while blackholed */
  upstream?: net.Socket;
  /** the other side closed while blackholed: reset on restore */
  orphaned: boolean;
}

function reset(s: net.Socket): void {
  if (s.destroyed) return;
  try {
    s.resetAndDestroy();
  } catch {
    s.destroy();
  }
}

export async function startTcpProxy(opts: TcpProxyOptions): Promise<TcpProxy> {
  const { targetHost, targetPort, listenHost = '127.0.0.1', listenPort = 0 } = opts;
  const links = new Set<Link>();
  let holed = false;

  /** Relays `from` -> `to` unless blackholed; swallowed bytes are dropped, not buffered. */
  const relay = (link: Link, from: net.Socket, to: net.Socket): void => {
    from.on('data', (chunk: Buffer) => {
      if (holed || to.destroyed) return;
      if (!to.write(chunk)) {
        from.pause();
        to.once('drain', () => from.resume());
      }
    });
    from.on('end', () => {
      if (holed) link.orphaned = true;
      else to.end();
    });
    from.on('close', () => {
      if (holed) link.orphaned = true;
      else to.destroy();
    });
  };

  const server = net.createServer({ allowHalfOpen: true }, (client) => {
    const link: Link = { client, orphaned: false };
    links.add(link);
    client.on('error', () => undefined);
    client.on('close', () => links.delete(link));
    if (holed) {
      client.on('data', () => undefined); // accepted, then swallowed
      return;
    }
    const upstream = net.connect({ host: targetHost, port: targetPort, allowHalfOpen: true });
    upstream.on('error', () => undefined);
    link.upstream = upstream;
    relay(link, client, upstream);
    relay(link, upstream, client);
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(listenPort, listenHost, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const addr = server.address();
  if (addr === null || typeof addr === 'string') throw new Error('tcp proxy: no TCP address');

  const cutAll = (): void => {
    for (const l of links) {
      reset(l.client);
      if (l.upstream) reset(l.upstream);
    }
    links.clear();
  };

  return {
    host: listenHost,
    port: addr.port,
    get connectionCount() {
      return links.size;
    },
    blackhole() {
      holed = true;
    },
    restore() {
      holed = false;
      for (const l of links) {
        if (!l.orphaned) continue;
        reset(l.client);
        if (l.upstream) reset(l.upstream);
        links.delete(l);
      }
    },
    cutAll,
    close() {
      cutAll();
      return new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
      });
    },
  };
}
