// Runs a real Apache Kafka (KRaft, no ZooKeeper, no Docker) from the plain broker jars for tests and local dev.
// The jars come from Maven Central through infra/kafka/pom.xml into <repo>/.cache/kafka on first use.
// Every run has a name; its state (pids, ports) lives in .cache/kafka/runs/<name>/state.json so that a
// different process (the CLI, a test's global teardown) can find and stop it.
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { createConnection, createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export const KAFKA_VERSION = '4.4.0';
const MIN_JAVA = 17;
const HERE = dirname(fileURLToPath(import.meta.url));
const REPO = resolve(HERE, '../..');
const CACHE = join(REPO, '.cache/kafka');
const RUNS = join(CACHE, 'runs');
const JAVA = process.env.JAVA_HOME ? join(process.env.JAVA_HOME, 'bin/java') : 'java';
// Kafka's own default GC flags; the heap is sized for a small (2-core) box running up to three brokers.
const BROKER_JVM_OPTS = [
  '-Xms256m',
  '-Xmx1g',
  '-XX:+UseG1GC',
  '-XX:MaxGCPauseMillis=20',
  '-XX:InitiatingHeapOccupancyPercent=35',
  '-XX:+ExplicitGCInvokesConcurrent',
  '-Djava.awt.headless=true',
];
const STOP_GRACE_MS = 20_000;
// The inter-broker connections authenticate as their own user, so tests may alter or delete theirs freely.
const BROKER_USER = 'flywheel-broker';
const DEFAULT_SCRAM = { username: 'flywheel', password: 'flywheel-secret' };

// ---------------------------------------------------------------------------------------------- jars

/** Makes sure the broker jars are in .cache/kafka/kafka-<version>/libs; returns that folder. */
export async function ensureKafkaJars() {
  const home = join(CACHE, `kafka-${KAFKA_VERSION}`);
  const libs = join(home, 'libs');
  const marker = join(home, '.complete');
  if (existsSync(marker)) return libs;

  process.stderr.write(`kafka: fetching Kafka ${KAFKA_VERSION} jars with Maven into ${libs} (first use only)\n`);
  // Download into a private folder and rename it into place, so an interrupted or concurrent fetch never
  // leaves a half-filled libs folder behind the marker.
  const tmp = `${libs}.tmp-${process.pid}`;
  await rm(tmp, { recursive: true, force: true });
  try {
    await execFileAsync(
      'mvn',
      [
        '-q',
        '-B',
        '-f',
        join(HERE, 'pom.xml'),
        'dependency:copy-dependencies',
        `-DoutputDirectory=${tmp}`,
        `-Dkafka.version=${KAFKA_VERSION}`,
      ],
      { maxBuffer: 16 << 20 },
    );
  } catch (err) {
    await rm(tmp, { recursive: true, force: true });
    if (err.code === 'ENOENT')
      throw new Error('kafka: Maven (mvn) is needed to download the Kafka jars but was not found on PATH');
    throw new Error(
      `kafka: Maven could not fetch the Kafka ${KAFKA_VERSION} jars:\n${err.stdout ?? ''}${err.stderr ?? ''}`,
    );
  }
  if (existsSync(marker)) {
    await rm(tmp, { recursive: true, force: true }); // another process finished first
    return libs;
  }
  await rm(libs, { recursive: true, force: true }); // leftover of a fetch that died before writing the marker
  await rename(tmp, libs);
  await writeFile(marker, `${new Date().toISOString()}\n`);
  return libs;
}

let javaChecked;
/** Fails early with a readable message instead of a cryptic UnsupportedClassVersionError from the broker. */
function checkJava() {
  javaChecked ??= execFileAsync(JAVA, ['-version']).then(
    ({ stderr, stdout }) => {
      const text = `${stderr}${stdout}`;
      const m = /version "(\d+)(?:\.(\d+))?/.exec(text);
      // Java 8 and older report themselves as 1.x.
      const major = m ? (m[1] === '1' ? Number(m[2]) : Number(m[1])) : NaN;
      if (!(major >= MIN_JAVA)) {
        throw new Error(
          `kafka: Kafka ${KAFKA_VERSION} needs Java ${MIN_JAVA} or newer, but ${JAVA} is: ${text.split('\n')[0]}`,
        );
      }
    },
    (err) => {
      throw new Error(
        `kafka: Kafka ${KAFKA_VERSION} needs Java ${MIN_JAVA} or newer, but "${JAVA}" could not be run ` +
          `(${err.code ?? err.message}); install a JDK ${MIN_JAVA}+ or set JAVA_HOME`,
      );
    },
  );
  return javaChecked;
}

// ---------------------------------------------------------------------------------------------- state

const runDir = (name) => join(RUNS, name);
const statePath = (name) => join(runDir(name), 'state.json');

async function readState(name) {
  try {
    return JSON.parse(await readFile(statePath(name), 'utf8'));
  } catch (err) {
    if (err.code === 'ENOENT') return null;
    throw err;
  }
}

async function writeState(state) {
  // JSON.stringify drops the stop() function of a started cluster, leaving only plain data.
  await writeFile(statePath(state.name), `${JSON.stringify(state, null, 2)}\n`);
}

/**
 * True while this broker's JVM runs. On Linux its command line must name this broker's config file: a pid
 * recorded in an old state.json may since belong to an unrelated process, which must never be signalled, and a
 * zombie (a container's PID 1 may never reap orphans) has an empty command line.
 */
function isRunning(broker) {
  try {
    return readFileSync(`/proc/${broker.pid}/cmdline`, 'utf8').includes(configFile(broker));
  } catch {
    if (existsSync('/proc/self')) return false;
  }
  try {
    process.kill(broker.pid, 0); // no /proc (not Linux): existence is all we can check
    return true;
  } catch {
    return false;
  }
}

/** The recorded state of a run plus which brokers are alive, or null when there is no such run. */
export async function kafkaStatus(name = 'default') {
  const state = await readState(name);
  if (!state) return null;
  const brokers = state.brokers.map((b) => ({ ...b, alive: isRunning(b) }));
  return { ...state, brokers, running: brokers.every((b) => b.alive) };
}

// ---------------------------------------------------------------------------------------------- config

/** Free TCP ports from the OS; all are held open together so the same port is never handed out twice. */
async function freePorts(count) {
  const servers = await Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise((res, rej) => {
          const srv = createServer();
          srv.once('error', rej);
          srv.listen(0, '127.0.0.1', () => res(srv));
        }),
    ),
  );
  const ports = servers.map((s) => s.address().port);
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  return ports;
}

