import { describe, expect, it } from 'vitest';
import { csvField, csvRecord, CSV_HEADER, jsonLine } from './export';

describe('CSV export fields', () => {
  it('leaves plain text alone and quotes per RFC 4180', () => {
    expect(csvField('Alice Nurse')).toBe('Alice Nurse');
    expect(csvField('')).toBe('');
    expect(csvField('a,b')).toBe('"a,b"');
    expect(csvField('say "hi"')).toBe('"say ""hi"""');
    expect(csvField('line 1\nline 2')).toBe('"line 1\nline 2"');
    expect(csvField('cr\r')).toBe('"cr\r"');
  });

  it('defuses cells a spreadsheet would run as a formula', () => {
    expect(csvField('=1+1')).toBe("'=1+1");
    expect(csvField('+cmd')).toBe("'+cmd");
    expect(csvField('-2')).toBe("'-2");
    expect(csvField('@SUM(A1)')).toBe("'@SUM(A1)");
    expect(csvField('\tx')).toBe("'\tx");
    expect(csvField('=HYPERLINK("http://evil","x")')).toBe('"\'=HYPERLINK(""http://evil"",""x"")"');
    expect(csvField('a=b')).toBe('a=b');
  });

  it('writes one CRLF record per entry with details as canonical JSON, and one JSON line per entry', () => {
    const entry = {
      id: '6f1c1b7e-2f0a-4c1e-9a0b-2d9e6c1f7a10', orgId: null, seq: 3, time: '2026-01-02T03:04:05.006Z',
      actorType: 'system' as const, actorId: null, actorName: 'system', action: 'audit.exported' as const,
      targetType: null, targetId: null, outcome: 'success' as const, sourceIp: null, userAgent: null,
      details: { to: null, format: 'csv', from: null }, prevHash: '0'.repeat(64), hash: 'f'.repeat(64),
    };
    expect(CSV_HEADER).toBe('seq,id,time,orgId,actorType,actorId,actorName,action,targetType,targetId,outcome,sourceIp,userAgent,details,prevHash,hash\r\n');
    expect(csvRecord(entry)).toBe(
      `3,${entry.id},2026-01-02T03:04:05.006Z,,system,,system,audit.exported,,,success,,,"{""format"":""csv"",""from"":null,""to"":null}",${'0'.repeat(64)},${'f'.repeat(64)}\r\n`,
    );
    expect(JSON.parse(jsonLine(entry))).toEqual(entry);
    expect(jsonLine(entry).endsWith('}\n')).toBe(true);
  });
});
