import { describe, expect, it } from 'vitest';
import { lineDiff } from './line-diff';

describe('lineDiff', () => {
  it('keeps common lines and marks removed and added ones in order', () => {
    expect(lineDiff('a\nb\nc', 'a\nB\nc\nd')).toEqual([
      { kind: 'same', text: 'a' },
      { kind: 'removed', text: 'b' },
      { kind: 'added', text: 'B' },
      { kind: 'same', text: 'c' },
      { kind: 'added', text: 'd' },
    ]);
  });

  it('treats an empty before as all added (a first version) and equal texts as all kept', () => {
    expect(lineDiff('', 'x\ny').map((l) => l.kind)).toEqual(['added', 'added']);
    expect(lineDiff('x\r\ny', 'x\ny').map((l) => l.kind)).toEqual(['same', 'same']);
    expect(lineDiff('x\ny', '').map((l) => l.kind)).toEqual(['removed', 'removed']);
  });

  it('finds the longest common run rather than the first match', () => {
    const kinds = lineDiff('p\nq\nr\ns', 'q\nr\ns\np').map((l) => `${l.kind}:${l.text}`);
    expect(kinds).toEqual(['removed:p', 'same:q', 'same:r', 'same:s', 'added:p']);
  });
});
