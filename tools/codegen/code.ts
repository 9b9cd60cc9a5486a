/** A small line-oriented source builder with two-space indentation. */
export class Code {
  private readonly lines: string[] = [];
  private depth = 0;

  line(text = ''): void {
    this.lines.push(text === '' ? '' : '  '.repeat(this.depth) + text);
  }

  /** Writes `head` and indents what follows until `close`. */
  open(head: string): void {
    this.line(head);
    this.depth++;
  }

  close(tail = '}'): void {
    this.depth--;
    this.line(tail);
  }

  /** Closes one level and opens another on the same line, e.g. `} else {`. */
  middle(text: string): void {
    this.depth--;
    this.line(text);
    this.depth++;
  }

  /** Ends an indented run without writing a line (after `default:` in a switch). */
  dedent(): void {
    this.depth--;
  }

  /** `head {`, the body indented, then `}`. */
  block(head: string, body: () => void): void {
    this.open(`${head} {`);
    body();
    this.close();
  }

  append(other: Code): void {
    for (const line of other.lines) this.lines.push(line === '' ? '' : '  '.repeat(this.depth) + line);
  }

  get isEmpty(): boolean {
    return this.lines.length === 0;
  }

  toString(): string {
    return this.lines.join('\n') + '\n';
  }
}

/** A single-quoted TypeScript string literal. */
export function quote(text: string): string {
  return `'${text.replace(/\\/g, '\\\\').replace(/'/g, "\\'").replace(/\n/g, '\\n')}'`;
}
