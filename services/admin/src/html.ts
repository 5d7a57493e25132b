/**
 * The one way a page is written: the `html` tagged template. Every interpolated value is escaped
 * (`& < > " '`) unless it is itself `Html` made by this template; arrays are joined; `undefined`,
 * `null` and `false` write nothing. There is no other way to make `Html` from a string, so a
 * value shown on a page cannot skip escaping.
 */

const MADE_HERE = Symbol('html');

export class Html {
  readonly #text: string;
  /** Only `html` makes these (the key is private to this module). */
  constructor(key: symbol, text: string) {
    if (key !== MADE_HERE) throw new TypeError('Html is made by the html template only');
    this.#text = text;
  }
  toString(): string {
    return this.#text;
  }
}

export type Value = Html | string | number | bigint | boolean | null | undefined | readonly Value[];

const ENTITIES: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Escapes text for an element's content or a quoted attribute value. */
export function escapeText(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ENTITIES[c]!);
}

function render(value: Value): string {
  if (value instanceof Html) return value.toString();
  if (Array.isArray(value)) return value.map((v: Value) => render(v)).join('');
  if (value === undefined || value === null || value === false) return '';
  return escapeText(String(value));
}

export function html(strings: TemplateStringsArray, ...values: readonly Value[]): Html {
  let out = strings[0] ?? '';
  for (let i = 0; i < values.length; i++) out += render(values[i]) + (strings[i + 1] ?? '');
  return new Html(MADE_HERE, out);
}
