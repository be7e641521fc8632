// RUN: tfm-opt %s --tfm-to-linalg --canonicalize | FileCheck %s

// A `packed P` weight (tfm-pack-weights) is a view of its [N/P, K, P] tiles:
// a linear layer reads them through a contraction whose output map is
// (m, n1 * P + n0); the embedding of a tied head gathers row r from column
// r % P of tile r / P. No transposed copy of the tiles is left.

// CHECK-DAG: #[[X:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d3)>
// CHECK-DAG: #[[W:.*]] = affine_map<(d0, d1, d2, d3) -> (d1, d3, d2)>
// CHECK-DAG: #[[Y:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d1 * 16 + d2)>
// CHECK-DAG: #[[YT:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d1 * 4 + d2 + 16)>

module attributes {tfm.weight_offsets = {"tok_embeddings.weight" = 0 : i64, "wq.weight" = 4096 : i64, "tied.weight" = 2048 : i64}} {
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

// A row count P does not divide (20 = 16 + 4): one full tile at the offset,
// then the [1, K, 4] tail 16 * 16 floats later. The head is one contraction
// per part into the same output, the tail's at column 16; the embedding
// takes row r < 16 from the tile and a later row from the tail.
// CHECK-LABEL: func @tail
// CHECK-DAG: %[[C2048:.*]] = arith.constant 2048 : index
// CHECK-DAG: %[[C3072:.*]] = arith.constant 3072 : index
// CHECK-DAG: %[[C15:.*]] = arith.constant 15 : index
// CHECK-DAG: %[[EV:.*]] = memref.view %{{.*}}[%[[C2048]]][] : memref<8192xi8> to memref<1x16x16xf32>
// CHECK-DAG: %[[ETV:.*]] = memref.view %{{.*}}[%[[C3072]]][] : memref<8192xi8> to memref<1x16x4xf32>
// CHECK-DAG: %[[E:.*]] = bufferization.to_tensor %[[EV]] restrict
// CHECK-DAG: %[[ET:.*]] = bufferization.to_tensor %[[ETV]] restrict
// CHECK: linalg.generic
// CHECK: %[[ROW:.*]] = arith.minsi %{{.*}}, %{{.*}} : index
// CHECK: %[[R1:.*]] = arith.minsi %[[ROW]], %[[C15]] : index
// CHECK: tensor.extract %[[E]][{{.*}}] : tensor<1x16x16xf32>
// CHECK: %[[R2:.*]] = arith.subi %[[ROW]], %{{.*}} : index
// CHECK: tensor.extract %[[ET]][{{.*}}] : tensor<1x16x4xf32>
// CHECK: arith.cmpi sge, %[[ROW]]
// CHECK: arith.select
// CHECK: %[[FILL:.*]] = linalg.fill {{.*}} -> tensor<?x20xf32>
// CHECK: %[[MAIN:.*]] = linalg.generic {indexing_maps = [#[[X]], #[[W]], #[[Y]]], {{.*}} ins(%{{.*}}, %{{.*}} : tensor<?x16xf32>, tensor<1x16x16xf32>) outs(%[[FILL]] : tensor<?x20xf32>)
// CHECK: linalg.generic {indexing_maps = [#[[X]], #[[W]], #[[YT]]], {{.*}} ins(%{{.*}}, %{{.*}} : tensor<?x16xf32>, tensor<1x16x4xf32>) outs(%[[MAIN]] : tensor<?x20xf32>)
// CHECK-NOT: linalg.transpose
func.func @tail(%blob: memref<8192xi8> {tfm.weights}, %ids: tensor<?xi32>) -> tensor<?x20xf32> {
  %t = tfm.weight "tied.weight" packed 16 : tensor<20x16xf32>
  %x = tfm.embedding %t, %ids : (tensor<20x16xf32>, tensor<?xi32>) -> tensor<?x16xf32>
  %t2 = tfm.weight "tied.weight" packed 16 : tensor<20x16xf32>
  %z = tfm.lm_head %x, %t2 : (tensor<?x16xf32>, tensor<20x16xf32>) -> tensor<?x20xf32>
  return %z : tensor<?x20xf32>
}

// Any other user of a packed weight with a tail: both parts transposed back
// into their rows of the matrix.
// CHECK-LABEL: func @other_user_tail
// CHECK: linalg.transpose ins(%{{.*}} : tensor<1x16x16xf32>)
// CHECK: tensor.insert_slice %{{.*}} into %{{.*}}[0, 0] [16, 16] [1, 1] : tensor<16x16xf32> into tensor<20x16xf32>
// CHECK: linalg.transpose ins(%{{.*}} : tensor<1x16x4xf32>)
// CHECK: tensor.insert_slice %{{.*}} into %{{.*}}[16, 0] [4, 16] [1, 1] : tensor<4x16xf32> into tensor<20x16xf32>
func.func @other_user_tail(%blob: memref<8192xi8> {tfm.weights}) -> tensor<20x16xf32> {
  %w = tfm.weight "tied.weight" packed 16 : tensor<20x16xf32>
  return %w : tensor<20x16xf32>
}
}
