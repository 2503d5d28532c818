import { readdirSync } from 'node:fs';
import { parse, parseAllDocuments } from 'yaml';
import { readRepoFile, repoPath } from './repo';

export const K8S_DIR = 'infra/k8s';

/** The fields of Kubernetes objects these tests read; everything else stays `unknown`. */
export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  spec?: Record<string, unknown>;
  data?: Record<string, string>;
  stringData?: Record<string, string>;
}

export interface Manifest {
  file: string;
  object: K8sObject;
}

export interface Kustomization {
  namespace?: string;
  resources: string[];
  images?: Array<{ name: string; newName?: string; newTag?: string }>;
}

export interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: {
    configMapKeyRef?: { name: string; key: string };
    secretKeyRef?: { name: string; key: string };
    fieldRef?: { fieldPath: string };
  };
}

export interface HttpProbe {
  httpGet?: { path: string; port: string | number };
}

export interface Container {
  name: string;
  image: string;
  args?: string[];
  ports?: Array<{ name?: string; containerPort: number }>;
  env?: EnvVar[];
  envFrom?: Array<{ configMapRef?: { name: string }; secretRef?: { name: string } }>;
  startupProbe?: HttpProbe;
  livenessProbe?: HttpProbe;
  readinessProbe?: HttpProbe;
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  securityContext?: { allowPrivilegeEscalation?: boolean; readOnlyRootFilesystem?: boolean };
  volumeMounts?: Array<{ name: string; mountPath: string }>;
}

export interface PodTemplate {
  metadata: { labels: Record<string, string> };
  spec: {
    containers: Container[];
    securityContext?: { runAsNonRoot?: boolean };
    volumes?: Array<{ name: string; emptyDir?: unknown }>;
  };
}

export function loadKustomization(): Kustomization {
  return parse(readRepoFile(K8S_DIR, 'kustomization.yaml')) as Kustomization;
}

/** Every document of one file; a YAML error fails with the file's name. */
export function loadManifestFile(file: string): K8sObject[] {
  const docs = parseAllDocuments(readRepoFile(K8S_DIR, file), { uniqueKeys: true });
  return docs.map((doc, i) => {
    if (doc.errors.length > 0) throw new Error(`${file} document ${i + 1}: ${doc.errors[0]!.message}`);
    return doc.toJS() as K8sObject;
  });
}

/** The objects `kubectl apply -k infra/k8s` applies (the kustomization's resources). */
export function loadManifests(): Manifest[] {
  return loadKustomization().resources.flatMap((file) => loadManifestFile(file).map((object) => ({ file, object })));
}

/** YAML files in infra/k8s that are not the kustomization itself nor an example to copy. */
export function manifestFilesOnDisk(): string[] {
  return readdirSync(repoPath(K8S_DIR))
    .filter((file) => /\.ya?ml$/.test(file) && file !== 'kustomization.yaml' && !file.includes('.example.'))
    .sort();
}

export function find(manifests: Manifest[], kind: string, name: string): K8sObject | undefined {
  return manifests.find((m) => m.object.kind === kind && m.object.metadata.name === name)?.object;
}

export function podTemplateOf(object: K8sObject): PodTemplate {
  const template = (object.spec as { template?: PodTemplate } | undefined)?.template;
  if (!template) throw new Error(`${object.kind}/${object.metadata.name} has no pod template`);
  return template;
}

/** `selector` matches `labels` when every selector pair is among the labels. */
export function selects(selector: Record<string, string> | undefined, labels: Record<string, string>): boolean {
  return !!selector && Object.keys(selector).length > 0 && Object.entries(selector).every(([k, v]) => labels[k] === v);
}

/**
 * The environment a container sees: envFrom ConfigMaps first, then `env` (which wins), with ConfigMap and
 * Secret references resolved from the manifests and the Secret example, and the pod name for fieldRefs.
 * A reference to a missing ConfigMap, Secret or key throws.
 */
export function resolveEnv(
  container: Container,
  manifests: Manifest[],
  secrets: Record<string, Record<string, string>>,
  podName: string,
): Record<string, string> {
  const configMap = (name: string) => {
    const data = find(manifests, 'ConfigMap', name)?.data;
    if (!data) throw new Error(`${container.name}: ConfigMap ${name} not found`);
    return data;
  };
  const secret = (name: string) => {
    const data = secrets[name];
    if (!data) throw new Error(`${container.name}: Secret ${name} not found`);
    return data;
  };
  const env: Record<string, string> = {};
  for (const source of container.envFrom ?? []) {
    if (source.configMapRef) Object.assign(env, configMap(source.configMapRef.name));
    if (source.secretRef) Object.assign(env, secret(source.secretRef.name));
  }
  for (const variable of container.env ?? []) {
    const from = variable.valueFrom;
    let value = variable.value;
    if (from?.configMapKeyRef) value = configMap(from.configMapKeyRef.name)[from.configMapKeyRef.key];
    if (from?.secretKeyRef) value = secret(from.secretKeyRef.name)[from.secretKeyRef.key];
    if (from?.fieldRef) value = from.fieldRef.fieldPath === 'metadata.name' ? podName : undefined;
    if (value === undefined) throw new Error(`${container.name}: ${variable.name} resolves to nothing`);
    env[variable.name] = value;
  }
  return env;
}
