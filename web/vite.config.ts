// Vite build of the Argus UI. `npm run build` writes dist/ (or --outDir), which the CMake build
// embeds into the argus binary (web/CMakeLists.txt). `npm run dev` serves the UI with hot reload
// and proxies the APIs to ARGUS_URL (default http://127.0.0.1:9090).
import { defineConfig } from 'vite';

const target = process.env.ARGUS_URL ?? 'http://127.0.0.1:9090';
const proxied = ['/api', '/loki', '/prometheus', '/otlp', '/metrics', '/-'];

export default defineConfig({
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: {
    target: 'es2020',
    assetsDir: 'assets',
    sourcemap: false,
    chunkSizeWarningLimit: 400,
  },
  server: {
    proxy: Object.fromEntries(proxied.map((p) => [p, { target, changeOrigin: true, ws: p === '/loki' }])),
  },
});
