/**
 * Which WebGPU adapter aic uses (issue 9): the environments it tries (system drivers, then chromium's
 * SwiftShader), the fallback when an attempt has no adapter Dawn accepts or its process dies (as with
 * Mesa's lavapipe from mesa-vulkan-drivers), the error when nothing works, and the test-skip rule.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseNpy } from '@aic/core';
import { closeWgsl } from '../../codegen/wgsl/index.ts';
import { GpuChild } from '../../codegen/wgsl/gpu-client.mjs';
import { describeAdapter, gpuAttempts, NO_ADAPTER_HELP, SWIFTSHADER_ICD, type GpuAttempt } from '../../codegen/wgsl/node-gpu.mjs';
import { webgpuDecision, webgpuSkipReason } from '../webgpu.ts';

const SYS = '/usr/lib/x86_64-linux-gnu/libvulkan.so.1';
const having = (...files: string[]) => ({ platform: 'linux', exists: (p: string) => files.includes(p) });

describe('gpuAttempts: the environments tried, in order', () => {
  it('system loader + SwiftShader: the system first, then SwiftShader through the system loader', () => {
    const a = gpuAttempts({ PATH: '/bin' }, having(SYS, SWIFTSHADER_ICD, '/usr/lib/chromium/libvulkan.so.1'));
    expect(a.map((x) => x.name)).toEqual(['system', 'swiftshader']);
    expect(a[0].env).toEqual({ PATH: '/bin' });
    expect(a[1].env).toEqual({ PATH: '/bin', VK_ICD_FILENAMES: SWIFTSHADER_ICD, VK_DRIVER_FILES: SWIFTSHADER_ICD });
  });

  it('no system loader (no libvulkan1): only SwiftShader, with chromium\'s loader on LD_LIBRARY_PATH', () => {
    const a = gpuAttempts({ LD_LIBRARY_PATH: '/opt/x' }, having(SWIFTSHADER_ICD, '/usr/lib/chromium/libvulkan.so.1'));
    expect(a.map((x) => x.name)).toEqual(['swiftshader']);
    expect(a[0].env.LD_LIBRARY_PATH).toBe('/usr/lib/chromium:/opt/x');
    expect(a[0].env.VK_ICD_FILENAMES).toBe(SWIFTSHADER_ICD);
  });

  it('AIC_WEBGPU_SYSTEM_VULKAN=0 acts as if there were no system loader; AIC_WEBGPU_SOFTWARE=1 skips the system', () => {
    const files = having(SYS, SWIFTSHADER_ICD, '/usr/lib/chromium/libvulkan.so.1');
    const hidden = gpuAttempts({ AIC_WEBGPU_SYSTEM_VULKAN: '0' }, files);
    expect(hidden.map((x) => [x.name, x.env.LD_LIBRARY_PATH])).toEqual([['swiftshader', '/usr/lib/chromium']]);
    const soft = gpuAttempts({ AIC_WEBGPU_SOFTWARE: '1' }, files);
    expect(soft.map((x) => [x.name, x.env.LD_LIBRARY_PATH])).toEqual([['swiftshader', undefined]]);
  });

  it('a driver chosen by the user (VK_ICD_FILENAMES / VK_DRIVER_FILES) is the only attempt', () => {
    for (const k of ['VK_ICD_FILENAMES', 'VK_DRIVER_FILES']) {
      const a = gpuAttempts({ [k]: '/x/icd.json' }, having(SYS, SWIFTSHADER_ICD));
      expect(a.map((x) => x.name)).toEqual(['user']);
      expect(a[0].env[k]).toBe('/x/icd.json');
      expect(a[0].label).toContain(k);
    }
  });

  it('without SwiftShader: the system alone (also without any loader, to get the help text); other platforms: the system', () => {
    expect(gpuAttempts({}, having(SYS)).map((x) => x.name)).toEqual(['system']);
    expect(gpuAttempts({}, having()).map((x) => x.name)).toEqual(['system']);
    expect(gpuAttempts({}, { platform: 'darwin', exists: () => false }).map((x) => x.name)).toEqual(['system']);
  });
});

describe('the test rule (tests/webgpu.ts)', () => {
  it('runs with an adapter; with SwiftShader installed no adapter fails; without it, skips with the reason', () => {
    expect(webgpuDecision('google swiftshader', undefined, true)).toBeUndefined();
    expect(webgpuDecision('nvidia ampere', undefined, false)).toBeUndefined();
    expect(() => webgpuDecision(undefined, 'no adapter', true)).toThrow(/SwiftShader is installed .* no WebGPU adapter: no adapter/);
    expect(webgpuDecision(undefined, 'no adapter', false)).toMatch(/^SKIPPED: .*apt-get install chromium.*no adapter$/);
  });
});

describe('describeAdapter', () => {
  it('names the adapter, the attempt that found it and the ones passed over', () => {
    expect(describeAdapter({ vendor: 'google', architecture: 'swiftshader', description: 'SwiftShader driver 5.0.0', software: true, via: "chromium's SwiftShader", passedOver: 'x: no adapter' }))
      .toBe("google swiftshader (SwiftShader driver 5.0.0) via chromium's SwiftShader; passed over: x: no adapter");
  });
});

// real processes: an attempt that finds no adapter, one whose process dies, then SwiftShader
const noDriver: GpuAttempt = { name: 'system', label: 'a driver list with no driver', env: { ...process.env, VK_ICD_FILENAMES: '/nonexistent/icd.json', VK_DRIVER_FILES: '/nonexistent/icd.json' } };
const dies: GpuAttempt = { name: 'system', label: 'a process that dies', env: { ...process.env, NODE_OPTIONS: '--require /nonexistent/preload.cjs' } };
const swiftshader = gpuAttempts().filter((a) => a.name === 'swiftshader');
const children: GpuChild[] = [];
afterAll(() => { for (const c of children) c.close(); closeWgsl(); });

describe('GpuChild falls back to the next attempt', () => {
  it('no attempt usable: one error with the help text and every attempt\'s reason', async () => {
    const c = new GpuChild([noDriver, dies]);
    children.push(c);
    const r = await c.request({ op: 'adapter' });
    expect(r.ok).toBe(false);
    expect(r.message).toContain(NO_ADAPTER_HELP);
    expect(r.message).toMatch(/Tried: a driver list with no driver: no adapter that Dawn accepts.*; a process that dies: the WebGPU process exited \(1\)/);
    // the failure is remembered: a second request answers at once, the same way
    const r2 = await c.request({ op: 'info', wgsl: '' });
    expect(r2.message).toBe(r.message);
  }, 120_000);

  it('an attempt without an adapter, then one that dies, then SwiftShader, which serves requests', async (ctx) => {
    if (!fs.existsSync(SWIFTSHADER_ICD)) return ctx.skip(`SKIPPED: ${SWIFTSHADER_ICD} not found (apt-get install chromium)`);
    expect(swiftshader.length).toBe(1);
    const c = new GpuChild([noDriver, dies, ...swiftshader]);
    children.push(c);
    const r = await c.request({ op: 'adapter' });
    expect(r.message).toBeUndefined();
    expect(r.adapter!.architecture).toBe('swiftshader');
    expect(r.adapter!.software).toBe(true);
    expect(r.adapter!.via).toBe(swiftshader[0].label);
    expect(r.adapter!.passedOver).toMatch(/^a driver list with no driver: no adapter that Dawn accepts.*; a process that dies: the WebGPU process exited \(1\)/);
    const info = await c.request({ op: 'info', wgsl: '@compute @workgroup_size(1) fn main() {}' });
    expect(info.ok).toBe(true);
    expect(info.messages).toEqual([]);
  }, 300_000);

  it('a machine without libvulkan1 (AIC_WEBGPU_SYSTEM_VULKAN=0): SwiftShader through chromium\'s own Vulkan loader', async (ctx) => {
    if (!fs.existsSync('/usr/lib/chromium/libvulkan.so.1')) return ctx.skip('SKIPPED: chromium\'s libvulkan.so.1 not found (apt-get install chromium)');
    const attempts = gpuAttempts({ ...process.env, AIC_WEBGPU_SYSTEM_VULKAN: '0' });
    expect(attempts.map((a) => [a.name, a.env.LD_LIBRARY_PATH?.split(':')[0]])).toEqual([['swiftshader', '/usr/lib/chromium']]);
    const c = new GpuChild(attempts);
    children.push(c);
    const r = await c.request({ op: 'adapter' });
    expect(r.message).toBeUndefined();
    expect(r.adapter!.architecture).toBe('swiftshader');
    expect(r.adapter!.passedOver).toBeUndefined();
  }, 300_000);
});

describe('aic run --target wgsl --verbose', () => {
  it('names the adapter that ran and the attempt that found it; the outputs match PyTorch', async (ctx) => {
    const skip = await webgpuSkipReason();
    if (skip) return ctx.skip(skip);
    const root = path.resolve(import.meta.dirname, '../..');
    const fix = path.join(root, 'tests/fixtures/models');
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'aic-wgsl-adapter-'));
    try {
      const r = spawnSync(process.execPath, [path.join(root, 'bin/aic'), 'run', path.join(fix, 'small_cnn.onnx'), '--target', 'wgsl', '--input', path.join(fix, 'small_cnn.input.npy'), '--output-dir', out, '--verbose'],
        { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
      expect(r.status, r.stderr).toBe(0);
      const note = r.stderr.split('\n').find((l) => l.startsWith('note: WebGPU adapter: '));
      expect(note, r.stderr).toMatch(/^note: WebGPU adapter: \S.* via (the system's GPU drivers|chromium's SwiftShader|the Vulkan driver named by VK_\w+)/);
      const got = parseNpy(new Uint8Array(fs.readFileSync(path.join(out, 'output.npy')))).num as ArrayLike<number>;
      const want = parseNpy(new Uint8Array(fs.readFileSync(path.join(fix, 'small_cnn.output.npy')))).num as ArrayLike<number>;
      expect(got.length).toBe(want.length);
      for (let i = 0; i < want.length; i++) expect(Math.abs(got[i] - want[i])).toBeLessThanOrEqual(1e-3 + 1e-3 * Math.abs(want[i]));
    } finally {
      fs.rmSync(out, { recursive: true, force: true });
    }
  }, 300_000);
});
