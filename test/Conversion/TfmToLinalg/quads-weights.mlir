// RUN: tfm-opt %s --tfm-to-linalg --canonicalize | FileCheck %s
// RUN: tfm-opt %s --tfm-to-linalg --canonicalize --tfm-bufferize --tfm-generate-kernels="int-dot=avx2" | FileCheck %s --check-prefix=GEN
// RUN: tfm-opt %s --tfm-to-linalg --canonicalize --tfm-bufferize --tfm-generate-kernels | FileCheck %s --check-prefix=LOOPS

// A weight in quads (tfm.weight `quads`, set by tfm-pack-weights where
// integer dot products read it): the full tiles' int8 values are viewed as
// [N/P, K'/4, P, 4] and the contraction reads byte componentIndex(k) at
// (n1, componentIndex(k) floordiv 4, n0, componentIndex(k) mod 4); q4_0's
// componentIndex (k floordiv 32) * 16 + k mod 16 then folds into the map
// below. The scales and the [1, K', R] tail (36 = 4 x 8 + 4) keep their
// layout.
// CHECK-DAG: #[[QUADS:.*]] = affine_map<(d0, d1, d2, d3) -> (d1, (d3 floordiv 32) * 4 + (d3 mod 16) floordiv 4, d2, d3 mod 4)>
// CHECK-DAG: #[[TAIL:.*]] = affine_map<(d0, d1, d2, d3) -> (d1, (d3 floordiv 32) * 16 + d3 mod 16, d2)>
// CHECK-LABEL: func @prefill
// CHECK: memref.view %{{.*}}[%c0][] : memref<16384xi8> to memref<4x2x8xf16>
// CHECK: memref.view %{{.*}}[%c192][] : memref<16384xi8> to memref<4x8x8x4xi8>
// CHECK: memref.view %{{.*}}[%c1216][] : memref<16384xi8> to memref<1x32x4xi8>
// CHECK: linalg.generic {indexing_maps = [#{{.*}}, #[[QUADS]], #{{.*}}, #{{.*}}]
// CHECK: linalg.generic {indexing_maps = [#{{.*}}, #[[TAIL]], #{{.*}}, #{{.*}}]

// Generated with integer dot products: the tiles go to the body as rows of
// 4P-byte groups and each load is a dot step's operand as it is (no
// vector.shuffle anywhere: prefill unpacks nibbles into the stack buffer,
// decode takes them straight); the tail keeps its f32 body.
// GEN-NOT: vector.shuffle
// GEN-LABEL: func @prefill
// GEN: memref.collapse_shape %{{.*}} {{\[}}[0], [1, 2, 3]] : memref<4x8x8x4xi8> into memref<4x256xi8>
// GEN: call @tfmrt_parallel_for_q4_0_dot(
// GEN: call @tfmrt_parallel_for_q4_0(
// GEN-LABEL: func.func private @tfm_linear_k64_p8_q4_0_dot_avx2_quads_rows
// GEN: %[[KEPT:.*]] = memref.alloca() {alignment = 64 : i64} : memref<2x512xi8>
// GEN: %[[RAW:.*]] = vector.load %{{.*}} : memref<?x?xi8, strided<[256, 1], offset: ?>>, vector<32xi8>
// GEN: %[[LO:.*]] = arith.andi %[[RAW]], %{{.*}} : vector<32xi8>
// GEN: vector.store %[[LO]], %[[KEPT]]
// GEN-LABEL: func.func private @tfm_linear_k64_p4_q4_0_rows
// GEN-LABEL: func.func private @tfm_linear_k64_p8_q4_0_dot_avx2_quads_row
// Decode prefetches the next tile group's block: its values and its scales.
// GEN: memref.prefetch %{{.*}}, read, locality<2>, data : memref<?x?xi8, strided<[256, 1], offset: ?>>
// GEN: memref.prefetch %{{.*}}, read, locality<2>, data : memref<?x?xf16, strided<[16, 1], offset: ?>>
// GEN: %[[RAW1:.*]] = vector.load %{{.*}} : memref<?x?xi8, strided<[256, 1], offset: ?>>, vector<32xi8>
// GEN: arith.andi %[[RAW1]], %{{.*}} : vector<32xi8>
// GEN: llvm.call_intrinsic "llvm.x86.avx2.pmadd.ub.sw"

// Without integer dot products the full tiles stay a loop nest (right, not
// fast: the pipeline sets quads only where dot products read them).
// LOOPS-LABEL: func @prefill
// LOOPS: linalg.generic
// LOOPS: call @tfmrt_parallel_for_q4_0(
// LOOPS-LABEL: func @decode
// LOOPS: linalg.generic
// LOOPS: call @tfmrt_parallel_for_q4_0(
module attributes {tfm.weight_offsets = {"wq.weight" = 0 : i64}} {
func.func @prefill(%blob: memref<16384xi8> {tfm.weights}, %x: tensor<?x64xf32>) -> tensor<?x36xf32> {
  %w = tfm.weight "wq.weight" encoding q4_0 packed 8 quads : tensor<36x64xf32>
  %y = tfm.linear %x, %w : (tensor<?x64xf32>, tensor<36x64xf32>) -> tensor<?x36xf32>
  return %y : tensor<?x36xf32>
}
func.func @decode(%blob: memref<16384xi8> {tfm.weights}, %x: tensor<1x64xf32>) -> tensor<1x36xf32> {
  %w = tfm.weight "wq.weight" encoding q4_0 packed 8 quads : tensor<36x64xf32>
  %y = tfm.linear %x, %w : (tensor<1x64xf32>, tensor<36x64xf32>) -> tensor<1x36xf32>
  return %y : tensor<1x36xf32>
}
}
