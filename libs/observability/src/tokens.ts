/** Injection tokens shared by every service's module graph. */
export const METRICS_REGISTRY = Symbol('METRICS_REGISTRY');
export const ROOT_LOGGER = Symbol('ROOT_LOGGER');
