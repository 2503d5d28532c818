/** Injection tokens of stream-inference. */
export const INFERENCE_CONFIG = Symbol('INFERENCE_CONFIG');
/** The tfjs backend chosen at start-up (BackendInfo from @flywheel/ml). */
export const ML_BACKEND = Symbol('ML_BACKEND');
