/**
 * `aic viz` pages in headless Chromium (Debian's /usr/bin/chromium through playwright-core), opened
 * from disk with every network request refused: no console error, the op nodes drawn in each pane
 * equal the graph's node count before and after -O2, a search finds a node by name and shows its
 * details, a fused node expands to the nodes it replaced. Screenshots go to test-artifacts/viz/.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { passTarget } from '@aic/codegen';
import { loadModel } from '../../packages/cli/src/model-io.ts';
import { optimize } from '../../packages/cli/src/pipeline-options.ts';
import { FIXTURES, SHARED, HAVE_SHARED } from '../model-zoo.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const CHROMIUM = '/usr/bin/chromium';
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'];
const ARTIFACTS = path.join(ROOT, 'test-artifacts/viz');

function aic(args: string[]) {
  const r = spawnSync(process.execPath, [path.join(ROOT, 'bin/aic'), ...args], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' }, cwd: ROOT });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

const models = HAVE_SHARED
  ? fs.readdirSync(SHARED).filter((f) => f.endsWith('.onnx')).sort().map((f) => path.join(SHARED, f))
  : [path.join(FIXTURES, 'small_cnn.onnx'), path.join(FIXTURES, 'squeezenet1_1.onnx')];

type PW = typeof import('playwright-core');
type Browser = Awaited<ReturnType<PW['chromium']['launch']>>;
let browser: Browser;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'aic-viz-'));

beforeAll(async () => {
  expect(fs.existsSync(CHROMIUM), `${CHROMIUM} is installed (apt-get install chromium; scripts/setup.sh does)`).toBe(true);
  const pw = await import('playwright-core');
  browser = await pw.chromium.launch({ executablePath: CHROMIUM, args: FLAGS, headless: true });
  fs.mkdirSync(ARTIFACTS, { recursive: true });
});
afterAll(async () => { await browser?.close(); });

type Page = Awaited<ReturnType<Browser['newPage']>>;

/**
 * Open a page from disk (every request but the file itself refused and recorded), run `check`, then
 * require no console error or warning and no request.
 */
async function withPage(file: string, check: (page: Page) => Promise<void>): Promise<void> {
  const page = await browser.newPage({ viewport: { width: 1600, height: 1000 } });
  const errors: string[] = [], requests: string[] = [];
  page.on('console', (m) => { if (m.type() === 'error' || m.type() === 'warning') errors.push(m.text()); });
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.route('**/*', (route) => {
    const url = route.request().url();
    if (url === `file://${file}`) return route.continue();
    requests.push(url);
    return route.abort();
  });
  try {
    await page.goto(`file://${file}`);
    await page.waitForSelector('body[data-ready="1"]', { timeout: 120_000 });
    await check(page);
    expect(errors).toEqual([]);
    expect(requests).toEqual([]);
  } finally {
    await page.close();
  }
}

