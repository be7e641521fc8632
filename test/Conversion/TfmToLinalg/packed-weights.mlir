// RUN: tfm-opt %s --tfm-to-linalg --canonicalize | FileCheck %s

// A `packed P` weight (tfm-pack-weights) is a view of its [N/P, K, P] tiles:
// a linear layer reads them through a contraction whose output map is
// (m, n1 * P + n0); the embedding of a tied head gathers row r from column
// r % P of tile r / P. No transposed copy of the tiles is left.

// CHECK-DAG: #[[X:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d3)>
// CHECK-DAG: #[[W:.*]] = affine_map<(d0, d1, d2, d3) -> (d1, d3, d2)>
// CHECK-DAG: #[[Y:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d1 * 16 + d2)>

module attributes {tfm.weight_offsets = {"tok_embeddings.weight" = 0 : i64, "wq.weight" = 4096 : i64}} {
// CHECK-LABEL: func @packed
// CHECK-SAME: (%[[BLOB:.*]]: memref<8192xi8> {tfm.weights}, %[[IDS:.*]]: tensor<?xi32>)
// CHECK-NOT: linalg.transpose
// CHECK-DAG: %[[C16:.*]] = arith.constant 16 : index
// CHECK-DAG: %[[C4096:.*]] = arith.constant 4096 : index
// CHECK-DAG: %[[TV:.*]] = memref.view %[[BLOB]][%{{.*}}][] : memref<8192xi8> to memref<4x16x16xf32>
// CHECK-DAG: %[[TABLE:.*]] = bufferization.to_tensor %[[TV]] restrict : memref<4x16x16xf32>
// CHECK: linalg.generic {{.*}} ins(%[[IDS]] : tensor<?xi32>)
// CHECK: %[[ROW:.*]] = arith.minsi
// CHECK: %[[COL:.*]] = linalg.index 1 : index
// CHECK: %[[TILE:.*]] = arith.divui %[[ROW]], %[[C16]] : index
// CHECK: %[[LANE:.*]] = arith.remui %[[ROW]], %[[C16]] : index
// CHECK: tensor.extract %[[TABLE]][%[[TILE]], %[[COL]], %[[LANE]]] : tensor<4x16x16xf32>
// CHECK: %[[WV:.*]] = memref.view %[[BLOB]][%[[C4096]]][] : memref<8192xi8> to memref<2x16x16xf32>
// CHECK: %[[WT:.*]] = bufferization.to_tensor %[[WV]] restrict : memref<2x16x16xf32>
// CHECK: %[[FILL:.*]] = linalg.fill {{.*}} -> tensor<?x32xf32>
// CHECK: linalg.generic {indexing_maps = [#[[X]], #[[W]], #[[Y]]], iterator_types = ["parallel", "parallel", "parallel", "reduction"]} ins(%{{.*}}, %[[WT]] : tensor<?x16xf32>, tensor<2x16x16xf32>) outs(%[[FILL]] : tensor<?x32xf32>)
// CHECK: arith.mulf
// CHECK: arith.addf
// CHECK: %[[HV:.*]] = memref.view %[[BLOB]][%{{.*}}][] : memref<8192xi8> to memref<4x16x16xf32>
// CHECK: %[[HEAD:.*]] = bufferization.to_tensor %[[HV]] restrict
// CHECK: linalg.generic {indexing_maps = [#[[X]], #[[W]], #[[Y]]], {{.*}} ins(%{{.*}}, %[[HEAD]] : tensor<?x16xf32>, tensor<4x16x16xf32>) outs(%{{.*}} : tensor<?x64xf32>)
// CHECK-NOT: linalg.transpose
func.func @packed(%blob: memref<8192xi8> {tfm.weights}, %ids: tensor<?xi32>) -> (tensor<?x32xf32>, tensor<?x64xf32>) {
  %t = tfm.weight "tok_embeddings.weight" packed 16 : tensor<64x16xf32>
  %x = tfm.embedding %t, %ids : (tensor<64x16xf32>, tensor<?xi32>) -> tensor<?x16xf32>
  %w = tfm.weight "wq.weight" packed 16 : tensor<32x16xf32>
  %y = tfm.linear %x, %w : (tensor<?x16xf32>, tensor<32x16xf32>) -> tensor<?x32xf32>
  %t2 = tfm.weight "tok_embeddings.weight" packed 16 : tensor<64x16xf32>
  %z = tfm.lm_head %x, %t2 : (tensor<?x16xf32>, tensor<64x16xf32>) -> tensor<?x64xf32>
  return %y, %z : tensor<?x32xf32>, tensor<?x64xf32>
}

// Any other user of a packed weight reads the [N, K] matrix: the tiles
// transposed back and collapsed.
// CHECK-LABEL: func @other_user
// CHECK: %[[V:.*]] = memref.view {{.*}} to memref<2x16x16xf32>
// CHECK: %[[T:.*]] = bufferization.to_tensor %[[V]]
// CHECK: %[[R:.*]] = linalg.transpose ins(%[[T]] : tensor<2x16x16xf32>) outs(%{{.*}} : tensor<2x16x16xf32>) permutation = [0, 2, 1]
// CHECK: %[[M:.*]] = tensor.collapse_shape %[[R]] {{\[}}[0, 1], [2]] : tensor<2x16x16xf32> into tensor<32x16xf32>
// CHECK: return %[[M]]
func.func @other_user(%blob: memref<8192xi8> {tfm.weights}) -> tensor<32x16xf32> {
  %w = tfm.weight "wq.weight" packed 16 : tensor<32x16xf32>
  return %w : tensor<32x16xf32>
}
}
