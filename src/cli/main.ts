/**
 * The `vigil` command: start, check-config, version. Exit codes: 0 ok, 1 runtime failure, 2 usage or
 * configuration error.
 */
import { parseArgs } from 'node:util';
import { loadConfigFile, overridesFromEnv, type ConfigOverrides } from '../config/config.ts';
import { ConfigError, readConfigFile } from '../config/yaml-errors.ts';
import { loadAlertmanagerConfigFile } from '../alerts/config/load.ts';
import { parseOncallText } from '../incidents/provision.ts';
import { VERSION, buildInfo } from '../version.ts';
import { loadRuleFiles, ruleProblemsError } from '../rules/load.ts';
import { RulesUsageError, rulesCommand } from './rules.ts';

const USAGE = `Usage: vigil <command> [options]

Commands:
  start [--config FILE] [--data-dir DIR] [--port N] [--listen-address ADDR] [--otlp-http-port N]
                          [--otlp-grpc-port N]
                          Start Vigil (embedded chDB storage under ./data unless configured otherwise).
  check-config FILE       Validate a configuration file and its rule files, reporting every problem with its line.
  check-rules FILE...     Check rule files (like promtool check rules).
  test-rules [--compatibility prometheus2] FILE...
                          Run rule unit tests in promtool's format (like promtool test rules).
  import FILE | --from-prometheus URL --start T --end T [--url URL]
                          Import samples from a text file or a running Prometheus (vigil import --help).
  backup DIR [--url URL]  Back up telemetry and state to DIR (vigil backup --help).
  restore DIR [--force]   Restore a backup into a stopped Vigil's data folder.
  anomaly score [--counter] [--season daily,weekly|none] FILE.csv|-
                          Score timestamp,value rows for anomalies (vigil anomaly --help).
  demo [--port N] [--rate MSGS_PER_S] | demo fault on|off|list ...
                          Start Vigil with the reference pipeline under load; inject faults (vigil demo --help).
  incident list|show ID|ack ID|resolve ID [--url URL] [--actor NAME]
                          List, show, acknowledge or resolve incidents of a running Vigil.
  version                 Print the version.

Environment: VIGIL_CONFIG, VIGIL_DATA_DIR, VIGIL_PORT, VIGIL_LISTEN_ADDRESS, VIGIL_OTLP_HTTP_PORT,
VIGIL_OTLP_GRPC_PORT, VIGIL_RETENTION, VIGIL_STORAGE_ENGINE, VIGIL_CLICKHOUSE_URL, VIGIL_STATE_URL (flags win over environment,
environment over the file).
`;

class UsageError extends Error {}

function intFlag(v: string | undefined, flag: string): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n)) throw new UsageError(`${flag} must be an integer, got ${JSON.stringify(v)}`);
  return n;
}

async function start(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      config: { type: 'string', short: 'c' },
      'data-dir': { type: 'string' },
      port: { type: 'string', short: 'p' },
      'listen-address': { type: 'string' },
      'otlp-http-port': { type: 'string' },
      'otlp-grpc-port': { type: 'string' },
    },
    strict: true,
  });
  const flags: ConfigOverrides = {};
  if (values['data-dir'] !== undefined) flags.dataDir = values['data-dir'];
  if (values['listen-address'] !== undefined) flags.listenAddress = values['listen-address'];
  const port = intFlag(values.port, '--port');
  if (port !== undefined) flags.port = port;
  const otlpPort = intFlag(values['otlp-http-port'], '--otlp-http-port');
  if (otlpPort !== undefined) flags.otlpHttpPort = otlpPort;
  const grpcPort = intFlag(values['otlp-grpc-port'], '--otlp-grpc-port');
  if (grpcPort !== undefined) flags.otlpGrpcPort = grpcPort;
  const file = values.config ?? process.env.VIGIL_CONFIG;
  const cfg = loadConfigFile(file, { ...overridesFromEnv(process.env), ...flags });

  const log = (msg: string) => process.stderr.write(`${new Date().toISOString()} vigil: ${msg}\n`);
  log(`Vigil ${VERSION} starting, data in ${cfg.data_dir}`);
  const { startVigil } = await import('../app.ts');
  const vigil = await startVigil(cfg, { log });
  log(`ready: open http://localhost:${vigil.port}/`);

  await new Promise<void>((resolve) => {
    const stop = (sig: string) => {
      log(`${sig} received, shutting down`);
      resolve();
    };
    process.once('SIGINT', () => stop('SIGINT'));
    process.once('SIGTERM', () => stop('SIGTERM'));
  });
  await vigil.close();
  log('stopped');
  return 0;
}

function checkConfig(argv: string[]): number {
  const { positionals } = parseArgs({ args: argv, allowPositionals: true, options: {} });
  if (positionals.length !== 1) throw new UsageError('check-config needs exactly one FILE');
  const cfg = loadConfigFile(positionals[0]);
  const rules = loadRuleFiles(cfg.rule_files);
  if (rules.problems.length) throw ruleProblemsError(rules.problems);
  const n = rules.groups.reduce((sum, g) => sum + g.rules.length, 0);
  if (cfg.incidents.oncall_file !== '') {
    // Policies may name Alertmanager receivers, so the on-call file is checked against that configuration.
    const receivers = cfg.alerting.config_file
      ? loadAlertmanagerConfigFile(cfg.alerting.config_file).receivers.map((r) => r.name)
      : ['default'];
    parseOncallText(readConfigFile(cfg.incidents.oncall_file), cfg.incidents.oncall_file, receivers);
  }
  process.stdout.write(`${positionals[0]}: OK (${rules.files.length} rule file(s), ${n} rules)\n`);
  return 0;
}

export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  try {
    switch (cmd) {
      case 'start':
        return await start(rest);
      case 'check-config':
        return checkConfig(rest);
      case 'check-rules':
      case 'test-rules':
        return await rulesCommand(cmd, rest);
      case 'import':
        return await (await import('./import.ts')).importCommand(rest);
      case 'backup':
      case 'restore':
        return await (await import('./backup.ts')).backupCommand(cmd, rest);
      case 'anomaly':
        return await (await import('./anomaly.ts')).anomalyCommand(rest);
      case 'incident':
        return await (await import('./incident.ts')).incidentCommand(rest);
      case 'demo':
        return await (await import('./demo.ts')).demoCommand(rest);
      case 'version':
      case '--version': {
        const b = buildInfo();
        process.stdout.write(`vigil ${b.version} (revision ${b.revision}, ${b.goVersion})\n`);
        return 0;
      }
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        process.stdout.write(USAGE);
        return cmd === undefined ? 2 : 0;
      default:
        throw new UsageError(`unknown command ${JSON.stringify(cmd)}`);
    }
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.problems.length} configuration problem(s):\n${err.message}\n`);
      return 2;
    }
    if (
      err instanceof UsageError ||
      err instanceof RulesUsageError ||
      (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')
    ) {
      process.stderr.write(`vigil: ${(err as Error).message}\n\n${USAGE}`);
      return 2;
    }
    process.stderr.write(`vigil: ${(err as Error).stack ?? String(err)}\n`);
    return 1;
  }
}

process.exitCode = await main(process.argv.slice(2));
