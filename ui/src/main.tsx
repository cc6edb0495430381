import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { createBrowserRouter, RouterProvider } from 'react-router-dom';
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { Shell } from './app/Shell.tsx';
import { VIEWS } from './app/views.tsx';
import { ThemeProvider } from './app/theme.tsx';
import { ApiError } from './lib/api.ts';
import './styles.css';

const client = new QueryClient({
  defaultOptions: {
    queries: {
      // A bad query will not get better by retrying; an unreachable server might.
      retry: (n, err) => n < 2 && err instanceof ApiError && err.kind === 'unreachable',
      refetchOnWindowFocus: false,
      staleTime: 5_000,
    },
  },
});

const router = createBrowserRouter([
  {
    element: <Shell />,
    children: [
      ...VIEWS.map((v) => ({ path: v.path, element: <v.component /> })),
      { path: '*', element: <NotFound /> },
    ],
  },
]);

function NotFound() {
  return (
    <div className="page">
      <h1>Page not found</h1>
      <p>
        There is nothing at this address. Use the menu above, or go to the <a href="/">overview</a>.
      </p>
    </div>
  );
}

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <ThemeProvider>
      <QueryClientProvider client={client}>
        <RouterProvider router={router} />
      </QueryClientProvider>
    </ThemeProvider>
  </StrictMode>,
);
