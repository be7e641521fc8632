// RUN: tfm-opt %s --tfm-to-linalg | FileCheck %s

// Norms are a row reduction (last dim, from 0) followed by an elementwise
// generic that reads the row statistic through a row map and the weight (and
// bias) through a column map. The result is written over the input, which
// bufferization reuses when it is dead afterwards (post-norm residuals).

// CHECK-DAG: #[[ID:.*]] = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-DAG: #[[ROW:.*]] = affine_map<(d0, d1) -> (d0)>
// CHECK-DAG: #[[COL:.*]] = affine_map<(d0, d1) -> (d1)>

// weight * (x / sqrt(sum(x^2) / D + eps)).
// CHECK-LABEL: func @rms_norm
// CHECK-SAME: (%[[X:.*]]: tensor<?x64xf32>, %[[W:.*]]: tensor<64xf32>)
// CHECK: %[[ZERO:.*]] = linalg.fill ins(%{{.*}} : f32) outs(%{{.*}} : tensor<?xf32>)
// CHECK: %[[SS:.*]] = linalg.generic {indexing_maps = [#[[ID]], #[[ROW]]], iterator_types = ["parallel", "reduction"]} ins(%[[X]] : tensor<?x64xf32>) outs(%[[ZERO]] : tensor<?xf32>)
// CHECK: arith.mulf
// CHECK: arith.addf
// CHECK: linalg.generic {indexing_maps = [#[[ID]], #[[ROW]], #[[COL]], #[[ID]]], iterator_types = ["parallel", "parallel"]} ins(%[[X]], %[[SS]], %[[W]] : tensor<?x64xf32>, tensor<?xf32>, tensor<64xf32>) outs(%[[X]] : tensor<?x64xf32>)
// CHECK-DAG: arith.constant 9.99999974E-6 : f32
// CHECK-DAG: arith.constant 6.400000e+01 : f32
// CHECK: math.sqrt
// CHECK-NOT: linalg.generic
// CHECK: return
func.func @rms_norm(%x: tensor<?x64xf32>, %w: tensor<64xf32>) -> tensor<?x64xf32> {
  %y = tfm.rms_norm %x, %w {eps = 1.0e-05 : f32} : (tensor<?x64xf32>, tensor<64xf32>) -> tensor<?x64xf32>
  return %y : tensor<?x64xf32>
}

// Two-pass: mean, centre, variance of the centred values, then normalise,
// scale and shift.
// CHECK-LABEL: func @layer_norm
// CHECK-SAME: (%[[X:.*]]: tensor<?x64xf32>, %[[W:.*]]: tensor<64xf32>, %[[B:.*]]: tensor<64xf32>)
// CHECK: %[[SUM:.*]] = linalg.generic {indexing_maps = [#[[ID]], #[[ROW]]], iterator_types = ["parallel", "reduction"]} ins(%[[X]] : tensor<?x64xf32>)
// CHECK: %[[C:.*]] = linalg.generic {indexing_maps = [#[[ID]], #[[ROW]], #[[ID]]], iterator_types = ["parallel", "parallel"]} ins(%[[X]], %[[SUM]] : tensor<?x64xf32>, tensor<?xf32>)
// CHECK: arith.subf
// CHECK: %[[VAR:.*]] = linalg.generic {indexing_maps = [#[[ID]], #[[ROW]]], iterator_types = ["parallel", "reduction"]} ins(%[[C]] : tensor<?x64xf32>)
// CHECK: %[[R:.*]] = linalg.generic {indexing_maps = [#[[ID]], #[[ROW]], #[[COL]], #[[COL]], #[[ID]]], iterator_types = ["parallel", "parallel"]} ins(%[[C]], %[[VAR]], %[[W]], %[[B]] : tensor<?x64xf32>, tensor<?xf32>, tensor<64xf32>, tensor<64xf32>) outs(%[[X]] : tensor<?x64xf32>)
// CHECK: math.sqrt
// CHECK: return %[[R]]
func.func @layer_norm(%x: tensor<?x64xf32>, %w: tensor<64xf32>, %b: tensor<64xf32>) -> tensor<?x64xf32> {
  %y = tfm.layer_norm %x, %w, %b {eps = 1.0e-05 : f32} : (tensor<?x64xf32>, tensor<64xf32>, tensor<64xf32>) -> tensor<?x64xf32>
  return %y : tensor<?x64xf32>
}