describe('aic viz in headless Chromium', () => {
  for (const model of models) {
    const name = path.basename(model, '.onnx');
    it(`draws ${name} before and after -O2, searches, expands a fused node`, async () => {
      const out = path.join(tmp, `${name}.html`);
      const r = aic(['viz', model, '-o', out]);
      expect(r.err).toBe('');
      expect(r.code).toBe(0);
      const html = fs.readFileSync(out, 'utf8');
      // self-contained: no src/href/url() pointing anywhere
      expect(html).not.toMatch(/\b(src|href)\s*=\s*["']?[a-z]+:/i);
      expect(html).not.toMatch(/url\(\s*["']?(https?:|\/\/)/i);

      const g = await loadModel(model);
      const before = g.nodes.length;
      const after = optimize(g, {}, 2, () => {}, passTarget('c')).graph.nodes.length;
      expect(r.out).toContain(`${before} nodes before, ${after} after -O2`);

      await withPage(out, async (page) => {
        expect(await page.locator('#pane-before g.node.op').count()).toBe(before);
        expect(await page.locator('#pane-after g.node.op').count()).toBe(after);
        expect(await page.locator('#pane-before').getAttribute('data-nodes')).toBe(String(before));
        // search by the name of a node of the optimized graph
        const target = await page.locator('#pane-after g.node.op').nth(Math.floor(after / 2)).getAttribute('data-name');
        expect(target).toBeTruthy();
        await page.fill('#search', target!);
        await page.press('#search', 'Enter');
        expect(Number((await page.textContent('#matches'))!.split(' ')[0])).toBeGreaterThanOrEqual(1);
        expect(await page.locator('#pane-after g.node.match').count()).toBeGreaterThanOrEqual(1);
        expect(await page.textContent('#details')).toContain(target!);
        await page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`) });
        // a fused node expands to its original nodes (every shared model has at least one fusion)
        const exp = page.locator('#pane-after text.expander').first();
        if (await exp.count()) {
          const n = Number((await exp.textContent())!.replace(/\D/g, ''));
          await exp.dispatchEvent('click');
          expect(await page.locator('#pane-after g.node.group').count()).toBe(1);
          expect(await page.locator('#pane-after g.node.orig').count()).toBe(n);
          expect(await page.locator('#pane-after g.node.op').count()).toBe(after);
          await page.screenshot({ path: path.join(ARTIFACTS, `${name}-expanded.png`) });
        } else {
          expect(name, 'only models without fusion have no expandable node').toBe('no fused nodes');
        }
      });
    }, 300_000);
  }

  it('marks NC4HW4 regions and layout conversions (-O3, no target filter)', async () => {
    const model = path.join(FIXTURES, 'small_cnn.onnx');
    const out = path.join(tmp, 'small_cnn-O3.html');
    const r = aic(['viz', model, '-O3', '--target', 'interp', '-o', out]);
    expect(r.code).toBe(0);
    const g = optimize(await loadModel(model), { optLevel: '3' }, 2, () => {}, passTarget('interp')).graph;
    const converts = g.nodes.filter((n) => n.op === 'LayoutConvert').length;
    const blocked = g.nodes.filter((n) => n.op !== 'LayoutConvert' && n.outputs.some((o) => o.type.layout === 'NC4HW4')).length;
    expect(converts).toBeGreaterThan(0);
    expect(blocked).toBeGreaterThan(0);
    await withPage(out, async (page) => {
      expect(await page.locator('#pane-after g.node.op').count()).toBe(g.nodes.length);
      expect(await page.locator('#pane-after g.node.blocked').count()).toBe(blocked);
      expect(await page.locator('#pane-after g.node.cat-convert').count()).toBe(converts);
      expect(await page.locator('#pane-after path.edge.blocked').count()).toBeGreaterThan(0);
      await page.locator('#pane-after g.node.cat-convert').first().dispatchEvent('click');
      expect(await page.textContent('#details')).toMatch(/layout conversion(NCHW->NC4HW4|NC4HW4->NCHW)/);
      await page.screenshot({ path: path.join(ARTIFACTS, 'small_cnn-O3-nc4hw4.png') });
      // wheel zooms and dragging pans the pane's view
      const view = () => page.locator('#pane-after g.viewport').getAttribute('transform');
      const scale = async () => Number(/scale\(([\d.e-]+)\)/.exec((await view())!)![1]);
      const box = (await page.locator('#pane-after svg').boundingBox())!;
      await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
      const k0 = await scale();
      await page.mouse.wheel(0, -300);
      await expect.poll(scale).toBeGreaterThan(k0);
      const t0 = await view();
      await page.mouse.down();
      await page.mouse.move(box.x + box.width / 2 + 80, box.y + box.height / 2 + 40);
      await page.mouse.up();
      expect(await view()).not.toBe(t0);
      // the toggle shows one graph at a time
      await page.click('#modes button[data-mode="after"]');
      expect(await page.locator('#pane-before').isVisible()).toBe(false);
      expect(await page.locator('#pane-after').isVisible()).toBe(true);
    });
  }, 120_000);

  it('colours every profiled kernel by its share of the run time', async () => {
    const model = path.join(FIXTURES, 'small_cnn.onnx');
    const prof = path.join(tmp, 'small_cnn.profile.json');
    expect(aic(['profile', model, '--target', 'c', '--runs', '3', '--json', prof]).code).toBe(0);
    const out = path.join(tmp, 'small_cnn-profile.html');
    const r = aic(['viz', model, '--profile', prof, '-o', out]);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const p = JSON.parse(fs.readFileSync(prof, 'utf8')) as { kernels: { node: string; share: number }[] };
    const share = new Map<string, number>();
    for (const k of p.kernels) share.set(k.node, (share.get(k.node) ?? 0) + k.share);
    await withPage(out, async (page) => {
      expect(await page.textContent('#profile-info')).toContain('profile: c');
      const drawn = await page.locator('#pane-after g.node.op').evaluateAll((els) => els.map((e) => ({
        name: e.getAttribute('data-name'), fill: e.querySelector('rect')!.getAttribute('style') ?? '', text: e.textContent ?? '',
      })));
      const timed = drawn.filter((d) => share.has(d.name!));
      expect(timed.length).toBe(drawn.length); // every kernel of small_cnn computes a node of the graph
      for (const d of timed) {
        expect(d.fill).toMatch(/^fill:rgb\(/);
        expect(d.text).toContain(`${(100 * share.get(d.name!)!).toFixed(1)}%`);
      }
      // the slowest node is the reddest (least green)
      const green = (f: string) => Number(/rgb\(\d+,(\d+),/.exec(f)![1]);
      const slowest = timed.reduce((a, b) => (share.get(a.name!)! >= share.get(b.name!)! ? a : b));
      expect(green(slowest.fill)).toBe(Math.min(...timed.map((d) => green(d.fill))));
      await page.screenshot({ path: path.join(ARTIFACTS, 'small_cnn-profile.png') });
    });
  }, 180_000);
});
