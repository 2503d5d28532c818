import type { Logger } from 'pino';

/**
 * A graceful shutdown (SIGTERM/SIGINT → Nest closes consumers, the HTTP server, producers, pools) that hangs
 * leaves a process that is neither serving nor gone: a rolling restart waits on it forever. The watchdog logs
 * what is still open every `reportEveryMs` and, after `timeoutMs`, exits 1 — as a supervisor's SIGKILL would,
 * but with the reason in the log.
 */
export function armShutdownWatchdog(logger: Logger, timeoutMs: number, reportEveryMs = 5_000): void {
  let started = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    if (started) return;
    started = Date.now();
    const report = setInterval(() => {
      logger.warn(
        { signal, elapsedMs: Date.now() - started, pending: pendingResources() },
        'graceful shutdown still running',
      );
    }, reportEveryMs);
    report.unref();
    setTimeout(() => {
      logger.fatal(
        { signal, timeoutMs, pending: pendingResources() },
        'graceful shutdown did not finish in time; exiting',
      );
      process.exit(1);
    }, timeoutMs).unref();
  };
  for (const signal of ['SIGTERM', 'SIGINT'] as const) process.once(signal, onSignal);
}

/** Counts of what keeps the event loop busy, by kind (TCPWRAP = sockets and servers, Timeout, ...). */
function pendingResources(): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const kind of process.getActiveResourcesInfo()) counts[kind] = (counts[kind] ?? 0) + 1;
  return counts;
}
