// Misbehaving connections (idle, no TLS handshake, floods, wrong address): refused or closed, counted, others served.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import { afterEach, describe, it } from 'node:test';
import { makeTestPki } from '../helpers/certs.js';
import { endpoint, type Endpoint } from '../helpers/daemon.js';
import { tempDir, waitFor } from '../helpers/wait.js';
import {
  cleanup, closed, connect, counterReaches, dropped, errors, expectAll, fileLines, goodLines, metric, refused, sendAndClose,
  startSyslog, track, udpSend, write, type Harness,
} from './bad-input-common.js';

afterEach(cleanup);

const T = { timeout: 40_000 };

function openGauge(h: Harness): Promise<number> {
  return metric(h, 'sluice_connections_open', { component: 'net' });
}

function accepted(h: Harness): Promise<number> {
  return metric(h, 'sluice_connections_accepted_total', { component: 'net' });
}

/** Opens n connections at once (from localAddress); each resolves once connected or failed, never rejects. */
async function flood(ep: Endpoint, n: number, localAddress?: string): Promise<{ sockets: net.Socket[]; closedCount: () => number }> {
  let closedN = 0;
  const sockets = await Promise.all(Array.from({ length: n }, () => new Promise<net.Socket>((resolve) => {
    const s = track(net.connect({ host: ep.host, port: ep.port, localAddress }));
    s.on('error', () => {});
    s.once('close', () => { closedN++; resolve(s); });
    s.once('connect', () => resolve(s));
    s.resume();
  })));
  return { sockets, closedCount: () => closedN };
}

/** The still-open sockets send 10 messages each (tag, seq = base + 10*i + j) and close; returns how many sent. */
async function sendTenEach(sockets: net.Socket[], tag: string, base = 0): Promise<number> {
  const alive = sockets.filter((s) => !s.destroyed);
  await Promise.all(alive.map((s, i) => sendAndClose(s, goodLines(tag, 10, base + i * 10))));
  return alive.length;
}

describe('idle peers', () => {
  it('a peer that sends nothing is closed after idle_timeout and counted; a quiet one keeps its message; others are served meanwhile', T, async () => {
    const h = await startSyslog('idle', { idle_timeout: '1s' });
    const idle = await connect(h.tcp);
    const idleClosed = closed(idle, 10_000, 'sluice to close a silent connection after idle_timeout: 1s');
    const quiet = await connect(h.tcp);
    const quietClosed = closed(quiet, 10_000, 'sluice to close a connection quiet after one message after idle_timeout: 1s');
    await write(quiet, goodLines('quiet', 1));
    const busy = await connect(h.tcp);
    await sendAndClose(busy, goodLines('busy', 300));
    await expectAll(h.out, 'busy', 300);
    await idleClosed;
    await quietClosed;
    assert.equal(await errors(h, 'idle_timeout'), 2, 'expected idle_timeout counted for the silent and the quiet peer');
    await expectAll(h.out, 'quiet', 1);
    await waitFor(async () => (await openGauge(h)) === 0, 'sluice_connections_open back to 0 after the idle close');
    const after = await connect(h.tcp);
    await sendAndClose(after, goodLines('after', 10));
    await expectAll(h.out, 'after', 10);
  });

  for (const kind of ['silent', 'plaintext'] as const) {
    const what = kind === 'silent' ? 'a TCP connection that never starts the TLS handshake' : 'a peer that sends plain syslog to the TLS port';
    it(`TLS: ${what} is closed and counted (tls_handshake); a TLS peer and a TCP peer are served meanwhile`, T, async () => {
      const pki = await makeTestPki(tempDir('pki'));
      const h = await startSyslog(`tls-${kind}`, {
        listen: ['udp://127.0.0.1:0', 'tcp://127.0.0.1:0', 'tls://127.0.0.1:0'],
        tls: { cert: pki.serverCert, key: pki.serverKey, handshake_timeout: '1s' },
      });
      const tlsEp = endpoint(h.p, 'net', 'tls');
      const bad = await connect(tlsEp);
      const badClosed = closed(bad, 8_000, `sluice to close ${what} (handshake_timeout: 1s)`);
      if (kind === 'plaintext') bad.write(goodLines('plaintext', 3));
      const good = track(tls.connect({ host: tlsEp.host, port: tlsEp.port, servername: 'localhost', ca: fs.readFileSync(pki.caCert) }));
      good.on('error', () => {});
      await new Promise<void>((resolve, reject) => { good.once('secureConnect', resolve); good.once('error', reject); });
      await sendAndClose(good, goodLines('tls', 100));
      await sendAndClose(await connect(h.tcp), goodLines('tcp', 100));
      await expectAll(h.out, 'tls', 100);
      await expectAll(h.out, 'tcp', 100);
      await badClosed;
      await counterReaches(h, 'tls_handshake refusals', () => refused(h, 'tls_handshake'), 1);
      assert.equal(await refused(h, 'tls_handshake'), 1, `expected one tls_handshake refusal for ${what}`);
      assert.deepEqual(fileLines(h.out).filter((l) => l.startsWith('plaintext')), [], 'expected nothing from a peer that never completed the handshake');
      await waitFor(async () => (await openGauge(h)) === 0, 'sluice_connections_open back to 0 after the handshake failure');
    });
  }
});

