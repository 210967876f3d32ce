export * from './load.ts';
export * from './tensor-proto.ts';
export { onnx } from './proto.ts';
export * from './export.ts';
