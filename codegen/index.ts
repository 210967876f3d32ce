export * from './targets.ts';
export * from './lower/program.ts';
export * from './lower/dtypes.ts';
export * from './lower/run-program.ts';
export * from './c/render.ts';
export * from './c/build.ts';
export * from './caps.ts';
export * from './compile-graph.ts';
