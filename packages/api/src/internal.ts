/** What aic's own command line and tools use: the API's building blocks, typed with the internal IR. */
export * from './load.ts';
export * from './optimize.ts';
export * from './compile.ts';
export * from './run.ts';
export * from './inspect.ts';
export * from './targets.ts';
export * from './tensors.ts';
export * from './tune.ts';
export * from './symbolic.ts';
