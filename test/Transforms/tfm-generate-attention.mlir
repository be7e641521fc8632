// RUN: tfm-opt %s --tfm-generate-attention="vector-width=8" --canonicalize | FileCheck %s
// RUN: not tfm-opt %s --tfm-generate-attention="block=12" 2>&1 | FileCheck %s --check-prefix=BAD

// The attention kernel's call (tfm-to-linalg: tfm_attention on transposed
// views of head-major buffers) becomes an outlined body specialised to
// H = 8, KV = 2, head_dim = 16, scale and mask, run by tfmrt_parallel_for4.

// BAD: block a multiple of vector-width

// CHECK-DAG: memref.global "private" constant @__tfm_alibi_log2_slopes_h8 : memref<8xf32> = dense<[0.72134751, 0.360673755,
// CHECK-DAG: func.func private @tfmrt_parallel_for4({{.*}}) attributes {llvm.emit_c_interface}
// The kernel's declaration goes with its calls.
// CHECK-NOT: @tfm_attention(

// Prefill: the 8 lanes are the group's 4 query heads x 2 rows, so items are
// (kv head, block of 2 rows): 2 * ceil(T / 2), each worth T * 2 * 8 * 16
// multiply-adds; the body gets the head-major buffers themselves (the
// transposes are peeled).
// CHECK-LABEL: func.func @prefill
// CHECK-SAME: (%[[O:.*]]: memref<8x?x16xf32>, %[[Q:.*]]: memref<8x?x16xf32>, %[[K:.*]]: memref<2x?x16xf32, {{.*}}>, %[[V:.*]]: memref<2x?x16xf32, {{.*}}>, %[[P:.*]]: index)
// CHECK-DAG: %[[BODY:.*]] = constant @tfm_attention_h8_kv2_d16_lanes_causal
// CHECK-DAG: %[[POS:.*]] = arith.index_cast %[[P]] : index to i64
// CHECK-DAG: %[[T:.*]] = memref.dim %[[Q]], %c1
// CHECK-DAG: %[[KEYS:.*]] = memref.dim %[[K]], %c1
// CHECK-DAG: %[[NB:.*]] = arith.divui %{{.*}}, %c2 : index
// CHECK-DAG: %[[ITEMS:.*]] = arith.muli %[[NB]], %c2 : index
// CHECK-DAG: %[[WORK:.*]] = arith.muli %[[KEYS]], %c256 : index
// CHECK-DAG: %[[OC:.*]] = memref.cast %[[O]]
// CHECK-DAG: %[[QC:.*]] = memref.cast %[[Q]]
// CHECK-DAG: %[[KC:.*]] = memref.cast %[[K]]
// CHECK-DAG: %[[VC:.*]] = memref.cast %[[V]]
// CHECK-DAG: %[[ITEMS64:.*]] = arith.index_cast %[[ITEMS]] : index to i64
// CHECK-DAG: %[[WORK64:.*]] = arith.index_cast %[[WORK]] : index to i64
// CHECK: call @tfmrt_parallel_for4(%[[BODY]], %[[OC]], %[[QC]], %[[KC]], %[[VC]], %[[POS]], %[[ITEMS64]], %[[WORK64]])
// CHECK: return

// 12 query heads on one key/value head do not fit 8 lanes: the body of
// query rows (4 per item, so items are 1 * ceil(T / 4)).
// CHECK-LABEL: func.func @prefill_mqa
// CHECK: constant @tfm_attention_h12_kv1_d16_rows_causal
// CHECK: arith.addi %{{.*}}, %c3 : index
// CHECK: arith.divui %{{.*}}, %c4 : index
// CHECK: call @tfmrt_parallel_for4

// Decode: items are (kv head, key range) writing [split][head][acc | max |
// sum] states; the combine rescales them to the common max with exp2.
// CHECK-LABEL: func.func @decode
// CHECK: %[[PART:.*]] = memref.alloc() : memref<16x8x18xf32>
// CHECK: %[[PC:.*]] = memref.cast %[[PART]]
// CHECK: call @tfmrt_parallel_for4(%{{.*}}, %[[PC]],
// CHECK: scf.for %[[H:.*]] = %c0 to %c8 step %c1 {
// CHECK: scf.for {{.*}} -> (f32) {
// CHECK: arith.maximumf
// CHECK: scf.for {{.*}} -> (vector<8xf32>, vector<8xf32>, f32) {
// CHECK: math.exp2 %{{.*}} : f32
// CHECK-COUNT-2: vector.fma
// CHECK: vector.store {{.*}}, %{{.*}}[%[[H]], %c0, %c0] : memref<8x1x16xf32>, vector<8xf32>
// CHECK: vector.store {{.*}}, %{{.*}}[%[[H]], %c0, %c8] : memref<8x1x16xf32>, vector<8xf32>
// CHECK: memref.dealloc %[[PART]]

