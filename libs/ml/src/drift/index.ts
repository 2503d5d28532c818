export * from './distributions';
export * from './stats';
export * from './trigger';
