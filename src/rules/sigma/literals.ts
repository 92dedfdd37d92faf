// Many "contains" literals over one field, found in one pass (Aho-Corasick as a DFA over ASCII).
//
// 100 rules of keyword lists make ~130 substring tests per event; one scan of the lower-cased
// message answers them all. Literals with non-ASCII characters keep their own includes().

const ALPHA = 128;

export class LiteralScanner {
  private delta: Int32Array = new Int32Array(0);
  /** Per state: the literal ids that end there (own and through suffix links). */
  private outputs: (number[] | null)[] = [];
  private readonly literals: { text: string; id: number }[] = [];
  private readonly slow: { text: string; id: number }[] = [];
  private built = false;

  add(text: string, id: number): void {
    // eslint-disable-next-line no-control-regex
    if (/^[\x00-\x7f]+$/.test(text)) this.literals.push({ text, id });
    else this.slow.push({ text, id });
    this.built = false;
  }

  private build(): void {
    const gotoT: Map<number, number>[] = [new Map()];
    const out: number[][] = [[]];
    for (const { text, id } of this.literals) {
      let s = 0;
      for (let i = 0; i < text.length; i++) {
        const c = text.charCodeAt(i);
        let n = gotoT[s]!.get(c);
        if (n === undefined) { n = gotoT.length; gotoT.push(new Map()); out.push([]); gotoT[s]!.set(c, n); }
        s = n;
      }
      out[s]!.push(id);
    }
    const states = gotoT.length;
    const delta = new Int32Array(states * ALPHA);
    const fail = new Int32Array(states);
    const queue: number[] = [];
    for (let c = 0; c < ALPHA; c++) {
      const n = gotoT[0]!.get(c);
      if (n !== undefined) { delta[c] = n; fail[n] = 0; queue.push(n); } else delta[c] = 0;
    }
    for (let q = 0; q < queue.length; q++) {
      const s = queue[q]!;
      out[s]!.push(...out[fail[s]!]!);
      for (let c = 0; c < ALPHA; c++) {
        const n = gotoT[s]!.get(c);
        if (n !== undefined) { fail[n] = delta[fail[s]! * ALPHA + c]!; delta[s * ALPHA + c] = n; queue.push(n); }
        else delta[s * ALPHA + c] = delta[fail[s]! * ALPHA + c]!;
      }
    }
    // ASCII case folding in the automaton: the text need not be lower-cased first.
    for (let st = 0; st < states; st++) for (let c = 65; c <= 90; c++) delta[st * ALPHA + c] = delta[st * ALPHA + c + 32]!;
    this.delta = delta;
    this.outputs = out.map((o) => (o.length ? [...new Set(o)] : null));
    this.built = true;
  }

  /** The same over raw bytes (a received message not yet decoded): bytes ≥ 0x80 match no ASCII literal. */
  scanBytes(buf: Buffer, start: number, end: number, found: Uint32Array, stamp: number, list: number[]): void {
    if (!this.built) this.build();
    const delta = this.delta;
    const outputs = this.outputs;
    let s = 0;
    for (let i = start; i < end; i++) {
      const c = buf[i]!;
      s = c < ALPHA ? delta[s * ALPHA + c]! : 0;
      const o = outputs[s];
      if (o !== null) for (let k = 0; k < o!.length; k++) { const id = o![k]!; if (found[id] !== stamp) { found[id] = stamp; list.push(id); } }
    }
  }

  /** Literals with non-ASCII characters need the lower-cased text. */
  get needsLower(): boolean {
    return this.slow.length > 0;
  }

  /**
   * Marks found[id] = stamp for every literal present in text (ASCII letters compared without
   * case), and lists each once in `list`; `lower` is the lower-cased text when needsLower.
   */
  scan(text: string, found: Uint32Array, stamp: number, list: number[], lower: string | null = null): void {
    if (!this.built) this.build();
    const delta = this.delta;
    const outputs = this.outputs;
    let s = 0;
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      s = c < ALPHA ? delta[s * ALPHA + c]! : 0;
      const o = outputs[s];
      if (o !== null) for (let k = 0; k < o!.length; k++) { const id = o![k]!; if (found[id] !== stamp) { found[id] = stamp; list.push(id); } }
    }
    for (const { text: t, id } of this.slow) if (found[id] !== stamp && (lower ?? text.toLowerCase()).includes(t)) { found[id] = stamp; list.push(id); }
  }
}
