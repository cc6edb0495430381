/**
 * Pure parsers for the Linux files node_exporter reads. Each takes the file's text and returns samples or
 * records; none does I/O (the reader in `collect.ts` does). Malformed lines are skipped rather than failing
 * the whole file, because kernels add fields and a partial picture beats none.
 */
import { counter, gauge, type HostSample } from './sample.ts';

/** Kernel clock ticks per second for /proc/stat. USER_HZ is 100 on every Linux ABI node_exporter supports. */
export const USER_HZ = 100;
/** /proc/diskstats counts 512-byte sectors whatever the device's real sector size. */
export const DISK_SECTOR_BYTES = 512;

function fields(line: string): string[] {
  return line.trim().split(/\s+/);
}

function num(s: string | undefined): number | undefined {
  if (s === undefined || s === '') return undefined;
  const n = Number(s);
  return Number.isFinite(n) ? n : undefined;
}

// ---------------------------------------------------------------------------------------------- /proc/stat

const CPU_MODES = ['user', 'nice', 'system', 'idle', 'iowait', 'irq', 'softirq', 'steal'] as const;

/**
 * /proc/stat: per-CPU time by mode (the aggregate `cpu` line is left out, as node_exporter does), guest time,
 * boot time, context switches, interrupts, forks and runnable/blocked process counts.
 */
export function parseStat(text: string): HostSample[] {
  const out: HostSample[] = [];
  for (const line of text.split('\n')) {
    const f = fields(line);
    const key = f[0];
    if (!key) continue;
    if (/^cpu\d+$/.test(key)) {
      const cpu = key.slice(3);
      CPU_MODES.forEach((mode, i) => {
        const ticks = num(f[i + 1]);
        if (ticks !== undefined)
          out.push(
            counter('node_cpu_seconds_total', 'Seconds the CPUs spent in each mode.', ticks / USER_HZ, {
              cpu,
              mode,
            }),
          );
      });
      // Guest time is already included in user and nice; exposed separately, as node_exporter does.
      const guest = num(f[9]);
      const guestNice = num(f[10]);
      const help = 'Seconds the CPUs spent in guests (VMs) for each mode.';
      if (guest !== undefined)
        out.push(counter('node_cpu_guest_seconds_total', help, guest / USER_HZ, { cpu, mode: 'user' }));
      if (guestNice !== undefined)
        out.push(counter('node_cpu_guest_seconds_total', help, guestNice / USER_HZ, { cpu, mode: 'nice' }));
      continue;
    }
    const v = num(f[1]);
    if (v === undefined) continue;
    switch (key) {
      case 'intr':
        out.push(counter('node_intr_total', 'Total number of interrupts serviced.', v));
        break;
      case 'ctxt':
        out.push(counter('node_context_switches_total', 'Total number of context switches.', v));
        break;
      case 'btime':
        out.push(gauge('node_boot_time_seconds', 'Node boot time, in unixtime.', v));
        break;
      case 'processes':
        out.push(counter('node_forks_total', 'Total number of forks.', v));
        break;
      case 'procs_running':
        out.push(gauge('node_procs_running', 'Number of processes in runnable state.', v));
        break;
      case 'procs_blocked':
        out.push(gauge('node_procs_blocked', 'Number of processes blocked waiting for I/O to complete.', v));
        break;
    }
  }
  return out;
}

// ------------------------------------------------------------------------------------------- /proc/loadavg

/** /proc/loadavg: the 1, 5 and 15 minute load averages. */
export function parseLoadavg(text: string): HostSample[] {
  const f = fields(text);
  const out: HostSample[] = [];
  const names = [
    ['node_load1', '1m load average.'],
    ['node_load5', '5m load average.'],
    ['node_load15', '15m load average.'],
  ] as const;
  names.forEach(([name, help], i) => {
    const v = num(f[i]);
    if (v !== undefined) out.push(gauge(name, help, v));
  });
  if (out.length !== 3)
    throw new Error(`unexpected /proc/loadavg content: ${JSON.stringify(text.slice(0, 80))}`);
  return out;
}

// ------------------------------------------------------------------------------------------- /proc/meminfo