/**
 * 16 random bytes in URL-safe base64 without padding, like `kafka-storage random-uuid`. Like Kafka's own
 * Uuid.randomUuid() it never starts with '-': the storage tool would read such an id as an option (1 run in 64).
 */
function newClusterId() {
  for (;;) {
    const id = randomBytes(16).toString('base64url');
    if (!id.startsWith('-')) return id;
  }
}

function scramCredentials(saslScram) {
  if (!saslScram) return null;
  const creds = saslScram === true ? DEFAULT_SCRAM : saslScram;
  // These strings end up inside the storage tool's SCRAM syntax and a JAAS line; refuse what would need quoting.
  for (const [key, value] of Object.entries({ username: creds.username, password: creds.password })) {
    if (typeof value !== 'string' || !/^[\w.@+-]+$/.test(value)) {
      throw new Error(`kafka: saslScram.${key} must be a non-empty string of letters, digits and . _ @ + -`);
    }
  }
  return { mechanism: 'scram-sha-512', username: creds.username, password: creds.password };
}

function brokerProperties({ broker, voters, count, sasl, brokerPassword, extraConfig }) {
  const replication = Math.min(count, 3);
  const minIsr = count >= 3 ? 2 : 1;
  const listener = sasl ? 'SASL_PLAINTEXT' : 'PLAINTEXT';
  const props = {
    'process.roles': 'broker,controller',
    'node.id': broker.id,
    // A static voter set: every node is known up front, so formatting needs no directory ids.
    'controller.quorum.voters': voters,
    'controller.listener.names': 'CONTROLLER',
    listeners: `${listener}://127.0.0.1:${broker.port},CONTROLLER://127.0.0.1:${broker.controllerPort}`,
    'advertised.listeners': `${listener}://127.0.0.1:${broker.port}`,
    'listener.security.protocol.map': `${listener}:${listener},CONTROLLER:PLAINTEXT`,
    'inter.broker.listener.name': listener,
    'log.dirs': join(broker.dataDir, 'data'),
    // Topics are created explicitly by the code under test; a typo must fail instead of creating a topic.
    'auto.create.topics.enable': false,
    'num.partitions': 3,
    'default.replication.factor': replication,
    'min.insync.replicas': minIsr,
    'offsets.topic.replication.factor': replication,
    // Fewer partitions than the default 50 make the first consumer group join faster on a small box.
    'offsets.topic.num.partitions': 10,
    'transaction.state.log.replication.factor': replication,
    'transaction.state.log.min.isr': minIsr,
    'group.initial.rebalance.delay.ms': 0,
    'unclean.leader.election.enable': false,
  };
  if (sasl) {
    Object.assign(props, {
      'sasl.enabled.mechanisms': 'SCRAM-SHA-512',
      'sasl.mechanism.inter.broker.protocol': 'SCRAM-SHA-512',
      'listener.name.sasl_plaintext.scram-sha-512.sasl.jaas.config': `org.apache.kafka.common.security.scram.ScramLoginModule required username="${BROKER_USER}" password="${brokerPassword}";`,
    });
  }
  Object.assign(props, extraConfig);
  const lines = Object.entries(props).map(([k, v]) => `${k}=${String(v).replaceAll('\\', '\\\\')}`);
  return `${lines.join('\n')}\n`;
}

