/**
 * The hyparquet-writer modules the encoder uses below the package's main entry (exported as `./src/*.js`; their
 * own .d.ts files are not reachable with this project's `node10` module resolution).
 */
declare module 'hyparquet-writer/src/metadata.js' {
	export function writeMetadata(writer: unknown, metadata: unknown, statisticsTruncateLength?: number): void;
}
declare module 'hyparquet-writer/src/datapage.js' {
	export function writePageHeader(writer: unknown, header: unknown): void;
}
declare module 'hyparquet-writer/src/snappy.js' {
	export function snappyCompress(input: Uint8Array): Uint8Array;
}
