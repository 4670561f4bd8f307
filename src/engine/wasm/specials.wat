;; The worker's WebAssembly (src/engine/specials.ts; docs/performance.md): the field-boundary scan for chunks without
;; quotes, and the layout of a chunk's records grouped by partition.
;; Built into src/engine/wasm/specialsWasm.ts by `node scripts/build-wasm.mjs` (wabt); a unit test checks the two agree.
(module
  (memory (export "memory") 1)
  ;; Writes the position of every byte equal to $d or LF in memory [$src, $src + $len), in order, as i32 values to the
  ;; table at $out: $base plus the byte's offset, bitwise NOT for an LF (so an LF's entry is negative). Returns
  ;; how many entries it wrote (at most $len). Sixteen bytes at a time: two compares, one bitmask, then one
  ;; entry per set bit.
  (func (export "specials") (param $src i32) (param $len i32) (param $d i32) (param $out i32) (param $base i32) (result i32)
    (local $i i32) (local $o i32) (local $m i32) (local $lf i32) (local $bit i32) (local $c i32)
    (local $v v128) (local $vd v128) (local $vl v128)
    (local.set $vd (i8x16.splat (local.get $d)))
    (local.set $vl (i8x16.splat (i32.const 10)))
    (local.set $o (local.get $out))
    (block $blocksDone
      (loop $blocks
        (br_if $blocksDone (i32.gt_u (i32.add (local.get $i) (i32.const 16)) (local.get $len)))
        (local.set $v (v128.load (i32.add (local.get $src) (local.get $i))))
        (local.set $lf (i8x16.bitmask (i8x16.eq (local.get $v) (local.get $vl))))
        (local.set $m (i32.or (local.get $lf) (i8x16.bitmask (i8x16.eq (local.get $v) (local.get $vd)))))
        (block $bitsDone
          (loop $bits
            (br_if $bitsDone (i32.eqz (local.get $m)))
            (local.set $bit (i32.ctz (local.get $m)))
            ;; position XOR (0 - isLF): the position itself, or its bitwise NOT for an LF
            (i32.store (local.get $o)
              (i32.xor
                (i32.add (local.get $base) (i32.add (local.get $i) (local.get $bit)))
                (i32.sub (i32.const 0) (i32.and (i32.shr_u (local.get $lf) (local.get $bit)) (i32.const 1)))))
            (local.set $o (i32.add (local.get $o) (i32.const 4)))
            (local.set $m (i32.and (local.get $m) (i32.sub (local.get $m) (i32.const 1))))
            (br $bits)))
        (local.set $i (i32.add (local.get $i) (i32.const 16)))
        (br $blocks)))
    ;; The last 0-15 bytes, one at a time.
    (block $tailDone
      (loop $tail
        (br_if $tailDone (i32.ge_u (local.get $i) (local.get $len)))
        (local.set $c (i32.load8_u (i32.add (local.get $src) (local.get $i))))
        (if (i32.eq (local.get $c) (i32.const 10))
          (then
            (i32.store (local.get $o) (i32.xor (i32.add (local.get $base) (local.get $i)) (i32.const -1)))
            (local.set $o (i32.add (local.get $o) (i32.const 4))))
          (else
            (if (i32.eq (local.get $c) (local.get $d))
              (then
                (i32.store (local.get $o) (i32.add (local.get $base) (local.get $i)))
                (local.set $o (i32.add (local.get $o) (i32.const 4)))))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $tail)))
    (i32.shr_u (i32.sub (local.get $o) (local.get $out)) (i32.const 2)))

  ;; The worker's layout of a chunk's kept records grouped by partition (chunkProcessor.ts layOut;
  ;; docs/performance.md): 16-byte copies per record instead of JavaScript's 4-byte ones. Both functions take, for records
  ;; r in [0, $n), the owner (partition index) at $oa + 4r, and per owner its output position (i32 at $pos + 4o,
  ;; advanced as records are copied). The records' bytes are at $src + their offsets; output positions are
  ;; offsets from $dst. With $re not 0 each record's end position is also stored at $re + 4c, c being the
  ;; owner's cursor at $cur + 4o (advanced): the record ends grouped by partition, for capped files.

  ;; Copies $len bytes from $s to $d 16 at a time: reads up to 15 bytes past $s + $len and writes up to 15 past
  ;; $d + $len (the next copy of the same partition's records, or the 16-byte gap after its region, takes them).
  ;; Faster than memory.copy, which calls out of the module, for records of tens of bytes.
  (func $copy (param $d i32) (param $s i32) (param $len i32)
    (local $end i32)
    (local.set $end (i32.add (local.get $s) (local.get $len)))
    (block $done
      (loop $words
        (br_if $done (i32.ge_u (local.get $s) (local.get $end)))
        (v128.store (local.get $d) (v128.load (local.get $s)))
        (local.set $s (i32.add (local.get $s) (i32.const 16)))
        (local.set $d (i32.add (local.get $d) (i32.const 16)))
        (br $words))))

  ;; Whole records: [start, end) offsets at $sa + 4r and $ea + 4r.
  (func (export "layoutRecords") (param $n i32) (param $sa i32) (param $ea i32) (param $oa i32) (param $pos i32)
    (param $cur i32) (param $re i32) (param $src i32) (param $dst i32)
    (local $r i32) (local $r4 i32) (local $s i32) (local $len i32) (local $po i32) (local $p i32) (local $c i32)
    (block $done
      (loop $records
        (br_if $done (i32.ge_u (local.get $r) (local.get $n)))
        (local.set $r4 (i32.shl (local.get $r) (i32.const 2)))
        (local.set $s (i32.load (i32.add (local.get $sa) (local.get $r4))))
        (local.set $len (i32.sub (i32.load (i32.add (local.get $ea) (local.get $r4))) (local.get $s)))
        (local.set $po (i32.add (local.get $pos) (i32.shl (i32.load (i32.add (local.get $oa) (local.get $r4))) (i32.const 2))))
        (local.set $p (i32.load (local.get $po)))
        (call $copy (i32.add (local.get $dst) (local.get $p)) (i32.add (local.get $src) (local.get $s)) (local.get $len))
        (local.set $p (i32.add (local.get $p) (local.get $len)))
        (i32.store (local.get $po) (local.get $p))
        (if (local.get $re)
          (then
            (local.set $po (i32.add (local.get $cur) (i32.sub (local.get $po) (local.get $pos))))
            (local.set $c (i32.load (local.get $po)))
            (i32.store (i32.add (local.get $re) (i32.shl (local.get $c) (i32.const 2))) (local.get $p))
            (i32.store (local.get $po) (i32.add (local.get $c) (i32.const 1)))))
        (local.set $r (i32.add (local.get $r) (i32.const 1)))
        (br $records))))

  ;; Records as $k pieces each (runs of fields, delimiters and line ending included): [start, end) pairs at $pa,
  ;; 2 * $k values per record, copied back to back.
  (func (export "layoutPieces") (param $n i32) (param $k i32) (param $pa i32) (param $oa i32) (param $pos i32)
    (param $cur i32) (param $re i32) (param $src i32) (param $dst i32)
    (local $r i32) (local $j i32) (local $q i32) (local $s i32) (local $len i32) (local $po i32) (local $p i32) (local $c i32)
    (local.set $q (local.get $pa))
    (block $done
      (loop $records
        (br_if $done (i32.ge_u (local.get $r) (local.get $n)))
        (local.set $po (i32.add (local.get $pos) (i32.shl (i32.load (i32.add (local.get $oa) (i32.shl (local.get $r) (i32.const 2)))) (i32.const 2))))
        (local.set $p (i32.load (local.get $po)))
        (local.set $j (i32.const 0))
        (block $piecesDone
          (loop $pieces
            (br_if $piecesDone (i32.ge_u (local.get $j) (local.get $k)))
            (local.set $s (i32.load (local.get $q)))
            (local.set $len (i32.sub (i32.load (i32.add (local.get $q) (i32.const 4))) (local.get $s)))
            (call $copy (i32.add (local.get $dst) (local.get $p)) (i32.add (local.get $src) (local.get $s)) (local.get $len))
            (local.set $p (i32.add (local.get $p) (local.get $len)))
            (local.set $q (i32.add (local.get $q) (i32.const 8)))
            (local.set $j (i32.add (local.get $j) (i32.const 1)))
            (br $pieces)))
        (i32.store (local.get $po) (local.get $p))
        (if (local.get $re)
          (then
            (local.set $po (i32.add (local.get $cur) (i32.sub (local.get $po) (local.get $pos))))
            (local.set $c (i32.load (local.get $po)))
            (i32.store (i32.add (local.get $re) (i32.shl (local.get $c) (i32.const 2))) (local.get $p))
            (i32.store (local.get $po) (i32.add (local.get $c) (i32.const 1)))))
        (local.set $r (i32.add (local.get $r) (i32.const 1)))
        (br $records))))
)
