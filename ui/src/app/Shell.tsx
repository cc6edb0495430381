/** The frame around every view: brand, navigation built from VIEWS, theme switch; the view fills the rest. */
import { Suspense } from 'react';
import { NavLink, Outlet, useLocation } from 'react-router-dom';
import { VIEWS } from './views.tsx';
import { useTheme } from './theme.tsx';
import { Loading } from '../components/states.tsx';
import { ErrorBoundary } from '../components/ErrorBoundary.tsx';

export function Shell() {
  const { theme, toggle } = useTheme();
  const location = useLocation();
  return (
    <div className="shell">
      <a className="skip" href="#main">
        Skip to content
      </a>
      <header className="topbar">
        <NavLink to="/" className="brand" aria-label="Vigil home">
          <svg width="22" height="22" viewBox="0 0 24 24" aria-hidden>
            <circle cx="12" cy="12" r="10" fill="none" stroke="currentColor" strokeWidth="2" />
            <path
              d="M5 13h3l2-5 3 9 2-4h4"
              fill="none"
              stroke="currentColor"
              strokeWidth="2"
              strokeLinejoin="round"
            />
          </svg>
          Vigil
        </NavLink>
        <nav aria-label="Main">
          {VIEWS.filter((v) => v.label).map((v) => {
            const extra = v.matches?.some((m) => location.pathname.startsWith(m));
            return (
              <NavLink
                key={v.path}
                to={v.path}
                end={v.path === '/'}
                accessKey={v.accessKey}
                className={({ isActive }) => `navlink ${isActive || extra ? 'active' : ''}`}
              >
                {v.label}
              </NavLink>
            );
          })}
        </nav>
        <span className="spacer" />
        <button
          type="button"
          className="btn icon"
          onClick={toggle}
          data-testid="theme-toggle"
          aria-label={`Switch to ${theme === 'dark' ? 'light' : 'dark'} theme`}
          title={`Switch to ${theme === 'dark' ? 'light' : 'dark'} theme`}
        >
          {theme === 'dark' ? '☀' : '☾'}
        </button>
      </header>
      <main id="main" className="main" tabIndex={-1}>
        <ErrorBoundary key={location.pathname}>
          <Suspense fallback={<Loading />}>
            <Outlet />
          </Suspense>
        </ErrorBoundary>
      </main>
    </div>
  );
}
