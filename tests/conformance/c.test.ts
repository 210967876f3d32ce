import { conformanceSuite } from './target-suite.ts';

conformanceSuite('c');
