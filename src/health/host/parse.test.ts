import { describe, expect, it } from 'vitest';
import {
  filesystemSamples,
  osReleaseSamples,
  parseDiskstats,
  parseLoadavg,
  parseMeminfo,
  parseMounts,
  parseNetDev,
  parseOsRelease,
  parseStat,
  unameSamples,
} from './parse.ts';
import type { HostSample } from './sample.ts';

/** `name{a="b"}` → value, for compact expectations. */
function flat(samples: HostSample[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const s of samples) {
    const labels = Object.entries(s.labels)
      .map(([k, v]) => `${k}="${v}"`)
      .join(',');
    out[labels ? `${s.name}{${labels}}` : s.name] = s.value;
  }
  return out;
}

function typeOf(samples: HostSample[], name: string): string | undefined {
  return samples.find((s) => s.name === name)?.type;
}

const STAT = `cpu  28410 10 11837 91857 670 3 554 7 20 5
cpu0 14756 4 4977 46580 42 1 246 2 12 3
cpu1 13654 6 6860 45277 628 2 308 5 8 2
intr 668723 0 0 9 0 0 133 10
ctxt 1606734
btime 1795789144
processes 10576
procs_running 3
procs_blocked 1
softirq 324200 0 35050 4 15538 96604 0 4 105212 430 71358
`;

const STAT_OLD_KERNEL = `cpu0 100 0 50 1000
ctxt 5
`;

describe('parseStat', () => {
  const s = parseStat(STAT);
  const f = flat(s);

  it.each([
    ['node_cpu_seconds_total{cpu="0",mode="user"}', 147.56],
    ['node_cpu_seconds_total{cpu="0",mode="nice"}', 0.04],
    ['node_cpu_seconds_total{cpu="0",mode="system"}', 49.77],
    ['node_cpu_seconds_total{cpu="0",mode="idle"}', 465.8],
    ['node_cpu_seconds_total{cpu="0",mode="iowait"}', 0.42],
    ['node_cpu_seconds_total{cpu="0",mode="irq"}', 0.01],
    ['node_cpu_seconds_total{cpu="0",mode="softirq"}', 2.46],
    ['node_cpu_seconds_total{cpu="0",mode="steal"}', 0.02],
    ['node_cpu_seconds_total{cpu="1",mode="idle"}', 452.77],
    ['node_cpu_guest_seconds_total{cpu="0",mode="user"}', 0.12],
    ['node_cpu_guest_seconds_total{cpu="1",mode="nice"}', 0.02],
    ['node_intr_total', 668723],
    ['node_context_switches_total', 1606734],
    ['node_boot_time_seconds', 1795789144],
    ['node_forks_total', 10576],
    ['node_procs_running', 3],
    ['node_procs_blocked', 1],
  ])('%s = %d', (key, value) => {
    expect(f[key]).toBeCloseTo(value, 9);
  });

  it('leaves out the aggregate cpu line and unknown keys', () => {
    expect(Object.keys(f).filter((k) => k.includes('cpu=""'))).toEqual([]);
    expect(Object.keys(f).some((k) => k.includes('softirq_total'))).toBe(false);
    expect(s.filter((x) => x.name === 'node_cpu_seconds_total')).toHaveLength(16);
  });

  it('types counters and gauges as node_exporter does', () => {
    expect(typeOf(s, 'node_cpu_seconds_total')).toBe('counter');
    expect(typeOf(s, 'node_context_switches_total')).toBe('counter');
    expect(typeOf(s, 'node_forks_total')).toBe('counter');
    expect(typeOf(s, 'node_intr_total')).toBe('counter');
    expect(typeOf(s, 'node_boot_time_seconds')).toBe('gauge');
    expect(typeOf(s, 'node_procs_running')).toBe('gauge');
  });

  it('takes the modes an older kernel reports and no guest time', () => {
    const old = flat(parseStat(STAT_OLD_KERNEL));
    expect(old).toEqual({
      'node_cpu_seconds_total{cpu="0",mode="user"}': 1,
      'node_cpu_seconds_total{cpu="0",mode="nice"}': 0,
      'node_cpu_seconds_total{cpu="0",mode="system"}': 0.5,
      'node_cpu_seconds_total{cpu="0",mode="idle"}': 10,
      node_context_switches_total: 5,
    });
  });
});

