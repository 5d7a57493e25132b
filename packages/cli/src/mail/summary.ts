/** One line per message for `hearth mail list` and `watch`: number, size, From, Subject. */

/** A header field's value from TOP n 0 lines (unfolded, first occurrence). */
export function headerField(lines: readonly string[], name: string): string | undefined {
  const prefix = `${name.toLowerCase()}:`;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line === '') return undefined;
    if (!line.toLowerCase().startsWith(prefix)) continue;
    let value = line.slice(prefix.length).trim();
    while (i + 1 < lines.length && /^[ \t]/.test(lines[i + 1]!)) value += ` ${lines[++i]!.trim()}`;
    return value;
  }
  return undefined;
}

export function summaryLine(number: number, size: number, header: readonly string[]): string {
  const from = clip(headerField(header, 'From') ?? '-', 40);
  const subject = clip(headerField(header, 'Subject') ?? '(no subject)', 60);
  return `${number}\t${size}\t${from}\t${subject}`;
}

function clip(text: string, max: number): string {
  const clean = text.replace(/[\x00-\x1f\x7f]/g, ' ');
  return clean.length > max ? `${clean.slice(0, max - 3)}...` : clean;
}
