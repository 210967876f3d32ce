export * from './targets.ts';
