// Docker HEALTHCHECK of every Flywheel service: healthy when GET /health/<probe> answers 2xx in time.
//
// Readiness by default, so compose's `depends_on: condition: service_healthy` waits until a service can do
// its work (Postgres migrated, producer connected, consumers joined), not only until its process answers.
// `node infra/docker/healthcheck.mjs live` checks liveness instead. The port is the service's HTTP_PORT
// (the image sets 8080; compose and Kubernetes set each service's own).
const probe = process.argv[2] ?? 'ready';
if (probe !== 'ready' && probe !== 'live') {
  console.error(`healthcheck: unknown probe '${probe}' (ready | live)`);
  process.exit(2);
}
const port = process.env.HTTP_PORT || '8080';
try {
  const response = await fetch(`http://127.0.0.1:${port}/health/${probe}`, { signal: AbortSignal.timeout(4_000) });
  if (!response.ok) console.error(`healthcheck: /health/${probe} on port ${port} answered ${response.status}`);
  process.exit(response.ok ? 0 : 1);
} catch (error) {
  console.error(`healthcheck: /health/${probe} on port ${port}: ${error instanceof Error ? error.message : error}`);
  process.exit(1);
}
