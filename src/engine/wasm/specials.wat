;; The worker's field-boundary scan for chunks without quotes (src/engine/specials.ts; README "Performance").
;; Built into src/engine/wasm/specialsWasm.ts by `node scripts/build-wasm.mjs` (wabt); a unit test checks the two agree.
(module
  (memory (export "memory") 1)
  ;; Writes the position of every byte equal to $d or LF in memory [0, $len), in order, as i32 values to the
  ;; table at $out: $base plus the byte's offset, bitwise NOT for an LF (so an LF's entry is negative). Returns
  ;; how many entries it wrote (at most $len). Sixteen bytes at a time: two compares, one bitmask, then one
  ;; entry per set bit.
  (func (export "specials") (param $len i32) (param $d i32) (param $out i32) (param $base i32) (result i32)
    (local $i i32) (local $o i32) (local $m i32) (local $lf i32) (local $bit i32) (local $c i32)
    (local $v v128) (local $vd v128) (local $vl v128)
    (local.set $vd (i8x16.splat (local.get $d)))
    (local.set $vl (i8x16.splat (i32.const 10)))
    (local.set $o (local.get $out))
    (block $blocksDone
      (loop $blocks
        (br_if $blocksDone (i32.gt_u (i32.add (local.get $i) (i32.const 16)) (local.get $len)))
        (local.set $v (v128.load (local.get $i)))
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
        (local.set $c (i32.load8_u (local.get $i)))
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
)