function log4jProperties(logFile) {
  return [
    'status = warn',
    'appender.file.type = File',
    'appender.file.name = file',
    `appender.file.fileName = ${logFile}`,
    'appender.file.layout.type = PatternLayout',
    'appender.file.layout.pattern = [%d] %p %m (%c)%n',
    'rootLogger.level = INFO',
    'rootLogger.appenderRef.file.ref = file',
    '',
  ].join('\n');
}

const configFile = (broker) => join(broker.dataDir, 'server.properties');
const log4jFile = (broker) => join(broker.dataDir, 'log4j2.properties');
const stdoutFile = (broker) => join(broker.dataDir, 'stdout.log');

async function formatStorage({ libs, broker, clusterId, sasl, brokerPassword }) {
  const scram = sasl
    ? [
        '--add-scram',
        `SCRAM-SHA-512=[name=${sasl.username},password=${sasl.password}]`,
        '--add-scram',
        `SCRAM-SHA-512=[name=${BROKER_USER},password=${brokerPassword}]`,
      ]
    : [];
  try {
    await execFileAsync(JAVA, [
      '-Xmx256m',
      `-Dlog4j2.configurationFile=${log4jFile(broker)}`,
      '-cp',
      join(libs, '*'),
      'kafka.tools.StorageTool',
      'format',
      '--config',
      configFile(broker),
      '--cluster-id',
      clusterId,
      ...scram,
    ]);
  } catch (err) {
    throw new Error(
      `kafka: formatting the storage of broker ${broker.id} failed:\n${err.stdout ?? ''}${err.stderr ?? err.message}`,
    );
  }
}

// ---------------------------------------------------------------------------------------------- processes

/** Starts one broker JVM in its own process group, detached, so it outlives the calling process. */
function spawnBroker(libs, broker) {
  const out = openSync(stdoutFile(broker), 'a');
  try {
    const child = spawn(
      JAVA,
      [
        ...BROKER_JVM_OPTS,
        `-Dlog4j2.configurationFile=${log4jFile(broker)}`,
        '-cp',
        join(libs, '*'),
        'kafka.Kafka',
        configFile(broker),
      ],
      { detached: true, stdio: ['ignore', out, out] },
    );
    child.once('error', () => {}); // a spawn failure is reported just below, not as an unhandled 'error' event
    if (child.pid === undefined) throw new Error(`kafka: could not start broker ${broker.id} with ${JAVA}`);
    child.unref();
    return child.pid;
  } finally {
    closeSync(out);
  }
}

