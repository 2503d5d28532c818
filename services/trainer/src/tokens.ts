/** Injection tokens of the trainer. */
export const TRAINER_CONFIG = Symbol('TRAINER_CONFIG');
/** Read-only pg Pool on the feature store's database (schema `features`). */
export const FEATURES_POOL = Symbol('FEATURES_POOL');
export const TRAINER = Symbol('TRAINER');
