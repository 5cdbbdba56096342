// fc-invoke needs no Vite plugin: its browser entry loads the .wasm through
// `new URL("../dist/wasm/fc_invoke_bg.wasm", import.meta.url)`, which Vite serves in dev and ships
// as a hashed asset in `vite build`. This config only forwards /api (STS credentials, config) to
// your backend while you develop: `API_ORIGIN=http://127.0.0.1:8787 npx vite`.
// (A plain object rather than defineConfig, so it loads without importing vite.)
const api = { "/api": process.env.API_ORIGIN ?? "http://127.0.0.1:8787" };

export default {
  server: { proxy: api },
  preview: { proxy: api },
};
