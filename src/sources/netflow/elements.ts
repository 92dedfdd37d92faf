// IPFIX information elements (IANA registry, RFC 7012) by id: the names flow fields get.
// NetFlow v9 field types 1..127 are the same numbers. Kinds say how the bytes read.

export type ElementKind = 'uint' | 'ipv4' | 'ipv6' | 'mac' | 'string' | 'bytes';

const IPV4 = new Set([8, 12, 15, 18, 44, 45, 47, 130, 225, 226]);
const IPV6 = new Set([27, 28, 62, 63, 131, 281, 282]);
const MAC = new Set([56, 57, 80, 81]);
const STRING = new Set([82, 83, 84, 94, 96, 100]);
const BYTES = new Set([70, 90, 210]);

const NAMES: Record<number, string> = {
  1: 'octetDeltaCount', 2: 'packetDeltaCount', 3: 'deltaFlowCount', 4: 'protocolIdentifier', 5: 'ipClassOfService',
  6: 'tcpControlBits', 7: 'sourceTransportPort', 8: 'sourceIPv4Address', 9: 'sourceIPv4PrefixLength', 10: 'ingressInterface',
  11: 'destinationTransportPort', 12: 'destinationIPv4Address', 13: 'destinationIPv4PrefixLength', 14: 'egressInterface',
  15: 'ipNextHopIPv4Address', 16: 'bgpSourceAsNumber', 17: 'bgpDestinationAsNumber', 18: 'bgpNextHopIPv4Address',
  19: 'postMCastPacketDeltaCount', 20: 'postMCastOctetDeltaCount', 21: 'flowEndSysUpTime', 22: 'flowStartSysUpTime',
  23: 'postOctetDeltaCount', 24: 'postPacketDeltaCount', 25: 'minimumIpTotalLength', 26: 'maximumIpTotalLength',
  27: 'sourceIPv6Address', 28: 'destinationIPv6Address', 29: 'sourceIPv6PrefixLength', 30: 'destinationIPv6PrefixLength',
  31: 'flowLabelIPv6', 32: 'icmpTypeCodeIPv4', 33: 'igmpType', 34: 'samplingInterval', 35: 'samplingAlgorithm',
  36: 'flowActiveTimeout', 37: 'flowIdleTimeout', 38: 'engineType', 39: 'engineId', 40: 'exportedOctetTotalCount',
  41: 'exportedMessageTotalCount', 42: 'exportedFlowRecordTotalCount', 44: 'sourceIPv4Prefix', 45: 'destinationIPv4Prefix',
  46: 'mplsTopLabelType', 47: 'mplsTopLabelIPv4Address', 48: 'samplerId', 49: 'samplerMode', 50: 'samplerRandomInterval',
  52: 'minimumTTL', 53: 'maximumTTL', 54: 'fragmentIdentification', 55: 'postIpClassOfService', 56: 'sourceMacAddress',
  57: 'postDestinationMacAddress', 58: 'vlanId', 59: 'postVlanId', 60: 'ipVersion', 61: 'flowDirection',
  62: 'ipNextHopIPv6Address', 63: 'bgpNextHopIPv6Address', 64: 'ipv6ExtensionHeaders', 70: 'mplsTopLabelStackSection',
  80: 'destinationMacAddress', 81: 'postSourceMacAddress', 82: 'interfaceName', 83: 'interfaceDescription',
  84: 'samplerName', 85: 'octetTotalCount', 86: 'packetTotalCount', 88: 'fragmentOffset', 89: 'forwardingStatus',
  90: 'mplsVpnRouteDistinguisher', 94: 'applicationDescription', 95: 'applicationId', 96: 'applicationName',
  100: 'className', 128: 'bgpNextAdjacentAsNumber', 129: 'bgpPrevAdjacentAsNumber', 130: 'exporterIPv4Address',
  131: 'exporterIPv6Address', 132: 'droppedOctetDeltaCount', 133: 'droppedPacketDeltaCount', 136: 'flowEndReason',
  139: 'icmpTypeCodeIPv6', 144: 'exportingProcessId', 148: 'flowId', 149: 'observationDomainId',
  150: 'flowStartSeconds', 151: 'flowEndSeconds', 152: 'flowStartMilliseconds', 153: 'flowEndMilliseconds',
  154: 'flowStartMicroseconds', 155: 'flowEndMicroseconds', 156: 'flowStartNanoseconds', 157: 'flowEndNanoseconds',
  160: 'systemInitTimeMilliseconds', 161: 'flowDurationMilliseconds', 176: 'icmpTypeIPv4', 177: 'icmpCodeIPv4',
  178: 'icmpTypeIPv6', 179: 'icmpCodeIPv6', 180: 'udpSourcePort', 181: 'udpDestinationPort', 182: 'tcpSourcePort',
  183: 'tcpDestinationPort', 184: 'tcpSequenceNumber', 185: 'tcpAcknowledgementNumber', 186: 'tcpWindowSize',
  192: 'ipTTL', 195: 'ipDiffServCodePoint', 210: 'paddingOctets', 225: 'postNATSourceIPv4Address',
  226: 'postNATDestinationIPv4Address', 227: 'postNAPTSourceTransportPort', 228: 'postNAPTDestinationTransportPort',
  233: 'firewallEvent', 234: 'ingressVRFID', 235: 'egressVRFID', 302: 'selectorId', 305: 'samplingPacketInterval',
  306: 'samplingPacketSpace',
};

