export * from './ir.ts';
export * from './print.ts';
export * from './parse.ts';
export * from './interp.ts';
export * from './simplify.ts';
export * from './te.ts';
export * from './vectorize.ts';
export * from './schedule.ts';
