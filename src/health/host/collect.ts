/**
 * The I/O side of the host collector: reads /proc and /etc, calls statfs and uname, and hands the text to
 * the pure parsers in `parse.ts`. Linux only; elsewhere the per-collector success metric reports 0.
 */
import { readFile, statfs } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import {
  DEFAULT_DISK_DEVICE_EXCLUDE,
  DEFAULT_FS_TYPES_EXCLUDE,
  DEFAULT_MOUNT_POINTS_EXCLUDE,
  DEFAULT_NET_DEVICE_EXCLUDE,
  filesystemSamples,
  parseDiskstats,
  parseLoadavg,
  parseMeminfo,
  parseMounts,
  parseNetDev,
  parseOsRelease,
  parseStat,
  osReleaseSamples,
  unameSamples,
  type FsStats,
  type MountEntry,
} from './parse.ts';
import { gauge, type HostSample } from './sample.ts';

/** Where to read from and what to skip. Defaults match prometheus-node-exporter as packaged by Debian. */
export interface HostCollectOptions {
  /** Root of procfs; `/host/proc` when Vigil runs in a container that mounts the host's /proc there. */
  readonly procfs?: string;
  readonly mountPointsExclude?: RegExp;
  readonly fsTypesExclude?: RegExp;
  readonly diskDeviceExclude?: RegExp;
  readonly netDeviceExclude?: RegExp;
  /** How long one statfs may take before the mount is reported as a device error. */
  readonly statfsTimeoutMs?: number;
}

const DEFAULT_STATFS_TIMEOUT_MS = 5000;

/**
 * Mount points whose statfs has not returned yet (a hung NFS server, for example). Such a call occupies a
 * libuv thread until it returns; not issuing another one for the same mount keeps hung calls from piling up
 * and starving every other file operation of the process.
 */
const pendingStatfs = new Set<string>();

async function statfsWithTimeout(mountpoint: string, timeoutMs: number): Promise<FsStats | undefined> {
  if (pendingStatfs.has(mountpoint)) return undefined;
  pendingStatfs.add(mountpoint);
  const call = statfs(mountpoint).finally(() => pendingStatfs.delete(mountpoint));
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), timeoutMs);
    timer.unref();
  });
  try {
    return await Promise.race([call, timeout]);
  } catch {
    // Permission denied or a vanished mount: reported through node_filesystem_device_error.
    return undefined;
  } finally {
    clearTimeout(timer);
    // A call that lost the race may still reject later; nobody waits for it any more.
    call.catch(() => undefined);
  }
}

async function readOsRelease(): Promise<string> {
  // os-release(5): /etc/os-release takes precedence, /usr/lib/os-release is the fallback.
  try {
    return await readFile('/etc/os-release', 'utf8');
  } catch {
    return await readFile('/usr/lib/os-release', 'utf8');
  }
}

async function readDomainname(procfs: string): Promise<string> {
  try {
    return (await readFile(join(procfs, 'sys/kernel/domainname'), 'utf8')).trim();
  } catch {
    return '(none)';
  }
}

type Collector = () => Promise<HostSample[]>;

/**
 * One snapshot of the host. Never throws: each part (named like node_exporter's collectors) runs on its own,
 * and `node_scrape_collector_success{collector}` is 0 for a part that failed, 1 otherwise.
 */
export async function collectHost(options: HostCollectOptions = {}): Promise<HostSample[]> {
  const procfs = options.procfs ?? '/proc';
  const proc = (file: string) => readFile(join(procfs, file), 'utf8');
  const statfsTimeout = options.statfsTimeoutMs ?? DEFAULT_STATFS_TIMEOUT_MS;

  const statText = proc('stat');
  // Both "cpu" and "stat" read /proc/stat; one read serves both. Unhandled rejection is prevented by the
  // collectors below, which both await it.
  statText.catch(() => undefined);

  const collectors: Record<string, Collector> = {
    cpu: async () => parseStat(await statText).filter((s) => s.name.startsWith('node_cpu_')),
    stat: async () => parseStat(await statText).filter((s) => !s.name.startsWith('node_cpu_')),
    loadavg: async () => parseLoadavg(await proc('loadavg')),
    meminfo: async () => parseMeminfo(await proc('meminfo')),
    diskstats: async () =>
      parseDiskstats(await proc('diskstats'), options.diskDeviceExclude ?? DEFAULT_DISK_DEVICE_EXCLUDE),
    netdev: async () =>
      parseNetDev(await proc('net/dev'), options.netDeviceExclude ?? DEFAULT_NET_DEVICE_EXCLUDE),
    filesystem: async () => {
      const mounts: MountEntry[] = parseMounts(
        await proc('mounts'),
        options.mountPointsExclude ?? DEFAULT_MOUNT_POINTS_EXCLUDE,
        options.fsTypesExclude ?? DEFAULT_FS_TYPES_EXCLUDE,
      );
      const stats = await Promise.all(mounts.map((m) => statfsWithTimeout(m.mountpoint, statfsTimeout)));
      return mounts.flatMap((m, i) => filesystemSamples(m, stats[i]));
    },
    time: () =>
      Promise.resolve([
        gauge('node_time_seconds', 'System time in seconds since epoch (1970).', Date.now() / 1000),
      ]),
    uname: async () =>
      unameSamples({
        sysname: os.type(),
        release: os.release(),
        version: os.version(),
        machine: os.machine(),
        nodename: os.hostname(),
        domainname: await readDomainname(procfs),
      }),
    os: async () => osReleaseSamples(parseOsRelease(await readOsRelease())),
  };

  const results = await Promise.all(
    Object.entries(collectors).map(async ([name, collect]): Promise<HostSample[]> => {
      const started = performance.now();
      let samples: HostSample[];
      let ok = 1;
      try {
        samples = await collect();
      } catch {
        samples = [];
        ok = 0;
      }
      const labels = { collector: name };
      samples.push(
        gauge('node_scrape_collector_success', 'node_exporter: Whether a collector succeeded.', ok, labels),
        gauge(
          'node_scrape_collector_duration_seconds',
          'node_exporter: Duration of a collector scrape.',
          (performance.now() - started) / 1000,
          labels,
        ),
      );
      return samples;
    }),
  );
  return results.flat();
}
