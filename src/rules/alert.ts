// Alerts are events: what a rule emits, routed by log paths like anything a source reads.
//
// DESIGN.md: message = the rule's title, severity from its level, fields.rule (id, title,
// level, tags, author), the group-by values, the count, first and last time.

import { eventTimeMs } from '../codec/encode/common.js';
import { LogEvent, type EventSource } from '../event/log-event.js';

/** Sigma levels to syslog severities. */
const LEVEL_SEVERITY: Record<string, number> = { informational: 6, low: 5, medium: 4, high: 3, critical: 2 };
/** RFC 5424 facility 13, "log audit". */
const ALERT_FACILITY = 13;

export interface RuleInfo {
  id: string | null;
  title: string;
  level: string;
  tags: string[];
  author: string | null;
  /** sigma, event_count, value_count, temporal, temporal_ordered, threshold, first_seen, rate_spike */
  type: string;
  name?: string | null;
  description?: string | null;
}

export interface AlertDetails {
  group: Record<string, unknown>;
  count: number;
  first: number;
  last: number;
  /** The event that completed the match (its host becomes the alert's host). */
  event: LogEvent | null;
  extra?: Record<string, unknown>;
}

export function alertSource(ruleSet: string): EventSource {
  return { name: ruleSet, transport: 'internal', address: null, port: null, tlsPeer: null };
}

export function severityOfLevel(level: string): number {
  return LEVEL_SEVERITY[level] ?? 4;
}

export function makeAlert(source: EventSource, rule: RuleInfo, d: AlertDetails): LogEvent {
  const ev = d.event;
  const fields: Record<string, unknown> = {
    ...d.group,
    rule: { id: rule.id, title: rule.title, level: rule.level, tags: rule.tags, author: rule.author, type: rule.type, ...(rule.name ? { name: rule.name } : {}) },
    group: d.group,
    count: d.count,
    first: new Date(d.first).toISOString(),
    last: new Date(d.last).toISOString(),
    ...d.extra,
  };
  if (ev !== null) fields.event = { hostname: ev.hostname, appname: ev.appname, message: ev.message, source: ev.source.name };
  return LogEvent.fromValues(source, Date.now(), {
    timestamp: new Date(d.last).toISOString(),
    facility: ALERT_FACILITY,
    severity: severityOfLevel(rule.level),
    hostname: ev?.hostname ?? null,
    appname: 'sluice',
    msgid: 'ALERT',
    message: rule.title,
    fields,
  });
}

/** The time an event happened: its timestamp, else when it was received. */
export const eventTime: (ev: LogEvent) => number = eventTimeMs;
