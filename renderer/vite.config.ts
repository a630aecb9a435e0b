import react from '@vitejs/plugin-react';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

/*
 * Builds the renderer into dist/renderer with relative URLs so the same files load from
 * file:// in Electron and from the browser host. No inline scripts or styles: the CSP forbids them.
 * Two pages: the console (index.html) and the session-ended notice (notice.html).
 */
const root = fileURLToPath(new URL('.', import.meta.url));

export default defineConfig({
  root,
  base: './',
  plugins: [react()],
  build: {
    outDir: fileURLToPath(new URL('../dist/renderer', import.meta.url)),
    emptyOutDir: true,
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
    sourcemap: false,
    target: 'chrome130',
    rollupOptions: {
      input: {
        index: fileURLToPath(new URL('./index.html', import.meta.url)),
        notice: fileURLToPath(new URL('./notice.html', import.meta.url)),
      },
    },
  },
});
