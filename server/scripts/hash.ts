import { createHash } from 'node:crypto';
import { canonicalBytes } from '../../protocol/canonical-json';
import { scriptContentCanonical, type ScriptContent } from '../../protocol/scripts';

/** The SHA-256 (lowercase hex) that names a script version's content: what jobs dispatch and agents check. */
export function scriptContentSha256(content: ScriptContent): string {
  return createHash('sha256').update(canonicalBytes(scriptContentCanonical(content))).digest('hex');
}
