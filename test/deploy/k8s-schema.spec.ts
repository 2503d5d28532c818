// PENDING: rename to k8s-schema.spec.ts once the devDependencies kubernetes-models@4.5.1 and
// @kubernetes-models/keda@0.4.2 are in package.json (tsc and vitest would fail on the imports before).
// Needs the devDependencies kubernetes-models and @kubernetes-models/keda (JSON schemas of the Kubernetes API
// and of KEDA's CRDs, compiled to validators; they work offline).
import { ScaledObject } from '@kubernetes-models/keda/keda.sh/v1alpha1';
import { Deployment } from 'kubernetes-models/apps/v1';
import { Job } from 'kubernetes-models/batch/v1';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { ConfigMap, Namespace, Secret, Service } from 'kubernetes-models/v1';
import { describe, expect, it } from 'vitest';
import { type K8sObject, loadManifestFile, loadManifests } from './support/k8s-manifests';

interface Model {
  validate(): void;
}
type ModelClass = new (data: never) => Model;

/** apiVersion/kind → the model that validates it; a kind missing here fails the test rather than going unchecked. */
const models: Record<string, ModelClass> = {
  'v1/Namespace': Namespace,
  'v1/ConfigMap': ConfigMap,
  'v1/Secret': Secret,
  'v1/Service': Service,
  'apps/v1/Deployment': Deployment,
  'batch/v1/Job': Job,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
  'keda.sh/v1alpha1/ScaledObject': ScaledObject,
} as unknown as Record<string, ModelClass>;

function validationError(object: K8sObject): string | undefined {
  const Model = models[`${object.apiVersion}/${object.kind}`];
  if (!Model) return `no schema for ${object.apiVersion} ${object.kind}`;
  try {
    new Model(object as never).validate();
    return undefined;
  } catch (error) {
    return (error as Error).message;
  }
}

const documents = [
  ...loadManifests(),
  ...loadManifestFile('secret.example.yaml').map((object) => ({ file: 'secret.example.yaml', object })),
];

describe('infra/k8s: Kubernetes and KEDA schemas', () => {
  it.each(documents.map((d) => [`${d.file} ${d.object.kind}/${d.object.metadata.name}`, d.object] as const))(
    '%s is valid',
    (_, object) => {
      expect(validationError(object)).toBeUndefined();
    },
  );

  it('rejects a wrong type, so the validation is real', () => {
    const deployment = structuredClone(documents.find((d) => d.object.kind === 'Deployment')!.object);
    const container = (deployment.spec as { template: { spec: { containers: Array<{ ports: unknown[] }> } } }).template
      .spec.containers[0]!;
    container.ports = [{ name: 'http', containerPort: 'eighty' }];
    expect(validationError(deployment)).toMatch(/containerPort/);
    const scaled = structuredClone(documents.find((d) => d.object.kind === 'ScaledObject')!.object);
    (scaled.spec as Record<string, unknown>).maxReplicaCount = 'six';
    expect(validationError(scaled)).toMatch(/maxReplicaCount/);
  });
});
