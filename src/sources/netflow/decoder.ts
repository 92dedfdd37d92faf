// NetFlow v5, v9 (RFC 3954) and IPFIX (RFC 7011) datagrams to flow records named after IPFIX
// information elements. Templates are kept per exporter (address, port), version, source id /
// observation domain and template id; data sets that arrive before their template wait
// (bounded); options records become exporter metadata (sampling rate, interface names).

import { element, readValue, type Element } from './elements.js';

export type Flow = Record<string, unknown>;

export interface DecodeProblem {
  type: 'malformed' | 'unknown_version' | 'unknown_template' | 'template_buffer_full' | 'sequence_gap' | 'exporter_restart';
  message: string;
}

interface Field {
  el: Element;
  id: number;
  /** 65535 = variable length (IPFIX). */
  length: number;
}

interface Template {
  fields: Field[];
  scopeCount: number;
  options: boolean;
  /** Fixed record length, or -1 with variable-length fields. */
  recordLength: number;
}

interface Waiting {
  key: string;
  data: Buffer;
  ctx: RecordContext;
  at: number;
}

interface RecordContext {
  version: number;
  exportSecs: number;
  sysUptime: number;
  domain: number;
  exporter: string;
}

interface Exporter {
  sequence: number | null;
  sysUptime: number;
  exportSecs: number;
  /** Options data: samplingInterval, interface names by index. */
  metadata: { samplingInterval?: number; interfaces: Map<number, string> };
}

export interface DecoderLimits {
  maxTemplates: number;
  maxWaitingBytes: number;
  waitingTtlMs: number;
}

export class NetflowDecoder {
  private readonly templates = new Map<string, Template>();
  private readonly exporters = new Map<string, Exporter>();
  private waiting: Waiting[] = [];
  private waitingBytes = 0;

  constructor(private readonly limits: DecoderLimits, private readonly problem: (p: DecodeProblem) => void) {}

  get templateCount(): number {
    return this.templates.size;
  }

  /** Exporter metadata learned from options records, for tests and flow enrichment. */
  metadata(exporter: string, domain: number): Exporter['metadata'] | undefined {
    return this.exporters.get(exporter + '|' + domain)?.metadata;
  }

  decode(b: Buffer, exporter: string, now: number): Flow[] {
    if (b.length < 4) {
      this.problem({ type: 'malformed', message: `datagram of ${b.length} bytes is too short for a NetFlow header` });
      return [];
    }
    const version = b.readUInt16BE(0);
    const out: Flow[] = [];
    try {
      if (version === 5) this.v5(b, exporter, out);
      else if (version === 9) this.v9(b, exporter, now, out);
      else if (version === 10) this.ipfix(b, exporter, now, out);
      else this.problem({ type: 'unknown_version', message: `datagram with version ${version} is not NetFlow v5, v9 or IPFIX` });
    } catch (e) {
      if (!(e instanceof RangeError)) throw e;
      this.problem({ type: 'malformed', message: `NetFlow v${version} datagram ends inside a field: ${e.message}` });
    }
    this.expireWaiting(now);
    return out;
  }

  private exporterState(key: string): Exporter {
    let e = this.exporters.get(key);
    if (e === undefined) {
      e = { sequence: null, sysUptime: 0, exportSecs: 0, metadata: { interfaces: new Map() } };
      this.exporters.set(key, e);
    }
    return e;
  }

  /** Sequence numbers: gaps (lost datagrams/records) and restarts (a sequence or uptime going back). */
  private sequence(ex: Exporter, seq: number, next: number, uptime: number | null, label: string): void {
    if (ex.sequence !== null) {
      // An uptime going back is a reboot: the sequence starts over, nothing was lost.
      const restarted = uptime !== null && uptime < ex.sysUptime;
      if (restarted) {
        this.problem({ type: 'exporter_restart', message: `${label}: exporter restarted (sequence ${ex.sequence} -> ${seq})` });
      } else if (seq !== ex.sequence) {
        const lost = (seq - ex.sequence) >>> 0;
        this.problem({ type: 'sequence_gap', message: `${label}: sequence gap, ${lost} missing (expected ${ex.sequence}, got ${seq})` });
      }
    }
    ex.sequence = next >>> 0;
    if (uptime !== null) ex.sysUptime = uptime;
  }

