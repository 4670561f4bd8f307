/**
 * Sweep's rules, one home each: what a value may be, what it means, and the words used when it is refused. The
 * CLI, the settings reader and the engine all call these, so they accept and refuse the same values
 * (docs/rules.md). Plain TypeScript: no `vscode`, no I/O, nothing from the other layers.
 */
export { accept, type Checked, refusal, refuse } from './checked';
export {
	COMPRESSED_NAME,
	COMPRESSION_LEVELS,
	COMPRESSION_SUFFIX,
	COMPRESSIONS,
	type Compression,
	isExtractableName,
	nodeHasZstd,
	outputStem,
	parseCompression,
	parseCompressionLevel,
	withoutCompressionSuffix,
	ZSTD_NODE_VERSION,
	zstdOutputProblem,
} from './compression';
export { OVERRIDE_HINT, OVERRIDE_PROBLEM, type Override, parseCount, parseOverride } from './counts';
export { DELIMITER_NAMES, parseDelimiter, SNIFF_CANDIDATES } from './delimiter';
export * from './limits';
export {
	LAYOUTS,
	type Layout,
	OUTPUT_FORMATS,
	type OutputFormat,
	PARQUET_COMPRESSIONS,
	PARQUET_TYPES_MODES,
	type ParquetCompression,
	type ParquetTypesMode,
	parseColumnList,
	parseLayout,
	parseOutputFormat,
	parseParquetCompression,
	parseParquetTypes,
} from './output';
export {
	defaultPartitionName,
	formatPartitionSpec,
	PARTITION_FUNCTIONS,
	type PartitionFn,
	type PartitionSpec,
	parsePartitionList,
	parsePartitionSpec,
	partitionColumnOf,
	partitionExpressionHint,
	SUPPORTED_PARTITION_FUNCTIONS,
	splitPartitionList,
} from './partitionSpec';
export { formatCount, formatSize, show, showNames } from './show';
