/**
 * An external app on the mesh: sends card transactions through the collector with an API key and prints the
 * fraud score the mesh gives each of them (collector → enrichment-api → feature-materializer → stream-inference
 * → predictions.v1), then exits.
 *
 *   npm run build
 *   FLYWHEEL_API_KEY=fw_... node dist/libs/client/examples/score-transactions.js [count]
 *
 * Environment (defaults fit `npm run mesh`): COLLECTOR_URL (http://127.0.0.1:8080), KAFKA_BROKERS
 * (127.0.0.1:9092), SCHEMA_REGISTRY_URL (http://127.0.0.1:8081), TOPIC_PREFIX (none), FLYWHEEL_API_KEY
 * (required: `flywheel keys create --producer score-example`), SCORE_TIMEOUT_MS (60000).
 *
 * Prints one line per transaction as its prediction arrives:
 *   scored <event_id> account=<account> amount=<amount> score=<0..1> decision=<APPROVE|REVIEW|DECLINE> model=<name>@v<version>
 * and a last line `scored <n>/<n> transactions`. Exit code 0 when every accepted transaction was scored in time,
 * 1 otherwise.
 */
import { randomUUID } from 'node:crypto';
import { CollectorClient, openPredictionStream, type TransactionInput } from '@flywheel/client';

const env = process.env;
const count = Number(process.argv[2] ?? 20);
const apiKey = env.FLYWHEEL_API_KEY;
const timeoutMs = Number(env.SCORE_TIMEOUT_MS ?? 60_000);

/** Some everyday payments and a few large card-not-present ones, over a handful of accounts. */
function transactions(n: number): TransactionInput[] {
  const channels = ['pos', 'ecom', 'atm'] as const;
  return Array.from({ length: n }, (_, i) => {
    const risky = i % 5 === 4;
    return {
      type: 'transaction',
      event_id: randomUUID(),
      event_time: Date.now(),
      account_id: `example-acct-${i % 7}`,
      merchant_id: `example-merchant-${i % 4}`,
      amount: risky ? 900 + i : 12 + ((i * 7) % 60),
      currency: 'EUR',
      channel: risky ? 'ecom' : channels[i % 3],
      card_present: !risky,
    };
  });
}

async function main(): Promise<number> {
  if (!apiKey || !Number.isInteger(count) || count < 1) {
    console.error(
      'usage: FLYWHEEL_API_KEY=fw_... score-transactions [count]   (create a key: flywheel keys create --producer score-example)',
    );
    return 2;
  }
  // Subscribe first: the stream starts at the end of predictions.v1, so every prediction of what we send below
  // is delivered. A fresh group per run, since this program reads only its own transactions' predictions.
  const predictions = await openPredictionStream({
    brokers: env.KAFKA_BROKERS ?? '127.0.0.1:9092',
    schemaRegistryUrl: env.SCHEMA_REGISTRY_URL ?? 'http://127.0.0.1:8081',
    topicPrefix: env.TOPIC_PREFIX,
    groupId: `score-transactions-${randomUUID()}`,
    startFrom: 'latest',
  });
  const collector = new CollectorClient({ url: env.COLLECTOR_URL ?? 'http://127.0.0.1:8080', apiKey });
  const sent = transactions(count);
  const result = await collector.send(sent);
  console.log(`sent ${sent.length} transactions: ${result.accepted} accepted, ${result.rejected} rejected`);
  for (const r of result.results.filter((x) => x.status === 'rejected'))
    console.log(`rejected #${r.index}: ${r.reason}`);

  const waiting = new Map(
    result.results.filter((r) => r.status === 'accepted').map((r) => [r.event_id as string, sent[r.index]]),
  );
  const total = waiting.size;
  const timer = setTimeout(() => void predictions.close(), timeoutMs);
  try {
    for await (const { prediction } of predictions) {
      const transaction = waiting.get(prediction.event_id);
      if (!transaction) continue; // someone else's transaction
      waiting.delete(prediction.event_id);
      console.log(
        `scored ${prediction.event_id} account=${prediction.entity} amount=${transaction.amount} ` +
          `score=${prediction.score.toFixed(4)} decision=${prediction.decision} ` +
          `model=${prediction.model_name}@v${prediction.model_version}`,
      );
      if (waiting.size === 0) break;
    }
  } finally {
    clearTimeout(timer);
    await predictions.close();
  }
  console.log(`scored ${total - waiting.size}/${total} transactions`);
  if (waiting.size > 0) console.error(`no prediction within ${timeoutMs} ms for: ${[...waiting.keys()].join(', ')}`);
  return waiting.size === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(`score-transactions failed: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  },
);