describe('parseLoadavg', () => {
  it.each([
    ['0.52 0.58 0.59 2/1024 12345\n', [0.52, 0.58, 0.59]],
    ['12.00 7.5 0.00 1/1 1', [12, 7.5, 0]],
  ])('%j', (text, [l1, l5, l15]) => {
    expect(flat(parseLoadavg(text))).toEqual({ node_load1: l1, node_load5: l5, node_load15: l15 });
  });

  it('refuses text that is not a load average', () => {
    expect(() => parseLoadavg('')).toThrow(/unexpected \/proc\/loadavg/);
    expect(() => parseLoadavg('a b c')).toThrow(/unexpected/);
  });
});

const MEMINFO = `MemTotal:       24683620 kB
MemFree:        23288684 kB
MemAvailable:   23947236 kB
Buffers:          101580 kB
Cached:           826304 kB
SwapCached:            0 kB
Active(anon):     123456 kB
Inactive(file):   654321 kB
SwapTotal:       2097148 kB
SwapFree:        2097148 kB
HugePages_Total:       0
HugePages_Free:        0
Hugepagesize:       2048 kB
DirectMap4k:      188288 kB
`;

describe('parseMeminfo', () => {
  const f = flat(parseMeminfo(MEMINFO));
  it.each([
    ['node_memory_MemTotal_bytes', 24683620 * 1024],
    ['node_memory_MemFree_bytes', 23288684 * 1024],
    ['node_memory_MemAvailable_bytes', 23947236 * 1024],
    ['node_memory_Buffers_bytes', 101580 * 1024],
    ['node_memory_Cached_bytes', 826304 * 1024],
    ['node_memory_SwapTotal_bytes', 2097148 * 1024],
    ['node_memory_SwapFree_bytes', 2097148 * 1024],
    ['node_memory_Active_anon_bytes', 123456 * 1024],
    ['node_memory_Inactive_file_bytes', 654321 * 1024],
    ['node_memory_HugePages_Total', 0],
    ['node_memory_Hugepagesize_bytes', 2048 * 1024],
    ['node_memory_DirectMap4k_bytes', 188288 * 1024],
  ])('%s = %d', (key, value) => {
    expect(f[key]).toBe(value);
  });

  it('emits one gauge per line with the field name in its help', () => {
    const s = parseMeminfo(MEMINFO);
    expect(s).toHaveLength(14);
    expect(s.every((x) => x.type === 'gauge')).toBe(true);
    expect(s[0]!.help).toBe('Memory information field MemTotal_bytes.');
    expect(parseMeminfo('garbage\nMemTotal: lots kB\n')).toEqual([]);
  });
});

const DISKSTATS = `   7       0 loop0 12 0 24 1 0 0 0 0 0 4 1 0 0 0 0 0 0
 254       0 vda 77551 120 6146282 25311 41010 60000 3200000 90000 2 13572 115000 100 0 8000 40 500 30
 254       1 vda1 77000 120 6140000 25000 41000 60000 3199000 89000 0 13000 114000 100 0 8000 40 500 30
 259       0 nvme0n1 10 0 16 3 20 0 40 5 0 7 8
 259       1 nvme0n1p1 10 0 16 3 20 0 40 5 0 7 8
 252       0 zram0 0 0 0 0 0 0 0 0 0 0 0
  8       16 sdb 1 2 3 4 5 6 7 8 9 10 11
`;

describe('parseDiskstats', () => {
  const s = parseDiskstats(DISKSTATS);
  const f = flat(s);

  it('skips loop devices and partitions, keeps whole disks', () => {
    expect([...new Set(s.map((x) => x.labels['device']))]).toEqual(['vda', 'nvme0n1', 'zram0', 'sdb']);
  });

  it.each([
    ['node_disk_reads_completed_total{device="vda"}', 77551],
    ['node_disk_reads_merged_total{device="vda"}', 120],
    ['node_disk_read_bytes_total{device="vda"}', 6146282 * 512],
    ['node_disk_read_time_seconds_total{device="vda"}', 25.311],
    ['node_disk_writes_completed_total{device="vda"}', 41010],
    ['node_disk_written_bytes_total{device="vda"}', 3200000 * 512],
    ['node_disk_write_time_seconds_total{device="vda"}', 90],
    ['node_disk_io_now{device="vda"}', 2],
    ['node_disk_io_time_seconds_total{device="vda"}', 13.572],
    ['node_disk_io_time_weighted_seconds_total{device="vda"}', 115],
    ['node_disk_discards_completed_total{device="vda"}', 100],
    ['node_disk_discarded_sectors_total{device="vda"}', 8000],
    ['node_disk_discard_time_seconds_total{device="vda"}', 0.04],
    ['node_disk_flush_requests_total{device="vda"}', 500],
    ['node_disk_flush_requests_time_seconds_total{device="vda"}', 0.03],
    ['node_disk_io_time_seconds_total{device="sdb"}', 0.01],
  ])('%s = %d', (key, value) => {
    expect(f[key]).toBeCloseTo(value, 9);
  });

  it('emits only the columns an older kernel has', () => {
    expect(f['node_disk_discards_completed_total{device="sdb"}']).toBeUndefined();
    expect(s.filter((x) => x.labels['device'] === 'sdb')).toHaveLength(11);
  });

  it('types io_now as a gauge and the rest as counters', () => {
    expect(typeOf(s, 'node_disk_io_now')).toBe('gauge');
    expect(s.filter((x) => x.name !== 'node_disk_io_now').every((x) => x.type === 'counter')).toBe(true);
  });

  it('honours a custom exclusion', () => {
    expect(new Set(parseDiskstats(DISKSTATS, /^(loop|zram)\d+$/).map((x) => x.labels['device']))).toEqual(
      new Set(['vda', 'vda1', 'nvme0n1', 'nvme0n1p1', 'sdb']),
    );
  });
});