export interface Element {
  name: string;
  kind: ElementKind;
}

const cache = new Map<number, Element>();

/** The element for an IANA id, or for an enterprise-specific one (named e<PEN>_<id>, read as bytes unless short). */
export function element(id: number, enterprise: number, length: number): Element {
  if (enterprise !== 0) return { name: `e${enterprise}_${id}`, kind: length > 0 && length <= 8 ? 'uint' : 'bytes' };
  let e = cache.get(id);
  if (e === undefined) {
    const kind: ElementKind = IPV4.has(id) ? 'ipv4' : IPV6.has(id) ? 'ipv6' : MAC.has(id) ? 'mac' : STRING.has(id) ? 'string' : BYTES.has(id) ? 'bytes' : 'uint';
    cache.set(id, (e = { name: NAMES[id] ?? `ie${id}`, kind }));
  }
  if (e.kind === 'uint' && length > 8) return { name: e.name, kind: 'bytes' };
  return e;
}

/** Reads one value; addresses as text, counters as numbers (exact up to 2^53). */
export function readValue(kind: ElementKind, b: Buffer, off: number, len: number): unknown {
  switch (kind) {
    case 'uint': {
      if (len === 1) return b[off]!;
      if (len === 2) return b.readUInt16BE(off);
      if (len === 4) return b.readUInt32BE(off);
      let v = 0;
      for (let i = 0; i < len; i++) v = v * 256 + b[off + i]!;
      return v;
    }
    case 'ipv4':
      if (len !== 4) return b.toString('hex', off, off + len);
      return `${b[off]}.${b[off + 1]}.${b[off + 2]}.${b[off + 3]}`;
    case 'ipv6': {
      if (len !== 16) return b.toString('hex', off, off + len);
      const parts: string[] = [];
      for (let i = 0; i < 16; i += 2) parts.push(b.readUInt16BE(off + i).toString(16));
      return compressIpv6(parts);
    }
    case 'mac': {
      const parts: string[] = [];
      for (let i = 0; i < len; i++) parts.push(b[off + i]!.toString(16).padStart(2, '0'));
      return parts.join(':');
    }
    case 'string':
      return b.toString('utf8', off, off + len).replace(/\0+$/, '');
    default:
      return b.toString('hex', off, off + len);
  }
}

function compressIpv6(parts: string[]): string {
  let best = -1;
  let bestLen = 0;
  for (let i = 0; i < 8;) {
    if (parts[i] !== '0') { i++; continue; }
    let j = i;
    while (j < 8 && parts[j] === '0') j++;
    if (j - i > bestLen && j - i > 1) { best = i; bestLen = j - i; }
    i = j;
  }
  if (best < 0) return parts.join(':');
  return parts.slice(0, best).join(':') + '::' + parts.slice(best + bestLen).join(':');
}
