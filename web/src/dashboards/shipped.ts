// Dashboards shipped with Argus: its own self-monitoring, a node_exporter host, and a service
// overview from span metrics (traces_spanmetrics_*, as Tempo's metrics-generator names them).
import type { Dashboard, Panel, Target } from './model';

let nextId = 1;
function p(type: string, title: string, x: number, y: number, w: number, h: number, targets: Target[], extra: Partial<Panel> = {}): Panel {
  return { id: nextId++, type, title, gridPos: { x, y, w, h }, targets, ...extra };
}
const t = (expr: string, legendFormat?: string): Target => ({ expr, legendFormat, refId: 'A' });
const unit = (u: string, more: Record<string, unknown> = {}) => ({ fieldConfig: { defaults: { unit: u, ...more } } });
const thresholds = (u: string, steps: [string, number | null][], more: Record<string, unknown> = {}) => ({
  fieldConfig: { defaults: { unit: u, thresholds: { steps: steps.map(([color, value]) => ({ color, value })) }, ...more } },
});

const argusSelf: Dashboard = {
  uid: 'argus-self',
  title: 'Argus self-monitoring',
  tags: ['argus'],
  shipped: true,
  time: { from: 'now-1h', to: 'now' },
  templating: {
    list: [{ name: 'job', type: 'query', query: 'label_values(argus_http_requests_total, job)', includeAll: true, multi: true, current: { value: ['$__all'] } }],
  },
  panels: [
    p('stat', 'Head series', 0, 0, 6, 4, [t('sum(prometheus_tsdb_head_series{job=~"$job"})')]),
    p('stat', 'Samples appended /s', 6, 0, 6, 4, [t('sum(rate(prometheus_tsdb_head_samples_appended_total{job=~"$job"}[$__rate_interval]))')], unit('ops')),
    p('stat', 'On-disk blocks', 12, 0, 6, 4, [t('sum(prometheus_tsdb_blocks_loaded{job=~"$job"})')]),
    p('stat', 'WAL size', 18, 0, 6, 4, [t('sum(prometheus_tsdb_wal_storage_size_bytes{job=~"$job"})')], unit('bytes')),
    p('timeseries', 'HTTP requests /s by handler', 0, 4, 12, 8, [t('sum by (handler) (rate(argus_http_requests_total{job=~"$job"}[$__rate_interval]))', '{{handler}}')], unit('reqps')),
    p('timeseries', 'HTTP p99 latency by handler', 12, 4, 12, 8, [t('histogram_quantile(0.99, sum by (handler, le) (rate(argus_http_request_duration_seconds_bucket{job=~"$job"}[$__rate_interval])))', '{{handler}}')], unit('s')),
    p('timeseries', 'Head series', 0, 12, 12, 8, [t('prometheus_tsdb_head_series{job=~"$job"}', '{{instance}}')]),
    p('timeseries', 'Storage bytes', 12, 12, 12, 8, [t('prometheus_tsdb_storage_blocks_bytes{job=~"$job"}', 'blocks {{instance}}'), t('prometheus_tsdb_wal_storage_size_bytes{job=~"$job"}', 'WAL {{instance}}')], unit('bytes')),
    p('table', 'Scrape targets (up)', 0, 20, 24, 6, [t('up')]),
  ],
};

