/**
 * The browser runner's server ends cleanly: a page that polls for its next job only after the search
 * has finished (a busy or loaded browser) is still told `done`, instead of finding the server closed
 * and polling a dead port (how a page could wait forever for a title that never came).
 */
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { BrowserBridge } from '../../codegen/tune/browser-bridge.ts';

/** A separate process (the bridge blocks this thread) that GETs /job after `delayMs`; what it got. */
function lateGet(url: string, delayMs: number): Promise<string> {
  const src = `setTimeout(() => fetch(${JSON.stringify(url + 'job')}).then((r) => r.text()).then((t) => process.stdout.write(t), (e) => process.stdout.write('failed: ' + e.message)), ${delayMs});`;
  return new Promise((resolve) => {
    const p = spawn(process.execPath, ['-e', src]);
    let out = '';
    p.stdout.on('data', (d) => { out += d; });
    p.on('close', () => resolve(out));
  });
}

describe('BrowserBridge', () => {
  it('tells a page that polls late that tuning is done before closing', async () => {
    const bridge = new BrowserBridge('<!doctype html>');
    const got = lateGet(bridge.url, 800);
    const t0 = Date.now();
    bridge.close(); // blocks until the late poll has been answered
    expect(Date.now() - t0).toBeGreaterThan(300);
    expect(JSON.parse(await got)).toEqual({ done: true });
  }, 30_000);

  it('gives up waiting when no page comes', () => {
    const bridge = new BrowserBridge('<!doctype html>');
    const t0 = Date.now();
    bridge.close(300);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(290);
    expect(Date.now() - t0).toBeLessThan(5000);
  });
});
