// @ts-check
// Lint stays syntax-only (no type-aware rules) so `eslint .` runs in seconds; tsc does the typing.
// The folder boundaries below are the part that matters most: see docs/testing.md.
import js from "@eslint/js";
import { defineConfig } from "eslint/config";
import globals from "globals";
import tseslint from "typescript-eslint";
import { fileURLToPath } from "node:url";
import { importBoundaries } from "./tools/eslint/import-boundaries.js";

const root = fileURLToPath(new URL(".", import.meta.url));

/**
 * One boundary per top-level folder. Paths are project-relative; a folder entry covers everything
 * under it, a file entry may omit its extension.
 * @type {Record<string, import("./tools/eslint/import-boundaries.js").Boundary>}
 */
const boundaries = {
  renderer: {
    why: "the renderer is sandboxed web content; it reaches the main process only through the typed IPC client",
    forbidBuiltins: true,
    forbidPackages: ["electron"],
    forbidPaths: ["main", "server", "agent", "tools", "bench"],
    // The bridge type may be derived from the preload (`import type`), its code may not be bundled.
    typeOnlyPaths: ["preload"],
  },
  preload: {
    why: "the preload only exposes the IPC contract through contextBridge (electron, zod and protocol/ipc-contract)",
    allowPackages: ["electron", "zod"],
    allowPaths: ["preload", "protocol/ipc-contract"],
  },
  protocol: {
    why: "protocol/ is shared by server, agent, main and renderer, so it imports nothing environment-specific",
    forbidBuiltins: true,
    forbidPackages: ["electron"],
    allowPaths: ["protocol"],
  },
  server: {
    why: "the server never depends on the console; share code through protocol/",
    forbidPaths: ["main", "preload", "renderer"],
  },
  agent: {
    why: "the agent never depends on the console; share code through protocol/",
    forbidPaths: ["main", "preload", "renderer"],
  },
};

/** @param {import("./tools/eslint/import-boundaries.js").Boundary} boundary */
function forTests(boundary) {
  return {
    ...boundary,
    allowBuiltins: true,
    ...(boundary.allowPackages && { allowPackages: [...boundary.allowPackages, "vitest"] }),
    ...(boundary.allowPaths && { allowPaths: [...boundary.allowPaths, "tools/testing"] }),
  };
}

export default defineConfig(
  {
    ignores: [
      "**/node_modules/**",
      "dist/**",
      "dist-electron/**",
      "release/**",
      ".rmm-data/**",
      "test-results/**",
      ".tmp/**",
      "coverage/**",
    ],
  },
  {
    files: ["**/*.{js,mjs,cjs,ts,mts,cts,tsx}"],
    extends: [js.configs.recommended, ...tseslint.configs.recommended],
    languageOptions: {
      ecmaVersion: 2023,
      sourceType: "module",
      globals: { ...globals.node },
    },
    linterOptions: { reportUnusedDisableDirectives: "error" },
    plugins: { rmm: { rules: { "import-boundaries": importBoundaries } } },
    rules: {
      "@typescript-eslint/no-explicit-any": "error",
      "@typescript-eslint/no-non-null-assertion": "error",
      "@typescript-eslint/ban-ts-comment": [
        "error",
        { "ts-expect-error": "allow-with-description", "ts-ignore": true, "ts-nocheck": true, "ts-check": false },
      ],
      "@typescript-eslint/no-unused-vars": [
        "error",
        { argsIgnorePattern: "^_", varsIgnorePattern: "^_", caughtErrorsIgnorePattern: "^_" },
      ],
      eqeqeq: ["error", "smart"],
      "no-var": "error",
      "prefer-const": "error",
    },
  },
  {
    files: ["renderer/**/*.{ts,tsx,js}"],
    languageOptions: { globals: { ...globals.browser } },
  },
  {
    // Classic scripts the browser host serves as they are (e.g. /bridge.js).
    files: ["tools/browser-host/*-client.js"],
    languageOptions: { sourceType: "script", globals: { ...globals.browser } },
  },
  // Boundaries, one block per folder. Each block carries the whole rule configuration because
  // flat config replaces (does not merge) a rule's options. Tests run under Node in Vitest, so a
  // test file may also use Node built-ins, vitest and tools/testing; every other limit still holds.
  ...Object.entries(boundaries).flatMap(([folder, boundary]) => [
    {
      files: [`${folder}/**/*.{js,mjs,cjs,ts,mts,cts,tsx}`],
      rules: { "rmm/import-boundaries": ["error", { root, folder, ...boundary }] },
    },
    {
      files: [`${folder}/**/*.test.{ts,tsx}`],
      rules: { "rmm/import-boundaries": ["error", { root, folder, ...forTests(boundary) }] },
    },
  ]),
  {
    // Build configuration beside the code (renderer/vite.config.ts) runs in Node, not in the window.
    files: ["**/*.config.{js,mjs,cjs,ts,mts,cts}"],
    languageOptions: { globals: { ...globals.node } },
    rules: { "rmm/import-boundaries": "off" },
  },
  {
    files: ["preload/**/*.{js,mjs,cjs,ts,mts,cts,tsx}"],
    rules: {
      "no-restricted-imports": [
        "error",
        {
          paths: [
            {
              name: "electron",
              allowImportNames: ["contextBridge", "ipcRenderer"],
              message: "the preload may use only contextBridge and ipcRenderer from electron.",
            },
          ],
        },
      ],
    },
  },
);
