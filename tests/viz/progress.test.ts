/** The progress bar (packages/core/src/progress.ts): drawn only on a terminal without CI, erased when done. */
import { describe, expect, it } from 'vitest';
import { progress, progressEnabled, progressLine, reportProgress, withProgress } from '@aic/core';

function fakeStream(isTTY: boolean) {
  const writes: string[] = [];
  return { writes, stream: { isTTY, columns: 60, write: (s: string) => { writes.push(s); return true; } } as unknown as NodeJS.WriteStream };
}

describe('progress', () => {
  it('is off when not a terminal, when CI is set, or with AIC_NO_PROGRESS', () => {
    expect(progressEnabled({ isTTY: true }, {})).toBe(true);
    expect(progressEnabled({ isTTY: false }, {})).toBe(false);
    expect(progressEnabled({}, {})).toBe(false);
    expect(progressEnabled({ isTTY: true }, { CI: 'true' })).toBe(false);
    expect(progressEnabled({ isTTY: true }, { AIC_NO_PROGRESS: '1' })).toBe(false);
  });

  it('writes nothing to a pipe', () => {
    const { writes, stream } = fakeStream(false);
    const p = progress('x', 3, stream);
    p.tick(); p.tick(2); p.done();
    expect(writes).toEqual([]);
  });

  it('draws on a terminal and erases itself', () => {
    const { writes, stream } = fakeStream(true);
    const ci = process.env.CI, off = process.env.AIC_NO_PROGRESS;
    delete process.env.CI; delete process.env.AIC_NO_PROGRESS;
    try {
      const p = progress('sweep', 4, stream);
      p.tick(1, 'first');
      p.tick(3, 'last'); // reaching the total always draws
      p.done(); p.done();
      expect(writes[0]).toContain('sweep [');
      expect(writes[0]).toContain('1/4');
      expect(writes.at(-2)).toContain('4/4');
      expect(writes.at(-2)).toContain('last');
      expect(writes.at(-1)).toBe('\r\x1b[K');
      expect(writes.filter((w) => w === '\r\x1b[K').length).toBe(1);
    } finally {
      if (ci !== undefined) process.env.CI = ci;
      if (off !== undefined) process.env.AIC_NO_PROGRESS = off;
    }
  });

  it('formats the bar to the terminal width', () => {
    expect(progressLine('compile', 5, 10, 10_000, 'conv1', 80)).toBe('compile [###############...............] 5/10 0:10 eta 0:10 conv1');
    expect(progressLine('compile', 0, 10, 0, '', 80)).toBe('compile [..............................] 0/10 0:00');
    const narrow = progressLine('a long label for the bar', 1, 3, 1000, 'a very long item name that does not fit', 40);
    expect(narrow.length).toBeLessThanOrEqual(39);
  });
});

describe('reportProgress / withProgress', () => {
  it('draws a bar per phase reported inside, erases each when it completes, and nothing when not wanted', async () => {
    const ci = process.env.CI, off = process.env.AIC_NO_PROGRESS;
    delete process.env.CI; delete process.env.AIC_NO_PROGRESS;
    try {
      const { writes, stream } = fakeStream(true);
      const r = await withProgress(async () => {
        reportProgress('optimizing', 0, 2, 'fuse');
        reportProgress('optimizing', 2, 2);
        reportProgress('lowering', 0, 3, 'conv');
        throw new Error('stop');
      }, true, stream).catch((e: Error) => e.message);
      expect(r).toBe('stop');
      expect(writes.some((w) => w.includes('optimizing [') && w.includes('fuse'))).toBe(true);
      expect(writes.some((w) => w.includes('lowering [') && w.includes('0/3'))).toBe(true);
      expect(writes.at(-1)).toBe('\r\x1b[K'); // erased when the work threw
      reportProgress('after', 0, 1); // no sink any more
      const quiet = fakeStream(true);
      expect(await withProgress(async () => { reportProgress('x', 0, 1); return 7; }, false, quiet.stream)).toBe(7);
      expect(quiet.writes).toEqual([]);
    } finally {
      if (ci !== undefined) process.env.CI = ci;
      if (off !== undefined) process.env.AIC_NO_PROGRESS = off;
    }
  });
});
