// RUN: tfm-opt %s --tfm-to-linalg --canonicalize | FileCheck %s

// A q8_0 weight (`encoding q8_0`) is two views of the blob at its offset: the
// f16 scales [N/P, K/32, P], then at the next multiple of 64 bytes the int8
// values [N/P, K, P] (P = 1 when not packed). A linear layer reads both
// through one contraction whose body dequantizes w = scale * value; the
// embedding dequantizes the elements it gathers.

// CHECK-DAG: #[[X:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d3)>
// CHECK-DAG: #[[Q:.*]] = affine_map<(d0, d1, d2, d3) -> (d1, d3, d2)>
// CHECK-DAG: #[[D:.*]] = affine_map<(d0, d1, d2, d3) -> (d1, d3 floordiv 32, d2)>
// CHECK-DAG: #[[Y:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d1 * 16 + d2)>

module attributes {tfm.weight_offsets = {"tok_embeddings.weight" = 0 : i64, "wq.weight" = 4096 : i64}} {
// CHECK-LABEL: func @q8_0
// CHECK-SAME: (%[[BLOB:.*]]: memref<16384xi8> {tfm.weights}, %[[IDS:.*]]: tensor<?xi32>)
// 40 x 64 table, not packed: 40 * 2 scales of 2 bytes (160, padded to 192),
// then 40 x 64 values.
// CHECK-DAG: %[[C4096:.*]] = arith.constant 4096 : index
// CHECK-DAG: %[[C4224:.*]] = arith.constant 4224 : index
// CHECK-DAG: %[[TD:.*]] = memref.view %[[BLOB]][%{{.*}}][] : memref<16384xi8> to memref<40x2x1xf16>
// CHECK-DAG: %[[TQ:.*]] = memref.view %[[BLOB]][%{{.*}}][] : memref<16384xi8> to memref<40x64x1xi8>
// CHECK: linalg.generic {{.*}} ins(%[[IDS]] : tensor<?xi32>)
// CHECK: %[[V:.*]] = tensor.extract %{{.*}} : tensor<40x64x1xi8>
// CHECK: %[[S:.*]] = tensor.extract %{{.*}} : tensor<40x2x1xf16>
// CHECK: %[[SF:.*]] = arith.extf %[[S]] : f16 to f32
// CHECK: %[[VF:.*]] = arith.sitofp %[[V]] : i8 to f32
// CHECK: arith.mulf %[[SF]], %[[VF]] : f32
// 32 x 64 weight in tiles of 16: scales at 4096, values at 4096 + 128.
// CHECK: %[[WD:.*]] = memref.view %[[BLOB]][%[[C4096]]][] : memref<16384xi8> to memref<2x2x16xf16>
// CHECK: %[[WQ:.*]] = memref.view %[[BLOB]][%[[C4224]]][] : memref<16384xi8> to memref<2x64x16xi8>
// CHECK: linalg.generic {indexing_maps = [#[[X]], #[[Q]], #[[D]], #[[Y]]], iterator_types = ["parallel", "parallel", "parallel", "reduction"]} ins(%{{.*}}, %{{.*}}, %{{.*}} : tensor<?x64xf32>, tensor<2x64x16xi8>, tensor<2x2x16xf16>)
// CHECK-NEXT: ^bb0(%[[XI:.*]]: f32, %[[QI:.*]]: i8, %[[DI:.*]]: f16, %[[ACC:.*]]: f32):
// CHECK-NEXT: %[[DF:.*]] = arith.extf %[[DI]] : f16 to f32
// CHECK-NEXT: %[[QF:.*]] = arith.sitofp %[[QI]] : i8 to f32
// CHECK-NEXT: %[[W:.*]] = arith.mulf %[[DF]], %[[QF]] : f32
// CHECK-NEXT: %[[P:.*]] = arith.mulf %[[XI]], %[[W]] : f32
// CHECK-NEXT: arith.addf %[[ACC]], %[[P]] : f32
func.func @q8_0(%blob: memref<16384xi8> {tfm.weights}, %ids: tensor<?xi32>) -> tensor<?x32xf32> {
  %t = tfm.weight "tok_embeddings.weight" encoding q8_0 : tensor<40x64xf32>
  %x = tfm.embedding %t, %ids : (tensor<40x64xf32>, tensor<?xi32>) -> tensor<?x64xf32>
  %w = tfm.weight "wq.weight" encoding q8_0 packed 16 : tensor<32x64xf32>
  %y = tfm.linear %x, %w : (tensor<?x64xf32>, tensor<32x64xf32>) -> tensor<?x32xf32>
  return %y : tensor<?x32xf32>
}

// Any other user reads the dequantized [N, K] matrix.
// CHECK-LABEL: func @other_user
// CHECK: linalg.generic {{.*}} ins(%{{.*}}, %{{.*}} : tensor<2x2x16xf16>, tensor<2x64x16xi8>) outs(%{{.*}} : tensor<2x64x16xf32>)
// CHECK: arith.extf
// CHECK: arith.sitofp
// CHECK: arith.mulf
// CHECK: linalg.transpose
// CHECK: tensor.collapse_shape {{.*}} into tensor<32x64xf32>
func.func @other_user(%blob: memref<16384xi8> {tfm.weights}) -> tensor<32x64xf32> {
  %w = tfm.weight "wq.weight" encoding q8_0 packed 16 : tensor<32x64xf32>
  return %w : tensor<32x64xf32>
}
}