/** Sends a signal to a broker's whole process group; a broker that is already gone is not an error. */
function signalGroup(broker, signal) {
  if (!isRunning(broker)) return;
  try {
    process.kill(-broker.pid, signal);
  } catch (err) {
    if (err.code !== 'ESRCH') throw err;
  }
}

async function waitForExit(broker, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  while (isRunning(broker)) {
    if (Date.now() > deadline) return false;
    await sleep(100);
  }
  return true;
}

/** SIGTERM (plus SIGCONT, since a SIGSTOPped JVM cannot act on it), then SIGKILL after the grace period. */
async function terminate(broker) {
  signalGroup(broker, 'SIGTERM');
  signalGroup(broker, 'SIGCONT');
  if (await waitForExit(broker, STOP_GRACE_MS)) return;
  signalGroup(broker, 'SIGKILL');
  await waitForExit(broker, 5_000);
}

/**
 * Real protocol check: an ApiVersions v0 request (api key 18) must get a response with our correlation id
 * and error code 0. A KRaft broker only starts processing requests once it is registered and unfenced, and
 * ApiVersions is allowed before SASL authentication, so this works for the SCRAM listener too.
 */
function probeApiVersions(port, timeoutMs = 2_000) {
  const clientId = Buffer.from('flywheel-probe');
  const correlationId = 0x464c5957;
  const req = Buffer.alloc(4 + 10 + clientId.length);
  req.writeInt32BE(req.length - 4, 0);
  req.writeInt16BE(18, 4); // api_key: ApiVersions
  req.writeInt16BE(0, 6); // api_version 0: the empty body every broker understands
  req.writeInt32BE(correlationId, 8);
  req.writeInt16BE(clientId.length, 12);
  clientId.copy(req, 14);

  return new Promise((resolvePromise) => {
    let received = Buffer.alloc(0);
    const socket = createConnection({ host: '127.0.0.1', port });
    const done = (ok) => {
      socket.destroy();
      resolvePromise(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('error', () => done(false));
    socket.once('close', () => done(false));
    socket.once('connect', () => socket.write(req));
    socket.on('data', (chunk) => {
      received = Buffer.concat([received, chunk]);
      // size (4) + correlation id (4) + error code (2) are all we need.
      if (received.length >= 10) done(received.readInt32BE(4) === correlationId && received.readInt16BE(8) === 0);
    });
  });
}

function tail(file, lines = 40) {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no output)';
  }
}

function startupError(broker, reason) {
  return new Error(
    `kafka: broker ${broker.id} ${reason}.\n` +
      `--- ${broker.logFile} (tail) ---\n${tail(broker.logFile)}\n` +
      `--- ${stdoutFile(broker)} (tail) ---\n${tail(stdoutFile(broker), 20)}`,
  );
}

async function waitUntilReady(broker, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (!isRunning(broker)) throw startupError(broker, 'exited during startup');
    if (await probeApiVersions(broker.port)) return;
    if (Date.now() > deadline)
      throw startupError(broker, `did not answer ApiVersions on port ${broker.port} within ${timeoutMs} ms`);
    await sleep(250);
  }
}

// ---------------------------------------------------------------------------------------------- API

/**
 * Starts a KRaft cluster of `brokers` nodes, each a combined broker+controller on 127.0.0.1 with free ports.
 * saslScram: true (default credentials) or { username, password } puts the client listener on
 * SASL_PLAINTEXT/SCRAM-SHA-512; the credentials are returned as `sasl` in kafkajs' shape.
 * logDir: where the broker logs go (default: inside each data dir, i.e. deleted by stopKafka).
 */
