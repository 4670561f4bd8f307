/**
 * System detection, override resolution and the System Configuration report (README "Workers and chunk size").
 * Plain Node: never imports `vscode`; callers pass settings in as plain values.
 */
export { type DetectOptions, type Detector, detectSystem, type SystemInfo } from './detect';
export { formatBytes, formatCount, formatReport } from './report';
export { type OverrideInputs, type ResolvedConfig, resolveConfig } from './resolve';
export { deriveChunkSize, deriveConversions, deriveWorkers } from './rules';