const node: Dashboard = {
  uid: 'node-host',
  title: 'Host (node_exporter)',
  tags: ['node', 'linux'],
  shipped: true,
  time: { from: 'now-1h', to: 'now' },
  templating: {
    list: [
      { name: 'instance', type: 'query', query: 'label_values(node_uname_info, instance)', current: {} },
      { name: 'resolution', type: 'interval', query: '1m,5m,15m,1h', current: { value: '5m' } },
    ],
  },
  panels: [
    p('gauge', 'CPU busy', 0, 0, 6, 5, [t('1 - avg(rate(node_cpu_seconds_total{instance="$instance",mode="idle"}[$__rate_interval]))')], thresholds('percentunit', [['green', null], ['orange', 0.7], ['red', 0.9]], { min: 0, max: 1 })),
    p('gauge', 'Memory used', 6, 0, 6, 5, [t('1 - node_memory_MemAvailable_bytes{instance="$instance"} / node_memory_MemTotal_bytes{instance="$instance"}')], thresholds('percentunit', [['green', null], ['orange', 0.8], ['red', 0.95]], { min: 0, max: 1 })),
    p('stat', 'Uptime', 12, 0, 6, 5, [t('time() - node_boot_time_seconds{instance="$instance"}')], unit('s')),
    p('stat', 'Load (1m)', 18, 0, 6, 5, [t('node_load1{instance="$instance"}')], thresholds('none', [['green', null], ['red', 4]])),
    p('timeseries', 'CPU by mode', 0, 5, 12, 8, [t('sum by (mode) (rate(node_cpu_seconds_total{instance="$instance",mode!="idle"}[$__rate_interval]))', '{{mode}}')]),
    p('timeseries', 'Memory', 12, 5, 12, 8, [t('node_memory_MemTotal_bytes{instance="$instance"} - node_memory_MemAvailable_bytes{instance="$instance"}', 'used'), t('node_memory_MemAvailable_bytes{instance="$instance"}', 'available')], unit('bytes')),
    p('timeseries', 'Network received /s', 0, 13, 12, 8, [t('rate(node_network_receive_bytes_total{instance="$instance",device!="lo"}[$resolution])', '{{device}}')], unit('Bps')),
    p('timeseries', 'Disk I/O /s', 12, 13, 12, 8, [t('rate(node_disk_read_bytes_total{instance="$instance"}[$resolution])', 'read {{device}}'), t('rate(node_disk_written_bytes_total{instance="$instance"}[$resolution])', 'written {{device}}')], unit('Bps')),
    p('bargauge', 'Filesystem used', 0, 21, 24, 6, [t('1 - node_filesystem_avail_bytes{instance="$instance",fstype!~"tmpfs|overlay"} / node_filesystem_size_bytes{instance="$instance",fstype!~"tmpfs|overlay"}', '{{mountpoint}}')], thresholds('percentunit', [['green', null], ['orange', 0.8], ['red', 0.9]], { min: 0, max: 1 })),
  ],
};

const services: Dashboard = {
  uid: 'service-overview',
  title: 'Service overview (span metrics)',
  tags: ['traces', 'RED'],
  shipped: true,
  time: { from: 'now-1h', to: 'now' },
  templating: {
    list: [{ name: 'service', type: 'query', query: 'label_values(traces_spanmetrics_calls_total, service)', includeAll: true, multi: true, current: { value: ['$__all'] } }],
  },
  panels: [
    p('timeseries', 'Rate (spans /s)', 0, 0, 8, 8, [t('sum by (service) (rate(traces_spanmetrics_calls_total{service=~"$service"}[$__rate_interval]))', '{{service}}')], unit('reqps')),
    p('timeseries', 'Errors (share of spans)', 8, 0, 8, 8, [t('(sum by (service) (rate(traces_spanmetrics_calls_total{service=~"$service",status_code="STATUS_CODE_ERROR"}[$__rate_interval])) or 0 * sum by (service) (rate(traces_spanmetrics_calls_total{service=~"$service"}[$__rate_interval]))) / sum by (service) (rate(traces_spanmetrics_calls_total{service=~"$service"}[$__rate_interval]))', '{{service}}')], unit('percentunit')),
    p('timeseries', 'Duration p95', 16, 0, 8, 8, [t('histogram_quantile(0.95, sum by (service, le) (rate(traces_spanmetrics_latency_bucket{service=~"$service"}[$__rate_interval])))', '{{service}}')], unit('s')),
    p('table', 'Operations by rate', 0, 8, 24, 8, [t('sum by (service, span_name) (rate(traces_spanmetrics_calls_total{service=~"$service"}[$__range]))')], unit('reqps')),
    p('traces', 'Recent traces', 0, 16, 12, 8, [{ refId: 'A', query: '{ resource.service.name =~ "$service" }' }], { datasource: { type: 'tempo' } }),
    p('logs', 'Logs', 12, 16, 12, 8, [{ refId: 'A', expr: '{service_name=~"$service"}' }], { datasource: { type: 'loki' } }),
  ],
};

export const SHIPPED: Dashboard[] = [argusSelf, node, services];
