/**
 * Unit tests of the Parquet encoder's hot-path helpers (src/engine/parquet/snappy.ts, encode.ts): the snappy
 * compressor against a strict decoder written from the format description, and the byte-level value parsers
 * against JavaScript's own parsing.
 */
import * as assert from 'node:assert/strict';
import { parseDoubleChecked } from '../../src/engine/parquet/encode';
import { FieldSplitter, splitRecord, viewOf } from '../../src/engine/parquet/fields';
import { snappyCompress } from '../../src/engine/parquet/snappy';
import {
	classify,
	classifyWithin,
	fitsDouble,
	isInt64,
	parseTimestampTo,
	T_ALL,
	T_DOUBLE,
	T_INT,
	tsOut,
} from '../../src/engine/parquet/types';
import { SCAN_WINDOW, SpecialScanner } from '../../src/engine/specials';

/**
 * Decodes a raw snappy stream strictly: the varint length must match the output, every element must lie within
 * the input, every copy's offset must point inside what was already written.
 */
function snappyDecode(c: Uint8Array): Uint8Array {
	let pos = 0;
	let len = 0;
	for (let shift = 0; ; shift += 7) {
		assert.ok(pos < c.length && shift < 35, 'length varint');
		const b = c[pos++];
		len += (b & 0x7f) * 2 ** shift;
		if (b < 0x80) break;
	}
	const out = new Uint8Array(len);
	let op = 0;
	while (pos < c.length) {
		const tag = c[pos++];
		const kind = tag & 3;
		if (kind === 0) {
			let n = tag >>> 2;
			if (n >= 60) {
				const extra = n - 59;
				assert.ok(extra <= 4 && pos + extra <= c.length, 'literal length bytes');
				n = 0;
				for (let i = 0; i < extra; i++) n += c[pos++] * 2 ** (8 * i);
			}
			n += 1;
			assert.ok(pos + n <= c.length, 'literal past the input');
			assert.ok(op + n <= len, 'literal past the declared length');
			out.set(c.subarray(pos, pos + n), op);
			pos += n;
			op += n;
			continue;
		}
		let n: number;
		let offset: number;
		if (kind === 1) {
			assert.ok(pos + 1 <= c.length, 'copy-1 bytes');
			n = ((tag >>> 2) & 7) + 4;
			offset = ((tag >>> 5) << 8) | c[pos++];
		} else if (kind === 2) {
			assert.ok(pos + 2 <= c.length, 'copy-2 bytes');
			n = (tag >>> 2) + 1;
			offset = c[pos] | (c[pos + 1] << 8);
			pos += 2;
		} else {
			assert.ok(pos + 4 <= c.length, 'copy-4 bytes');
			n = (tag >>> 2) + 1;
			offset = (c[pos] | (c[pos + 1] << 8) | (c[pos + 2] << 16) | (c[pos + 3] << 24)) >>> 0;
			pos += 4;
		}
		assert.ok(offset > 0 && offset <= op, `copy offset ${offset} at ${op}`);
		assert.ok(op + n <= len, 'copy past the declared length');
		for (let i = 0; i < n; i++, op++) out[op] = out[op - offset];
	}
	assert.equal(op, len, 'decoded length');
	return out;
}

function seeded(seed: number): () => number {
	let s = seed >>> 0;
	return () => {
		s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
		return s / 4294967296;
	};
}

