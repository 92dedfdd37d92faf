// A growable output buffer for encoders: byte-range copies and string writes without joins.

export class ByteWriter {
  buf: Buffer;
  pos = 0;

  constructor(initial = 64 * 1024) {
    this.buf = Buffer.allocUnsafe(initial);
  }

  reset(): void {
    this.pos = 0;
  }

  ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  /** Copies src[s, e). Short ranges are copied by hand: a native call costs more than the bytes. */
  range(src: Buffer, s: number, e: number): void {
    const n = e - s;
    this.ensure(n);
    const out = this.buf;
    let p = this.pos;
    if (n < 48) {
      for (let i = s; i < e; i++) out[p++] = src[i]!;
    } else {
      src.copy(out, p, s, e);
      p += n;
    }
    this.pos = p;
  }

  byte(c: number): void {
    this.ensure(1);
    this.buf[this.pos++] = c;
  }

  /** Writes a string as UTF-8. */
  text(s: string): void {
    const max = s.length * 3;
    this.ensure(max);
    this.pos += this.buf.write(s, this.pos, max, 'utf8');
  }

  /** The bytes written so far (a view; copy it if the writer is reused). */
  view(): Buffer {
    return this.buf.subarray(0, this.pos);
  }
}
