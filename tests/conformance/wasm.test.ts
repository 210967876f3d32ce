import { conformanceSuite } from './target-suite.ts';

// the scalar WebAssembly target (no SIMD): the same sweep, ~10 s
conformanceSuite('wasm');
