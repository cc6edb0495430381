/** Prometheus-style scraping: configuration, exposition parsers, relabeling and the scrape manager. */
export {
  DEFAULT_GLOBAL,
  ScrapeConfigError,
  formatConfigIssues,
  globalConfigSchema,
  parsePrometheusConfig,
  prometheusConfigSchema,
  relabelConfigSchema,
  resolveScrapeConfig,
  scrapeConfigSchema,
  scrapeConfigsSchema,
  type Authorization,
  type BasicAuth,
  type FileSDConfig,
  type GlobalConfig,
  type PrometheusConfig,
  type ResolvedScrapeConfig,
  type ScrapeConfig,
  type TargetGroup,
} from './config.ts';
export { FileSDError, parseFileSD } from './file_sd.ts';
export { ScrapeError, type TargetHealth, type TargetStatus } from './loop.ts';
export { ScrapeManager, type DroppedTargetStatus, type ScrapeManagerDeps } from './manager.ts';
export {
  ExpositionParseError,
  SCRAPE_ACCEPT_HEADER,
  formatFromContentType,
  parseExposition,
  parseOpenMetrics,
  parsePrometheusText,
  type ExpositionFormat,
  type ParseResult,
  type ParsedSample,
} from './parse.ts';
export {
  RELABEL_ACTIONS,
  RelabelConfigError,
  compileRelabelConfigs,
  relabel,
  type CompiledRelabel,
  type RelabelAction,
  type RelabelConfig,
} from './relabel.ts';
