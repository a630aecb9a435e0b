// Proves the folder boundaries in eslint.config.js fire (and stay quiet) by linting in-memory
// snippets as if they lived in each folder. The files need not exist.
import { ESLint } from "eslint";
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";

const root = fileURLToPath(new URL("..", import.meta.url));
const boundaryRules = new Set(["rmm/import-boundaries", "no-restricted-imports"]);

let eslint: ESLint;
beforeAll(() => {
  eslint = new ESLint({ cwd: root });
});

async function lint(filePath: string, code: string): Promise<{ ruleId: string; message: string }[]> {
  const [result] = await eslint.lintText(code, { filePath });
  if (result === undefined) throw new Error(`no lint result for ${filePath}`);
  return result.messages
    .filter((m) => m.severity === 2)
    .map((m) => ({ ruleId: m.ruleId ?? "(fatal)", message: m.message }));
}

async function boundaryErrors(filePath: string, code: string): Promise<string[]> {
  const errors = await lint(filePath, code);
  const fatal = errors.find((e) => e.ruleId === "(fatal)");
  if (fatal !== undefined) throw new Error(`${filePath} did not parse: ${fatal.message}`);
  return errors.filter((e) => boundaryRules.has(e.ruleId)).map((e) => `${e.ruleId}: ${e.message}`);
}

type Case = [file: string, code: string];

const refused: Case[] = [
  // renderer: sandboxed web content
  ["renderer/src/App.tsx", "import fs from 'node:fs'; export { fs };"],
  ["renderer/src/App.tsx", "import path from 'path'; export { path };"],
  ["renderer/src/App.tsx", "import { readFile } from 'fs/promises'; export { readFile };"],
  ["renderer/src/App.tsx", "import { spawn } from 'child_process'; export { spawn };"],
  ["renderer/src/App.tsx", "import { ipcRenderer } from 'electron'; export { ipcRenderer };"],
  ["renderer/src/App.tsx", "export const m = await import('node:os');"],
  ["renderer/App.tsx", "import { ApiClient } from '../main/api-client'; export { ApiClient };"],
  ["renderer/src/views/Agents.tsx", "import { x } from '../../../server/agents/store'; export { x };"],
  ["renderer/src/App.tsx", "import { x } from '../../agent/backoff'; export { x };"],
  ["renderer/src/App.tsx", "import { testPostgresUrl } from '../../tools/testing/postgres'; export { testPostgresUrl };"],
  ["renderer/src/App.tsx", "import { ipc } from '../../preload/index'; export { ipc };"],
  // preload: contextBridge + ipcRenderer + the IPC contract, nothing else
  ["preload/index.ts", "import path from 'node:path'; export { path };"],
  ["preload/index.ts", "import { readFileSync } from 'fs'; export { readFileSync };"],
  ["preload/index.ts", "import { shell } from 'electron'; export { shell };"],
  ["preload/index.ts", "import * as electron from 'electron'; export { electron };"],
  ["preload/index.ts", "import electron from 'electron'; export { electron };"],
  ["preload/index.ts", "import { AgentList } from '../protocol/api'; export { AgentList };"],
  ["preload/index.ts", "import { dispatch } from '../main/ipc-dispatch'; export { dispatch };"],
  ["preload/index.ts", "import React from 'react'; export { React };"],
  ["preload/index.ts", "export const os = require('os');"],
  // protocol: shared by every runtime
  ["protocol/signing.ts", "import { app } from 'electron'; export { app };"],
  ["protocol/signing.ts", "import { createHmac } from 'node:crypto'; export { createHmac };"],
  ["protocol/signing.ts", "import crypto from 'crypto'; export { crypto };"],
  ["protocol/signing.ts", "export const fs = require('fs');"],
  ["protocol/signing.ts", "import { db } from '../server/db/pool'; export { db };"],
  ["protocol/signing.ts", "export * from '../main/api-client';"],
  ["protocol/signing.ts", "import { x } from '../tools/testing/postgres'; export { x };"],
  // server and agent: never the console
  ["server/auth/routes.ts", "import { ApiClient } from '../../main/api-client'; export { ApiClient };"],
  ["server/auth/routes.ts", "import { useStore } from '../../renderer/src/store'; export { useStore };"],
  ["server/index.ts", "import { ipc } from '../preload/index'; export { ipc };"],
  ["agent/runner.ts", "import { ipc } from '../preload/index'; export { ipc };"],
  ["agent/runner.ts", "import { ApiClient } from '../main/api-client'; export { ApiClient };"],
  // test files keep the folder limits
  ["preload/index.test.ts", "import { dispatch } from '../main/ipc-dispatch'; export { dispatch };"],
  ["protocol/signing.test.ts", "import { app } from 'electron'; export { app };"],
  ["renderer/src/App.test.tsx", "import { ApiClient } from '../../main/api-client'; export { ApiClient };"],
];