// ALiBi without causality: a body of its own.
// CHECK-LABEL: func.func @alibi
// CHECK: constant @tfm_attention_h8_kv2_d16_rows_alibi
// CHECK: call @tfmrt_parallel_for4

// The GQA prefill body, lanes over (query head, row): the queries scaled
// (scale * log2 e = 0.25 * 1.4427) and transposed to [head_dim][lanes], the
// lanes' positions pos + t0 + [0, 1, 0, 1, ...] (2 rows of 4 heads), then
// key blocks of 64 carrying the lanes' running max and sum; per group of 8
// keys, 8 FMA chains over head_dim of a query column by a broadcast key
// element (no reduction), the block's length and the causal mask as
// selects, the scores stored per key; exp2 of whole vectors; P V with 8
// head_dim elements' accumulators per pass over the keys; out = acc / sum.
// CHECK-LABEL: func.func private @tfm_attention_h8_kv2_d16_lanes_causal
// CHECK-SAME: (%[[BEGIN:.*]]: index, %[[END:.*]]: index, {{.*}}: i64) attributes {tfm.scale = 2.500000e-01 : f32}
// CHECK-DAG: %[[LROWS:.*]] = arith.constant dense<[0, 1, 0, 1, 0, 1, 0, 1]> : vector<8xi32>
// CHECK-DAG: %[[QSCALE:.*]] = arith.constant 0.360673755 : f32
// CHECK-DAG: %[[NEGINF:.*]] = arith.constant dense<0xFF800000> : vector<8xf32>
// CHECK-DAG: %[[LQS:.*]] = memref.alloca() : memref<16x8xf32>
// CHECK-DAG: %[[LACC:.*]] = memref.alloca() : memref<16x8xf32>
// CHECK-DAG: %[[LSC:.*]] = memref.alloca() : memref<64x8xf32>
// CHECK: scf.for %{{.*}} = %[[BEGIN]] to %[[END]] step %c1 {
// CHECK: %[[QX:.*]] = memref.load
// CHECK: %[[QY:.*]] = arith.mulf %[[QX]], %[[QSCALE]] : f32
// CHECK: memref.store %[[QY]], %[[LQS]]
// CHECK: %[[QPOS:.*]] = arith.addi %{{.*}}, %[[LROWS]] : vector<8xi32>
// CHECK: %[[BLOCKS:.*]]:2 = scf.for %[[LS0:.*]] = %c0 to %{{.*}} step %c64 iter_args(%[[M:.*]] = %[[NEGINF]], %[[L:.*]] = %{{.*}}) -> (vector<8xf32>, vector<8xf32>) {
// CHECK: %[[LEN:.*]] = arith.minsi %{{.*}}, %c64 : index
// CHECK: %[[BM:.*]] = scf.for %[[J0:.*]] = %c0 to %[[LEN]] step %c8 iter_args(%{{.*}} = %[[M]]) -> (vector<8xf32>) {
// CHECK: %[[DOTS:.*]]:8 = scf.for %[[D:.*]] = %c0 to %c16 step %c1 iter_args({{.*}}) -> (vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>) {
// CHECK: %[[QD:.*]] = vector.load %[[LQS]][%[[D]], %c0] : memref<16x8xf32>, vector<8xf32>
// CHECK-COUNT-8: vector.fma %[[QD]], %{{.*}}, %{{.*}} : vector<8xf32>
// CHECK: arith.cmpi ult, %[[J0]], %[[LEN]] : index
// CHECK: arith.select %{{.*}}, %[[DOTS]]#0, %[[NEGINF]] : vector<8xf32>
// CHECK: %[[MASK:.*]] = arith.cmpi sle, %{{.*}}, %[[QPOS]] : vector<8xi32>
// CHECK: arith.select %[[MASK]], %{{.*}}, %[[NEGINF]] : vector<8xi1>, vector<8xf32>
// CHECK: vector.store %{{.*}}, %[[LSC]][%[[J0]], %c0]
// CHECK: arith.maximumf
// CHECK: math.exp2 %{{.*}} : vector<8xf32>
// CHECK: scf.for {{.*}} to %[[LEN]] step %c1 iter_args({{.*}}) -> (vector<8xf32>) {
// CHECK: math.exp2 %{{.*}} : vector<8xf32>
// CHECK: vector.fma %[[L]], %{{.*}}, %{{.*}} : vector<8xf32>
// CHECK: scf.for %[[D0:.*]] = %c0 to %c16 step %c8 {
// CHECK: scf.for %[[PJ:.*]] = %c0 to %[[LEN]] step %c1 iter_args({{.*}}) -> (vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>) {
// CHECK: %[[P:.*]] = vector.load %[[LSC]][%[[PJ]], %c0]
// CHECK-COUNT-8: vector.fma %{{.*}}, %[[P]], %{{.*}} : vector<8xf32>
// CHECK: scf.yield %{{.*}}, %{{.*}} : vector<8xf32>, vector<8xf32>
// CHECK: arith.divf %{{.*}}, %[[BLOCKS]]#1 : vector<8xf32>
// CHECK: memref.load %[[LACC]]
// CHECK: memref.store

