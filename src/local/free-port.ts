/**
 * Free loopback ports for the embedded cluster and the tests.
 *
 * `freePort` asks the kernel for an ephemeral port (listen on 0) and releases it at once, so
 * there is a small window in which someone else may take it: callers that bind a child
 * process to it should retry on "address in use" (startRedisServer does).
 */
import net from 'node:net';

/**
 * Ports handed out recently by this process: a port is only "free" until its server binds it,
 * so two clusters started in parallel (tests, benches) could otherwise get the same one.
 */
const handedOut = new Map<number, number>();
const REMEMBER_MS = 10 * 60_000;

export async function freePort(host = '127.0.0.1'): Promise<number> {
  const now = Date.now();
  for (const [port, at] of handedOut) if (now - at > REMEMBER_MS) handedOut.delete(port);
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = await anyFreePort(host);
    if (handedOut.has(port)) continue;
    handedOut.set(port, now);
    return port;
  }
  throw new Error(`no free port on ${host} that this process has not handed out already`);
}

function anyFreePort(host: string): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', reject);
    server.listen({ port: 0, host, exclusive: true }, () => {
      const address = server.address();
      if (address === null || typeof address === 'string') {
        server.close();
        reject(new Error(`could not read the port of a listener on ${host}`));
        return;
      }
      const { port } = address;
      server.close((err) => (err ? reject(err) : resolve(port)));
    });
  });
}

/** True when nothing listens on `host:port` (we could bind it ourselves). */
export async function isPortFree(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise<boolean>((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EADDRINUSE' || err.code === 'EACCES') resolve(false);
      else reject(err);
    });
    server.listen({ port, host, exclusive: true }, () => {
      server.close(() => resolve(true));
    });
  });
}