const NETDEV = `Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo: 56525810    5720    0    0    0     0          0         0 56525810    5720    0    0    0     0       0          0
  eth0: 405620129  300000    1    2    3     4          5         6 12345678  200000    7    8    9    10      11         12
br-1a2b:       0       0    0    0    0     0          0         0        0       0    0    0    0     0       0          0
`;

describe('parseNetDev', () => {
  const s = parseNetDev(NETDEV);
  const f = flat(s);

  it('skips loopback and reads every column of every other interface', () => {
    expect([...new Set(s.map((x) => x.labels['device']))]).toEqual(['eth0', 'br-1a2b']);
    expect(s).toHaveLength(32);
    expect(s.every((x) => x.type === 'counter')).toBe(true);
  });

  it.each([
    ['node_network_receive_bytes_total{device="eth0"}', 405620129],
    ['node_network_receive_packets_total{device="eth0"}', 300000],
    ['node_network_receive_errs_total{device="eth0"}', 1],
    ['node_network_receive_drop_total{device="eth0"}', 2],
    ['node_network_receive_fifo_total{device="eth0"}', 3],
    ['node_network_receive_frame_total{device="eth0"}', 4],
    ['node_network_receive_compressed_total{device="eth0"}', 5],
    ['node_network_receive_multicast_total{device="eth0"}', 6],
    ['node_network_transmit_bytes_total{device="eth0"}', 12345678],
    ['node_network_transmit_packets_total{device="eth0"}', 200000],
    ['node_network_transmit_errs_total{device="eth0"}', 7],
    ['node_network_transmit_drop_total{device="eth0"}', 8],
    ['node_network_transmit_colls_total{device="eth0"}', 10],
    ['node_network_transmit_carrier_total{device="eth0"}', 11],
    ['node_network_transmit_compressed_total{device="eth0"}', 12],
  ])('%s = %d', (key, value) => {
    expect(f[key]).toBe(value);
  });

  it('includes loopback when the exclusion allows it', () => {
    expect(flat(parseNetDev(NETDEV, /^$/))['node_network_receive_bytes_total{device="lo"}']).toBe(56525810);
  });

  it('refuses text without the column header', () => {
    expect(() => parseNetDev('eth0: 1 2 3')).toThrow(/no column header/);
  });
});

const MOUNTS = `proc /proc proc rw,relatime 0 0
sysfs /sys sysfs rw,relatime 0 0
devtmpfs /dev devtmpfs rw,relatime 0 0
/dev/vda / ext4 rw,relatime,discard 0 0
/dev/vdb1 /data xfs ro,noatime 0 0
tmpfs /run tmpfs rw,nosuid 0 0
tmpfs /tmp tmpfs rw 0 0
/dev/sdc1 /srv/my\\040files ext4 rw 0 0
overlay /var/lib/docker/overlay2/abc/merged overlay rw 0 0
cgroup2 /sys/fs/cgroup cgroup2 rw 0 0
nfs:/export /mnt/nfs nfs4 rw 0 0
/dev/old /tmp ext4 rw 0 0
squash /snap/core squashfs ro 0 0
`;

