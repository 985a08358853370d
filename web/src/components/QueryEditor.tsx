// A one-box query editor: autocompletion from a caller-supplied source, Enter runs the query
// (Shift+Enter inserts a newline), and a parse error is shown under the column it names.
import { useEffect, useRef, useState } from 'preact/hooks';

export interface Completions {
  items: string[];
  from: number; // replace text[from, cursor) with the chosen item
  suffix?: string; // appended after the item (e.g. '="' after a label name)
  detail?: Record<string, string>; // shown beside an item, e.g. a metric's type and help
}

export interface QueryError {
  message: string;
  position?: [number, number] | null; // 1-based line, column
}

interface Props {
  value: string;
  onChange: (v: string) => void;
  onRun: () => void;
  complete: (text: string, cursor: number) => Promise<Completions | null>;
  error?: QueryError | null;
  placeholder?: string;
  testId?: string;
}

export function QueryEditor({ value, onChange, onRun, complete, error, placeholder, testId }: Props) {
  const ref = useRef<HTMLTextAreaElement>(null);
  const [sugg, setSugg] = useState<Completions | null>(null);
  const [sel, setSel] = useState(0);
  const seq = useRef(0);

  const refresh = async (text: string, cursor: number) => {
    const n = ++seq.current;
    let c: Completions | null = null;
    try {
      c = await complete(text, cursor);
    } catch {
      c = null;
    }
    if (n !== seq.current) return;
    setSugg(c && c.items.length ? c : null);
    setSel(0);
  };

  const accept = (item: string) => {
    const ta = ref.current;
    if (!ta || !sugg) return;
    const cursor = ta.selectionStart;
    const ins = item + (sugg.suffix ?? '');
    const next = value.slice(0, sugg.from) + ins + value.slice(cursor);
    onChange(next);
    setSugg(null);
    const pos = sugg.from + ins.length;
    requestAnimationFrame(() => {
      ta.focus();
      ta.setSelectionRange(pos, pos);
      void refresh(next, pos);
    });
  };

  const onKeyDown = (e: KeyboardEvent) => {
    if (sugg) {
      if (e.key === 'ArrowDown') {
        setSel((s) => (s + 1) % sugg.items.length);
        e.preventDefault();
        return;
      }
      if (e.key === 'ArrowUp') {
        setSel((s) => (s - 1 + sugg.items.length) % sugg.items.length);
        e.preventDefault();
        return;
      }
      if (e.key === 'Tab' || (e.key === 'Enter' && !e.shiftKey)) {
        accept(sugg.items[sel]);
        e.preventDefault();
        return;
      }
      if (e.key === 'Escape') {
        setSugg(null);
        e.preventDefault();
        return;
      }
    }
    if (e.key === 'Enter' && !e.shiftKey) {
      e.preventDefault();
      setSugg(null);
      onRun();
    } else if (e.key === ' ' && e.ctrlKey) {
      e.preventDefault();
      const ta = ref.current!;
      void refresh(ta.value, ta.selectionStart);
    }
  };

  useEffect(() => {
    const ta = ref.current;
    if (ta) {
      ta.style.height = 'auto';
      ta.style.height = `${ta.scrollHeight + 2}px`;
    }
  }, [value]);

  const lines = value.split('\n');
  let marker: string | null = null;
  if (error?.position) {
    const [line, col] = error.position;
    const text = lines[line - 1];
    if (text !== undefined) marker = `${text}\n${' '.repeat(Math.max(0, col - 1))}^`;
  }

  return (
    <div class="qe">
      <textarea
        ref={ref}
        class={`qe-input${error ? ' qe-has-error' : ''}`}
        data-testid={testId}
        spellcheck={false}
        rows={1}
        value={value}
        placeholder={placeholder}
        onInput={(e) => {
          const ta = e.currentTarget;
          onChange(ta.value);
          void refresh(ta.value, ta.selectionStart);
        }}
        onKeyDown={onKeyDown}
        onBlur={() => setTimeout(() => setSugg(null), 150)}
        onFocus={(e) => void refresh(e.currentTarget.value, e.currentTarget.selectionStart)}
      />
      {sugg && (
        <ul class="qe-suggestions" role="listbox" data-testid="suggestions">
          {sugg.items.map((it, i) => (
            <li
              role="option"
              aria-selected={i === sel}
              class={i === sel ? 'sel' : ''}
              onMouseDown={(e) => {
                e.preventDefault();
                accept(it);
              }}
            >
              <span class="qe-item">{it}</span>
              {sugg.detail?.[it] && <span class="qe-detail">{sugg.detail[it]}</span>}
            </li>
          ))}
        </ul>
      )}
      {error && (
        <div class="qe-error" role="alert" data-testid="query-error">
          {marker && <pre class="qe-marker">{marker}</pre>}
          <span>{error.message}</span>
        </div>
      )}
    </div>
  );
}