  private v5(b: Buffer, exporter: string, out: Flow[]): void {
    if (b.length < 24) throw new RangeError('v5 header is 24 bytes');
    const count = b.readUInt16BE(2);
    if (count === 0 || count > 30 || b.length < 24 + count * 48) {
      this.problem({ type: 'malformed', message: `v5 datagram claims ${count} records but has ${b.length} bytes (24 + 48 per record)` });
      return;
    }
    const uptime = b.readUInt32BE(4);
    const secs = b.readUInt32BE(8);
    const nsecs = b.readUInt32BE(12);
    const seq = b.readUInt32BE(16);
    const engineType = b[20]!;
    const engineId = b[21]!;
    const sampling = b.readUInt16BE(22) & 0x3fff;
    const ex = this.exporterState(exporter + '|v5|' + engineType + '.' + engineId);
    this.sequence(ex, seq, seq + count, uptime, `v5 exporter ${exporter}`);
    const exportMs = secs * 1000 + Math.floor(nsecs / 1e6);
    for (let i = 0; i < count; i++) {
      const o = 24 + i * 48;
      const first = b.readUInt32BE(o + 24);
      const last = b.readUInt32BE(o + 28);
      const f: Flow = {
        netflowVersion: 5,
        sourceIPv4Address: ipv4(b, o),
        destinationIPv4Address: ipv4(b, o + 4),
        ipNextHopIPv4Address: ipv4(b, o + 8),
        ingressInterface: b.readUInt16BE(o + 12),
        egressInterface: b.readUInt16BE(o + 14),
        packetDeltaCount: b.readUInt32BE(o + 16),
        octetDeltaCount: b.readUInt32BE(o + 20),
        flowStartMilliseconds: exportMs - (uptime - first),
        flowEndMilliseconds: exportMs - (uptime - last),
        sourceTransportPort: b.readUInt16BE(o + 32),
        destinationTransportPort: b.readUInt16BE(o + 34),
        tcpControlBits: b[o + 37]!,
        protocolIdentifier: b[o + 38]!,
        ipClassOfService: b[o + 39]!,
        bgpSourceAsNumber: b.readUInt16BE(o + 40),
        bgpDestinationAsNumber: b.readUInt16BE(o + 42),
        sourceIPv4PrefixLength: b[o + 44]!,
        destinationIPv4PrefixLength: b[o + 45]!,
        engineType,
        engineId,
      };
      if (sampling > 0) f.samplingInterval = sampling;
      out.push(f);
    }
  }

  private v9(b: Buffer, exporter: string, now: number, out: Flow[]): void {
    if (b.length < 20) throw new RangeError('v9 header is 20 bytes');
    const uptime = b.readUInt32BE(4);
    const secs = b.readUInt32BE(8);
    const seq = b.readUInt32BE(12);
    const domain = b.readUInt32BE(16);
    const ex = this.exporterState(exporter + '|' + domain);
    // v9 counts export packets.
    this.sequence(ex, seq, seq + 1, uptime, `v9 exporter ${exporter} source id ${domain}`);
    const ctx: RecordContext = { version: 9, exportSecs: secs, sysUptime: uptime, domain, exporter };
    this.sets(b, 20, b.length, ctx, now, out, 0, 1);
  }

  private ipfix(b: Buffer, exporter: string, now: number, out: Flow[]): void {
    if (b.length < 16) throw new RangeError('IPFIX header is 16 bytes');
    const length = b.readUInt16BE(2);
    if (length < 16 || length > b.length) {
      this.problem({ type: 'malformed', message: `IPFIX message length ${length} does not fit the ${b.length}-byte datagram` });
      return;
    }
    const secs = b.readUInt32BE(4);
    const seq = b.readUInt32BE(8);
    const domain = b.readUInt32BE(12);
    const ex = this.exporterState(exporter + '|' + domain);
    const ctx: RecordContext = { version: 10, exportSecs: secs, sysUptime: 0, domain, exporter };
    const before = out.length;
    const expected = ex.sequence;
    this.sets(b, 16, length, ctx, now, out, 2, 3);
    // IPFIX counts data records (flows and options records) before this message.
    const records = out.length - before + this.lastOptionRecords;
    if (expected !== null && seq !== expected) {
      if (seq < expected && expected - seq > 1000) this.problem({ type: 'exporter_restart', message: `IPFIX exporter ${exporter} domain ${domain}: sequence went back (${expected} -> ${seq})` });
      else this.problem({ type: 'sequence_gap', message: `IPFIX exporter ${exporter} domain ${domain}: sequence gap, ${(seq - expected) >>> 0} records missing` });
    }
    ex.sequence = (seq + records) >>> 0;
  }

  private lastOptionRecords = 0;

