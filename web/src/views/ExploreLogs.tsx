import type { PaneProps } from './Explore';
export function ExploreLogs(_: PaneProps) {
  return <div class="empty">Logs: coming next.</div>;
}
