#!/usr/bin/python3
"""Benchmark (report, never gate): one SGD step of small_cnn compiled to wasm-simd against PyTorch CPU.

Compiles `aic train-step` for small_cnn with `aic compile --target wasm-simd`, then alternates, ROUNDS
times: node runs STEPS steps through the generated loader twice, interleaved in one process: `copy`
(runSync, every <param>_next copied out and fed back in, as step() did before the in-place update) and
`in place` (step(): the parameters stay in module memory, <param>_next written over <param>); and torch
(1 thread) runs STEPS steps of forward, backward and torch.optim.SGD on the same data. Each side times
its own loop (process start-up excluded); the medians per step and their ratios are printed.
Usage: scripts/bench-train-step.py [--steps 50] [--rounds 5] [--model small_cnn|mlp [--width 1024]] [--target wasm-simd|c]
--target c compiles the step to C and times it with a C driver: own output buffers copied back over the
parameters after each step, against the outputs given the parameters' buffers (aic_model_output_in_place).   (run with /usr/bin/python3)
"""
import argparse, importlib.util, json, os, statistics, subprocess, sys, tempfile, time
import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location('gvt', os.path.join(HERE, 'grad-vs-torch.py'))
gvt = importlib.util.module_from_spec(spec); spec.loader.exec_module(gvt)

NODE_LOOP = r"""
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
const [dir, paramsDir, xFile, steps, rounds] = process.argv.slice(2);
const npy = (f) => { const b = readFileSync(f); const h = b.readUInt16LE(8); const body = new Uint8Array(b.subarray(10 + h)).buffer;
  return /'descr':\s*'<i8'/.test(b.subarray(10, 10 + h).toString('latin1')) ? new BigInt64Array(body) : new Float32Array(body); };
const mod = await import(pathToFileURL(dir + '/model.mjs').href);
const data = { input: npy(xFile), labels: new BigInt64Array([3n]) };
const a = await mod.load(), b = await mod.load();
const names = a.inputs.map((x) => x.name).filter((n) => n !== 'input' && n !== 'labels');
const init = {};
for (const n of names) init[n] = npy(paramsDir + '/' + n.replace(/[^A-Za-z0-9._-]/g, '_') + '.npy');
// copy: runSync with every parameter fed and every <param>_next copied out (step() before the in-place update)
const feeds = { ...data, ...init };
const copy = () => { const out = a.runSync(feeds); for (const n of names) feeds[n] = out[n + '_next']; return out.loss[0]; };
// in place: step() keeps the parameters in module memory
b.step({ ...data, ...init });
const inPlace = () => b.step(data).loss[0];
const time = (f) => { for (let i = 0; i < 3; i++) f(); const t0 = performance.now(); for (let i = 0; i < Number(steps); i++) f(); return (performance.now() - t0) / Number(steps); };
const r = { copy: [], inPlace: [] };
for (let k = 0; k < Number(rounds); k++) {
  if (k % 2) { r.inPlace.push(time(inPlace)); r.copy.push(time(copy)); } else { r.copy.push(time(copy)); r.inPlace.push(time(inPlace)); }
}
console.log(JSON.stringify(r));
"""


