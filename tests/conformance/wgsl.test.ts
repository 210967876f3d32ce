import { afterAll } from 'vitest';
import { closeWgsl } from '../../codegen/wgsl/index.ts';
import { webgpuSkipReason } from '../webgpu.ts';
import { conformanceSuite } from './target-suite.ts';

afterAll(() => closeWgsl());
conformanceSuite('wgsl', 'node', webgpuSkipReason);
