export function Dashboards(_: { path: string; search: URLSearchParams }) {
  return <div class="empty">Dashboards: coming next.</div>;
}