/**
 * /proc/meminfo, every field, named as node_exporter names them: `Active(anon)` becomes `Active_anon`,
 * fields in kB become bytes with a `_bytes` suffix, unitless counts (HugePages_*) keep their name.
 */
export function parseMeminfo(text: string): HostSample[] {
  const out: HostSample[] = [];
  for (const line of text.split('\n')) {
    const m = /^([^:]+):\s+(\d+)(?:\s+(kB))?\s*$/.exec(line);
    if (!m) continue;
    const key = m[1]!.replace(/\((\w+)\)/, '_$1').replace(/[^A-Za-z0-9_]/g, '_');
    const value = Number(m[2]) * (m[3] ? 1024 : 1);
    const field = m[3] ? `${key}_bytes` : key;
    out.push(gauge(`node_memory_${field}`, `Memory information field ${field}.`, value));
  }
  return out;
}

// ----------------------------------------------------------------------------------------- /proc/diskstats

/** Devices node_exporter skips by default: RAM disks, loop devices, floppies and partitions. */
export const DEFAULT_DISK_DEVICE_EXCLUDE = /^(ram|loop|fd|(h|s|v|xv)d[a-z]|nvme\d+n\d+p)\d+$/;

type DiskField = { name: string; help: string; type: 'counter' | 'gauge'; scale: number };

/** Columns of /proc/diskstats after major, minor and device name, in kernel order. */
const DISK_FIELDS: (DiskField | undefined)[] = [
  {
    name: 'reads_completed_total',
    help: 'The total number of reads completed successfully.',
    type: 'counter',
    scale: 1,
  },
  { name: 'reads_merged_total', help: 'The total number of reads merged.', type: 'counter', scale: 1 },
  {
    name: 'read_bytes_total',
    help: 'The total number of bytes read successfully.',
    type: 'counter',
    scale: DISK_SECTOR_BYTES,
  },
  {
    name: 'read_time_seconds_total',
    help: 'The total number of seconds spent by all reads.',
    type: 'counter',
    scale: 0.001,
  },
  {
    name: 'writes_completed_total',
    help: 'The total number of writes completed successfully.',
    type: 'counter',
    scale: 1,
  },
  { name: 'writes_merged_total', help: 'The number of writes merged.', type: 'counter', scale: 1 },
  {
    name: 'written_bytes_total',
    help: 'The total number of bytes written successfully.',
    type: 'counter',
    scale: DISK_SECTOR_BYTES,
  },
  {
    name: 'write_time_seconds_total',
    help: 'The total number of seconds spent by all writes.',
    type: 'counter',
    scale: 0.001,
  },
  { name: 'io_now', help: 'The number of I/Os currently in progress.', type: 'gauge', scale: 1 },
  { name: 'io_time_seconds_total', help: 'Total seconds spent doing I/Os.', type: 'counter', scale: 0.001 },
  {
    name: 'io_time_weighted_seconds_total',
    help: 'The weighted number of seconds spent doing I/Os.',
    type: 'counter',
    scale: 0.001,
  },
  // Linux 4.18+: discards.
  {
    name: 'discards_completed_total',
    help: 'The total number of discards completed successfully.',
    type: 'counter',
    scale: 1,
  },
  { name: 'discards_merged_total', help: 'The total number of discards merged.', type: 'counter', scale: 1 },
  {
    name: 'discarded_sectors_total',
    help: 'The total number of sectors discarded successfully.',
    type: 'counter',
    scale: 1,
  },
  {
    name: 'discard_time_seconds_total',
    help: 'The total number of seconds spent by all discards.',
    type: 'counter',
    scale: 0.001,
  },
  // Linux 5.5+: flushes.
  {
    name: 'flush_requests_total',
    help: 'The total number of flush requests completed successfully.',
    type: 'counter',
    scale: 1,
  },
  {
    name: 'flush_requests_time_seconds_total',
    help: 'The total number of seconds spent by all flush requests.',
    type: 'counter',
    scale: 0.001,
  },
];

