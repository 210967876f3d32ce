/**
 * The one rule deciding whether the WebGPU tests run (tests/wgsl/*, tests/conformance/wgsl.test.ts):
 * they run when the system has a usable WebGPU adapter or chromium's SwiftShader is installed (aic falls
 * back to it by itself); they skip, with the reason, only when neither. With SwiftShader installed, no
 * adapter is a failure (aic's fallback is broken), never a silent skip.
 */
import * as fs from 'node:fs';
import { describeAdapter, SWIFTSHADER_ICD, wgslAdapter } from '../codegen/wgsl/index.ts';

/** The decision alone: undefined (run) or the reason to skip; throws when the tests must run but cannot. */
export function webgpuDecision(adapter: string | undefined, error: string | undefined, swiftshader: boolean): string | undefined {
  if (adapter !== undefined) return undefined;
  if (swiftshader) throw new Error(`chromium's SwiftShader is installed (${SWIFTSHADER_ICD}) but aic found no WebGPU adapter: ${error}`);
  return `SKIPPED: no WebGPU adapter here and no SwiftShader to fall back to (apt-get install chromium): ${error}`;
}

let decided: Promise<string | undefined> | undefined;

/** Ask aic's WebGPU process for its adapter (logged) and apply the rule; once per test file. */
export function webgpuSkipReason(): Promise<string | undefined> {
  decided ??= wgslAdapter().then(
    (a) => { console.log(`WebGPU adapter: ${describeAdapter(a)}`); return webgpuDecision(describeAdapter(a), undefined, false); },
    (e: Error) => {
      const why = webgpuDecision(undefined, e.message, fs.existsSync(SWIFTSHADER_ICD));
      console.warn(why);
      return why;
    });
  return decided;
}
