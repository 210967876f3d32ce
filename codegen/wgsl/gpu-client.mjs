/**
 * Client side of gpu-child.mjs: matches replies by id, restarts the child after a crash.
 * The first request chooses the driver: it starts a child with each environment of gpuAttempts() in
 * turn (system drivers, then SwiftShader) until one has a usable adapter, and keeps that environment.
 */
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { gpuAttempts, NO_ADAPTER_HELP } from './node-gpu.mjs';

const PROBE_TIMEOUT_MS = 180_000;

/** Dawn's own words from a child's stderr (its warnings say why an adapter was refused). */
function dawnSays(stderr) {
  const lines = stderr.split('\n').map((l) => l.trim().replace(/^Warning: /, '')).filter((l) => l && !/XDG_RUNTIME_DIR|^at |^-/.test(l));
  return [...new Set(lines)].slice(-2).join(' | ');
}

export class GpuChild {
  /** attempts: the environments to try (default gpuAttempts()). */
  constructor(attempts) {
    this.attempts = attempts;
    this.proc = undefined;
    this.chosen = undefined; // { attempt, passedOver }
    this.failed = undefined; // the error message when no attempt had a usable adapter
    this.starting = undefined;
    this.next = 1;
    this.waiting = new Map();
  }

  spawn(env) {
    const proc = fork(fileURLToPath(new URL('./gpu-child.mjs', import.meta.url)), [], {
      env, serialization: 'advanced', stdio: ['ignore', 'ignore', 'pipe', 'ipc'], execArgv: [],
    });
    proc.stderrText = '';
    proc.stderr.on('data', (d) => { proc.stderrText = (proc.stderrText + d).slice(-4000); });
    // 'close' does not always come for a forked child: wait for its exit and the end of its stderr
    proc.exited = Promise.all([new Promise((r) => proc.on('exit', r)), new Promise((r) => proc.stderr.on('close', r))]);
    proc.on('message', (m) => {
      const w = this.waiting.get(m.id);
      if (w) { this.waiting.delete(m.id); w.resolve(m); }
    });
    const fail = (why) => {
      if (this.proc === proc) this.proc = undefined;
      for (const [id, w] of this.waiting) if (w.proc === proc) { this.waiting.delete(id); w.resolve({ ok: false, message: why }); }
    };
    proc.on('exit', (code, sig) => {
      const err = proc.stderrText.trim();
      fail(`the WebGPU process exited (${sig ?? code})${err ? `: ${err.split('\n').slice(-3).join(' | ')}` : ''}`);
    });
    proc.on('error', (e) => fail(`the WebGPU process failed: ${e.message}`));
    return proc;
  }

  send(proc, msg, timeoutMs) {
    const id = this.next++;
    proc.ref();
    proc.channel?.ref?.();
    return new Promise((resolve) => {
      let timer;
      if (timeoutMs) timer = setTimeout(() => { this.waiting.delete(id); proc.kill('SIGKILL'); resolve({ ok: false, message: `no answer within ${timeoutMs / 1000} s` }); }, timeoutMs);
      this.waiting.set(id, { proc, resolve: (m) => { clearTimeout(timer); resolve(m); } });
      proc.send({ ...msg, id });
    }).finally(() => {
      if (![...this.waiting.values()].some((w) => w.proc === proc)) { proc.unref(); proc.channel?.unref?.(); }
    });
  }

  /** Try each environment until a child has a usable adapter; remember it (or the failure). */
  async choose() {
    const passed = [];
    for (const a of this.attempts ?? gpuAttempts()) {
      const proc = this.spawn(a.env);
      const r = await this.send(proc, { op: 'adapter' }, PROBE_TIMEOUT_MS);
      if (r.ok) {
        this.chosen = { attempt: a, passedOver: passed.join('; ') };
        return proc;
      }
      proc.ref(); // keep this process alive until the child is gone
      if (proc.connected) proc.disconnect();
      await proc.exited;
      const dawn = dawnSays(proc.stderrText);
      const msg = r.message === NO_ADAPTER_HELP ? 'no adapter that Dawn accepts' : r.message;
      passed.push(`${a.label}: ${msg}${dawn ? ` (Dawn: ${dawn})` : ''}`);
    }
    this.failed = `${NO_ADAPTER_HELP}. Tried: ${passed.join('; ')}`;
    throw new Error(this.failed);
  }

  /** The running child with a usable adapter (started, or chosen, on first use). */
  ready() {
    if (this.proc) return Promise.resolve(this.proc);
    if (this.failed) return Promise.reject(new Error(this.failed));
    this.starting ??= (this.chosen ? Promise.resolve(this.spawn(this.chosen.attempt.env)) : this.choose())
      .then((p) => { this.proc = p; p.unref(); p.channel?.unref?.(); return p; })
      .finally(() => { this.starting = undefined; });
    return this.starting;
  }

  async request(msg) {
    let proc;
    try {
      proc = await this.ready();
    } catch (e) {
      return { ok: false, message: e.message };
    }
    const r = await this.send(proc, msg);
    if (r.adapter) r.adapter = { ...r.adapter, via: this.chosen.attempt.label, ...(this.chosen.passedOver ? { passedOver: this.chosen.passedOver } : {}) };
    return r;
  }

  close() {
    if (this.proc?.connected) this.proc.disconnect();
    this.proc = undefined;
  }
}
