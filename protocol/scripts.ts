import { z } from 'zod';
import type { CanonicalValue } from './canonical-json';

/*
 * The org script library (issue #5, docs/scripts.md): scripts with immutable, numbered versions.
 * A version is identified for dispatch by the SHA-256 of its canonical content (language, body,
 * parameters, timeout), and runs only once someone other than its author approved it.
 */

export const ScriptLanguage = z.enum(['bash', 'powershell', 'python', 'node']);
export type ScriptLanguage = z.infer<typeof ScriptLanguage>;

/** A script body; kept well below the 256 KiB WebSocket frame a job envelope must fit in. */
export const SCRIPT_BODY_MAX_CHARS = 65_536;
export const SCRIPT_TIMEOUT_MAX_SECONDS = 86_400;
export const SCRIPT_PARAMETERS_MAX = 32;

/** One named parameter a job passes to the script (validated by `jobParametersSchema` before a job is made). */
export const ScriptParameter = z.object({
  /** An identifier, so it maps to an environment variable or argument name on every platform. */
  name: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,63}$/, 'a letter or _, then letters, digits or _ (at most 64)'),
  type: z.enum(['string', 'number', 'boolean']),
  required: z.boolean(),
  /** Strings only: the longest value accepted. */
  maxLength: z.number().int().min(1).max(SCRIPT_BODY_MAX_CHARS).optional(),
  description: z.string().max(500).optional(),
}).strict().refine((p) => p.maxLength === undefined || p.type === 'string', { message: 'maxLength is for string parameters only', path: ['maxLength'] });
export type ScriptParameter = z.infer<typeof ScriptParameter>;

export const ScriptParameters = z.array(ScriptParameter).max(SCRIPT_PARAMETERS_MAX)
  .refine((list) => new Set(list.map((p) => p.name)).size === list.length, { message: 'parameter names must be unique' });

export const ScriptBody = z.string().min(1).max(SCRIPT_BODY_MAX_CHARS);
export const ScriptTimeout = z.number().int().min(1).max(SCRIPT_TIMEOUT_MAX_SECONDS);
export const Sha256Hex = z.string().regex(/^[0-9a-f]{64}$/, 'lowercase hex SHA-256');

/** What a version's hash covers. The script's name and unit are not in it: they do not change what runs. */
export interface ScriptContent {
  language: ScriptLanguage;
  body: string;
  parameters: ScriptParameter[];
  timeoutSeconds: number;
}

/** The canonical form hashed (SHA-256 of protocol/canonical-json.ts bytes) into a version's sha256. */
export function scriptContentCanonical(content: ScriptContent): CanonicalValue {
  return {
    v: 1,
    language: content.language,
    body: content.body,
    parameters: content.parameters.map((p) => ({ name: p.name, type: p.type, required: p.required, maxLength: p.maxLength, description: p.description })),
    timeoutSeconds: content.timeoutSeconds,
  };
}

/** A zod schema for the parameter values of one job of this version: declared names only, typed, required present. */
export function jobParametersSchema(parameters: ScriptParameter[]): z.ZodType<Record<string, string | number | boolean>> {
  const shape: Record<string, z.ZodType> = {};
  for (const p of parameters) {
    const base = p.type === 'string' ? z.string().max(p.maxLength ?? SCRIPT_BODY_MAX_CHARS) : p.type === 'number' ? z.number() : z.boolean();
    shape[p.name] = p.required ? base : base.optional();
  }
  return z.object(shape).strict() as unknown as z.ZodType<Record<string, string | number | boolean>>;
}

export const ScriptVersionStatus = z.enum(['pending', 'approved', 'rejected']);
export type ScriptVersionStatus = z.infer<typeof ScriptVersionStatus>;

export const Script = z.object({
  id: z.uuid(),
  orgId: z.uuid(),
  /** null: an org-wide script (written and approved only by holders at the org root). */
  unitId: z.uuid().nullable(),
  name: z.string(),
  language: ScriptLanguage,
  latestVersion: z.number().int().positive(),
  /** The newest approved version, the one a job would pick by default. */
  latestApprovedVersion: z.number().int().positive().nullable(),
  pendingVersions: z.number().int().min(0),
  createdAt: z.iso.datetime(),
});
export type Script = z.infer<typeof Script>;

export const ScriptVersion = z.object({
  scriptId: z.uuid(),
  version: z.number().int().positive(),
  body: z.string(),
  parameters: z.array(ScriptParameter),
  timeoutSeconds: z.number().int(),
  sha256: Sha256Hex,
  authorId: z.uuid(),
  authorName: z.string(),
  createdAt: z.iso.datetime(),
  status: ScriptVersionStatus,
  decidedBy: z.uuid().nullable(),
  decidedByName: z.string().nullable(),
  decidedAt: z.iso.datetime().nullable(),
  reason: z.string().nullable(),
});
export type ScriptVersion = z.infer<typeof ScriptVersion>;

export const ScriptList = z.object({ scripts: z.array(Script) });
/** A script with all its versions, newest first. */
export const ScriptDetail = z.object({ script: Script, versions: z.array(ScriptVersion) });
export type ScriptDetail = z.infer<typeof ScriptDetail>;

export const ScriptParams = z.object({ orgId: z.uuid(), scriptId: z.uuid() });

export const NewScriptVersionBody = z.object({
  body: ScriptBody,
  parameters: ScriptParameters,
  timeoutSeconds: ScriptTimeout,
}).strict();
export type NewScriptVersionBody = z.infer<typeof NewScriptVersionBody>;

export const CreateScriptBody = NewScriptVersionBody.extend({
  /** null: org-wide. */
  unitId: z.uuid().nullable(),
  name: z.string().trim().min(1).max(200),
  language: ScriptLanguage,
}).strict();
export type CreateScriptBody = z.infer<typeof CreateScriptBody>;

/** Approving or rejecting one version of the script; both say why (kept on the version and in the audit log). */
export const ScriptDecisionBody = z.object({
  version: z.number().int().positive().max(2_147_483_647),
  reason: z.string().trim().min(1).max(2000),
}).strict();
