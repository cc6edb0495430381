import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

// The UI is built into ui/dist and served by Vigil itself; `npm run dev:ui` proxies the APIs to a local Vigil.
export default defineConfig({
  root: import.meta.dirname,
  plugins: [react()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    chunkSizeWarningLimit: 900,
    rollupOptions: {
      output: {
        manualChunks(id: string) {
          if (
            id.includes('node_modules/@codemirror') ||
            id.includes('node_modules/@lezer') ||
            id.includes('codemirror-promql') ||
            id.includes('lezer-promql')
          )
            return 'editor';
          if (
            id.includes('node_modules/react-grid-layout') ||
            id.includes('node_modules/react-draggable') ||
            id.includes('node_modules/react-resizable')
          )
            return 'grid';
          if (
            id.includes('node_modules/react') ||
            id.includes('node_modules/scheduler') ||
            id.includes('node_modules/@tanstack')
          )
            return 'react';
          return undefined;
        },
      },
    },
  },
  server: {
    proxy: { '/api': 'http://127.0.0.1:9400', '/-': 'http://127.0.0.1:9400' },
  },
});