/** /proc/diskstats: per-device I/O counters in bytes and seconds. */
export function parseDiskstats(text: string, exclude: RegExp = DEFAULT_DISK_DEVICE_EXCLUDE): HostSample[] {
  const out: HostSample[] = [];
  for (const line of text.split('\n')) {
    const f = fields(line);
    const device = f[2];
    if (f.length < 14 || !device || exclude.test(device)) continue;
    DISK_FIELDS.forEach((d, i) => {
      const raw = num(f[i + 3]);
      if (!d || raw === undefined) return;
      out.push({
        name: `node_disk_${d.name}`,
        labels: { device },
        value: raw * d.scale,
        type: d.type,
        help: d.help,
      });
    });
  }
  return out;
}

// ------------------------------------------------------------------------------------------- /proc/net/dev

/** Interfaces skipped by default; the Debian build of node_exporter leaves out loopback. */
export const DEFAULT_NET_DEVICE_EXCLUDE = /^lo$/;

/**
 * /proc/net/dev: per-interface counters. Column names come from the file's own header, so the mapping
 * holds if the kernel adds columns; each becomes `node_network_{receive|transmit}_{column}_total`.
 */
export function parseNetDev(text: string, exclude: RegExp = DEFAULT_NET_DEVICE_EXCLUDE): HostSample[] {
  const lines = text.split('\n');
  const header = lines.find((l) => l.includes('|') && /bytes/.test(l));
  if (!header) throw new Error('unexpected /proc/net/dev content: no column header');
  const [, rxCols, txCols] = header.split('|').map((part) => fields(part));
  if (!rxCols || !txCols) throw new Error('unexpected /proc/net/dev content: malformed column header');
  const columns = [...rxCols.map((c) => `receive_${c}`), ...txCols.map((c) => `transmit_${c}`)];
  const out: HostSample[] = [];
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    const device = line.slice(0, colon).trim();
    if (!device || exclude.test(device)) continue;
    const values = fields(line.slice(colon + 1));
    columns.forEach((col, i) => {
      const v = num(values[i]);
      if (v !== undefined)
        out.push(counter(`node_network_${col}_total`, `Network device statistic ${col}.`, v, { device }));
    });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------- /proc/mounts

/** One line of /proc/mounts. */
export interface MountEntry {
  device: string;
  mountpoint: string;
  fstype: string;
  options: string[];
}

/** Mount points the Debian build of node_exporter skips by default (virtual and removable media). */
export const DEFAULT_MOUNT_POINTS_EXCLUDE =
  /^\/(dev|proc|run|sys|mnt|media|var\/lib\/docker\/.+|var\/lib\/containers\/storage\/.+)($|\/)/;
/** Pseudo file systems node_exporter skips by default. */
export const DEFAULT_FS_TYPES_EXCLUDE =
  /^(autofs|binfmt_misc|bpf|cgroup2?|configfs|debugfs|devpts|devtmpfs|fusectl|hugetlbfs|iso9660|mqueue|nsfs|overlay|proc|procfs|pstore|rpc_pipefs|securityfs|selinuxfs|squashfs|sysfs|tracefs)$/;

/** The kernel writes space, tab, newline and backslash in mount fields as octal escapes (`\040`). */
function unescapeMountField(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}

/**
 * /proc/mounts, without excluded mount points and file system types. When several mounts share a mount
 * point only the last is kept: it hides the others, and statfs would report it for all of them.
 */
export function parseMounts(
  text: string,
  mountPointsExclude: RegExp = DEFAULT_MOUNT_POINTS_EXCLUDE,
  fsTypesExclude: RegExp = DEFAULT_FS_TYPES_EXCLUDE,
): MountEntry[] {
  const byMountpoint = new Map<string, MountEntry>();
  for (const line of text.split('\n')) {
    const f = fields(line);
    if (f.length < 4) continue;
    const entry: MountEntry = {
      device: unescapeMountField(f[0]!),
      mountpoint: unescapeMountField(f[1]!),
      fstype: f[2]!,
      options: f[3]!.split(','),
    };
    if (mountPointsExclude.test(entry.mountpoint) || fsTypesExclude.test(entry.fstype)) continue;
    byMountpoint.delete(entry.mountpoint);
    byMountpoint.set(entry.mountpoint, entry);
  }
  return [...byMountpoint.values()];
}

/** The statfs fields the filesystem metrics need (Node's `fs.StatFs`). */
export interface FsStats {
  bsize: number;
  blocks: number;
  bfree: number;
  bavail: number;
  files: number;
  ffree: number;
}

/**
 * Samples for one mounted file system. `stats` undefined means statfs failed or timed out: only
 * `node_filesystem_device_error` (1) and `node_filesystem_readonly` are reported then, as node_exporter does.
 */
export function filesystemSamples(mount: MountEntry, stats: FsStats | undefined): HostSample[] {
  const labels = { device: mount.device, fstype: mount.fstype, mountpoint: mount.mountpoint };
  const out: HostSample[] = [
    gauge(
      'node_filesystem_device_error',
      'Whether an error occurred while getting statistics for the given device.',
      stats ? 0 : 1,
      labels,
    ),
    gauge(
      'node_filesystem_readonly',
      'Filesystem read-only status.',
      mount.options.includes('ro') ? 1 : 0,
      labels,
    ),
  ];
  if (!stats) return out;
  out.push(
    gauge('node_filesystem_size_bytes', 'Filesystem size in bytes.', stats.blocks * stats.bsize, labels),
    gauge('node_filesystem_free_bytes', 'Filesystem free space in bytes.', stats.bfree * stats.bsize, labels),
    gauge(
      'node_filesystem_avail_bytes',
      'Filesystem space available to non-root users in bytes.',
      stats.bavail * stats.bsize,
      labels,
    ),
    gauge('node_filesystem_files', 'Filesystem total file nodes.', stats.files, labels),
    gauge('node_filesystem_files_free', 'Filesystem total free file nodes.', stats.ffree, labels),
  );
  return out;
}

// ------------------------------------------------------------------------------------------ /etc/os-release

/** os-release(5): KEY=value lines, values optionally quoted with shell-style escapes. */
export function parseOsRelease(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([A-Z_][A-Z0-9_]*)=(.*)$/.exec(line);
    if (!m) continue;
    let value = m[2]!;
    const q = value[0];
    if ((q === '"' || q === "'") && value.length >= 2 && value.endsWith(q)) {
      value = value.slice(1, -1);
      if (q === '"') value = value.replace(/\\([\\"$`])/g, '$1');
    }
    out[m[1]!] = value;
  }
  return out;
}

const OS_INFO_LABELS: [label: string, key: string][] = [
  ['build_id', 'BUILD_ID'],
  ['id', 'ID'],
  ['id_like', 'ID_LIKE'],
  ['image_id', 'IMAGE_ID'],
  ['image_version', 'IMAGE_VERSION'],
  ['name', 'NAME'],
  ['pretty_name', 'PRETTY_NAME'],
  ['variant', 'VARIANT'],
  ['variant_id', 'VARIANT_ID'],
  ['version', 'VERSION'],
  ['version_codename', 'VERSION_CODENAME'],
  ['version_id', 'VERSION_ID'],
];

/** node_os_info (always 1) and, when VERSION_ID is numeric, node_os_version. */
export function osReleaseSamples(release: Record<string, string>): HostSample[] {
  const labels: Record<string, string> = {};
  for (const [label, key] of OS_INFO_LABELS) labels[label] = release[key] ?? '';
  const out = [
    gauge('node_os_info', 'A metric with a constant 1 value labeled by os-release(5) fields.', 1, labels),
  ];
  // node_exporter reads VERSION_ID as a number: "12" and "22.04" parse, "rolling" does not.
  const version = /^\d+(\.\d+)?/.exec(release['VERSION_ID'] ?? '');
  if (version)
    out.push(
      gauge(
        'node_os_version',
        'Metric containing the major.minor part of the OS version.',
        Number(version[0]),
        {
          id: labels['id']!,
          id_like: labels['id_like']!,
          name: labels['name']!,
        },
      ),
    );
  return out;
}

// ------------------------------------------------------------------------------------------------- uname

/** uname(2) fields; `domainname` is the NIS domain, `(none)` on most hosts. */
export interface Uname {
  sysname: string;
  release: string;
  version: string;
  machine: string;
  nodename: string;
  domainname: string;
}

export function unameSamples(u: Uname): HostSample[] {
  return [
    gauge('node_uname_info', 'Labeled system information as provided by the uname system call.', 1, {
      sysname: u.sysname,
      release: u.release,
      version: u.version,
      machine: u.machine,
      nodename: u.nodename,
      domainname: u.domainname,
    }),
  ];
}