describe('parquet: snappy compressor', () => {
	const roundTrip = (name: string, input: Uint8Array) => {
		const packed = snappyCompress(input).slice();
		assert.ok(packed.length <= 32 + input.length + Math.ceil(input.length / 6), `${name}: bound`);
		const back = snappyDecode(packed);
		assert.ok(Buffer.from(back).equals(Buffer.from(input)), `${name}: round trip`);
		return packed.length;
	};

	it('round-trips tiny, incompressible, repetitive and page-like inputs across 64 KB blocks', () => {
		const rnd = seeded(7);
		for (let n = 0; n <= 40; n++)
			roundTrip(
				`random ${n}`,
				Uint8Array.from({ length: n }, () => (rnd() * 256) | 0),
			);
		const random = Uint8Array.from({ length: 300_000 }, () => (rnd() * 256) | 0);
		assert.ok(roundTrip('random 300 KB', random) > 300_000, 'incompressible stays about its size');
		// Long runs: copies of 64+ bytes (split into several elements), matches reaching a block's last byte.
		const zeros = new Uint8Array(200_003);
		assert.ok(roundTrip('zeros', zeros) < 10_000, 'runs compress');
		const pattern = Uint8Array.from({ length: 150_000 }, (_, i) => (i % 97) + (i % 13));
		roundTrip('pattern', pattern);
		// PLAIN text ids (4-byte length + bytes), increasing int64s, doubles: what pages hold.
		const ids = Buffer.concat(
			Array.from({ length: 9000 }, (_, i) => {
				const t = Buffer.from(`TRD${1_000_000_000_000 + i * 3}`);
				const l = Buffer.alloc(4);
				l.writeUInt32LE(t.length);
				return Buffer.concat([l, t]);
			}),
		);
		assert.ok(roundTrip('ids', ids) < ids.length / 2, 'ids compress');
		const ints = Buffer.alloc(8 * 20_000);
		let v = 1_710_163_800_000_000n;
		for (let i = 0; i < 20_000; i++) {
			v += BigInt(Math.floor(rnd() * 50_000));
			ints.writeBigInt64LE(v, 8 * i);
		}
		roundTrip('timestamps', ints);
		const dbl = Buffer.alloc(8 * 20_000);
		for (let i = 0; i < 20_000; i++) dbl.writeDoubleLE(Math.round(rnd() * 1e7) / 1e4, 8 * i);
		roundTrip('doubles', dbl);
		// Literals of every length class (1-60, 61-256, over 256) between matches.
		const parts: Buffer[] = [];
		for (const n of [1, 59, 60, 61, 255, 256, 257, 5000, 70_000]) {
			parts.push(Buffer.from('0123456789abcdef'.repeat(3)));
			parts.push(Buffer.from(Uint8Array.from({ length: n }, () => (rnd() * 256) | 0)));
		}
		roundTrip('literal classes', Buffer.concat(parts));
	});

	it('mixed random inputs of random sizes round-trip (the compressor reuses its output buffer)', () => {
		const rnd = seeded(99);
		for (let t = 0; t < 200; t++) {
			const n = Math.floor(rnd() ** 3 * 140_000);
			const alphabet = 1 + Math.floor(rnd() * 255);
			const a = new Uint8Array(n);
			for (let i = 0; i < n; i++) {
				// Sometimes copy an earlier stretch (near or far back), else a byte from a small or large alphabet.
				if (i > 64 && rnd() < 0.02) {
					const from = i - 1 - Math.floor(rnd() * Math.min(i - 1, rnd() < 0.5 ? 64 : 100_000));
					const len = Math.min(n - i, 1 + Math.floor(rnd() * 200));
					for (let k = 0; k < len; k++) a[i + k] = a[from + k];
					i += len - 1;
				} else a[i] = Math.floor(rnd() * alphabet);
			}
			roundTrip(`mixed #${t} (${n} bytes)`, a);
		}
	});
});

