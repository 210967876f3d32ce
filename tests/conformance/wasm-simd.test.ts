import { conformanceSuite } from './target-suite.ts';

conformanceSuite('wasm-simd');