// The body of query rows: scaled queries (scale * log2 e = 0.25 * 1.4427),
// then key blocks of 64, each query's keys bounded by its position
// (causal), scores by FMAs over head_dim and one reduction per key, block
// max, exp2 of 8 lanes, and the P V accumulation with two head_dim vectors
// carried.
// CHECK-LABEL: func.func private @tfm_attention_h12_kv1_d16_rows_causal
// CHECK-SAME: (%[[BEGIN:.*]]: index, %[[END:.*]]: index, {{.*}}: i64) attributes {tfm.scale = 2.500000e-01 : f32}
// CHECK-DAG: %[[QSCALE:.*]] = arith.constant dense<0.360673755> : vector<8xf32>
// CHECK-DAG: %[[QS:.*]] = memref.alloca() : memref<48x16xf32>
// CHECK-DAG: %[[SC:.*]] = memref.alloca() : memref<64xf32>
// CHECK: scf.for %{{.*}} = %[[BEGIN]] to %[[END]] step %c1 {
// CHECK: arith.mulf %{{.*}}, %[[QSCALE]] : vector<8xf32>
// CHECK: scf.for %[[S0:.*]] = %c0 to %{{.*}} step %c64 {
// CHECK: arith.minsi
// CHECK: scf.if
// CHECK: scf.for %[[J:.*]] = %c0 to %{{.*}} step %c1 {
// CHECK: vector.load
// CHECK: vector.fma
// CHECK: vector.load
// CHECK: vector.fma
// CHECK: vector.reduction <add>, %{{.*}} fastmath<reassoc> : vector<8xf32> into f32
// CHECK: memref.store %{{.*}}, %[[SC]][%[[J]]]
// CHECK: vector.reduction <maximumf>
// CHECK: math.exp2 %{{.*}} : f32
// CHECK-COUNT-8: math.exp2 %{{.*}} : vector<8xf32>
// CHECK: scf.for {{.*}} iter_args({{.*}}) -> (vector<8xf32>, vector<8xf32>) {
// CHECK: vector.broadcast
// CHECK-COUNT-2: vector.fma
// CHECK: arith.divf %cst{{.*}}, %{{.*}} : f32

// The decode body: items over (kv head, key range), its state stored at
// [split, head, 0..16), 16 (max) and 17 (sum).
// CHECK-LABEL: func.func private @tfm_attention_h8_kv2_d16_row_causal
// CHECK: arith.remui
// CHECK: memref.store %{{.*}}, %{{.*}}[%{{.*}}, %{{.*}}, %c16]
// CHECK: memref.store %{{.*}}, %{{.*}}[%{{.*}}, %{{.*}}, %c17]

// The ALiBi body subtracts slope * log2 e * (query position - key position).
// CHECK-LABEL: func.func private @tfm_attention_h8_kv2_d16_rows_alibi
// CHECK: %[[SLOPES:.*]] = memref.get_global @__tfm_alibi_log2_slopes_h8
// CHECK: memref.load %[[SLOPES]]
// CHECK: vector.reduction <add>
// CHECK: arith.sitofp
// CHECK: arith.mulf
// CHECK: arith.subf

