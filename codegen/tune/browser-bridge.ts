/**
 * The browser runner's server: node:http on 127.0.0.1 (an ephemeral port) in a worker thread, so the
 * search can stay synchronous (the TuneRunner interface): `call(job)` hands a job to the worker and
 * blocks on an Atomics flag until the page that opened the URL has run it and POSTed the result.
 * Routes: GET / (the page), GET /job (long poll: the next job as JSON, or {done:true}), POST /result.
 * The worker is plain JavaScript (eval) so it runs the same under tsx, vitest and a bundled CLI.
 */
import { diag } from '@aic/core';
import { MessageChannel, Worker, receiveMessageOnPort, type MessagePort } from 'node:worker_threads';

const WORKER = `
const http = require('node:http');
const { workerData } = require('node:worker_threads');
const { port, flag, page } = workerData;
let job = null, waiting = [];
const answer = (m) => { port.postMessage(m); Atomics.store(flag, 0, 1); Atomics.notify(flag, 0); };
// cross-origin isolated: performance.now() to 5 µs instead of 100 µs
const ISOLATED = { 'cross-origin-opener-policy': 'same-origin', 'cross-origin-embedder-policy': 'require-corp' };
const send = (res) => { res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store', ...ISOLATED }); res.end(job); };
// done: the server closes only once a page has been told (or the process gives up waiting), and says so;
// closing at once would race the page's next poll and leave it polling a dead server
const shut = () => { server.close(); server.closeAllConnections?.(); answer(JSON.stringify({ closed: true })); port.close(); };
const told = (res) => { send(res); res.on('finish', () => setTimeout(shut, 50)); };
port.on('message', (m) => {
  job = m;
  const w = waiting; waiting = [];
  if (JSON.parse(m).done) { if (w.length) w.forEach(told); } else w.forEach(send);
});
const server = http.createServer((req, res) => {
  if (req.method === 'GET' && (req.url === '/' || req.url === '/index.html')) { res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', ...ISOLATED }); res.end(page); return; }
  if (req.method === 'GET' && req.url === '/job') { if (!job) waiting.push(res); else if (JSON.parse(job).done) told(res); else send(res); return; }
  if (req.method === 'POST' && req.url === '/result') {
    const parts = [];
    req.on('data', (d) => parts.push(d));
    req.on('end', () => {
      const body = Buffer.concat(parts).toString('utf8');
      let id;
      try { id = JSON.parse(body).id; } catch { id = undefined; }
      // a second tab, or a reload, may answer a job already answered: only the pending job's answer counts
      if (!job || id !== JSON.parse(job).id) { res.writeHead(409); res.end(); return; }
      res.writeHead(204); res.end(); job = null; answer(body);
    });
    return;
  }
  res.writeHead(404); res.end();
});
server.listen(0, '127.0.0.1', () => answer(JSON.stringify({ port: server.address().port })));
`;

export class BrowserBridge {
  readonly url: string;
  private readonly worker: Worker;
  private readonly port: MessagePort;
  private readonly flag = new Int32Array(new SharedArrayBuffer(4));
  private next = 1;

  constructor(page: string) {
    const { port1, port2 } = new MessageChannel();
    this.port = port1;
    this.worker = new Worker(WORKER, { eval: true, workerData: { port: port2, flag: this.flag, page }, transferList: [port2] });
    this.worker.unref();
    this.url = `http://127.0.0.1:${(this.wait() as { port: number }).port}/`;
  }

  /** Run a job in the page; blocks until it answers. The answer's `error` is thrown. */
  call(job: object): Record<string, unknown> {
    const id = this.next++;
    this.port.postMessage(JSON.stringify({ ...job, id }));
    const r = this.wait() as Record<string, unknown>;
    if (r.id !== id) throw diag.runtime('browser', `answer ${String(r.id)} to job ${id}`);
    if (typeof r.error === 'string') throw diag.runtime('browser', r.error);
    return r;
  }

  /** Tell the page to stop, and close the server once it has been told (waits at most `graceMs`). */
  close(graceMs = 10_000): void {
    this.port.postMessage(JSON.stringify({ done: true }));
    this.wait(graceMs);
  }

  /** The worker's next message; undefined after `ms` without one. */
  private wait(ms = Infinity): unknown {
    const end = Date.now() + ms;
    for (;;) {
      const m = receiveMessageOnPort(this.port);
      if (m) return JSON.parse(m.message as string);
      const left = end - Date.now();
      if (left <= 0) return undefined;
      Atomics.wait(this.flag, 0, 0, Math.min(1000, left));
      Atomics.store(this.flag, 0, 0);
    }
  }
}
