/**
 * libpq keyword/value conninfo parsing (`host=a port=5432 password='x y'`), enough to tell
 * where a standby's primary_conninfo points. URIs (`postgres://...`) are parsed too.
 */
export function parseConninfo(text: string): Record<string, string> {
  const s = text.trim();
  if (/^postgres(ql)?:\/\//.test(s)) return parseUri(s);
  const out: Record<string, string> = {};
  let i = 0;
  const ws = (): void => {
    while (i < s.length && /\s/.test(s[i]!)) i++;
  };
  while (i < s.length) {
    ws();
    const eq = s.indexOf('=', i);
    if (eq < 0) break;
    const key = s.slice(i, eq).trim();
    i = eq + 1;
    ws();
    let value = '';
    if (s[i] === "'") {
      for (i++; i < s.length && s[i] !== "'"; i++) value += s[i] === '\\' ? s[++i] : s[i];
      i++;
    } else {
      for (; i < s.length && !/\s/.test(s[i]!); i++) value += s[i] === '\\' ? s[++i] : s[i];
    }
    if (key) out[key] = value;
  }
  return out;
}

function parseUri(s: string): Record<string, string> {
  const m = /^postgres(?:ql)?:\/\/(?:[^@/]*@)?([^/:?]*)(?::(\d+))?/.exec(s);
  const out: Record<string, string> = {};
  if (m?.[1]) out.host = decodeURIComponent(m[1]);
  if (m?.[2]) out.port = m[2];
  return out;
}

/** host/port of a conninfo (port 5432 when absent); null when it names no host. */
export function upstreamOf(text: string | null): { host: string; port: number } | null {
  if (!text) return null;
  const c = parseConninfo(text);
  const host = c.host ?? c.hostaddr;
  if (!host) return null;
  const port = Number(c.port ?? 5432);
  return Number.isInteger(port) ? { host, port } : null;
}
