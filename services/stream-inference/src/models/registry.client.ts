// Moved to libs/ml (batch-scorer resolves and downloads versions the same way); kept as the local name.
export { type ModelVersionRef, RegistryClient, type RegistryClientOptions, RegistryError } from '@flywheel/ml';
