// RUN: tfm-opt %s --tfm-generate-kernels --canonicalize --split-input-file | FileCheck %s
// RUN: tfm-opt %s --tfm-generate-kernels="rows=6 tiles=2 decode-tiles=2" --canonicalize --split-input-file | FileCheck %s --check-prefix=SMALL
// RUN: tfm-opt %s --tfm-generate-kernels="k-block=3" --canonicalize --split-input-file | FileCheck %s --check-prefix=KBLOCK
// RUN: tfm-opt %s --tfm-generate-kernels="k-block=3 n-block=0" --canonicalize --split-input-file | FileCheck %s --check-prefix=NOCOLS
// RUN: tfm-opt %s --tfm-generate-kernels="k-block=6" --canonicalize --split-input-file | FileCheck %s --check-prefix=KWHOLE
// RUN: tfm-opt %s --tfm-generate-kernels="decode-streams=2" --canonicalize --split-input-file | FileCheck %s --check-prefix=PARTS
// RUN: not tfm-opt %s --tfm-generate-kernels="decode-streams=0" --split-input-file 2>&1 | FileCheck %s --check-prefix=BADPARTS

// A linear layer on packed weights (tfm-to-linalg's contraction over
// [N/P][K][P] tiles) becomes a call of the runtime's scheduler with an
// outlined body: register tiles of P-float accumulators carried through a
// k loop of loads, broadcasts and FMAs.

#x = affine_map<(m, n1, n0, k) -> (m, k)>
#w = affine_map<(m, n1, n0, k) -> (n1, k, n0)>
#y = affine_map<(m, n1, n0, k) -> (m, n1 * 16 + n0)>

