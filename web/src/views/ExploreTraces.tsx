import type { PaneProps } from './Explore';
export function ExploreTraces(_: PaneProps) {
  return <div class="empty">Traces: coming next.</div>;
}
