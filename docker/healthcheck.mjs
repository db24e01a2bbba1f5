// HEALTHCHECK of both images: exit 0 when GET <url> answers 2xx within 2 s (no curl needed).
const url = process.argv[2] ?? 'http://127.0.0.1:8088/health';
fetch(url, { signal: AbortSignal.timeout(2000) }).then(
  (r) => process.exit(r.ok ? 0 : 1),
  () => process.exit(1),
);
