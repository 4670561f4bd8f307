// Draws media/icon.png (128×128 RGBA): a CSV file whose rows fan out into three coloured partitions.
// Plain Node (zlib for the PNG's deflate stream), 4×4 supersampling for smooth edges.
// Usage: node scripts/make-icon.mjs [out.png]
import { writeFileSync } from 'node:fs';
import { deflateSync } from 'node:zlib';

const SIZE = 128;
const SS = 4;

const hex = (h, a = 1) => [parseInt(h.slice(1, 3), 16), parseInt(h.slice(3, 5), 16), parseInt(h.slice(5, 7), 16), a];
const AMBER = hex('#f5b942');
const GREEN = hex('#4cd18b');
const PINK = hex('#f2668b');
const WHITE = hex('#ffffff');
const PAPER = hex('#f4f7fb');
const INK = hex('#9aa9bb');

/** Inside a rounded rectangle [x0,x1]×[y0,y1] with corner radius r. */
function inRoundRect(x, y, x0, y0, x1, y1, r) {
	if (x < x0 || x > x1 || y < y0 || y > y1) return false;
	const cx = Math.min(Math.max(x, x0 + r), x1 - r);
	const cy = Math.min(Math.max(y, y0 + r), y1 - r);
	return (x - cx) ** 2 + (y - cy) ** 2 <= r * r;
}

/** Distance from (x,y) to the segment (ax,ay)-(bx,by). */
function segmentDistance(x, y, ax, ay, bx, by) {
	const dx = bx - ax;
	const dy = by - ay;
	const t = Math.max(0, Math.min(1, ((x - ax) * dx + (y - ay) * dy) / (dx * dx + dy * dy)));
	return Math.hypot(x - (ax + t * dx), y - (ay + t * dy));
}

const rows = [
	{ y: 38, color: AMBER, to: 0 },
	{ y: 50, color: GREEN, to: 1 },
	{ y: 62, color: PINK, to: 2 },
	{ y: 74, color: AMBER, to: 0 },
	{ y: 86, color: PINK, to: 2 },
	{ y: 98, color: GREEN, to: 1 },
];
const blocks = [
	{ y0: 24, y1: 48, color: AMBER },
	{ y0: 52, y1: 76, color: GREEN },
	{ y0: 80, y1: 104, color: PINK },
];

/** The colour at a sample point, painted back to front; null outside the icon. */
function colorAt(x, y) {
	if (!inRoundRect(x, y, 0, 0, SIZE, SIZE, 26)) return null;
	const t = y / SIZE;
	let c = [30 + (13 - 30) * t, 111 + (61 - 111) * t, 184 + (110 - 184) * t, 1];
	for (const r of rows) {
		const b = blocks[r.to];
		if (segmentDistance(x, y, 60, r.y, 80, (b.y0 + b.y1) / 2) < 1.6) c = [...WHITE.slice(0, 3), 0.55];
	}
	if (inRoundRect(x, y, 16, 22, 60, 106, 7)) c = PAPER;
	for (const r of rows) {
		if (inRoundRect(x, y, 22, r.y - 2.5, 30, r.y + 2.5, 2.5)) c = r.color;
		else if (inRoundRect(x, y, 33, r.y - 2.5, 54, r.y + 2.5, 2.5)) c = INK;
	}
	for (const b of blocks) {
		if (inRoundRect(x, y, 80, b.y0, 114, b.y1, 6)) {
			c = b.color;
			const mid = (b.y0 + b.y1) / 2;
			if (inRoundRect(x, y, 86, mid - 6, 108, mid - 2, 2) || inRoundRect(x, y, 86, mid + 2, 102, mid + 6, 2)) c = WHITE;
		}
	}
	return c;
}

function render() {
	const px = Buffer.alloc(SIZE * SIZE * 4);
	for (let y = 0; y < SIZE; y++) {
		for (let x = 0; x < SIZE; x++) {
			let r = 0;
			let g = 0;
			let b = 0;
			let a = 0;
			for (let sy = 0; sy < SS; sy++) {
				for (let sx = 0; sx < SS; sx++) {
					const c = colorAt(x + (sx + 0.5) / SS, y + (sy + 0.5) / SS);
					if (!c) continue;
					// Semi-transparent strokes are blended over the background gradient.
					const t = y / SIZE;
					const bg = [30 + (13 - 30) * t, 111 + (61 - 111) * t, 184 + (110 - 184) * t];
					const k = c[3];
					r += c[0] * k + bg[0] * (1 - k);
					g += c[1] * k + bg[1] * (1 - k);
					b += c[2] * k + bg[2] * (1 - k);
					a += 1;
				}
			}
			const i = (y * SIZE + x) * 4;
			if (a > 0) {
				px[i] = Math.round(r / a);
				px[i + 1] = Math.round(g / a);
				px[i + 2] = Math.round(b / a);
			}
			px[i + 3] = Math.round((a / (SS * SS)) * 255);
		}
	}
	return px;
}

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
	let c = n;
	for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
	return c >>> 0;
});

function crc32(buf) {
	let c = 0xffffffff;
	for (const byte of buf) c = CRC_TABLE[(c ^ byte) & 0xff] ^ (c >>> 8);
	return (c ^ 0xffffffff) >>> 0;
}

function chunk(type, data) {
	const len = Buffer.alloc(4);
	len.writeUInt32BE(data.length);
	const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
	const crc = Buffer.alloc(4);
	crc.writeUInt32BE(crc32(body));
	return Buffer.concat([len, body, crc]);
}

function png(rgba) {
	const ihdr = Buffer.alloc(13);
	ihdr.writeUInt32BE(SIZE, 0);
	ihdr.writeUInt32BE(SIZE, 4);
	ihdr[8] = 8; // bit depth
	ihdr[9] = 6; // RGBA
	const raw = Buffer.alloc(SIZE * (SIZE * 4 + 1));
	for (let y = 0; y < SIZE; y++) {
		raw[y * (SIZE * 4 + 1)] = 0; // filter: none
		rgba.copy(raw, y * (SIZE * 4 + 1) + 1, y * SIZE * 4, (y + 1) * SIZE * 4);
	}
	return Buffer.concat([
		Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
		chunk('IHDR', ihdr),
		chunk('IDAT', deflateSync(raw, { level: 9 })),
		chunk('IEND', Buffer.alloc(0)),
	]);
}

const out = process.argv[2] ?? new URL('../media/icon.png', import.meta.url);
writeFileSync(out, png(render()));
console.log(`wrote ${out instanceof URL ? out.pathname : out}`);
