// The time range picker: relative ranges (last 5m ... 7d) and an absolute from/to pair, plus a
// refresh button.
import { useState } from 'preact/hooks';
import { RELATIVE_RANGES, TimeRange, describeRange, formatTime, resolveTime } from '../time';

interface Props {
  range: TimeRange;
  onChange: (r: TimeRange) => void;
  onRefresh?: () => void;
}

export function TimePicker({ range, onChange, onRefresh }: Props) {
  const [open, setOpen] = useState(false);
  const [from, setFrom] = useState(range.from);
  const [to, setTo] = useState(range.to);
  const [err, setErr] = useState('');
  const toggle = () => {
    setFrom(range.from);
    setTo(range.to);
    setErr('');
    setOpen(!open);
  };
  const apply = () => {
    const a = resolveTime(from);
    const b = resolveTime(to);
    if (isNaN(a) || isNaN(b)) return setErr('Use "now-1h", "now" or a date like 2026-01-02 15:04:05');
    if (a >= b) return setErr('"From" must be before "To"');
    onChange({ from, to });
    setOpen(false);
  };
  return (
    <div class="tp">
      <button class="btn" data-testid="time-picker" onClick={toggle} title={`${formatTime(resolveTime(range.from))} – ${formatTime(resolveTime(range.to))}`}>
        {describeRange(range)}
      </button>
      {onRefresh && (
        <button class="btn" onClick={onRefresh} title="Run again">
          ↻
        </button>
      )}
      {open && (
        <div class="tp-pop">
          <div class="tp-abs">
            <label>
              From <input value={from} onInput={(e) => setFrom(e.currentTarget.value)} />
            </label>
            <label>
              To <input value={to} onInput={(e) => setTo(e.currentTarget.value)} />
            </label>
            {err && <div class="err">{err}</div>}
            <button class="btn primary" onClick={apply}>
              Apply time range
            </button>
          </div>
          <ul class="tp-rel">
            {RELATIVE_RANGES.map((r) => (
              <li>
                <a
                  href="#"
                  class={r.from === range.from && range.to === 'now' ? 'active' : ''}
                  onClick={(e) => {
                    e.preventDefault();
                    onChange({ from: r.from, to: 'now' });
                    setOpen(false);
                  }}
                >
                  {r.label}
                </a>
              </li>
            ))}
          </ul>
        </div>
      )}
    </div>
  );
}
