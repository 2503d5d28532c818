export * from './distributions';
export * from './quality';
export * from './stats';
export * from './trigger';