#any = strided<[?, ?, ?], offset: ?>
func.func private @tfm_attention(memref<?x?x?xf32, #any>, memref<?x?x?xf32, #any>, memref<?x?x?xf32, #any>, memref<?x?x?xf32, #any>, i64, f32, i64, i64) attributes {llvm.emit_c_interface}

func.func @prefill(%out: memref<8x?x16xf32>, %q: memref<8x?x16xf32>, %k: memref<2x?x16xf32, strided<[4096, 16, 1], offset: ?>>, %v: memref<2x?x16xf32, strided<[4096, 16, 1], offset: ?>>, %pos: index) {
  %ot = memref.transpose %out (d0, d1, d2) -> (d1, d0, d2) : memref<8x?x16xf32> to memref<?x8x16xf32, strided<[16, ?, 1]>>
  %oc = memref.cast %ot : memref<?x8x16xf32, strided<[16, ?, 1]>> to memref<?x?x?xf32, #any>
  %qc0 = memref.cast %q : memref<8x?x16xf32> to memref<8x?x16xf32, #any>
  %qt = memref.transpose %qc0 (d0, d1, d2) -> (d1, d0, d2) : memref<8x?x16xf32, #any> to memref<?x8x16xf32, #any>
  %qc = memref.cast %qt : memref<?x8x16xf32, #any> to memref<?x?x?xf32, #any>
  %kt = memref.transpose %k (d0, d1, d2) -> (d1, d0, d2) : memref<2x?x16xf32, strided<[4096, 16, 1], offset: ?>> to memref<?x2x16xf32, strided<[16, 4096, 1], offset: ?>>
  %kc = memref.cast %kt : memref<?x2x16xf32, strided<[16, 4096, 1], offset: ?>> to memref<?x?x?xf32, #any>
  %vt = memref.transpose %v (d0, d1, d2) -> (d1, d0, d2) : memref<2x?x16xf32, strided<[4096, 16, 1], offset: ?>> to memref<?x2x16xf32, strided<[16, 4096, 1], offset: ?>>
  %vc = memref.cast %vt : memref<?x2x16xf32, strided<[16, 4096, 1], offset: ?>> to memref<?x?x?xf32, #any>
  %p = arith.index_cast %pos : index to i64
  %scale = arith.constant 2.500000e-01 : f32
  %causal = arith.constant 1 : i64
  %alibi = arith.constant 0 : i64
  call @tfm_attention(%oc, %qc, %kc, %vc, %p, %scale, %causal, %alibi) : (memref<?x?x?xf32, #any>, memref<?x?x?xf32, #any>, memref<?x?x?xf32, #any>, memref<?x?x?xf32, #any>, i64, f32, i64, i64) -> ()
  return
}

func.func @prefill_mqa(%out: memref<12x?x16xf32>, %q: memref<12x?x16xf32>, %k: memref<1x?x16xf32, strided<[4096, 16, 1], offset: ?>>, %v: memref<1x?x16xf32, strided<[4096, 16, 1], offset: ?>>, %pos: index) {
  %ot = memref.transpose %out (d0, d1, d2) -> (d1, d0, d2) : memref<12x?x16xf32> to memref<?x12x16xf32, strided<[16, ?, 1]>>
  %oc = memref.cast %ot : memref<?x12x16xf32, strided<[16, ?, 1]>> to memref<?x?x?xf32, #any>
  %qc0 = memref.cast %q : memref<12x?x16xf32> to memref<12x?x16xf32, #any>
  %qt = memref.transpose %qc0 (d0, d1, d2) -> (d1, d0, d2) : memref<12x?x16xf32, #any> to memref<?x12x16xf32, #any>
  %qc = memref.cast %qt : memref<?x12x16xf32, #any> to memref<?x?x?xf32, #any>
  %kt = memref.transpose %k (d0, d1, d2) -> (d1, d0, d2) : memref<1x?x16xf32, strided<[4096, 16, 1], offset: ?>> to memref<?x1x16xf32, strided<[16, 4096, 1], offset: ?>>
  %kc = memref.cast %kt : memref<?x1x16xf32, strided<[16, 4096, 1], offset: ?>> to memref<?x?x?xf32, #any>
  %vt = memref.transpose %v (d0, d1, d2) -> (d1, d0, d2) : memref<1x?x16xf32, strided<[4096, 16, 1], offset: ?>> to memref<?x1x16xf32, strided<[16, 4096, 1], offset: ?>>
  %vc = memref.cast %vt : memref<?x1x16xf32, strided<[16, 4096, 1], offset: ?>> to memref<?x?x?xf32, #any>
  %p = arith.index_cast %pos : index to i64
  %scale = arith.constant 2.500000e-01 : f32
  %causal = arith.constant 1 : i64
  %alibi = arith.constant 0 : i64
  call @tfm_attention(%oc, %qc, %kc, %vc, %p, %scale, %causal, %alibi) : (memref<?x?x?xf32, #any>, memref<?x?x?xf32, #any>, memref<?x?x?xf32, #any>, memref<?x?x?xf32, #any>, i64, f32, i64, i64) -> ()
  return
}

func.func @decode(%out: memref<8x1x16xf32>, %q: memref<8x1x16xf32>, %k: memref<2x?x16xf32, strided<[4096, 16, 1], offset: ?>>, %v: memref<2x?x16xf32, strided<[4096, 16, 1], offset: ?>>, %pos: index) {
  %ot = memref.transpose %out (d0, d1, d2) -> (d1, d0, d2) : memref<8x1x16xf32> to memref<1x8x16xf32, strided<[16, 16, 1]>>
  %oc = memref.cast %ot : memref<1x8x16xf32, strided<[16, 16, 1]>> to memref<?x?x?xf32, #any>
  %qc0 = memref.cast %q : memref<8x1x16xf32> to memref<8x1x16xf32, #any>
  %qt = memref.transpose %qc0 (d0, d1, d2) -> (d1, d0, d2) : memref<8x1x16xf32, #any> to memref<1x8x16xf32, #any>
  %qc = memref.cast %qt : memref<1x8x16xf32, #any> to memref<?x?x?xf32, #any>
  %kt = memref.transpose %k (d0, d1, d2) -> (d1, d0, d2) : memref<2x?x16xf32, strided<[4096, 16, 1], offset: ?>> to memref<?x2x16xf32, strided<[16, 4096, 1], offset: ?>>
  %kc = memref.cast %kt : memref<?x2x16xf32, strided<[16, 4096, 1], offset: ?>> to memref<?x?x?xf32, #any>
  %vt = memref.transpose %v (d0, d1, d2) -> (d1, d0, d2) : memref<2x?x16xf32, strided<[4096, 16, 1], offset: ?>> to memref<?x2x16xf32, strided<[16, 4096, 1], offset: ?>>
  %vc = memref.cast %vt : memref<?x2x16xf32, strided<[16, 4096, 1], offset: ?>> to memref<?x?x?xf32, #any>
  %p = arith.index_cast %pos : index to i64
  %scale = arith.constant 2.500000e-01 : f32
  %causal = arith.constant 1 : i64
  %alibi = arith.constant 0 : i64
  call @tfm_attention(%oc, %qc, %kc, %vc, %p, %scale, %causal, %alibi) : (memref<?x?x?xf32, #any>, memref<?x?x?xf32, #any>, memref<?x?x?xf32, #any>, memref<?x?x?xf32, #any>, i64, f32, i64, i64) -> ()
  return
}

func.func @alibi(%out: memref<8x?x16xf32>, %q: memref<8x?x16xf32>, %k: memref<2x?x16xf32, strided<[4096, 16, 1], offset: ?>>, %v: memref<2x?x16xf32, strided<[4096, 16, 1], offset: ?>>, %pos: index) {
  %ot = memref.transpose %out (d0, d1, d2) -> (d1, d0, d2) : memref<8x?x16xf32> to memref<?x8x16xf32, strided<[16, ?, 1]>>
  %oc = memref.cast %ot : memref<?x8x16xf32, strided<[16, ?, 1]>> to memref<?x?x?xf32, #any>
  %qc0 = memref.cast %q : memref<8x?x16xf32> to memref<8x?x16xf32, #any>
  %qt = memref.transpose %qc0 (d0, d1, d2) -> (d1, d0, d2) : memref<8x?x16xf32, #any> to memref<?x8x16xf32, #any>
  %qc = memref.cast %qt : memref<?x8x16xf32, #any> to memref<?x?x?xf32, #any>
  %kt = memref.transpose %k (d0, d1, d2) -> (d1, d0, d2) : memref<2x?x16xf32, strided<[4096, 16, 1], offset: ?>> to memref<?x2x16xf32, strided<[16, 4096, 1], offset: ?>>
  %kc = memref.cast %kt : memref<?x2x16xf32, strided<[16, 4096, 1], offset: ?>> to memref<?x?x?xf32, #any>
  %vt = memref.transpose %v (d0, d1, d2) -> (d1, d0, d2) : memref<2x?x16xf32, strided<[4096, 16, 1], offset: ?>> to memref<?x2x16xf32, strided<[16, 4096, 1], offset: ?>>
  %vc = memref.cast %vt : memref<?x2x16xf32, strided<[16, 4096, 1], offset: ?>> to memref<?x?x?xf32, #any>
  %p = arith.index_cast %pos : index to i64
  %scale = arith.constant 2.500000e-01 : f32
  %causal = arith.constant 0 : i64
  %alibi = arith.constant 1 : i64
  call @tfm_attention(%oc, %qc, %kc, %vc, %p, %scale, %causal, %alibi) : (memref<?x?x?xf32, #any>, memref<?x?x?xf32, #any>, memref<?x?x?xf32, #any>, memref<?x?x?xf32, #any>, i64, f32, i64, i64) -> ()
  return
}
