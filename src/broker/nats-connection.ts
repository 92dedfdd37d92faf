// NATS connections for the nats source and destination: servers from the config, reconnecting for ever.

import type { NatsConnection } from 'nats';
import { z } from 'zod';

export type NatsLib = typeof import('nats');
let natsLib: Promise<NatsLib> | null = null;

/** The nats client, loaded when a nats component starts (most configs have none: ~5 MB less). */
export function loadNats(): Promise<NatsLib> {
  return (natsLib ??= import('nats'));
}

/** `url`: one nats://HOST:PORT or several (a cluster), as a list or comma-separated. */
export const natsUrlSchema = z.union([z.string().min(1), z.array(z.string().min(1)).min(1)])
  .describe('nats://HOST:PORT, or a list of the cluster\'s servers');

export function natsServers(url: string | string[]): string[] {
  const list = Array.isArray(url) ? url : url.split(',');
  return list.map((u) => u.trim()).filter((u) => u.length > 0);
}

/**
 * Opens a connection that, once up, reconnects without limit (the client buffers publishes
 * meanwhile). The first connect fails fast so the caller can back off and report it.
 */
export async function openNats(servers: string[], name: string, timeoutMs: number): Promise<NatsConnection> {
  const { connect } = await loadNats();
  return connect({
    servers,
    name,
    timeout: timeoutMs,
    reconnect: true,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 250,
    reconnectJitter: 250,
    pingInterval: 10_000,
    maxPingOut: 3,
    waitOnFirstConnect: false,
  });
}

/** The JetStream API error code of an error, when it has one. */
export function jsErrorCode(e: unknown): number | null {
  const api = (e as { api_error?: { err_code?: number } }).api_error;
  return typeof api?.err_code === 'number' ? api.err_code : null;
}

/** A short error type for counters: what kind of failure a publish or API call met. */
export function natsErrorType(e: unknown): string {
  const code = (e as { code?: string }).code;
  // The JetStream API's own description says more than the status code (a full stream is a 503 too).
  const api = (e as { api_error?: { description?: string } }).api_error;
  const msg = api?.description ?? (e as Error).message ?? '';
  if (/maximum (bytes|messages|messages per subject) exceeded|resource limits exceeded|insufficient resources/i.test(msg)) return 'stream_full';
  if (code === '503' || /no responders/i.test(msg)) return 'no_responders';
  if (code === 'TIMEOUT' || /timeout/i.test(msg)) return 'timeout';
  if (code === 'CONNECTION_CLOSED' || code === 'CONNECTION_DRAINING' || /disconnect|closed/i.test(msg)) return 'disconnected';
  return 'publish_error';
}
