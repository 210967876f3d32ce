/** Client side of gpu-child.mjs: starts the child lazily (restarts it after a crash), matches replies by id. */
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { gpuChildEnv } from './node-gpu.mjs';

export class GpuChild {
  constructor() { this.proc = undefined; this.next = 1; this.waiting = new Map(); }

  start() {
    if (this.proc) return this.proc;
    const proc = fork(fileURLToPath(new URL('./gpu-child.mjs', import.meta.url)), [], {
      env: gpuChildEnv(), serialization: 'advanced', stdio: ['ignore', 'ignore', 'pipe', 'ipc'], execArgv: [],
    });
    let stderr = '';
    proc.stderr.on('data', (d) => { stderr = (stderr + d).slice(-4000); });
    proc.on('message', (m) => {
      const w = this.waiting.get(m.id);
      if (w) { this.waiting.delete(m.id); w.resolve(m); }
    });
    proc.on('exit', (code, sig) => {
      this.proc = undefined;
      const why = `the WebGPU process exited (${sig ?? code})${stderr.trim() ? `: ${stderr.trim().split('\n').slice(-3).join(' | ')}` : ''}`;
      for (const w of this.waiting.values()) w.resolve({ ok: false, message: why });
      this.waiting.clear();
    });
    proc.unref();
    proc.channel?.unref?.();
    this.proc = proc;
    return proc;
  }

  request(msg) {
    const proc = this.start();
    const id = this.next++;
    return new Promise((resolve) => {
      this.waiting.set(id, { resolve });
      proc.ref();
      proc.channel?.ref?.();
      proc.send({ ...msg, id });
    }).finally(() => {
      if (this.waiting.size === 0 && this.proc) { this.proc.unref(); this.proc.channel?.unref?.(); }
    });
  }

  close() { this.proc?.disconnect(); this.proc = undefined; }
}
