export * from './ensure-topics';
export * from './schemas';
export * from './topic-table';
export * from './topics';
export * from './types';
