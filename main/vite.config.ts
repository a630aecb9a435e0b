import { builtinModules } from 'node:module';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

/*
 * Builds the Electron side into dist-electron/: main.js (ESM, Electron 41 runs ESM mains),
 * preload.cjs (a sandboxed preload must be one CommonJS file with no require() of its own, so
 * the contract and zod are bundled in) and notice-preload.cjs (the session-ended notice's
 * one-function preload). Everything is bundled but electron and Node builtins,
 * so the packaged app needs no node_modules.
 */
const file = (relative: string): string => fileURLToPath(new URL(relative, import.meta.url));
const outDir = file('../dist-electron');
const nodeBuiltins = [...builtinModules, ...builtinModules.map((name) => `node:${name}`)];
// ws probes these optional native speed-ups with a guarded require; they are not shipped.
const external = ['electron', 'bufferutil', 'utf-8-validate', ...nodeBuiltins];

export default defineConfig({
  root: file('..'),
  publicDir: false,
  // Only our two environments: the default "client" one would look for an index.html.
  builder: {
    async buildApp(builder) {
      for (const name of ['main', 'preload', 'noticePreload']) {
        const environment = builder.environments[name];
        if (environment) await builder.build(environment);
      }
    },
  },
  environments: {
    main: {
      consumer: 'server',
      resolve: { noExternal: true, conditions: ['node'] },
      build: {
        outDir,
        emptyOutDir: false,
        ssr: file('./electron-main.ts'),
        target: 'node22',
        minify: false,
        rollupOptions: {
          external,
          output: { format: 'es', entryFileNames: 'main.js', chunkFileNames: '[name]-[hash].js' },
        },
      },
    },
    preload: {
      consumer: 'server',
      resolve: { noExternal: true },
      build: {
        outDir,
        emptyOutDir: false,
        ssr: file('../preload/index.ts'),
        target: 'chrome130',
        minify: false,
        rollupOptions: {
          external: ['electron'],
          output: { format: 'cjs', entryFileNames: 'preload.cjs', codeSplitting: false },
        },
      },
    },
    noticePreload: {
      consumer: 'server',
      resolve: { noExternal: true },
      build: {
        outDir,
        emptyOutDir: false,
        ssr: file('../preload/notice.ts'),
        target: 'chrome130',
        minify: false,
        rollupOptions: {
          external: ['electron'],
          output: { format: 'cjs', entryFileNames: 'notice-preload.cjs', codeSplitting: false },
        },
      },
    },
  },
});
