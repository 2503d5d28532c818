import { connect } from 'node:net';
import { UnreachableError } from '../cli-errors';

/**
 * Fails fast when no bootstrap server accepts a TCP connection. kafkajs would retry for a long time (and
 * 2.2.4 retries forever in places, kafkajs #1721) before saying anything useful; a person at a terminal
 * wants to hear at once which address did not answer and what to start.
 */
export async function probeBrokers(brokers: string[], timeoutMs = 3_000): Promise<void> {
  const failures: string[] = [];
  for (const broker of brokers) {
    const cause = await tryConnect(broker, timeoutMs);
    if (cause === undefined) return;
    failures.push(`${broker}: ${cause}`);
  }
  throw new UnreachableError(
    `cannot reach Kafka (${failures.join('; ')}). Start the mesh with \`npm run mesh\` (or a bare broker with ` +
      '`npm run kafka:up`, which prints KAFKA_BROKERS), or point --brokers / KAFKA_BROKERS at your cluster.',
  );
}

/** undefined when the broker accepted a connection, else why not. */
function tryConnect(broker: string, timeoutMs: number): Promise<string | undefined> {
  const at = broker.lastIndexOf(':');
  const host = at > 0 ? broker.slice(0, at).replace(/^\[|\]$/g, '') : broker;
  const port = at > 0 ? Number(broker.slice(at + 1)) : 9092;
  if (!Number.isInteger(port) || port <= 0 || port > 65_535) return Promise.resolve(`'${broker}' is not host:port`);
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (cause?: string) => {
      socket.destroy();
      resolve(cause);
    };
    socket.setTimeout(timeoutMs, () => done(`no answer within ${timeoutMs} ms`));
    socket.once('connect', () => done());
    socket.once('error', (error: NodeJS.ErrnoException) => done(error.code ?? error.message));
  });
}
