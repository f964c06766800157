#!/usr/bin/env node
// A small SMSC for the integration tests, built on the npm `smpp` package (server mode): an SMPP
// 3.4 peer this project did not write. It binds ESMEs, answers submit_sm with message ids, sends
// deliver_sm delivery receipts, and can misbehave on request (throttle, queue full, drop the
// connection) so the tests can check notify's client against a real protocol stack.
//
// Usage: node smpp_server.js --record FILE [--port 0] [--system-id ID] [--password PW]
//          [--receipt-delay-ms 20] [--receipt-stat DELIVRD] [--no-receipts]
// Prints {"event":"listening","port":N} on stdout once listening. Control commands arrive as JSON
// lines on stdin, each acknowledged on stdout with {"ack": <command>}:
//   {"throttle": N}        the next N submit_sm get ESME_RTHROTTLED (0x58)
//   {"after": K, ...}      (with throttle / queue_full / reject) answer K submit_sm normally first
//   {"queue_full": N}      the next N submit_sm get ESME_RMSGQFUL (0x14)
//   {"reject": N, "status": S}   the next N submit_sm get command_status S (e.g. 11 = RINVDSTADR)
//   {"drop_after": N}      after answering N more submit_sm, close the connection (once)
//   {"drop_on_submit": true}  close the connection on the next submit_sm without answering it
//   {"receipt_stat": "UNDELIV"}  status of the receipts sent from now on
//   {"receipts": false}    stop (true: resume) sending delivery receipts
// Everything it sees is appended to the record file as JSON lines (binds, every submit_sm part
// with its UDH information elements and decoded text, receipts, drops, enquire_links).
'use strict';

const fs = require('fs');
const readline = require('readline');
const smpp = require('smpp');

function parseArgs(argv) {
  const opts = {
    port: 0, record: null, systemId: 'notify', password: 'secret',
    receiptDelayMs: 20, receiptStat: 'DELIVRD', receipts: true,
  };
  for (let i = 2; i < argv.length; i++) {
    const a = argv[i];
    const next = () => argv[++i];
    if (a === '--port') opts.port = Number(next());
    else if (a === '--record') opts.record = next();
    else if (a === '--system-id') opts.systemId = next();
    else if (a === '--password') opts.password = next();
    else if (a === '--receipt-delay-ms') opts.receiptDelayMs = Number(next());
    else if (a === '--receipt-stat') opts.receiptStat = next();
    else if (a === '--no-receipts') opts.receipts = false;
    else throw new Error('unknown argument ' + a);
  }
  if (!opts.record) throw new Error('--record FILE is required');
  return opts;
}

const opts = parseArgs(process.argv);
const record = fs.openSync(opts.record, 'a');
function log(entry) {
  entry.ts = Date.now();
  fs.writeSync(record, JSON.stringify(entry) + '\n');
}
function say(obj) {
  process.stdout.write(JSON.stringify(obj) + '\n');
}

// Misbehaviour knobs, changed through stdin.
const faults = { skip: 0, throttle: 0, queueFull: 0, reject: 0, rejectStatus: 0, dropAfter: -1, dropOnSubmit: false };
let nextMessageId = 0x5a000;
let sessionCounter = 0;
const bound = new Set();          // sessions bound as transceiver or receiver
const pendingReceipts = [];       // receipts waiting for a bound receiver (like a real SMSC)

// Receipt dates in Beijing time, as Chinese SMSCs write them.
function yymmddhhmm(utc) {
  const d = new Date(utc.getTime() + 8 * 3600 * 1000);
  const p = (n) => String(n).padStart(2, '0');
  return p(d.getUTCFullYear() % 100) + p(d.getUTCMonth() + 1) + p(d.getUTCDate()) + p(d.getUTCHours()) + p(d.getUTCMinutes());
}

const MESSAGE_STATE = { DELIVRD: 2, EXPIRED: 3, DELETED: 4, UNDELIV: 5, ACCEPTD: 6, UNKNOWN: 7, REJECTD: 8 };

function flushReceipts() {
  const session = [...bound][0];
  if (!session) return;
  while (pendingReceipts.length) {
    const r = pendingReceipts.shift();
    const text = `id:${r.messageId} sub:001 dlvrd:${r.stat === 'DELIVRD' ? '001' : '000'} ` +
      `submit date:${yymmddhhmm(r.submitted)} done date:${yymmddhhmm(new Date())} ` +
      `stat:${r.stat} err:${r.stat === 'DELIVRD' ? '000' : '001'} text:`;
    const ok = session.deliver_sm({
      source_addr: r.dest,            // a receipt comes from the handset's number
      destination_addr: r.src,
      esm_class: 0x04,                // SMSC delivery receipt
      data_coding: 0x01,
      short_message: text,
      receipted_message_id: r.messageId,
      message_state: MESSAGE_STATE[r.stat] || 7,
    }, (resp) => log({ t: 'receipt_resp', message_id: r.messageId, status: resp.command_status }));
    if (!ok) { pendingReceipts.unshift(r); return; }
    log({ t: 'receipt', message_id: r.messageId, stat: r.stat, session: session.id });
  }
}