const allowed: Case[] = [
  ["renderer/src/App.tsx", "import { z } from 'zod'; import React from 'react'; import { create } from 'zustand'; export { z, React, create };"],
  ["renderer/src/App.tsx", "import { AgentList } from '../../protocol/api'; export { AgentList };"],
  // `./main` here is renderer/src/main, not the Electron main/ folder
  ["renderer/src/App.tsx", "import { mount } from './main'; import { x } from '../main'; export { mount, x };"],
  ["renderer/src/App.tsx", "import type { Ipc } from '../../preload/index'; export type { Ipc };"],
  ["preload/index.ts", "import { contextBridge, ipcRenderer } from 'electron'; import { z } from 'zod'; export { contextBridge, ipcRenderer, z };"],
  ["preload/index.ts", "import { ipcContract } from '../protocol/ipc-contract'; import { slice } from './vault'; export { ipcContract, slice };"],
  ["preload/windows/break-glass.ts", "import { ipcContract } from '../../protocol/ipc-contract.ts'; export { ipcContract };"],
  ["protocol/api.ts", "import { z } from 'zod'; import { ErrorCode } from './errors'; export { z, ErrorCode };"],
  ["server/auth/routes.ts", "import { readFile } from 'node:fs/promises'; import Router from '@koa/router'; export { readFile, Router };"],
  ["server/auth/routes.ts", "import { AgentList } from '../../protocol/api'; import { db } from '../db/pool'; export { AgentList, db };"],
  ["agent/runner.ts", "import { connect } from 'node:net'; import { ErrorCode } from '../protocol/errors'; export { connect, ErrorCode };"],
  ["main/window.ts", "import { BrowserWindow, shell } from 'electron'; import { ApiClient } from './api-client'; export { BrowserWindow, shell, ApiClient };"],
  ["preload/index.test.ts", "import { describe } from 'vitest'; import path from 'node:path'; import { ipcContract } from '../protocol/ipc-contract'; export { describe, path, ipcContract };"],
  ["protocol/signing.test.ts", "import { readFileSync } from 'node:fs'; import { expect } from 'vitest'; export { readFileSync, expect };"],
  ["server/db/store.test.ts", "import { databaseKinds } from '../../tools/testing/postgres'; export { databaseKinds };"],
  // build configuration beside the renderer runs in Node
  ["renderer/vite.config.ts", "import { fileURLToPath } from 'node:url'; export { fileURLToPath };"],
];

describe("folder boundaries", () => {
  it.each(refused)("%s refuses: %s", async (file, code) => {
    expect(await boundaryErrors(file, code)).toHaveLength(1);
  });

  it.each(allowed)("%s allows: %s", async (file, code) => {
    expect(await boundaryErrors(file, code)).toEqual([]);
  });

  it("explains which boundary was crossed", async () => {
    const [message] = await boundaryErrors("renderer/src/App.tsx", "import fs from 'node:fs'; export { fs };");
    expect(message).toContain("renderer/ may not import the Node built-in 'node:fs'");
  });
});

describe("strict TypeScript rules", () => {
  it.each([
    ["@typescript-eslint/no-explicit-any", "export const x: any = 1;"],
    ["@typescript-eslint/no-non-null-assertion", "export function f(a: { b?: string }) { return a.b!; }"],
    ["@typescript-eslint/ban-ts-comment", "// @ts-ignore\nexport const x: number = 'a';"],
    ["@typescript-eslint/ban-ts-comment", "// @ts-expect-error\nexport const x: number = 'a';"],
  ])("%s is an error", async (ruleId, code) => {
    const errors = await lint("server/sample.ts", code);
    expect(errors.map((e) => e.ruleId)).toContain(ruleId);
  });

  it("accepts @ts-expect-error with a reason", async () => {
    const errors = await lint("server/sample.ts", "// @ts-expect-error: proving the schema rejects strings\nexport const x: number = 'a';");
    expect(errors).toEqual([]);
  });
});