  /** Walks the sets (v9 flowsets) of one message. */
  private sets(b: Buffer, start: number, end: number, ctx: RecordContext, now: number, out: Flow[], templateId: number, optionsId: number): void {
    let o = start;
    this.lastOptionRecords = 0;
    while (o + 4 <= end) {
      const id = b.readUInt16BE(o);
      const len = b.readUInt16BE(o + 2);
      if (len < 4 || o + len > end) {
        this.problem({ type: 'malformed', message: `${label(ctx)}: set ${id} has length ${len}, ${end - o} bytes left` });
        return;
      }
      const body = b.subarray(o + 4, o + len);
      if (id === templateId) this.templateSet(body, ctx, false, now, out);
      else if (id === optionsId) this.templateSet(body, ctx, true, now, out);
      else if (id >= 256) this.dataSet(body, id, ctx, now, out, true);
      // ids 4..255 (other than templates) are reserved: skipped
      o += len;
    }
  }

  private templateSet(body: Buffer, ctx: RecordContext, options: boolean, now: number, out: Flow[]): void {
    let o = 0;
    const ipfix = ctx.version === 10;
    while (o + 4 <= body.length) {
      const tid = body.readUInt16BE(o);
      let fieldCount: number;
      let scopeCount = 0;
      let p: number;
      if (!options) {
        fieldCount = body.readUInt16BE(o + 2);
        p = o + 4;
      } else if (ipfix) {
        fieldCount = body.readUInt16BE(o + 2);
        scopeCount = body.readUInt16BE(o + 4);
        p = o + 6;
      } else {
        // v9 options: lengths in bytes of the scope and option field lists.
        const scopeLen = body.readUInt16BE(o + 2);
        const optLen = body.readUInt16BE(o + 4);
        scopeCount = scopeLen / 4;
        fieldCount = scopeCount + optLen / 4;
        p = o + 6;
      }
      if (tid < 256) {
        if (tid === 0 && fieldCount === 0) break; // padding
        this.problem({ type: 'malformed', message: `${label(ctx)}: template id ${tid} is below 256` });
        return;
      }
      if (fieldCount === 0) {
        // IPFIX template withdrawal.
        this.templates.delete(templateKey(ctx, tid));
        o = p;
        continue;
      }
      const fields: Field[] = [];
      let recordLength = 0;
      for (let i = 0; i < fieldCount; i++) {
        if (p + 4 > body.length) {
          this.problem({ type: 'malformed', message: `${label(ctx)}: template ${tid} ends inside its field list` });
          return;
        }
        let id = body.readUInt16BE(p);
        const length = body.readUInt16BE(p + 2);
        p += 4;
        let enterprise = 0;
        if (ipfix && id & 0x8000) {
          if (p + 4 > body.length) {
            this.problem({ type: 'malformed', message: `${label(ctx)}: template ${tid} ends inside an enterprise number` });
            return;
          }
          id &= 0x7fff;
          enterprise = body.readUInt32BE(p);
          p += 4;
        }
        // v9 options scope fields have their own type numbers (1 system, 2 interface, ...).
        const el = !ipfix && options && i < scopeCount ? { name: V9_SCOPES[id] ?? `scope${id}`, kind: 'uint' as const } : element(id, enterprise, length);
        fields.push({ el, id: enterprise === 0 ? id : -1, length });
        if (length === 65535) recordLength = -1;
        else if (recordLength >= 0) recordLength += length;
      }
      if (recordLength === 0) {
        this.problem({ type: 'malformed', message: `${label(ctx)}: template ${tid} has zero-length records` });
        return;
      }
      const key = templateKey(ctx, tid);
      if (!this.templates.has(key) && this.templates.size >= this.limits.maxTemplates) {
        this.problem({ type: 'template_buffer_full', message: `${label(ctx)}: more than max_templates (${this.limits.maxTemplates}) templates; template ${tid} ignored` });
      } else {
        this.templates.set(key, { fields, scopeCount, options, recordLength });
        this.release(key, now, out);
      }
      o = p;
    }
  }

  private dataSet(body: Buffer, tid: number, ctx: RecordContext, now: number, out: Flow[], mayWait: boolean): void {
    const key = templateKey(ctx, tid);
    const t = this.templates.get(key);
    if (t === undefined) {
      if (!mayWait) return;
      this.problem({ type: 'unknown_template', message: `${label(ctx)}: data set for template ${tid} before its template; kept until it comes (bounded)` });
      if (this.waitingBytes + body.length > this.limits.maxWaitingBytes) {
        this.problem({ type: 'template_buffer_full', message: `${label(ctx)}: data waiting for templates exceeds its bound; set for template ${tid} dropped` });
        return;
      }
      this.waiting.push({ key, data: Buffer.from(body), ctx, at: now });
      this.waitingBytes += body.length;
      return;
    }
    let o = 0;
    const minLen = t.recordLength > 0 ? t.recordLength : 1;
    while (o + minLen <= body.length) {
      const rec: Flow = {};
      let p = o;
      for (const f of t.fields) {
        let len = f.length;
        if (len === 65535) {
          len = body[p]!;
          p++;
          if (len === 255) { len = body.readUInt16BE(p); p += 2; }
        }
        if (p + len > body.length) throw new RangeError(`record of template ${tid} runs past its set`);
        if (f.el.name !== 'paddingOctets') rec[f.el.name] = readValue(f.el.kind, body, p, len);
        p += len;
      }
      if (p === o) break;
      o = p;
      if (t.options) this.optionsRecord(rec, ctx);
      else out.push(this.finish(rec, ctx));
    }
  }

