export const MONITOR_CONFIG = Symbol('MONITOR_CONFIG');