describe('handshake_timeout frees the slot', () => {
  it('two connections that never handshake (max_connections_per_peer: 2) do not lock the address out once handshake_timeout has passed', T, async () => {
    const pki = await makeTestPki(tempDir('pki'));
    const h = await startSyslog('tls-slots', {
      listen: ['tls://127.0.0.1:0'], max_connections_per_peer: 2,
      tls: { cert: pki.serverCert, key: pki.serverKey, handshake_timeout: '1s' },
    });
    const ep = endpoint(h.p, 'net', 'tls');
    await connect(ep);
    await connect(ep);
    await counterReaches(h, 'both handshakes timed out', () => refused(h, 'tls_handshake'), 2);
    const good = track(tls.connect({ host: ep.host, port: ep.port, servername: 'localhost', ca: fs.readFileSync(pki.caCert) }));
    good.on('error', () => {});
    const outcome = await new Promise<string>((resolve) => {
      good.once('secureConnect', () => resolve('connected'));
      good.once('close', () => resolve('closed'));
      good.once('error', (e) => resolve(`error: ${e.message}`));
    });
    assert.equal(outcome, 'connected', 'expected a TLS client accepted after the two silent connections timed out');
    await sendAndClose(good, goodLines('tls', 10));
    await expectAll(h.out, 'tls', 10);
    assert.equal(await refused(h, 'max_connections_per_peer'), 0, 'expected no per-peer refusal: timed-out handshakes must release their slots');
  });
});

describe('connections that leave before the TLS handshake', () => {
  it('a client that connects to the TLS port and closes (FIN) without a handshake releases its slot, and Pipeline.stop() completes', T, async () => {
    const pki = await makeTestPki(tempDir('pki'));
    const h = await startSyslog('tls-leave', {
      listen: ['tls://127.0.0.1:0'], tls: { cert: pki.serverCert, key: pki.serverKey, handshake_timeout: '30s' },
    });
    const ep = endpoint(h.p, 'net', 'tls');
    const s = await connect(ep);
    await waitFor(async () => (await openGauge(h)) === 1, 'the connection open');
    s.end();
    await waitFor(async () => (await openGauge(h)) === 0, 'sluice_connections_open back to 0 after the client closed before any handshake', 8_000);
    let timer: NodeJS.Timeout | undefined;
    const stopped = await Promise.race([
      h.p.stop().then(() => true),
      new Promise<boolean>((r) => { timer = setTimeout(() => r(false), 8_000); }),
    ]);
    clearTimeout(timer);
    assert.equal(stopped, true, 'expected Pipeline.stop() to finish within 8 s once the only client had closed');
  });
});