C_LOOP = r"""
#include "model.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec * 1e3 + t.tv_nsec / 1e6; }
static size_t esize(const char *d) { return !strcmp(d, "float64") || !strcmp(d, "int64") ? 8 : !strcmp(d, "float32") || !strcmp(d, "int32") ? 4 : 1; }
static size_t bytes(int rank, const int64_t *shape, const char *d) { size_t n = esize(d); for (int i = 0; i < rank; i++) n *= (size_t)shape[i]; return n; }
/* usage: loop WEIGHTS DATA_DIR STEPS ROUNDS; DATA_DIR/<k>.bin holds input k */
int main(int argc, char **argv) {
  int steps = atoi(argv[3]), rounds = atoi(argv[4]);
  if (aic_model_init(argv[1])) return 3;
  void *in[2][AIC_MODEL_NUM_INPUTS], *out[2][AIC_MODEL_NUM_OUTPUTS];
  for (int m = 0; m < 2; m++) {
    for (int k = 0; k < AIC_MODEL_NUM_INPUTS; k++) {
      size_t n = bytes(aic_model_input_ranks[k], aic_model_input_shapes[k], aic_model_input_dtypes[k]);
      char path[4096]; snprintf(path, sizeof path, "%s/%d.bin", argv[2], k);
      FILE *f = fopen(path, "rb"); in[m][k] = malloc(n ? n : 1);
      if (!f || fread(in[m][k], 1, n, f) != n) return 2;
      fclose(f);
    }
    for (int o = 0; o < AIC_MODEL_NUM_OUTPUTS; o++) {
      int k = aic_model_output_in_place[o];
      /* m 0: copy (own buffers, <X>_next copied back over X after the step); m 1: in place */
      out[m][o] = m == 1 && k >= 0 ? in[m][k] : malloc(bytes(aic_model_output_ranks[o], aic_model_output_shapes[o], aic_model_output_dtypes[o]) + 1);
    }
  }
  for (int r = 0; r < rounds; r++) {
    double ms[2];
    for (int j = 0; j < 2; j++) {
      int m = (r + j) % 2;
      double t0 = now();
      for (int s = 0; s < steps; s++) {
        if (aic_model_run((const void *const *)in[m], out[m])) return 4;
        if (m == 0) for (int o = 0; o < AIC_MODEL_NUM_OUTPUTS; o++) {
          int k = aic_model_output_in_place[o];
          if (k >= 0) memcpy(in[0][k], out[0][o], bytes(aic_model_output_ranks[o], aic_model_output_shapes[o], aic_model_output_dtypes[o]));
        }
      }
      ms[m] = (now() - t0) / steps;
    }
    printf("%s{\"copy\": %.6f, \"inPlace\": %.6f}", r ? "," : "[", ms[0], ms[1]);
  }
  printf("]\n");
  return 0;
}
"""
CFLAGS = ['-O3', '-march=native', '-ffp-contract=fast', '-fno-tree-loop-if-convert']


def c_rounds(tmp, step, steps, rounds):
    """the step compiled to C, timed by C_LOOP: copy vs in place, alternating, one process"""
    import onnx
    gvt.aic('compile', step, '--target', 'c', '-o', os.path.join(tmp, 'c'))
    names = [i.name for i in onnx.load(step).graph.input]
    data = os.path.join(tmp, 'cdata')
    os.makedirs(data, exist_ok=True)
    params = os.path.join(tmp, 'step.params')
    for k, n in enumerate(names):
        f = os.path.join(params, ''.join(c if c.isalnum() or c in '._-' else '_' for c in n) + '.npy')
        v = np.load(f) if os.path.exists(f) else np.load(os.path.join(tmp, 'x.npy')) if n == 'input' else np.array([3], np.int64)
        v.tofile(os.path.join(data, f'{k}.bin'))
    open(os.path.join(tmp, 'c', 'loop.c'), 'w').write(C_LOOP)
    exe = os.path.join(tmp, 'c', 'loop')
    subprocess.run(['cc', *CFLAGS, '-o', exe, os.path.join(tmp, 'c', 'model.c'), os.path.join(tmp, 'c', 'loop.c'), '-lm'], check=True, capture_output=True)
    r = subprocess.run([exe, os.path.join(tmp, 'c', 'model.weights'), data, str(steps), str(rounds)], capture_output=True, text=True, check=True)
    return json.loads(r.stdout)


def mlp(width):
    """a parameter-heavy model (the copies matter): Linear(width, width), ReLU, Linear(width, 10), seeded"""
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(width, width), torch.nn.ReLU(), torch.nn.Linear(width, 10)).eval()


def export(model, x, path):
    """the model as ONNX (initializers named as torch's parameters), with onnx.helper"""
    import onnx
    from onnx import helper, numpy_helper
    ps = dict(model.named_parameters())
    inits = [numpy_helper.from_array(p.detach().numpy(), n) for n, p in ps.items()]
    nodes = [helper.make_node('Gemm', ['input', '0.weight', '0.bias'], ['h'], transB=1), helper.make_node('Relu', ['h'], ['r']),
             helper.make_node('Gemm', ['r', '2.weight', '2.bias'], ['logits'], transB=1)]
    g = helper.make_graph(nodes, 'mlp', [helper.make_tensor_value_info('input', onnx.TensorProto.FLOAT, list(x.shape))],
                          [helper.make_tensor_value_info('logits', onnx.TensorProto.FLOAT, [x.shape[0], 10])], inits)
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid('', 17)]), path)