  private optionsRecord(rec: Flow, ctx: RecordContext): void {
    this.lastOptionRecords++;
    const meta = this.exporterState(ctx.exporter + '|' + ctx.domain).metadata;
    const rate = rec.samplingInterval ?? rec.samplingPacketInterval ?? rec.samplerRandomInterval;
    if (typeof rate === 'number' && rate > 0) meta.samplingInterval = rate;
    const ifIndex = rec.ingressInterface ?? rec.interface;
    if (typeof ifIndex === 'number' && typeof rec.interfaceName === 'string') meta.interfaces.set(ifIndex, rec.interfaceName);
  }

  /** v9 times from sysUptime to epoch milliseconds; exporter metadata on the flow. */
  private finish(rec: Flow, ctx: RecordContext): Flow {
    rec.netflowVersion = ctx.version;
    if (ctx.version === 9) {
      const exportMs = ctx.exportSecs * 1000;
      if (typeof rec.flowStartSysUpTime === 'number') { rec.flowStartMilliseconds = exportMs - (ctx.sysUptime - rec.flowStartSysUpTime); delete rec.flowStartSysUpTime; }
      if (typeof rec.flowEndSysUpTime === 'number') { rec.flowEndMilliseconds = exportMs - (ctx.sysUptime - rec.flowEndSysUpTime); delete rec.flowEndSysUpTime; }
    }
    const meta = this.exporters.get(ctx.exporter + '|' + ctx.domain)?.metadata;
    if (meta) {
      if (meta.samplingInterval !== undefined && rec.samplingInterval === undefined) rec.samplingInterval = meta.samplingInterval;
      if (meta.interfaces.size > 0) {
        const i = meta.interfaces.get(rec.ingressInterface as number);
        const e = meta.interfaces.get(rec.egressInterface as number);
        if (i !== undefined) rec.ingressInterfaceName = i;
        if (e !== undefined) rec.egressInterfaceName = e;
      }
    }
    return rec;
  }

  /** Decodes data that waited for the template just learned. */
  private release(key: string, now: number, out: Flow[]): void {
    if (this.waiting.length === 0) return;
    const keep: Waiting[] = [];
    for (const w of this.waiting) {
      if (w.key !== key) { keep.push(w); continue; }
      this.waitingBytes -= w.data.length;
      const tid = Number(key.slice(key.lastIndexOf('|') + 1));
      try {
        this.dataSet(w.data, tid, w.ctx, now, out, false);
      } catch (e) {
        if (!(e instanceof RangeError)) throw e;
        this.problem({ type: 'malformed', message: `${label(w.ctx)}: buffered data for template ${tid} does not fit it` });
      }
    }
    this.waiting = keep;
  }

  private expireWaiting(now: number): void {
    if (this.waiting.length === 0 || now - this.waiting[0]!.at < this.limits.waitingTtlMs) return;
    const keep: Waiting[] = [];
    for (const w of this.waiting) {
      if (now - w.at < this.limits.waitingTtlMs) keep.push(w);
      else this.waitingBytes -= w.data.length;
    }
    this.waiting = keep;
  }
}

const V9_SCOPES: Record<number, string> = { 1: 'scopeSystem', 2: 'interface', 3: 'scopeLineCard', 4: 'scopeCache', 5: 'scopeTemplate' };

function templateKey(ctx: RecordContext, tid: number): string {
  return ctx.exporter + '|' + ctx.version + '|' + ctx.domain + '|' + tid;
}

function label(ctx: RecordContext): string {
  return `${ctx.version === 10 ? 'IPFIX' : 'v9'} exporter ${ctx.exporter} ${ctx.version === 10 ? 'domain' : 'source id'} ${ctx.domain}`;
}

function ipv4(b: Buffer, o: number): string {
  return `${b[o]}.${b[o + 1]}.${b[o + 2]}.${b[o + 3]}`;
}