describe('refusals on a TLS listener count once, under their own reason', () => {
  const tlsSource = (pki: { serverCert: string; serverKey: string }, extra: Record<string, unknown>) => ({
    listen: ['tls://127.0.0.1:0'], tls: { cert: pki.serverCert, key: pki.serverKey, handshake_timeout: '5s' }, ...extra,
  });

  it('allow: [10.0.0.0/8] on a TLS listener: not_allowed, not also tls_handshake', T, async () => {
    const pki = await makeTestPki(tempDir('pki'));
    const a = await startSyslog('tls-not-allowed', tlsSource(pki, { allow: ['10.0.0.0/8'] }));
    const s = await connect(endpoint(a.p, 'net', 'tls'));
    await closed(s, 8_000, 'sluice to close a TLS connection from an address not in allow');
    await counterReaches(a, 'not_allowed', () => refused(a, 'not_allowed'), 1);
    assert.equal(await refused(a, 'tls_handshake'), 0, 'expected a not_allowed refusal not to count as tls_handshake too');
  });

  it('max_connections_per_peer: 1 on a TLS listener: max_connections_per_peer, not also tls_handshake', T, async () => {
    const pki = await makeTestPki(tempDir('pki'));
    const b = await startSyslog('tls-per-peer', tlsSource(pki, { max_connections_per_peer: 1 }));
    const ep = endpoint(b.p, 'net', 'tls');
    const first = track(tls.connect({ host: ep.host, port: ep.port, servername: 'localhost', ca: fs.readFileSync(pki.caCert) }));
    first.on('error', () => {});
    await new Promise<void>((resolve, reject) => { first.once('secureConnect', resolve); first.once('error', reject); });
    const second = await connect(ep);
    await closed(second, 8_000, 'sluice to close a TLS connection over max_connections_per_peer');
    await counterReaches(b, 'max_connections_per_peer', () => refused(b, 'max_connections_per_peer'), 1);
    assert.equal(await refused(b, 'tls_handshake'), 0, 'expected a max_connections_per_peer refusal not to count as tls_handshake too');
  });
});

describe('500 connections at once', () => {
  it('default limits: 500 connections from 5 addresses (100 each, under the per-peer default of 200) all open; 5,000 messages arrive', T, async () => {
    const h = await startSyslog('flood-default');
    const all: net.Socket[] = [];
    for (let a = 1; a <= 5; a++) all.push(...(await flood(h.tcp, 100, `127.0.0.${a}`)).sockets);
    await counterReaches(h, 'connections accepted', () => accepted(h), 500);
    assert.equal(await openGauge(h), 500, 'expected all 500 connections open at once');
    assert.equal(await refused(h, 'max_connections') + await refused(h, 'max_connections_per_peer'), 0, 'expected no refusal under the default limits');
    const sent = await sendTenEach(all, 'conn');
    assert.equal(sent, 500, 'expected every socket still open when it sent');
    await expectAll(h.out, 'conn', 5000, 30_000);
    await waitFor(async () => (await openGauge(h)) === 0, 'all connections closed');
  });

  it('max_connections_per_peer: 50 — 450 of 500 refused and counted, the 50 served, another address served meanwhile, new connections accepted after they close', T, async () => {
    const h = await startSyslog('flood-per-peer', { max_connections_per_peer: 50 });
    const f = await flood(h.tcp, 500, '127.0.0.1');
    await counterReaches(h, 'max_connections_per_peer refusals', () => refused(h, 'max_connections_per_peer'), 450);
    await waitFor(() => f.closedCount() >= 450, '450 refused sockets closed by sluice');
    assert.equal(await accepted(h), 50, 'expected exactly 50 connections accepted from 127.0.0.1');
    assert.equal(await refused(h, 'max_connections_per_peer'), 450, 'expected 450 refusals counted as max_connections_per_peer');
    // Another address is not held back by 127.0.0.1's limit.
    const other = await connect(h.tcp, '127.0.0.2');
    await sendAndClose(other, goodLines('other', 20));
    await expectAll(h.out, 'other', 20);
    const sent = await sendTenEach(f.sockets, 'first');
    assert.equal(sent, 50, 'expected the 50 accepted sockets to be the open ones');
    await expectAll(h.out, 'first', 500);
    await waitFor(async () => (await openGauge(h)) === 0, 'the 50 connections closed');
    const again = await flood(h.tcp, 50, '127.0.0.1');
    await counterReaches(h, 'accepted after release', () => accepted(h), 50 + 1 + 50);
    assert.equal(await refused(h, 'max_connections_per_peer'), 450, 'expected no new refusal once the slots were released');
    assert.equal(await sendTenEach(again.sockets, 'again'), 50, 'expected all 50 new connections open');
    await expectAll(h.out, 'again', 500);
  });

  it('max_connections: 100 — 400 of 500 (from 5 addresses) refused and counted, the 100 served, new connections accepted after they close', T, async () => {
    const h = await startSyslog('flood-total', { max_connections: 100 });
    const floods = await Promise.all([1, 2, 3, 4, 5].map((a) => flood(h.tcp, 100, `127.0.0.${a}`)));
    await counterReaches(h, 'max_connections refusals', () => refused(h, 'max_connections'), 400);
    await waitFor(() => floods.reduce((n, f) => n + f.closedCount(), 0) >= 400, '400 refused sockets closed by sluice');
    assert.equal(await accepted(h), 100, 'expected exactly 100 connections accepted in total');
    assert.equal(await refused(h, 'max_connections'), 400, 'expected 400 refusals counted as max_connections');
    assert.equal(await refused(h, 'max_connections_per_peer'), 0, 'expected no per-peer refusal (100 per address is under 200)');
    const sent = await sendTenEach(floods.flatMap((f) => f.sockets), 'first');
    assert.equal(sent, 100, 'expected the 100 accepted sockets to be the open ones');
    await expectAll(h.out, 'first', 1000);
    await waitFor(async () => (await openGauge(h)) === 0, 'the 100 connections closed');
    const again = await flood(h.tcp, 100, '127.0.0.9');
    await counterReaches(h, 'accepted after release', () => accepted(h), 200);
    assert.equal(await refused(h, 'max_connections'), 400, 'expected no new refusal once the slots were released');
    assert.equal(await sendTenEach(again.sockets, 'again'), 100, 'expected all 100 new connections open');
    await expectAll(h.out, 'again', 1000);
  });
});

