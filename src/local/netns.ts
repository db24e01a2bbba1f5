/**
 * The network of `pgvigil local up --netns`: every member (each PostgreSQL node with its agent,
 * each sentinel, each Redis server) in a network namespace of its own, joined by a bridge that
 * sits in a namespace of its own; the host reaches the bridge through one veth of its own.
 *
 *   host ── pgvXXXXh ═ host ─┐
 *                            br0 (namespace pgv-XXXX-br)
 *   pgv-XXXX-pg1: eth0 ═ v-pg1 ─┘ ...
 *
 * Addresses are link-local, one /24 of 169.254.0.0/16 per cluster (169.254.S.0/24, S from 77
 * up, claimed atomically under /run/pgvigil-netns so two clusters never share one): the host
 * veth .1, members from .10. Nothing else of the machine is touched: no existing interface,
 * address or route changes (the kernel adds the connected route of the new host veth only),
 * and nothing is routed beyond these namespaces (no gateway, no forwarding out).
 *
 * Every name is written to `<dir>/netns.json` BEFORE it is created, so `local down` removes
 * them by name even after the harness crashed half way (removing a missing one is no error).
 *
 * Partitions are silent drops in the bridge's namespace (nftables `bridge` family, forward
 * hook: bridged frames, no br_netfilter needed): packets vanish, nothing is refused.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { UserError } from '../core/errors.js';

export const NETNS_FILE = 'netns.json';
const CLAIM_DIR = '/run/pgvigil-netns';
const SUBNET_FIRST = 77;
const SUBNET_LAST = 126;
const FIRST_MEMBER = 10;

export interface NetnsMember {
  /** pg1, s1, redis-1 */
  name: string;
  /** the network namespace */
  ns: string;
  /** its veth end in the bridge's namespace */
  veth: string;
  addr: string;
}

export interface Partition {
  from: string[];
  to: string[];
  oneway: boolean;
}

export interface NetnsPlan {
  id: string;
  /** S of 169.254.S.0/24 */
  subnet: number;
  bridgeNs: string;
  bridge: string;
  /** the host's veth (in the host namespace) and its address */
  hostVeth: string;
  hostAddr: string;
  members: NetnsMember[];
  partitions: Partition[];
}

/** Who gets a namespace: every node, sentinel and Redis server. */
export function netnsMembers(nodes: string[], sentinels: number, redis: number): string[] {
  return [
    ...nodes,
    ...Array.from({ length: sentinels }, (_, i) => `s${i + 1}`),
    ...Array.from({ length: redis }, (_, i) => `redis-${i + 1}`),
  ];
}

/** The namespace and address of member `name` (undefined on loopback). */
export function memberOf(plan: NetnsPlan | null, name: string): NetnsMember | undefined {
  return plan?.members.find((m) => m.name === name);
}

/** Refuse --netns without root or without the tools, in one line. */
export function assertNetnsUsable(): void {
  if (process.getuid?.() !== 0)
    throw new UserError(
      '--netns needs root (it creates network namespaces, veths and a bridge): run as root or drop --netns',
    );
  for (const tool of ['ip', 'nft', 'nsenter']) {
    try {
      execFileSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' });
    } catch {
      throw new UserError(`--netns needs ${tool}: apt-get install -y iproute2 nftables util-linux`);
    }
  }
}

export function netnsPath(dir: string): string {
  return join(dir, NETNS_FILE);
}

export function readNetns(dir: string): NetnsPlan | null {
  const file = netnsPath(dir);
  if (!existsSync(file)) return null;
  return JSON.parse(readFileSync(file, 'utf8')) as NetnsPlan;
}

export function writeNetns(dir: string, plan: NetnsPlan): void {
  writeFileSync(`${netnsPath(dir)}.tmp`, JSON.stringify(plan, null, 2) + '\n', { mode: 0o600 });
  execFileSync('mv', [`${netnsPath(dir)}.tmp`, netnsPath(dir)]);
}