export async function startKafka({
  name = 'default',
  brokers = 1,
  saslScram = false,
  logDir,
  extraConfig = {},
  timeoutMs = 60_000,
} = {}) {
  if (!/^[\w.-]+$/.test(name)) throw new Error(`kafka: run name must be letters, digits, . _ - (got "${name}")`);
  if (!Number.isInteger(brokers) || brokers < 1)
    throw new Error(`kafka: brokers must be a positive integer (got ${brokers})`);
  const sasl = scramCredentials(saslScram);
  const [libs] = await Promise.all([ensureKafkaJars(), checkJava()]);
  await clearStaleRun(name);

  const dir = runDir(name);
  const ports = await freePorts(brokers * 2);
  const nodes = Array.from({ length: brokers }, (_, i) => {
    const id = i + 1;
    const dataDir = join(dir, `broker-${id}`);
    const logFile = logDir ? join(resolve(logDir), `${name}-broker-${id}.log`) : join(dataDir, 'logs/server.log');
    return { id, pid: 0, port: ports[2 * i], controllerPort: ports[2 * i + 1], dataDir, logFile };
  });
  const voters = nodes.map((b) => `${b.id}@127.0.0.1:${b.controllerPort}`).join(',');
  const clusterId = newClusterId();
  const brokerPassword = randomBytes(16).toString('hex');

  await Promise.all(
    nodes.map(async (broker) => {
      await mkdir(join(broker.dataDir, 'data'), { recursive: true });
      await mkdir(dirname(broker.logFile), { recursive: true });
      await writeFile(
        configFile(broker),
        brokerProperties({ broker, voters, count: brokers, sasl, brokerPassword, extraConfig }),
      );
      await writeFile(log4jFile(broker), log4jProperties(broker.logFile));
      await formatStorage({ libs, broker, clusterId, sasl, brokerPassword });
    }),
  );

  for (const broker of nodes) broker.pid = spawnBroker(libs, broker);
  const state = {
    name,
    version: KAFKA_VERSION,
    clusterId,
    bootstrapServers: nodes.map((b) => `127.0.0.1:${b.port}`).join(','),
    ...(sasl && { sasl }),
    brokers: nodes,
    startedAt: new Date().toISOString(),
  };
  // Written before waiting, so that `down` can clean up even if this process dies during startup.
  await writeState(state);

  try {
    await Promise.all(nodes.map((b) => waitUntilReady(b, timeoutMs)));
  } catch (err) {
    // Keep the folder (full logs) but no processes; the next start with this name clears it.
    await Promise.all(nodes.map(terminate));
    throw err;
  }
  return { ...state, stop: () => stopKafka(name) };
}

/** A leftover run whose processes are all gone is removed; a live one is an error rather than silently reused. */
async function clearStaleRun(name) {
  const status = await kafkaStatus(name);
  if (!status) return rm(runDir(name), { recursive: true, force: true });
  const alive = status.brokers.filter((b) => b.alive);
  if (alive.length > 0) {
    throw new Error(
      `kafka: run "${name}" is already running (pids ${alive.map((b) => b.pid).join(', ')}); ` +
        `stop it first (node infra/kafka/kafka.mjs down --name ${name})`,
    );
  }
  await rm(runDir(name), { recursive: true, force: true });
}

/** Stops every broker of a run and deletes its data. Resolves false when there was no such run. */
export async function stopKafka(name = 'default') {
  const state = await readState(name);
  if (!state) return false;
  await Promise.all(state.brokers.map(terminate));
  await rm(runDir(name), { recursive: true, force: true });
  return true;
}

function findBroker(state, id) {
  const broker = state.brokers.find((b) => b.id === id);
  if (!broker)
    throw new Error(
      `kafka: run "${state.name}" has no broker ${id} (ids: ${state.brokers.map((b) => b.id).join(', ')})`,
    );
  return broker;
}

/** Fault injection: signals one broker's process group (SIGKILL = crash, SIGSTOP/SIGCONT = pause/resume). */
export function killBroker(state, id, signal = 'SIGKILL') {
  const broker = findBroker(state, id);
  signalGroup(broker, signal);
  return broker;
}

/**
 * Starts a broker again with the same config and data dir (stopping it first if it still runs, paused or not),
 * waits until it answers, and records the new pid in `state` and in state.json.
 */
export async function restartBroker(state, id, { timeoutMs = 60_000 } = {}) {
  const broker = findBroker(state, id);
  await terminate(broker);
  broker.pid = spawnBroker(await ensureKafkaJars(), broker);
  await writeState(state);
  await waitUntilReady(broker, timeoutMs);
  return broker;
}