/** The fields of records as the documented rules read them, one byte at a time (the reference for splitRecord). */
function referenceSplit(
	b: Uint8Array,
	pos: number,
	end: number,
	d: number,
): { fields: [number, number, number][]; next: number } {
	const fields: [number, number, number][] = [];
	let i = pos;
	for (;;) {
		if (i < end && b[i] === 0x22) {
			const s = ++i;
			let kind = 1;
			while (i < end && !(b[i] === 0x22 && b[i + 1] !== 0x22)) {
				if (b[i] === 0x22) {
					kind = 2;
					i++;
				}
				i++;
			}
			fields.push([s, i, kind]);
			i++;
			while (i < end && b[i] !== d && b[i] !== 0x0a) i++;
		} else {
			const s = i;
			while (i < end && b[i] !== d && b[i] !== 0x0a) i++;
			const e = i < end && b[i] === 0x0a && i > s && b[i - 1] === 0x0d ? i - 1 : i;
			fields.push([s, e, 0]);
		}
		if (i >= end) return { fields, next: -1 };
		if (b[i] === 0x0a) return { fields, next: i + 1 };
		i++;
	}
}

describe('parquet: record splitting (4 bytes at a time)', () => {
	it('finds every delimiter, LF and CRLF at every offset, with quoted fields, as a byte-by-byte reading does', () => {
		const rnd = seeded(3);
		for (const d of [0x2c, 0x09, 0x3b, 0x7c, 0xfe, 0x01, 0x80, 0x0b]) {
			for (let t = 0; t < 300; t++) {
				const n = 1 + Math.floor(rnd() * 9);
				const parts: string[] = [];
				for (let f = 0; f < n; f++) {
					const len = Math.floor(rnd() ** 2 * 20);
					// Bytes near the delimiter and LF values (off by one, same low bits) to catch a wrong mask.
					const pool = [0x0b, 0x09, 0x0e, 0x8a, 0x4a, d ^ 0x80, (d + 1) & 0xff, (d - 1) & 0xff, 0x41, 0x7a, 0xff, 0x00];
					let v = Array.from({ length: len }, () => String.fromCharCode(pool[Math.floor(rnd() * pool.length)]))
						.join('')
						.replaceAll(String.fromCharCode(d), 'x')
						.replaceAll('\n', 'y')
						.replaceAll('"', 'z')
						.replaceAll('\r', 'w');
					if (rnd() < 0.2) v = `"${v.slice(0, 3)}${rnd() < 0.5 ? '""' : ''}${String.fromCharCode(d)}\n${v.slice(3)}"`;
					parts.push(v);
				}
				const eol = rnd() < 0.3 ? '\r\n' : '\n';
				const lead = 'P'.repeat(Math.floor(rnd() * 5));
				const rec = Buffer.from(lead + parts.join(String.fromCharCode(d)) + eol + 'tail', 'latin1');
				const end = rnd() < 0.1 ? lead.length + Math.floor(rnd() * (rec.length - 4 - lead.length)) : rec.length;
				const bounds = new Int32Array(2 * n);
				const kinds = new Uint8Array(n);
				const got = splitRecord(rec, viewOf(rec), lead.length, end, d, n, bounds, kinds);
				const want = referenceSplit(rec, lead.length, end, d);
				const label = `delimiter ${d}, ${JSON.stringify(rec.toString('latin1'))} to ${end}`;
				assert.equal(got, want.next, label);
				if (got < 0) continue;
				assert.equal(want.fields.length, n, label);
				for (let f = 0; f < n; f++)
					assert.deepEqual([bounds[2 * f], bounds[2 * f + 1], kinds[f]], want.fields[f], `${label}: field ${f}`);
			}
		}
	});
});

