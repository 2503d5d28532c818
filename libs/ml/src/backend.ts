import { dirname, join } from 'node:path';
import * as tf from '@tensorflow/tfjs';

/** Which tfjs backend to run on. 'auto': tfjs-node when it can be required, else wasm. */
export type BackendPreference = 'auto' | 'tensorflow' | 'wasm' | 'cpu';

export interface BackendInfo {
  /** tfjs backend name in use: 'tensorflow' (tfjs-node), 'wasm' or 'cpu'. */
  name: string;
  /** Why this one (for the start-up log line). */
  detail: string;
}

let selected: Promise<BackendInfo> | undefined;

/**
 * Chooses the tfjs backend once per process: `@tensorflow/tfjs-node` (native TensorFlow, an optional
 * dependency present in Docker images) when it can be required, else `@tensorflow/tfjs-backend-wasm`
 * (installs from npm alone, no native build). Same model files either way. Later calls return the first
 * choice: a process never mixes backends, so a model loaded before is never orphaned.
 */
export function initBackend(preference: BackendPreference = 'auto'): Promise<BackendInfo> {
  selected ??= choose(preference);
  return selected;
}

/** The backend chosen by initBackend (throws before it resolved). */
export function currentBackend(): string {
  return tf.getBackend();
}

async function choose(preference: BackendPreference): Promise<BackendInfo> {
  if (preference === 'auto' || preference === 'tensorflow') {
    const node = tryRequire('@tensorflow/tfjs-node');
    if (node.ok && (await tf.setBackend('tensorflow'))) {
      await tf.ready();
      return { name: tf.getBackend(), detail: '@tensorflow/tfjs-node (native TensorFlow)' };
    }
    if (preference === 'tensorflow') {
      const reason = node.ok ? 'its backend did not initialise' : node.reason;
      throw new Error(`ML backend 'tensorflow' requested but @tensorflow/tfjs-node is not usable: ${reason}`);
    }
  }
  if (preference === 'auto' || preference === 'wasm') {
    const wasm = await import('@tensorflow/tfjs-backend-wasm');
    // In Node the .wasm binaries are read from disk; point the loader at the package's dist/ folder.
    const dist = join(dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist');
    wasm.setWasmPaths(`${dist}/`);
    if (await tf.setBackend('wasm')) {
      await tf.ready();
      return { name: tf.getBackend(), detail: '@tensorflow/tfjs-backend-wasm (@tensorflow/tfjs-node not installed)' };
    }
    if (preference === 'wasm') throw new Error("ML backend 'wasm' requested but it failed to initialise");
  }
  if (!(await tf.setBackend('cpu'))) throw new Error('no tfjs backend could be initialised');
  await tf.ready();
  return { name: tf.getBackend(), detail: '@tensorflow/tfjs pure-JS cpu backend' };
}

function tryRequire(name: string): { ok: true } | { ok: false; reason: string } {
  try {
    // A variable module name keeps bundlers and tsc from insisting the optional package exists.
    const id = name;
    require(id);
    return { ok: true };
  } catch (error) {
    return { ok: false, reason: error instanceof Error ? error.message.split('\n')[0] : String(error) };
  }
}
