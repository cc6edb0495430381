/** Contains a rendering failure to the view that failed: the shell and navigation keep working. */
import { Component, type ReactNode } from 'react';
import { ErrorMessage } from './states.tsx';

export class ErrorBoundary extends Component<{ children: ReactNode }, { error?: Error }> {
  override state: { error?: Error } = {};

  static getDerivedStateFromError(error: Error) {
    return { error };
  }

  override render() {
    if (this.state.error) return <ErrorMessage error={this.state.error} title="This view failed to render" />;
    return this.props.children;
  }
}