describe('parquet: FieldSplitter (runs without quotes from the WebAssembly scanner)', () => {
	it('splits a buffer of records exactly as splitRecord does, quoted records, CRLF, long records and re-splits included', () => {
		const rnd = seeded(11);
		const made = SpecialScanner.create();
		assert.ok(made, 'this Node runs the scanner');
		const scanner = made;
		let scans = 0;
		const scan = scanner.scan.bind(scanner);
		scanner.scan = (...a: Parameters<SpecialScanner['scan']>) => {
			scans++;
			return scan(...a);
		};
		for (const d of [0x2c, 0x09, 0x3b, 0xfe, 0x01, 0x0d]) {
			for (let t = 0; t < 40; t++) {
				const n = 1 + Math.floor(rnd() * 8);
				const records: string[] = [];
				const count = 1 + Math.floor(rnd() * 300);
				for (let r = 0; r < count; r++) {
					const parts: string[] = [];
					for (let f = 0; f < n; f++) {
						let v = Array.from(
							{ length: Math.floor(rnd() ** 3 * 12) },
							() => 'ab1.-Z\r\x80'[Math.floor(rnd() * 8)],
						).join('');
						if (rnd() < 0.02) v = `"${v}${rnd() < 0.5 ? '""' : ''}${String.fromCharCode(d)}\n${v}"`;
						if (rnd() < 0.002) v = 'L'.repeat(SCAN_WINDOW + Math.floor(rnd() * 100)); // longer than a window
						parts.push(v.replaceAll(String.fromCharCode(d), 'x'));
					}
					records.push(parts.join(String.fromCharCode(d)) + (rnd() < 0.3 ? '\r\n' : '\n'));
				}
				const buf = Buffer.from(records.join(''), 'latin1');
				const view = viewOf(buf);
				const bounds = new Int32Array(2 * n);
				const kinds = new Uint8Array(n);
				const splitter = new FieldSplitter(scanner, d, n, bounds, kinds);
				const wantBounds = new Int32Array(2 * n);
				const wantKinds = new Uint8Array(n);
				const label = `delimiter ${d}, file ${t}`;
				let pos = 0;
				for (let r = 0; pos < buf.length; r++) {
					// Now and then the same record twice (a row group cut before it) or a reset (the bytes moved).
					if (rnd() < 0.05) splitter.split(buf, view, pos, buf.length);
					if (rnd() < 0.02) splitter.reset();
					const got = splitter.split(buf, view, pos, buf.length);
					const want = splitRecord(buf, view, pos, buf.length, d, n, wantBounds, wantKinds);
					assert.equal(got, want, `${label}, record ${r}`);
					assert.deepEqual([...bounds], [...wantBounds], `${label}, record ${r}: bounds`);
					assert.deepEqual([...kinds], [...wantKinds], `${label}, record ${r}: kinds`);
					pos = got;
				}
			}
		}
		assert.ok(scans > 100, `the scanner was used (${scans} scans)`);
	});
});