describe('allow lists', () => {
  it('allow: [10.0.0.0/8] refuses 127.0.0.1: TCP refused (not_allowed), UDP dropped and counted; nothing stored', T, async () => {
    const h = await startSyslog('allow-refuse', { allow: ['10.0.0.0/8'] });
    const s = await connect(h.tcp);
    const c = closed(s);
    s.write(goodLines('refused', 5));
    await c;
    await udpSend(h.udp, goodLines('udp-refused', 7).split('\n').filter(Boolean));
    await counterReaches(h, 'not_allowed refusals', () => refused(h, 'not_allowed'), 1);
    await counterReaches(h, 'not_allowed UDP drops', () => dropped(h, 'not_allowed'), 7);
    assert.equal(await refused(h, 'not_allowed'), 1, 'expected one TCP refusal counted as not_allowed');
    assert.equal(await dropped(h, 'not_allowed'), 7, 'expected each UDP datagram counted in events_dropped{reason="not_allowed"}');
    assert.equal(await accepted(h), 0, 'expected no accepted connection');
    assert.equal(await metric(h, 'sluice_events_received_total', { component: 'net' }), 0, 'expected no event received from a refused address');
    assert.deepEqual(fileLines(h.out), [], 'expected nothing stored from a refused address');
  });

  it('allow: [127.0.0.0/8] accepts; allow: [127.0.0.2/32] accepts 127.0.0.2 while refusing 127.0.0.1', T, async () => {
    const h = await startSyslog('allow-accept', { allow: ['127.0.0.0/8'] });
    await sendAndClose(await connect(h.tcp), goodLines('tcp', 10));
    await udpSend(h.udp, goodLines('udp', 10).split('\n').filter(Boolean));
    await expectAll(h.out, 'tcp', 10);
    await expectAll(h.out, 'udp', 10);
    assert.equal(await refused(h, 'not_allowed') + await dropped(h, 'not_allowed'), 0, 'expected nothing refused from an allowed address');

    const h2 = await startSyslog('allow-one', { allow: ['127.0.0.2/32'] });
    const no = await connect(h2.tcp, '127.0.0.1');
    const noClosed = closed(no);
    const yes = await connect(h2.tcp, '127.0.0.2');
    await sendAndClose(yes, goodLines('allowed', 10));
    await udpSend(h2.udp, goodLines('udp-allowed', 5).split('\n').filter(Boolean), '127.0.0.2');
    await udpSend(h2.udp, goodLines('udp-refused', 5).split('\n').filter(Boolean), '127.0.0.1');
    await noClosed;
    await expectAll(h2.out, 'allowed', 10);
    await expectAll(h2.out, 'udp-allowed', 5);
    await counterReaches(h2, 'not_allowed UDP drops', () => dropped(h2, 'not_allowed'), 5);
    assert.equal(await refused(h2, 'not_allowed'), 1, 'expected the 127.0.0.1 connection refused as not_allowed');
    assert.deepEqual(fileLines(h2.out).filter((l) => l.startsWith('udp-refused')), [], 'expected no datagram from 127.0.0.1 stored');
  });
});
