/**
 * Server-level checks: AuthenticationAndConnectivityValidation, SourceVersionValidation and
 * ServerParametersValidation. Each returns findings; the runner turns them into ARM items.
 */
import type { MigrationMode } from '../model/states';
import { quoteIdent } from '../pg/ident';
import { finding, type Finding } from './codes';
import type { ServerParams, PluginProbe } from './source-facts';
import type { ConnectionOutcome } from './connectivity';

export function connectivityFindings(side: 'source' | 'target', user: string, hostPort: string, out: ConnectionOutcome): Finding[] {
  // The classified message already names host:port and login; it never contains the password.
  if (out.ok) {
    return [finding('603900', { side, hostPort, user, version: out.serverVersion, ssl: out.ssl ? 'on' : 'off' })];
  }
  if (out.kind === 'AuthenticationFailed') {
    return [finding('603100', { side, hostPort, user, reason: out.message, fix: out.fix })];
  }
  if (out.kind === 'SslNotSupported') {
    return [finding('603001', { side, hostPort, sslMode: out.sslMode })];
  }
  return [finding('603000', { side, hostPort, reason: out.message, fix: out.fix })];
}

export function versionFindings(source: ServerParams, target: ServerParams): Finding[] {
  const out: Finding[] = [];
  if (source.versionNum < 90500) out.push(finding('603400', { version: source.version }));
  const sMajor = majorOf(source.versionNum);
  const tMajor = majorOf(target.versionNum);
  if (tMajor < sMajor) out.push(finding('603901', { source: sMajor, target: tMajor }));
  if (out.length === 0) out.push(finding('603902', { source: source.version, target: target.version }));
  return out;
}

/** 150008 → 15; 90605 → 9.6 (majors before 10 have two parts). */
export function majorOf(versionNum: number): number {
  return versionNum >= 100000 ? Math.floor(versionNum / 10000) : Math.floor(versionNum / 100) / 100;
}

export interface ParameterInputs {
  mode: MigrationMode;
  databases: number;
  source: ServerParams;
  /** Undefined when the probe could not run (wal_level or permission already failed). */
  plugin: PluginProbe | undefined;
  /** Size of the selected databases in MB, for WAL-retention advice. */
  sizeMb: number;
  probeWaitSeconds: number;
}

/**
 * Online needs logical decoding on the source: wal_level, slots, senders, REPLICATION and a plugin.
 * An Offline migration reads with plain SELECT/COPY, so there these checks only inform.
 */
export function parameterFindings(i: ParameterInputs): Finding[] {
  const s = i.source;
  const out: Finding[] = [];
  out.push(finding('603908', {
    walLevel: s.walLevel ?? 'unknown', slots: s.maxReplicationSlots ?? 'n/a', slotsUsed: s.slotsUsed,
    senders: s.maxWalSenders ?? 'n/a', sendersUsed: s.sendersUsed, keep: s.maxSlotWalKeepSizeMb === null ? 'n/a' : `${s.maxSlotWalKeepSizeMb}MB`,
  }));
  if (i.mode === 'Offline') return out;

  if (s.walLevel !== 'logical') out.push(finding('603107', { value: s.walLevel ?? 'unknown' }));
  const needed = i.databases;
  if (s.maxReplicationSlots !== null && s.maxReplicationSlots - s.slotsUsed < needed) {
    out.push(finding('603105', { max: s.maxReplicationSlots, used: s.slotsUsed, needed, suggest: s.slotsUsed + needed + 2 }));
  }
  if (s.maxWalSenders !== null && s.maxWalSenders - s.sendersUsed < needed) {
    out.push(finding('603106', { max: s.maxWalSenders, used: s.sendersUsed, needed, suggest: s.sendersUsed + needed + 2 }));
  }
  if (!s.canReplicate) out.push(finding('603104', { user: s.currentUser, userQuoted: quoteIdent(s.currentUser) }));
  if (s.walSenderTimeoutMs !== null && s.walSenderTimeoutMs > 0 && s.walSenderTimeoutMs < 60_000) {
    out.push(finding('603903', { value: s.walSenderTimeoutMs }));
  }
  if (s.maxSlotWalKeepSizeMb !== null) {
    if (s.maxSlotWalKeepSizeMb >= 0 && s.maxSlotWalKeepSizeMb < Math.max(i.sizeMb, 1024)) {
      out.push(finding('603904', { value: s.maxSlotWalKeepSizeMb, size: Math.max(i.sizeMb, 1024) }));
    } else if (s.maxSlotWalKeepSizeMb < 0 && i.sizeMb > 0) {
      out.push(finding('603909', { size: i.sizeMb }));
    }
  }
  if (i.plugin) {
    if (i.plugin.ok) out.push(finding('603905', { plugin: i.plugin.plugin, why: i.plugin.why }));
    else if (i.plugin.blockedBy) out.push(finding('603907', { seconds: i.probeWaitSeconds, pids: i.plugin.blockedBy.join(', ') || 'unknown' }));
    else out.push(finding('603906', { reason: i.plugin.reason }));
  }
  return out;
}

/** Runs a probe only when it can succeed: logical WAL, a free slot and the permission to make one. */
export function canProbePlugin(s: ServerParams): boolean {
  return s.walLevel === 'logical' && s.canReplicate && (s.maxReplicationSlots ?? 0) > s.slotsUsed;
}

