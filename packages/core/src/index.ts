export * from './dtype.ts';
export * from './tensor.ts';
export * from './shape.ts';
export * from './diagnostics.ts';
export * from './graph.ts';
export * from './verify.ts';
export * from './npy.ts';
export * from './files.ts';