describe('parseMounts', () => {
  it('drops pseudo file systems and excluded mount points, decodes escapes, keeps the last mount per point', () => {
    expect(parseMounts(MOUNTS)).toEqual([
      { device: '/dev/vda', mountpoint: '/', fstype: 'ext4', options: ['rw', 'relatime', 'discard'] },
      { device: '/dev/vdb1', mountpoint: '/data', fstype: 'xfs', options: ['ro', 'noatime'] },
      { device: '/dev/sdc1', mountpoint: '/srv/my files', fstype: 'ext4', options: ['rw'] },
      { device: '/dev/old', mountpoint: '/tmp', fstype: 'ext4', options: ['rw'] },
    ]);
  });

  it('honours custom exclusions', () => {
    const points = parseMounts(
      MOUNTS,
      /^\/(proc|sys|dev)($|\/)/,
      /^(proc|sysfs|devtmpfs|cgroup2|overlay|squashfs)$/,
    ).map((m) => m.mountpoint);
    expect(points).toEqual(['/', '/data', '/run', '/srv/my files', '/mnt/nfs', '/tmp']);
  });
});

describe('filesystemSamples', () => {
  const mount = { device: '/dev/vdb1', mountpoint: '/data', fstype: 'xfs', options: ['ro'] };
  const labels = { device: '/dev/vdb1', fstype: 'xfs', mountpoint: '/data' };

  it('reports sizes in bytes and inode counts', () => {
    const s = filesystemSamples(mount, {
      bsize: 4096,
      blocks: 1000,
      bfree: 600,
      bavail: 500,
      files: 64,
      ffree: 60,
    });
    expect(s.every((x) => x.type === 'gauge' && JSON.stringify(x.labels) === JSON.stringify(labels))).toBe(
      true,
    );
    expect(Object.fromEntries(s.map((x) => [x.name, x.value]))).toEqual({
      node_filesystem_device_error: 0,
      node_filesystem_readonly: 1,
      node_filesystem_size_bytes: 4096_000,
      node_filesystem_free_bytes: 4096 * 600,
      node_filesystem_avail_bytes: 4096 * 500,
      node_filesystem_files: 64,
      node_filesystem_files_free: 60,
    });
  });

  it('reports only the device error when statfs failed', () => {
    const s = filesystemSamples({ ...mount, options: ['rw'] }, undefined);
    expect(Object.fromEntries(s.map((x) => [x.name, x.value]))).toEqual({
      node_filesystem_device_error: 1,
      node_filesystem_readonly: 0,
    });
  });
});

const OS_RELEASE = `PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"
NAME="Debian GNU/Linux"
VERSION_ID="12"
VERSION="12 (bookworm)"
VERSION_CODENAME=bookworm
ID=debian
# a comment
HOME_URL="https://www.debian.org/"
WEIRD="say \\"hi\\" for \\$5"
SINGLE='quoted value'
`;

describe('os-release', () => {
  it('parses quoted, unquoted and escaped values', () => {
    const r = parseOsRelease(OS_RELEASE);
    expect(r).toMatchObject({
      PRETTY_NAME: 'Debian GNU/Linux 12 (bookworm)',
      VERSION_CODENAME: 'bookworm',
      ID: 'debian',
      WEIRD: 'say "hi" for $5',
      SINGLE: 'quoted value',
    });
  });

  it('labels node_os_info with every field node_exporter uses, empty when absent', () => {
    const [info, version] = osReleaseSamples(parseOsRelease(OS_RELEASE));
    expect(info).toMatchObject({ name: 'node_os_info', value: 1, type: 'gauge' });
    expect(info!.labels).toEqual({
      build_id: '',
      id: 'debian',
      id_like: '',
      image_id: '',
      image_version: '',
      name: 'Debian GNU/Linux',
      pretty_name: 'Debian GNU/Linux 12 (bookworm)',
      variant: '',
      variant_id: '',
      version: '12 (bookworm)',
      version_codename: 'bookworm',
      version_id: '12',
    });
    expect(version).toMatchObject({
      name: 'node_os_version',
      value: 12,
      labels: { id: 'debian', id_like: '', name: 'Debian GNU/Linux' },
    });
  });

  it.each([
    ['22.04', 22.04],
    ['3.19.1', 3.19],
  ])('reads VERSION_ID %s as %d', (id, value) => {
    expect(osReleaseSamples({ VERSION_ID: id })[1]?.value).toBe(value);
  });

  it('has no node_os_version for a rolling release', () => {
    expect(osReleaseSamples({ ID: 'arch', VERSION_ID: 'rolling' }).map((s) => s.name)).toEqual([
      'node_os_info',
    ]);
  });
});

describe('unameSamples', () => {
  it('labels node_uname_info with the uname fields', () => {
    const u = {
      sysname: 'Linux',
      release: '6.1.0',
      version: '#1 SMP',
      machine: 'x86_64',
      nodename: 'web-1',
      domainname: '(none)',
    };
    expect(unameSamples(u)).toEqual([
      { name: 'node_uname_info', labels: u, value: 1, type: 'gauge', help: expect.any(String) },
    ]);
  });
});
