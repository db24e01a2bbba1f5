import net from 'node:net';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { startTcpProxy, type TcpProxy } from './tcp-proxy.js';

const SILENCE_MS = 300;

interface Echo {
  port: number;
  sockets: Set<net.Socket>;
  close(): Promise<void>;
}
async function startEcho(): Promise<Echo> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    sockets.add(s);
    s.on('error', () => undefined);
    s.on('close', () => sockets.delete(s));
    s.pipe(s);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as net.AddressInfo;
  return {
    port,
    sockets,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

interface Client {
  socket: net.Socket;
  closed: Promise<void>;
  isClosed(): boolean;
  /** writes `msg` and resolves with what comes back within `ms`, or null on silence */
  roundTrip(msg: string, ms?: number): Promise<string | null>;
  /** resolves with whatever arrives within `ms` ('' on silence) */
  received(ms: number): Promise<string>;
}
async function connect(port: number): Promise<Client> {
  const socket = net.connect({ host: '127.0.0.1', port });
  socket.on('error', () => undefined);
  let isClosed = false;
  const closed = new Promise<void>((r) =>
    socket.once('close', () => {
      isClosed = true;
      r();
    }),
  );
  await new Promise<void>((r, j) => {
    socket.once('connect', r);
    socket.once('error', j);
  });
  let buf = '';
  socket.on('data', (d: Buffer) => (buf += d.toString()));
  const received = async (ms: number): Promise<string> => {
    await new Promise((r) => setTimeout(r, ms));
    const out = buf;
    buf = '';
    return out;
  };
  return {
    socket,
    closed,
    isClosed: () => isClosed,
    received,
    async roundTrip(msg, ms = 1000) {
      buf = '';
      socket.write(msg);
      const deadline = Date.now() + ms;
      while (Date.now() < deadline) {
        if (buf.length >= msg.length) return received(0);
        await new Promise((r) => setTimeout(r, 5));
      }
      return buf === '' ? null : received(0);
    },
  };
}

describe('tcp proxy', () => {
  let echo: Echo;
  let proxy: TcpProxy;
  const clients: Client[] = [];
  const client = async (): Promise<Client> => {
    const c = await connect(proxy.port);
    clients.push(c);
    return c;
  };

  beforeEach(async () => {
    echo = await startEcho();
    proxy = await startTcpProxy({ targetHost: '127.0.0.1', targetPort: echo.port });
  });
  afterEach(async () => {
    for (const c of clients.splice(0)) c.socket.destroy();
    await proxy.close();
    await echo.close();
  });

  it('forwards both ways, on several connections', async () => {
    const [a, b] = [await client(), await client()];
    expect(await a.roundTrip('hello')).toBe('hello');
    expect(await b.roundTrip('world')).toBe('world');
    expect(proxy.connectionCount).toBe(2);
  });

  it('blackhole swallows bytes both ways and closes nothing', async () => {
    const a = await client();
    expect(await a.roundTrip('before')).toBe('before');
    proxy.blackhole();
    expect(await a.roundTrip('ping', SILENCE_MS)).toBeNull();
    // server -> client is swallowed too
    for (const s of echo.sockets) s.write('push');
    expect(await a.received(SILENCE_MS)).toBe('');
    expect(a.isClosed()).toBe(false);
    expect(a.socket.readyState).toBe('open');
    expect(echo.sockets.size).toBe(1); // the upstream side is still open as well
  });

  it('accepts new connections while blackholed and swallows them', async () => {
    proxy.blackhole();
    const a = await client();
    expect(await a.roundTrip('ping', SILENCE_MS)).toBeNull();
    expect(a.isClosed()).toBe(false);
    expect(echo.sockets.size).toBe(0);
  });

  it('restore forwards again for new connections', async () => {
    proxy.blackhole();
    const held = await client();
    expect(await held.roundTrip('lost', SILENCE_MS)).toBeNull();
    proxy.restore();
    const fresh = await client();
    expect(await fresh.roundTrip('again')).toBe('again');
  });

  it('cutAll closes every client', async () => {
    const [a, b] = [await client(), await client()];
    proxy.blackhole();
    const c = await client();
    proxy.cutAll();
    await Promise.all([a.closed, b.closed, c.closed]);
    expect([a.isClosed(), b.isClosed(), c.isClosed()]).toEqual([true, true, true]);
    expect(proxy.connectionCount).toBe(0);
  });

  it('close frees the port', async () => {
    const a = await client();
    const { port } = proxy;
    await proxy.close();
    await a.closed;
    const again = net.createServer();
    await new Promise<void>((r, j) => {
      again.once('error', j);
      again.listen(port, '127.0.0.1', r);
    });
    await new Promise<void>((r) => again.close(() => r()));
    // afterEach closes it again: that must be harmless
    proxy = await startTcpProxy({
      targetHost: '127.0.0.1',
      targetPort: echo.port,
      listenPort: port,
    });
    expect(proxy.port).toBe(port);
  });
});