// Prefill: the zero fill goes (the body overwrites), the body is called
// through tfmrt_parallel_for over the 4 column tiles, with rows * K * P
// multiply-adds per tile.
// CHECK-LABEL: func.func private @tfmrt_parallel_for
// CHECK-SAME: attributes {llvm.emit_c_interface}
// CHECK-LABEL: func @prefill
// CHECK-SAME: (%[[X:.*]]: memref<?x8xf32>, %[[W:.*]]: memref<4x8x16xf32>, %[[Y:.*]]: memref<?x64xf32>)
// CHECK-NOT: linalg.fill
// CHECK-NOT: linalg.generic
// CHECK-DAG: %[[BODY:.*]] = constant @tfm_linear_k8_p16_rows
// CHECK-DAG: %[[TILES:.*]] = arith.constant 4 : i64
// CHECK-DAG: %[[KP:.*]] = arith.constant 128 : i64
// CHECK-DAG: %[[W2:.*]] = memref.collapse_shape %[[W]] {{\[}}[0], [1, 2]] : memref<4x8x16xf32> into memref<4x128xf32>
// CHECK-DAG: %[[ROWS:.*]] = arith.index_cast
// CHECK-DAG: %[[YC:.*]] = memref.cast %[[Y]]
// CHECK-DAG: %[[XC:.*]] = memref.cast %[[X]]
// CHECK-DAG: %[[WC:.*]] = memref.cast %[[W2]]
// CHECK-DAG: %[[WORK:.*]] = arith.muli %[[ROWS]], %[[KP]] : i64
// CHECK: call @tfmrt_parallel_for(%[[BODY]], %[[YC]], %[[XC]], %[[WC]], %[[TILES]], %[[WORK]])
// CHECK-NEXT: return
func.func @prefill(%x: memref<?x8xf32>, %w: memref<4x8x16xf32>, %y: memref<?x64xf32>) {
  %zero = arith.constant 0.0 : f32
  linalg.fill ins(%zero : f32) outs(%y : memref<?x64xf32>)
  linalg.generic {indexing_maps = [#x, #w, #y],
                  iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%x, %w : memref<?x8xf32>, memref<4x8x16xf32>) outs(%y : memref<?x64xf32>) {
  ^bb0(%a: f32, %b: f32, %c: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %c, %p : f32
    linalg.yield %s : f32
  }
  return
}

// K blocks (k-block=3 of K=8, default 256) inside column blocks (n-block,
// default 512 columns: 32 tiles of 16): per column block [nb, min(nb + 32,
// end)) every register tile of its columns and rows runs k = 0..3 from
// zero, then, per later K block, k = kb..min(kb + 3, 8) from the partial
// sums it stored. Without column blocks (n-block=0) the K blocks span the
// body's columns [begin, end).
// KBLOCK-LABEL: func.func private @tfm_linear_k8_p16_rows
// KBLOCK-SAME: (%[[BEGIN:[^:]*]]: index, %[[END:[^:]*]]: index,
// KBLOCK: %[[ZERO:.*]] = arith.constant dense<0.000000e+00> : vector<16xf32>
// KBLOCK: scf.for %[[NB:.*]] = %[[BEGIN]] to %[[END]] step %c32 {
// KBLOCK: %[[NBEND:.*]] = arith.addi %[[NB]], %c32 : index
// KBLOCK: %[[NHI:.*]] = arith.minui %[[NBEND]], %[[END]] : index
// KBLOCK: %[[SPAN:.*]] = arith.subi %[[NHI]], %[[NB]] : index
// KBLOCK: scf.for %{{.*}} = %[[NB]] to %{{.*}} step %c2 {
// NOCOLS-LABEL: func.func private @tfm_linear_k8_p16_rows
// NOCOLS-SAME: (%[[BEGIN:[^:]*]]: index, %[[END:[^:]*]]: index,
// NOCOLS-NOT: arith.minui
// NOCOLS: scf.for %{{.*}} = %[[BEGIN]] to %{{.*}} step %c2 {
// NOCOLS: scf.for %{{.*}} = %c0 to %c3 step %c1 iter_args(
// NOCOLS: scf.for %{{.*}} = %c3 to %c8 step %c3 {
// NOCOLS: arith.minui
// NOCOLS: return
// An f32 K up to 1.5 K blocks (8 <= 1.5 * 6) stays one k loop: no second
// pass over a short rest that reloads and stores every accumulator (the
// stories15M shape's K = 288 with blocks of 256).
// KWHOLE-LABEL: func.func private @tfm_linear_k8_p16_rows
// KWHOLE-NOT: arith.minui
// KWHOLE: scf.for %{{.*}} = %c0 to %c8 step %c1 iter_args(
// KWHOLE-NOT: step %c6
// KWHOLE: return
// KBLOCK: scf.for %{{.*}} = %c0 to %c3 step %c1 iter_args(%{{.*}} = %[[ZERO]],
// KBLOCK-NOT: scf.for %{{.*}} = %c0 to %c8
// KBLOCK: scf.for %[[KB:.*]] = %c3 to %c8 step %c3 {
// KBLOCK: %[[KEND:.*]] = arith.minui %{{.*}}, %c8 : index
// KBLOCK: %[[ACC:.*]] = vector.load
// KBLOCK: scf.for %{{.*}} = %[[KB]] to %[[KEND]] step %c1 iter_args(%{{.*}} = %[[ACC]],
// KBLOCK-COUNT-16: vector.fma
// Decode bodies are not blocked (each weight is read once anyway).
// KBLOCK-LABEL: func.func private @tfm_linear_k32_p8_row_acc
// KBLOCK-NOT: arith.minui
// KBLOCK: return

// The body: column tiles [begin, end) two at a time then one at a time;
// rows 8 at a time, then 4, 2, 1; 8 x 2 accumulators through the k loop.
// CHECK-LABEL: func.func private @tfm_linear_k8_p16_rows
// CHECK-SAME: (%[[BEGIN:.*]]: index, %[[END:.*]]: index, %{{.*}}: memref<?x?xf32, strided<[?, ?], offset: ?>>, %{{.*}}: memref<?x?xf32, strided<[?, ?], offset: ?>>, %{{.*}}: memref<?x?xf32, strided<[?, ?], offset: ?>>)
// CHECK: %[[ZERO:.*]] = arith.constant dense<0.000000e+00> : vector<16xf32>
// CHECK-COUNT-3: memref.reinterpret_cast
// CHECK: scf.for %[[N:.*]] = %[[BEGIN]] to %{{.*}} step %c2
// CHECK: scf.for %{{.*}} = %c0 to %{{.*}} step %c8
// CHECK: scf.for %[[K:.*]] = %c0 to %c8 step %c1 iter_args(%{{.*}} = %[[ZERO]], {{.*}}) -> (vector<16xf32>, {{.*}})
// CHECK: vector.load {{.*}} : memref<?x?xf32, strided<[128, 1], offset: ?>>, vector<16xf32>
// CHECK: vector.load {{.*}} : memref<?x?xf32, strided<[128, 1], offset: ?>>, vector<16xf32>
// CHECK: memref.load
// CHECK: vector.broadcast %{{.*}} : f32 to vector<16xf32>
// CHECK-COUNT-16: vector.fma
// CHECK: scf.yield
// CHECK-COUNT-16: vector.store
// CHECK: step %c4
// CHECK: step %c2
// CHECK: step %c1
// CHECK: scf.for %{{.*}} step %c1
// SMALL-LABEL: func.func private @tfm_linear_k8_p16_rows
// SMALL: step %c2
// SMALL: step %c6
// SMALL-COUNT-12: vector.fma

// -----

#x = affine_map<(m, n1, n0, k) -> (m, k)>
#w = affine_map<(m, n1, n0, k) -> (n1, k, n0)>
#y = affine_map<(m, n1, n0, k) -> (m, n1 * 8 + n0)>

// Decode (one row) with P = 8: 8 independent accumulators (8 column tiles,
// 8 weight streams), then 4, 2, 1. No fill before the contraction: the body
// accumulates into the output (loads it first).
// CHECK-LABEL: func @decode_accumulate
// CHECK-NOT: linalg.generic
// CHECK: call @tfmrt_parallel_for
// CHECK-LABEL: func.func private @tfm_linear_k32_p8_row_acc
// CHECK: scf.for %{{.*}} step %c8
// CHECK-COUNT-8: vector.load {{.*}} vector<8xf32>
// CHECK: scf.for %{{.*}} = %c0 to %c32 step %c1 iter_args
// CHECK-COUNT-8: vector.load {{.*}} : memref<?x?xf32, strided<[256, 1], offset: ?>>, vector<8xf32>
// CHECK: vector.broadcast
// CHECK-COUNT-8: vector.fma
// CHECK-COUNT-8: vector.store
// CHECK: scf.for %{{.*}} step %c4
// CHECK-COUNT-4: vector.load {{.*}} vector<8xf32>
// CHECK: scf.for %{{.*}} = %c0 to %c32 step %c1 iter_args
// CHECK-COUNT-4: vector.load {{.*}} : memref<?x?xf32, strided<[256, 1], offset: ?>>, vector<8xf32>
// CHECK: vector.broadcast
// CHECK-COUNT-4: vector.fma
// CHECK-COUNT-4: vector.store
// CHECK: step %c2
// CHECK: step %c1
// SMALL-LABEL: func.func private @tfm_linear_k32_p8_row_acc
// SMALL: step %c2
// SMALL-COUNT-2: vector.fma
// With decode-streams=2 the one-row body reads the two halves of its tile
// range side by side, tile n with tile n + half (two weight streams), then
// the tiles left over as decode-tiles says.
// PARTS-LABEL: func.func private @tfm_linear_k32_p8_row_acc
// PARTS: %[[SPAN:.*]] = arith.subi %arg1, %arg0 : index
// PARTS: %[[HALF:.*]] = arith.divui %[[SPAN]], %c2 : index
// PARTS: %[[MID:.*]] = arith.addi %arg0, %[[HALF]] : index
// PARTS: scf.for %[[N:.*]] = %arg0 to %[[MID]] step %c1 {
// PARTS: %[[N2:.*]] = arith.addi %[[N]], %[[HALF]] : index
// PARTS: scf.for %{{.*}} = %c0 to %c32 step %c1 iter_args({{.*}}) -> (vector<8xf32>, vector<8xf32>) {
// PARTS: vector.load %{{.*}}[%[[N]], %{{.*}}] : memref<?x?xf32, strided<[256, 1], offset: ?>>, vector<8xf32>
// PARTS: vector.load %{{.*}}[%[[N2]], %{{.*}}] : memref<?x?xf32, strided<[256, 1], offset: ?>>, vector<8xf32>
// PARTS-COUNT-2: vector.fma
// PARTS: %[[DONE:.*]] = arith.muli %[[HALF]], %c2 : index
// PARTS: %[[REST:.*]] = arith.addi %arg0, %[[DONE]] : index
// PARTS: scf.for %{{.*}} = %[[REST]] to %{{.*}} step %c8 {
// BADPARTS: decode-streams, int-dot-decode-tiles, int-dot-decode-streams and int-dot-rows must be >= 1, int-dot-decode-stream-budget >= 0
func.func @decode_accumulate(%x: memref<1x32xf32>, %w: memref<12x32x8xf32>, %y: memref<1x96xf32>) {
  linalg.generic {indexing_maps = [#x, #w, #y],
                  iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%x, %w : memref<1x32xf32>, memref<12x32x8xf32>) outs(%y : memref<1x96xf32>) {
  ^bb0(%a: f32, %b: f32, %c: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %c, %p : f32
    linalg.yield %s : f32
  }
  return
}

// -----

#x = affine_map<(m, n1, n0, k) -> (m, k)>
#w = affine_map<(m, n1, n0, k) -> (n1, k, n0)>
#y = affine_map<(m, n1, n0, k) -> (m, n1 * 16 + n0)>
#wt = affine_map<(m, n1, n0, k) -> (n1, k, n0)>
#yt = affine_map<(m, n1, n0, k) -> (m, n1 * 3 + n0 + 32)>

// A row count P does not divide (35 = 2 x 16 + 3): the full tiles, then the
// tail tile of 3 rows into columns 32..34. Together they write every column,
// so the fill goes and both overwrite; the tail's body uses 3-float vectors
// and writes through a view of its columns.
// CHECK-LABEL: func @tail
// CHECK-SAME: (%[[X:.*]]: memref<?x8xf32>, %[[W:.*]]: memref<2x8x16xf32>, %[[WT:.*]]: memref<1x8x3xf32>, %[[Y:.*]]: memref<?x35xf32>)
// CHECK-NOT: linalg.fill
// CHECK-DAG: %[[TBODY:.*]] = constant @tfm_linear_k8_p3_rows :
// CHECK-DAG: %[[BODY:.*]] = constant @tfm_linear_k8_p16_rows :
// CHECK: %[[MAIN:.*]] = memref.subview %[[Y]][0, 0] [%{{.*}}, 32] [1, 1]
// CHECK: %[[MAINC:.*]] = memref.cast %[[MAIN]]
// CHECK: call @tfmrt_parallel_for(%[[BODY]], %[[MAINC]],
// CHECK: %[[TAIL:.*]] = memref.subview %[[Y]][0, 32] [%{{.*}}, 3] [1, 1]
// CHECK: %[[TAILC:.*]] = memref.cast %[[TAIL]]
// CHECK: call @tfmrt_parallel_for(%[[TBODY]], %[[TAILC]],
// CHECK-NOT: linalg.generic
// CHECK: return
// CHECK-LABEL: func.func private @tfm_linear_k8_p3_rows
// CHECK: arith.constant dense<0.000000e+00> : vector<3xf32>
// CHECK: vector.load {{.*}} vector<3xf32>
// CHECK: vector.fma {{.*}} : vector<3xf32>
// CHECK: vector.store {{.*}} vector<3xf32>
func.func @tail(%x: memref<?x8xf32>, %w: memref<2x8x16xf32>, %wt: memref<1x8x3xf32>, %y: memref<?x35xf32>) {
  %zero = arith.constant 0.0 : f32
  linalg.fill ins(%zero : f32) outs(%y : memref<?x35xf32>)
  linalg.generic {indexing_maps = [#x, #w, #y],
                  iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%x, %w : memref<?x8xf32>, memref<2x8x16xf32>) outs(%y : memref<?x35xf32>) {
  ^bb0(%a: f32, %b: f32, %c: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %c, %p : f32
    linalg.yield %s : f32
  }
  linalg.generic {indexing_maps = [#x, #wt, #yt],
                  iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%x, %wt : memref<?x8xf32>, memref<1x8x3xf32>) outs(%y : memref<?x35xf32>) {
  ^bb0(%a: f32, %b: f32, %c: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %c, %p : f32
    linalg.yield %s : f32
  }
  return
}

// -----

#x = affine_map<(m, n1, n0, k) -> (m, k)>
#yt = affine_map<(m, n1, n0, k) -> (m, n1 * 3 + n0 + 32)>
#wt = affine_map<(m, n1, n0, k) -> (n1, k, n0)>

// A tail alone after a fill does not cover the output: the fill stays and
// the tail accumulates.
// CHECK-LABEL: func @tail_alone
// CHECK: linalg.fill
// CHECK: call @tfmrt_parallel_for
// CHECK-LABEL: func.func private @tfm_linear_k8_p3_row_acc
func.func @tail_alone(%x: memref<1x8xf32>, %wt: memref<1x8x3xf32>, %y: memref<1x35xf32>) {
  %zero = arith.constant 0.0 : f32
  linalg.fill ins(%zero : f32) outs(%y : memref<1x35xf32>)
  linalg.generic {indexing_maps = [#x, #wt, #yt],
                  iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%x, %wt : memref<1x8xf32>, memref<1x8x3xf32>) outs(%y : memref<1x35xf32>) {
  ^bb0(%a: f32, %b: f32, %c: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %c, %p : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// Left alone: a contraction on tensors, another body, an unpacked matmul.
#x = affine_map<(m, n1, n0, k) -> (m, k)>
#w = affine_map<(m, n1, n0, k) -> (n1, k, n0)>
#y = affine_map<(m, n1, n0, k) -> (m, n1 * 16 + n0)>
// CHECK-LABEL: func @not_generated
// CHECK-NOT: tfmrt_parallel_for
// CHECK: linalg.generic
// CHECK: linalg.generic
// CHECK: linalg.matmul_transpose_b
// CHECK-NOT: tfmrt_parallel_for
func.func @not_generated(%x: memref<?x8xf32>, %w: memref<4x8x16xf32>, %y: memref<?x64xf32>,
                         %tx: tensor<?x8xf32>, %tw: tensor<4x8x16xf32>, %ty: tensor<?x64xf32>,
                         %w2: memref<64x8xf32>) -> tensor<?x64xf32> {
  %r = linalg.generic {indexing_maps = [#x, #w, #y],
                  iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%tx, %tw : tensor<?x8xf32>, tensor<4x8x16xf32>) outs(%ty : tensor<?x64xf32>) {
  ^bb0(%a: f32, %b: f32, %c: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %c, %p : f32
    linalg.yield %s : f32
  } -> tensor<?x64xf32>
  linalg.generic {indexing_maps = [#x, #w, #y],
                  iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%x, %w : memref<?x8xf32>, memref<4x8x16xf32>) outs(%y : memref<?x64xf32>) {
  ^bb0(%a: f32, %b: f32, %c: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.maximumf %c, %p : f32
    linalg.yield %s : f32
  }
  linalg.matmul_transpose_b ins(%x, %w2 : memref<?x8xf32>, memref<64x8xf32>) outs(%y : memref<?x64xf32>)
  return %r : tensor<?x64xf32>
}

// -----

// q8_0 weights: int8 value tiles and f16 scale tiles (a third input read at
// block k / 32), the body dequantizing w = scale * value. The body is called
// through tfmrt_parallel_for_q8 with both, and per block of 32 k converts one
// P-wide scale vector, then per k converts the P int8 values and scales them
// before the FMAs.

#x = affine_map<(m, n1, n0, k) -> (m, k)>
#q = affine_map<(m, n1, n0, k) -> (n1, k, n0)>
#d = affine_map<(m, n1, n0, k) -> (n1, k floordiv 32, n0)>
#y = affine_map<(m, n1, n0, k) -> (m, n1 * 16 + n0)>

// CHECK-LABEL: func.func private @tfmrt_parallel_for_q8
// CHECK-SAME: memref<?x?xi8, strided<[?, ?], offset: ?>>, memref<?x?xf16, strided<[?, ?], offset: ?>>, i64, i64)
// CHECK-LABEL: func @decode_q8
// CHECK-NOT: linalg.generic
// CHECK-DAG: %[[BODY:.*]] = constant @tfm_linear_k64_p16_q8_0_row
// CHECK-DAG: %[[Q2:.*]] = memref.collapse_shape %{{.*}} {{\[}}[0], [1, 2]] : memref<2x64x16xi8> into memref<2x1024xi8>
// CHECK-DAG: %[[D2:.*]] = memref.collapse_shape %{{.*}} {{\[}}[0], [1, 2]] : memref<2x2x16xf16> into memref<2x32xf16>
// CHECK: call @tfmrt_parallel_for_q8(%[[BODY]],
// CHECK-LABEL: func.func private @tfm_linear_k64_p16_q8_0_row
// CHECK: memref.reinterpret_cast {{.*}} to memref<?x?xi8, strided<[1024, 1], offset: ?>>
// CHECK: memref.reinterpret_cast {{.*}} to memref<?x?xf16, strided<[32, 1], offset: ?>>
// CHECK: scf.for %[[KB:.*]] = %{{.*}} to %{{.*}} step %{{.*}} iter_args(
// CHECK: %[[S:.*]] = vector.load %{{.*}} : memref<?x?xf16, strided<[32, 1], offset: ?>>, vector<16xf16>
// CHECK: %[[SF:.*]] = arith.extf %[[S]] : vector<16xf16> to vector<16xf32>
// CHECK: scf.for %{{.*}} = %{{.*}} to %{{.*}} step %{{.*}} iter_args(
// CHECK: %[[V:.*]] = vector.load %{{.*}} : memref<?x?xi8, strided<[1024, 1], offset: ?>>, vector<16xi8>
// CHECK: %[[VF:.*]] = arith.sitofp %[[V]] : vector<16xi8> to vector<16xf32>
// CHECK: %[[W:.*]] = arith.mulf %[[SF]], %[[VF]] : vector<16xf32>
// CHECK: vector.fma %{{.*}}, %[[W]], %{{.*}} : vector<16xf32>
func.func @decode_q8(%x: memref<1x64xf32>, %q: memref<2x64x16xi8>, %d: memref<2x2x16xf16>, %y: memref<1x32xf32>) {
  %zero = arith.constant 0.0 : f32
  linalg.fill ins(%zero : f32) outs(%y : memref<1x32xf32>)
  linalg.generic {indexing_maps = [#x, #q, #d, #y],
                  iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%x, %q, %d : memref<1x64xf32>, memref<2x64x16xi8>, memref<2x2x16xf16>) outs(%y : memref<1x32xf32>) {
  ^bb0(%a: f32, %v: i8, %s: f16, %acc: f32):
    %sf = arith.extf %s : f16 to f32
    %vf = arith.sitofp %v : i8 to f32
    %w = arith.mulf %sf, %vf : f32
    %p = arith.mulf %a, %w : f32
    %r = arith.addf %acc, %p : f32
    linalg.yield %r : f32
  }
  return
}