function queueReceipt(messageId, pdu, submitted) {
  if (!opts.receipts || !(pdu.registered_delivery & 0x01)) return;
  const stat = opts.receiptStat;
  setTimeout(() => {
    pendingReceipts.push({ messageId, stat, dest: pdu.destination_addr, src: pdu.source_addr, submitted });
    flushReceipts();
  }, opts.receiptDelayMs);
}

function describeMessage(pdu) {
  const sm = pdu.short_message || {};
  const udh = (sm.udh || []).map((b) => Buffer.from(b).toString('hex'));
  const text = typeof sm.message === 'string' ? sm.message : Buffer.isBuffer(sm.message) ? sm.message.toString('hex') : '';
  return { udh, text };
}

const server = smpp.createServer((session) => {
  session.id = ++sessionCounter;
  log({ t: 'connect', session: session.id });

  const onBind = (kind) => (pdu) => {
    session.pause();
    const ok = pdu.system_id === opts.systemId && pdu.password === opts.password;
    log({ t: 'bind', kind, session: session.id, system_id: pdu.system_id, ok });
    if (!ok) {
      session.send(pdu.response({ command_status: smpp.ESME_RBINDFAIL }));
      session.close();
      return;
    }
    session.send(pdu.response({ system_id: 'onewindow-test-smsc' }));
    if (kind !== 'transmitter') bound.add(session);
    session.resume();
    flushReceipts();
  };
  session.on('bind_transceiver', onBind('transceiver'));
  session.on('bind_transmitter', onBind('transmitter'));
  session.on('bind_receiver', onBind('receiver'));

  session.on('submit_sm', (pdu) => {
    const { udh, text } = describeMessage(pdu);
    const base = {
      t: 'submit', session: session.id, seq: pdu.sequence_number, dest: pdu.destination_addr,
      src: pdu.source_addr, esm_class: pdu.esm_class, data_coding: pdu.data_coding,
      registered_delivery: pdu.registered_delivery, udh, text,
    };
    if (faults.dropOnSubmit) {
      faults.dropOnSubmit = false;
      log(Object.assign(base, { outcome: 'dropped_unanswered' }));
      bound.delete(session);
      session.destroy();
      return;
    }
    let status = 0;
    if (faults.skip > 0) faults.skip--;
    else if (faults.throttle > 0) { faults.throttle--; status = smpp.ESME_RTHROTTLED; }
    else if (faults.queueFull > 0) { faults.queueFull--; status = smpp.ESME_RMSGQFUL; }
    else if (faults.reject > 0) { faults.reject--; status = faults.rejectStatus; }
    if (status) {
      log(Object.assign(base, { outcome: 'rejected', status }));
      session.send(pdu.response({ command_status: status }));
      return;
    }
    const messageId = (nextMessageId++).toString(16).toUpperCase();
    log(Object.assign(base, { outcome: 'accepted', message_id: messageId }));
    session.send(pdu.response({ message_id: messageId }));
    queueReceipt(messageId, pdu, new Date());
    if (faults.dropAfter > 0 && --faults.dropAfter === 0) {
      faults.dropAfter = -1;
      log({ t: 'drop', session: session.id, after: messageId });
      bound.delete(session);
      // Let the response reach the client first: the test checks that an answered submit is
      // never sent again after the reconnect.
      setImmediate(() => session.destroy());
    }
  });

  session.on('enquire_link', (pdu) => {
    log({ t: 'enquire_link', session: session.id });
    session.send(pdu.response());
  });
  session.on('unbind', (pdu) => {
    log({ t: 'unbind', session: session.id });
    bound.delete(session);
    session.send(pdu.response());
    session.close();
  });
  session.on('close', () => { bound.delete(session); log({ t: 'close', session: session.id }); });
  session.on('error', (e) => { bound.delete(session); log({ t: 'error', session: session.id, message: String(e && e.message) }); });
});

server.on('error', (e) => { say({ event: 'error', message: String(e.message) }); process.exit(1); });
server.listen(opts.port, '127.0.0.1', () => say({ event: 'listening', port: server.address().port }));

const rl = readline.createInterface({ input: process.stdin });
rl.on('line', (line) => {
  if (!line.trim()) return;
  let cmd;
  try { cmd = JSON.parse(line); } catch (e) { say({ error: 'bad json' }); return; }
  if ('after' in cmd) faults.skip = Number(cmd.after);
  if ('throttle' in cmd) faults.throttle = Number(cmd.throttle);
  if ('queue_full' in cmd) faults.queueFull = Number(cmd.queue_full);
  if ('reject' in cmd) { faults.reject = Number(cmd.reject); faults.rejectStatus = Number(cmd.status); }
  if ('drop_after' in cmd) faults.dropAfter = Number(cmd.drop_after);
  if ('drop_on_submit' in cmd) faults.dropOnSubmit = !!cmd.drop_on_submit;
  if ('receipt_stat' in cmd) opts.receiptStat = String(cmd.receipt_stat);
  if ('receipts' in cmd) opts.receipts = !!cmd.receipts;
  log({ t: 'control', cmd });
  say({ ack: cmd });
});
// The fixture closes stdin to stop us.
rl.on('close', () => { server.close(); for (const s of bound) s.destroy(); setTimeout(() => process.exit(0), 50); });