describe('parquet: value parsing shortcuts', () => {
	const b = (s: string) => Buffer.from(s, 'latin1');
	const values = [
		'0',
		'-0',
		'7',
		'-42',
		'007',
		'-007',
		'9223372036854775807',
		'-9223372036854775808',
		'9223372036854775808',
		'123456789012345678901234567890',
		'3.25',
		'-1.5E-3',
		'1e10',
		'1e999',
		'-1e999',
		'.5',
		'5.',
		'+5',
		'1.2.3',
		'--1',
		'true',
		'False',
		'TRUE',
		'tRue',
		'2024-02-29',
		'2023-02-29',
		'2024-13-01',
		'2024-03-11T13:30:00.123Z',
		'2024-03-11 13:30:00+02:00',
		'2024-03-11T13:30-0500',
		'2024-03-11T13:30:00.123456',
		'2024-03-11T13:30:00.1234567',
		'2024-03-11T24:00:00',
		'2024-03-11T13:30:00Q',
		'2024-03-11t13:30Z',
		'AAPL',
		'12:30',
		'-',
		'e5',
		'1e',
		'0x10',
	];

	it('classifyWithin gives cand & classify for every candidate set', () => {
		for (const v of values) {
			const x = b(v);
			const full = classify(x, 0, x.length);
			for (let cand = 0; cand <= T_ALL; cand++)
				assert.equal(classifyWithin(x, 0, x.length, cand), cand & full, `${v} within ${cand}`);
		}
	});

	// The conversion proves speculated types with these (docs/parquet.md, "How the types are decided"): each must
	// answer exactly what classify answers, or a speculated type could be kept for a value that does not fit it.
	it('parseDoubleChecked is NaN exactly when classify says no double, else the same double as Number(text)', () => {
		const rnd = seeded(5);
		const alphabet = '0123456789012345678901234567890123456789.-eE+x';
		const random = Array.from({ length: 20_000 }, () => {
			const n = 1 + Math.floor(rnd() * 24);
			let v = '';
			for (let k = 0; k < n; k++) v += alphabet[Math.floor(rnd() * alphabet.length)];
			return v;
		});
		const long = ['1234567890123456', '0.1234567890123456789012', '1.00000000000000000000001', `${'9'.repeat(400)}`];
		for (const v of [...values, ...random, ...long]) {
			const x = b(v);
			const fits = (classify(x, 0, x.length) & T_DOUBLE) !== 0;
			assert.equal(fitsDouble(x, 0, x.length), fits, `fitsDouble ${v}`);
			const got = parseDoubleChecked(x, 0, x.length);
			if (!fits) assert.ok(Number.isNaN(got), `${v} is not a double, got ${got}`);
			else assert.ok(Object.is(got, Number(v)), `${v}: ${got} against ${Number(v)}`);
		}
	});

	it('isInt64 is true exactly when classify says int64', () => {
		for (const v of values) {
			const x = b(v);
			assert.equal(isInt64(x, 0, x.length), (classify(x, 0, x.length) & T_INT) !== 0, v);
		}
	});

	it('a timestamp sharing the cached date-hour-minute prefix parses as it does alone, whatever came before', () => {
		const us = (s: string): bigint | null => {
			const x = b(s);
			if (!parseTimestampTo(x, 0, x.length)) return null;
			return BigInt(tsOut.ms) * 1000n + BigInt(tsOut.micros) + (tsOut.zoned ? 0n : 1n << 62n);
		};
		const rnd = seeded(21);
		const samples = [
			'2024-03-11T13:30:00.018Z',
			'2024-03-11T13:30:59.999999Z',
			'2024-03-11T13:30Z',
			'2024-03-11T13:30',
			'2024-03-11T13:30:07+01:00',
			'2024-03-11T13:30:07-0130',
			'2024-03-11T13:30:07+05',
			'2024-03-11T13:31:00Z',
			'2024-03-11 13:30:00Z',
			'2024-03-11T13:30:',
			'2024-03-11T13:30:0',
			'2024-03-11T13:30:60Z',
			'2024-03-11T13:30:00.Z',
			'2024-03-11T13:30:00.1234567Z',
			'2024-03-11T13:30:00+24:00',
			'2024-03-11T13:3x:00Z',
			'2024-03-11T13:30:00ZZ',
			'2024-03-12T13:30:00Z',
			'2023-03-11T13:30:00Z',
			'1969-12-31T23:59:59.999999Z',
			'2024-02-30T13:30:00Z',
			'2024-03-11X13:30:00Z',
		];
		// Each sample's value when parsed first (cold), from a fresh prefix that cannot match.
		const cold = new Map<string, bigint | null>();
		for (const s of samples) {
			us('1999-01-01T00:00Z');
			cold.set(s, us(s));
		}
		// Then in random orders, each one right after others sharing (or nearly sharing) its prefix.
		for (let t = 0; t < 3000; t++) {
			const s = samples[Math.floor(rnd() * samples.length)];
			assert.equal(us(s), cold.get(s), `${s} after others`);
		}
		// And against Date.parse for valid ones.
		assert.equal(us('2024-03-11T13:30:00.018Z'), BigInt(Date.parse('2024-03-11T13:30:00.018Z')) * 1000n);
		assert.equal(us('2024-03-11T13:30:07+01:00'), BigInt(Date.parse('2024-03-11T13:30:07+01:00')) * 1000n);
		assert.equal(us('2024-03-11T13:30:00.1234567Z'), null);
		assert.equal(us('2024-03-11T13:3x:00Z'), null);
		assert.equal(us('2024-02-30T13:30:00Z'), null);
	});
});
