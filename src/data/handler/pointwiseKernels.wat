;; Kernels of the pointwise columns (src/data/handler/pointwise.ts) over the fetch's shared memory:
;; the leaves' gather, then element-wise operators two float64 lanes at a time. Every element-wise
;; function takes byte offsets into memory and a count n, and processes ceil(n / 2) lane pairs
;; (callers pad arrays to an even length). Each lane computes exactly the
;; JavaScript loop it replaces (apply.ts PAIR_LOOPS / ROUNDED_PAIR_LOOPS): IEEE float64 arithmetic,
;; and `Math.fround` as a float32 demote + promote (round to nearest even), the same instructions
;; V8 emits for it. Regenerate the base64 module with `npm run build:wasm` after editing.
(module
(import "env" "memory" (memory 1 65536 shared))

;; o = a + b
(func (export "add") (param $a i32) (param $b i32) (param $o i32) (param $n i32)
  (local $end i32)
  (local.set $end (i32.add (local.get $o) (i32.shl (local.get $n) (i32.const 3))))
  (block $done
    (loop $next
      (br_if $done (i32.ge_u (local.get $o) (local.get $end)))
      (v128.store (local.get $o) (f64x2.add (v128.load (local.get $a)) (v128.load (local.get $b))))
      (local.set $a (i32.add (local.get $a) (i32.const 16)))
      (local.set $b (i32.add (local.get $b) (i32.const 16)))
      (local.set $o (i32.add (local.get $o) (i32.const 16)))
      (br $next))))

;; o = fround(a + b)
(func (export "add_f32") (param $a i32) (param $b i32) (param $o i32) (param $n i32)
  (local $end i32)
  (local.set $end (i32.add (local.get $o) (i32.shl (local.get $n) (i32.const 3))))
  (block $done
    (loop $next
      (br_if $done (i32.ge_u (local.get $o) (local.get $end)))
      (v128.store (local.get $o) (f64x2.promote_low_f32x4 (f32x4.demote_f64x2_zero (f64x2.add (v128.load (local.get $a)) (v128.load (local.get $b))))))
      (local.set $a (i32.add (local.get $a) (i32.const 16)))
      (local.set $b (i32.add (local.get $b) (i32.const 16)))
      (local.set $o (i32.add (local.get $o) (i32.const 16)))
      (br $next))))

;; o = a - b
(func (export "sub") (param $a i32) (param $b i32) (param $o i32) (param $n i32)
  (local $end i32)
  (local.set $end (i32.add (local.get $o) (i32.shl (local.get $n) (i32.const 3))))
  (block $done
    (loop $next
      (br_if $done (i32.ge_u (local.get $o) (local.get $end)))
      (v128.store (local.get $o) (f64x2.sub (v128.load (local.get $a)) (v128.load (local.get $b))))
      (local.set $a (i32.add (local.get $a) (i32.const 16)))
      (local.set $b (i32.add (local.get $b) (i32.const 16)))
      (local.set $o (i32.add (local.get $o) (i32.const 16)))
      (br $next))))

;; o = fround(a - b)
(func (export "sub_f32") (param $a i32) (param $b i32) (param $o i32) (param $n i32)
  (local $end i32)
  (local.set $end (i32.add (local.get $o) (i32.shl (local.get $n) (i32.const 3))))
  (block $done
    (loop $next
      (br_if $done (i32.ge_u (local.get $o) (local.get $end)))
      (v128.store (local.get $o) (f64x2.promote_low_f32x4 (f32x4.demote_f64x2_zero (f64x2.sub (v128.load (local.get $a)) (v128.load (local.get $b))))))
      (local.set $a (i32.add (local.get $a) (i32.const 16)))
      (local.set $b (i32.add (local.get $b) (i32.const 16)))
      (local.set $o (i32.add (local.get $o) (i32.const 16)))
      (br $next))))

;; o = a * b
(func (export "mul") (param $a i32) (param $b i32) (param $o i32) (param $n i32)
  (local $end i32)
  (local.set $end (i32.add (local.get $o) (i32.shl (local.get $n) (i32.const 3))))
  (block $done
    (loop $next
      (br_if $done (i32.ge_u (local.get $o) (local.get $end)))
      (v128.store (local.get $o) (f64x2.mul (v128.load (local.get $a)) (v128.load (local.get $b))))
      (local.set $a (i32.add (local.get $a) (i32.const 16)))
      (local.set $b (i32.add (local.get $b) (i32.const 16)))
      (local.set $o (i32.add (local.get $o) (i32.const 16)))
      (br $next))))

;; o = fround(a * b)
(func (export "mul_f32") (param $a i32) (param $b i32) (param $o i32) (param $n i32)
  (local $end i32)
  (local.set $end (i32.add (local.get $o) (i32.shl (local.get $n) (i32.const 3))))
  (block $done
    (loop $next
      (br_if $done (i32.ge_u (local.get $o) (local.get $end)))
      (v128.store (local.get $o) (f64x2.promote_low_f32x4 (f32x4.demote_f64x2_zero (f64x2.mul (v128.load (local.get $a)) (v128.load (local.get $b))))))
      (local.set $a (i32.add (local.get $a) (i32.const 16)))
      (local.set $b (i32.add (local.get $b) (i32.const 16)))
      (local.set $o (i32.add (local.get $o) (i32.const 16)))
      (br $next))))

;; o = a / b
(func (export "div") (param $a i32) (param $b i32) (param $o i32) (param $n i32)
  (local $end i32)
  (local.set $end (i32.add (local.get $o) (i32.shl (local.get $n) (i32.const 3))))
  (block $done
    (loop $next
      (br_if $done (i32.ge_u (local.get $o) (local.get $end)))
      (v128.store (local.get $o) (f64x2.div (v128.load (local.get $a)) (v128.load (local.get $b))))
      (local.set $a (i32.add (local.get $a) (i32.const 16)))
      (local.set $b (i32.add (local.get $b) (i32.const 16)))
      (local.set $o (i32.add (local.get $o) (i32.const 16)))
      (br $next))))

;; o = fround(a / b)
(func (export "div_f32") (param $a i32) (param $b i32) (param $o i32) (param $n i32)
  (local $end i32)
  (local.set $end (i32.add (local.get $o) (i32.shl (local.get $n) (i32.const 3))))
  (block $done
    (loop $next
      (br_if $done (i32.ge_u (local.get $o) (local.get $end)))
      (v128.store (local.get $o) (f64x2.promote_low_f32x4 (f32x4.demote_f64x2_zero (f64x2.div (v128.load (local.get $a)) (v128.load (local.get $b))))))
      (local.set $a (i32.add (local.get $a) (i32.const 16)))
      (local.set $b (i32.add (local.get $b) (i32.const 16)))
      (local.set $o (i32.add (local.get $o) (i32.const 16)))
      (br $next))))

;; o = NaN if a or b is NaN, else (a > b ? a : b)
(func (export "greater") (param $a i32) (param $b i32) (param $o i32) (param $n i32)
  (local $end i32)
  (local.set $end (i32.add (local.get $o) (i32.shl (local.get $n) (i32.const 3))))
  (block $done
    (loop $next
      (br_if $done (i32.ge_u (local.get $o) (local.get $end)))
      (v128.store (local.get $o) (v128.bitselect
        (v128.const f64x2 nan nan)
        (v128.bitselect (v128.load (local.get $a)) (v128.load (local.get $b)) (f64x2.gt (v128.load (local.get $a)) (v128.load (local.get $b))))
        (v128.or (f64x2.ne (v128.load (local.get $a)) (v128.load (local.get $a))) (f64x2.ne (v128.load (local.get $b)) (v128.load (local.get $b))))))
      (local.set $a (i32.add (local.get $a) (i32.const 16)))
      (local.set $b (i32.add (local.get $b) (i32.const 16)))
      (local.set $o (i32.add (local.get $o) (i32.const 16)))
      (br $next))))

;; o = NaN if a or b is NaN, else (a < b ? a : b)
(func (export "less") (param $a i32) (param $b i32) (param $o i32) (param $n i32)
  (local $end i32)
  (local.set $end (i32.add (local.get $o) (i32.shl (local.get $n) (i32.const 3))))
  (block $done
    (loop $next
      (br_if $done (i32.ge_u (local.get $o) (local.get $end)))
      (v128.store (local.get $o) (v128.bitselect
        (v128.const f64x2 nan nan)
        (v128.bitselect (v128.load (local.get $a)) (v128.load (local.get $b)) (f64x2.lt (v128.load (local.get $a)) (v128.load (local.get $b))))
        (v128.or (f64x2.ne (v128.load (local.get $a)) (v128.load (local.get $a))) (f64x2.ne (v128.load (local.get $b)) (v128.load (local.get $b))))))
      (local.set $a (i32.add (local.get $a) (i32.const 16)))
      (local.set $b (i32.add (local.get $b) (i32.const 16)))
      (local.set $o (i32.add (local.get $o) (i32.const 16)))
      (br $next))))

;; o = |a|
(func (export "abs") (param $a i32) (param $o i32) (param $n i32)
  (local $end i32)
  (local.set $end (i32.add (local.get $o) (i32.shl (local.get $n) (i32.const 3))))
  (block $done
    (loop $next
      (br_if $done (i32.ge_u (local.get $o) (local.get $end)))
      (v128.store (local.get $o) (f64x2.abs (v128.load (local.get $a))))
      (local.set $a (i32.add (local.get $a) (i32.const 16)))
      (local.set $o (i32.add (local.get $o) (i32.const 16)))
      (br $next))))

;; o = fround(a)
(func (export "fround") (param $a i32) (param $o i32) (param $n i32)
  (local $end i32)
  (local.set $end (i32.add (local.get $o) (i32.shl (local.get $n) (i32.const 3))))
  (block $done
    (loop $next
      (br_if $done (i32.ge_u (local.get $o) (local.get $end)))
      (v128.store (local.get $o) (f64x2.promote_low_f32x4 (f32x4.demote_f64x2_zero (v128.load (local.get $a)))))
      (local.set $a (i32.add (local.get $a) (i32.const 16)))
      (local.set $o (i32.add (local.get $o) (i32.const 16)))
      (br $next))))

;; Gathers the leaves (fields read `shift` days back) for the panel rows of days [t0, t1).
;; `leaves + 12 j` holds leaf j's (field table address, shift, output address). A field table holds
;; per instrument i, at 12 i: (address of its copied values, lo = calendar index of the first copied
;; value, last = calendar index of its last stored value); `rows + 4 (i len + t)` is instrument i's
;; panel row on day start + t, or -1. A leaf's value is NaN unless lo <= day - shift and
;; day <= last (the per-instrument Series has no value there). Instrument by instrument, all leaves
;; at once: a row map and one column page per field at a time (leaf by leaf over all instruments
;; touched every instrument's pages once per leaf, and the TLB misses dominated).
(func (export "gather") (param $leaves i32) (param $nleaves i32) (param $n i32) (param $rows i32) (param $len i32)
  (param $start i32) (param $t0 i32) (param $t1 i32) (param $r0 i32)
  (local $i i32) (local $j i32) (local $t i32) (local $r i32) (local $leaf i32) (local $entry i32)
  (local $col i32) (local $lo i32) (local $last i32) (local $shift i32) (local $out i32)
  (local $rowBase i32) (local $row i32) (local $day i32) (local $from i32)
  (block $instruments_done
    (loop $instrument
      (br_if $instruments_done (i32.ge_u (local.get $i) (local.get $n)))
      (local.set $rowBase (i32.add (local.get $rows) (i32.shl (i32.add (i32.mul (local.get $i) (local.get $len)) (local.get $t0)) (i32.const 2))))
      (local.set $leaf (local.get $leaves))
      (local.set $j (i32.const 0))
      (block $leaves_done
        (loop $leaf_loop
          (br_if $leaves_done (i32.ge_u (local.get $j) (local.get $nleaves)))
          (local.set $entry (i32.add (i32.load (local.get $leaf)) (i32.mul (local.get $i) (i32.const 12))))
          (local.set $col (i32.load (local.get $entry)))
          (local.set $lo (i32.load offset=4 (local.get $entry)))
          (local.set $last (i32.load offset=8 (local.get $entry)))
          (local.set $shift (i32.load offset=4 (local.get $leaf)))
          (local.set $out (i32.load offset=8 (local.get $leaf)))
          (local.set $row (local.get $rowBase))
          (local.set $t (local.get $t0))
          (block $days_done
            (loop $day_loop
              (br_if $days_done (i32.ge_s (local.get $t) (local.get $t1)))
              (local.set $r (i32.load (local.get $row)))
              (if (i32.ge_s (local.get $r) (i32.const 0))
                (then
                  (local.set $day (i32.add (local.get $start) (local.get $t)))
                  (local.set $from (i32.sub (local.get $day) (local.get $shift)))
                  (f64.store
                    (i32.add (local.get $out) (i32.shl (i32.sub (local.get $r) (local.get $r0)) (i32.const 3)))
                    (if (result f64)
                      (i32.and (i32.ge_s (local.get $from) (local.get $lo)) (i32.le_s (local.get $day) (local.get $last)))
                      (then (f64.load (i32.add (local.get $col) (i32.shl (i32.sub (local.get $from) (local.get $lo)) (i32.const 3)))))
                      (else (f64.const nan))))))
              (local.set $row (i32.add (local.get $row) (i32.const 4)))
              (local.set $t (i32.add (local.get $t) (i32.const 1)))
              (br $day_loop)))
          (local.set $leaf (i32.add (local.get $leaf) (i32.const 12)))
          (local.set $j (i32.add (local.get $j) (i32.const 1)))
          (br $leaf_loop)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $instrument))))
)