def torch_loop(build, x, steps):
    model = build()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    labels = torch.tensor([3])
    def step():
        opt.zero_grad(); torch.nn.functional.cross_entropy(model(x), labels).backward(); opt.step()
    for _ in range(5): step()
    t0 = time.perf_counter()
    for _ in range(steps): step()
    return (time.perf_counter() - t0) * 1000 / steps


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--steps', type=int, default=50)
    ap.add_argument('--rounds', type=int, default=5)
    ap.add_argument('--model', choices=['small_cnn', 'mlp'], default='small_cnn',
                    help='mlp: Linear(WIDTH, WIDTH), ReLU, Linear(WIDTH, 10), batch 1: parameter-heavy, where the copies show')
    ap.add_argument('--width', type=int, default=1024)
    ap.add_argument('--target', choices=['wasm-simd', 'c'], default='wasm-simd', help='c: the C artifact and a C driver (copy vs in place only)')
    a = ap.parse_args()
    torch.set_num_threads(1)
    models = os.path.join(HERE, '..', 'tests', 'fixtures', 'models')
    with tempfile.TemporaryDirectory() as tmp:
        if a.model == 'small_cnn':
            x_file, src, build = os.path.join(models, 'small_cnn.input.npy'), os.path.join(models, 'small_cnn.onnx'), lambda: gvt.build('small_cnn')
        else:
            x_file, src, build = os.path.join(tmp, 'x.npy'), os.path.join(tmp, 'mlp.onnx'), lambda: mlp(a.width)
            np.save(x_file, np.random.default_rng(0).standard_normal((1, a.width)).astype(np.float32))
            export(build(), np.load(x_file), src)
        x = torch.from_numpy(np.load(x_file))
        step = os.path.join(tmp, 'step.onnx')
        gvt.aic('train-step', src, '--loss', 'cross-entropy', '--lr', '0.1', '-o', step)
        if a.target == 'c':
            np.save(os.path.join(tmp, 'x.npy'), np.load(x_file))
            r = c_rounds(tmp, step, a.steps, 2 * a.rounds)
            cm, am = statistics.median(e['copy'] for e in r), statistics.median(e['inPlace'] for e in r)
            ratio = statistics.median(e['inPlace'] / e['copy'] for e in r)
            what = 'small_cnn' if a.model == 'small_cnn' else f'mlp {a.width}'
            print(f"{what} SGD step, batch 1, C ({' '.join(CFLAGS)}): {am:.3f} ms in place, {cm:.3f} ms with own output buffers "
                  f"copied back (medians of {2 * a.rounds} alternating rounds of {a.steps} steps); in place / copy = {ratio:.3f} (median of per-round ratios)")
            return 0
        gvt.aic('compile', step, '--target', 'wasm-simd', '-o', os.path.join(tmp, 'w'))
        loop = os.path.join(tmp, 'loop.mjs')
        open(loop, 'w').write(NODE_LOOP)
        aic_ms, copy_ms, torch_ms = [], [], []
        for _ in range(a.rounds):
            r = subprocess.run(['node', loop, os.path.join(tmp, 'w'), os.path.join(tmp, 'step.params'), x_file, str(a.steps), '4'],
                               capture_output=True, text=True, check=True)
            got = json.loads(r.stdout)
            aic_ms.append(statistics.median(got['inPlace'])); copy_ms.append(statistics.median(got['copy']))
            torch_ms.append(torch_loop(build, x, a.steps))
    am, cm, tm = statistics.median(aic_ms), statistics.median(copy_ms), statistics.median(torch_ms)
    what = 'small_cnn' if a.model == 'small_cnn' else f'mlp {a.width}'
    print(f"{what} SGD step, batch 1: aic wasm-simd {am:.3f} ms in place (step()), {cm:.3f} ms copying the parameters "
          f"(runSync), PyTorch CPU (1 thread) {tm:.3f} ms per step (medians of {a.rounds} alternating rounds of {a.steps} steps); "
          f"in place / copy = {am / cm:.3f}, aic / torch = {am / tm:.2f}")


if __name__ == '__main__':
    sys.exit(main())