function ip(args: string[]): void {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

/** Claim a free 169.254.S.0/24: mkdir is atomic, a claim whose cluster is gone is taken over. */
function claimSubnet(dir: string): number {
  mkdirSync(CLAIM_DIR, { recursive: true, mode: 0o700 });
  const used = execFileSync('ip', ['-4', '-o', 'addr', 'show'], { encoding: 'utf8' });
  for (let s = SUBNET_FIRST; s <= SUBNET_LAST; s++) {
    if (used.includes(`169.254.${s}.`)) continue;
    const claim = join(CLAIM_DIR, String(s));
    try {
      mkdirSync(claim);
    } catch {
      const owner = existsSync(join(claim, 'dir')) ? readFileSync(join(claim, 'dir'), 'utf8') : '';
      if (owner && existsSync(netnsPath(owner))) continue; // a live (or not yet downed) cluster
      rmSync(claim, { recursive: true, force: true });
      try {
        mkdirSync(claim);
      } catch {
        continue;
      }
    }
    writeFileSync(join(claim, 'dir'), dir);
    return s;
  }
  throw new UserError(
    `no free 169.254.S.0/24 for --netns (S ${SUBNET_FIRST}..${SUBNET_LAST} in use): run \`pgvigil local down\` on old clusters`,
  );
}

/** Names and addresses for `members` (nothing created yet). */
export function planNetns(dir: string, members: string[]): NetnsPlan {
  const id = randomBytes(2).toString('hex');
  const subnet = claimSubnet(dir);
  return {
    id,
    subnet,
    bridgeNs: `pgv-${id}-br`,
    bridge: 'br0',
    hostVeth: `pgv${id}h`,
    hostAddr: `169.254.${subnet}.1`,
    members: members.map((name, i) => ({
      name,
      ns: `pgv-${id}-${name}`,
      veth: `v-${name}`.slice(0, 15),
      addr: `169.254.${subnet}.${FIRST_MEMBER + i}`,
    })),
    partitions: [],
  };
}

/** Create the bridge namespace, the host veth, and every member's namespace and veth. */
export function createNetns(dir: string, plan: NetnsPlan): void {
  writeNetns(dir, plan); // names first: a crash from here on leaves nothing `down` cannot find
  const br = plan.bridgeNs;
  ip(['netns', 'add', br]);
  ip(['-n', br, 'link', 'set', 'lo', 'up']);
  ip(['-n', br, 'link', 'add', plan.bridge, 'type', 'bridge']);
  ip(['-n', br, 'link', 'set', plan.bridge, 'up']);
  ip(['link', 'add', plan.hostVeth, 'type', 'veth', 'peer', 'name', 'host', 'netns', br]);
  ip(['-n', br, 'link', 'set', 'host', 'master', plan.bridge, 'up']);
  ip(['addr', 'add', `${plan.hostAddr}/24`, 'dev', plan.hostVeth]);
  ip(['link', 'set', plan.hostVeth, 'up']);
  for (const m of plan.members) {
    ip(['netns', 'add', m.ns]);
    ip(['-n', m.ns, 'link', 'set', 'lo', 'up']);
    ip(['-n', br, 'link', 'add', m.veth, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', m.ns]);
    ip(['-n', br, 'link', 'set', m.veth, 'master', plan.bridge, 'up']);
    ip(['-n', m.ns, 'addr', 'add', `${m.addr}/24`, 'dev', 'eth0']);
    ip(['-n', m.ns, 'link', 'set', 'eth0', 'up']);
  }
  applyPartitions(plan);
}

/** Remove everything `plan` names (missing ones are skipped), and the subnet's claim. */
export function removeNetns(dir: string, plan: NetnsPlan): void {
  const quiet = (args: string[]): void => {
    try {
      ip(args);
    } catch {
      // already gone
    }
  };
  quiet(['link', 'del', plan.hostVeth]);
  for (const m of plan.members) quiet(['netns', 'del', m.ns]);
  quiet(['netns', 'del', plan.bridgeNs]);
  rmSync(join(CLAIM_DIR, String(plan.subnet)), { recursive: true, force: true });
  rmSync(netnsPath(dir), { force: true });
}

/** The address of `name` (a member, or `host`); a UserError naming the known ones otherwise. */
function addrOf(plan: NetnsPlan, name: string): string {
  if (name === 'host') return plan.hostAddr;
  const m = plan.members.find((x) => x.name === name);
  if (!m)
    throw new UserError(
      `unknown name ${name}: use one of host, ${plan.members.map((x) => x.name).join(', ')}`,
    );
  return m.addr;
}

/** Replace the drop rules with those of `plan.partitions` (one nft transaction). */
export function applyPartitions(plan: NetnsPlan): void {
  const lines = [
    'table bridge pgvigil {}',
    'delete table bridge pgvigil',
    'table bridge pgvigil {',
    '  chain cut {',
    '    type filter hook forward priority 0; policy accept;',
  ];
  for (const p of plan.partitions) {
    for (const a of p.from)
      for (const b of p.to) {
        lines.push(`    ip saddr ${addrOf(plan, a)} ip daddr ${addrOf(plan, b)} drop`);
        if (!p.oneway)
          lines.push(`    ip saddr ${addrOf(plan, b)} ip daddr ${addrOf(plan, a)} drop`);
      }
  }
  lines.push('  }', '}');
  execFileSync('ip', ['netns', 'exec', plan.bridgeNs, 'nft', '-f', '-'], {
    input: lines.join('\n') + '\n',
    stdio: ['pipe', 'ignore', 'pipe'],
  });
}

/** `a` and `b`: comma-separated member names (or `host`). */
export function partition(dir: string, a: string, b: string, oneway: boolean): string {
  const plan = requireNetns(dir);
  const p: Partition = { from: a.split(','), to: b.split(','), oneway };
  for (const n of [...p.from, ...p.to]) addrOf(plan, n);
  plan.partitions.push(p);
  applyPartitions(plan);
  writeNetns(dir, plan);
  return `cut ${a} ${oneway ? '->' : '<->'} ${b} (packets dropped in silence)`;
}

/** Without names: every partition; with: those between a and b (either direction). */
export function heal(dir: string, a?: string, b?: string): string {
  const plan = requireNetns(dir);
  const before = plan.partitions.length;
  if (a === undefined || b === undefined) plan.partitions = [];
  else {
    const A = a.split(',').join(',');
    const B = b.split(',').join(',');
    plan.partitions = plan.partitions.filter((p) => {
      const f = p.from.join(',');
      const t = p.to.join(',');
      return !((f === A && t === B) || (f === B && t === A));
    });
  }
  applyPartitions(plan);
  writeNetns(dir, plan);
  return `healed ${before - plan.partitions.length} partition(s), ${plan.partitions.length} left`;
}

function requireNetns(dir: string): NetnsPlan {
  const plan = readNetns(dir);
  if (!plan)
    throw new UserError(
      `the local cluster in ${dir} runs without --netns: partitions need \`pgvigil local up --netns\``,
    );
  return plan;
}
