// RUN: tfm-opt %s --tfm-to-linalg | FileCheck %s

// linear and lm_head on unpacked weights (tfmc --no-kernels) become
// linalg.matmul_transpose_b into a zero-filled output; the
// batched attention matmul is a linalg.generic whose rhs map divides the
// batch index by the group size, which is how GQA shares key/value heads.

// CHECK-DAG: #[[ID2:.*]] = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-DAG: #[[COL:.*]] = affine_map<(d0, d1) -> (d1)>
// CHECK-DAG: #[[LHS:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d1, d3)>
// CHECK-DAG: #[[OUT:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2)>
// CHECK-DAG: #[[RHS_MHA:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d2, d3)>
// CHECK-DAG: #[[RHS_T_G4:.*]] = affine_map<(d0, d1, d2, d3) -> (d0 floordiv 4, d2, d3)>
// CHECK-DAG: #[[RHS_G4:.*]] = affine_map<(d0, d1, d2, d3) -> (d0 floordiv 4, d3, d2)>
// CHECK-DAG: #[[RHS_T_G8:.*]] = affine_map<(d0, d1, d2, d3) -> (d0 floordiv 8, d2, d3)>

// CHECK-LABEL: func @linear
// CHECK-SAME: (%[[X:.*]]: tensor<?x64xf32>, %[[W:.*]]: tensor<128x64xf32>)
// CHECK: %[[ZERO:.*]] = arith.constant 0.000000e+00 : f32
// CHECK: %[[INIT:.*]] = linalg.fill ins(%[[ZERO]] : f32) outs(%{{.*}} : tensor<?x128xf32>)
// CHECK: %[[Y:.*]] = linalg.matmul_transpose_b ins(%[[X]], %[[W]] : tensor<?x64xf32>, tensor<128x64xf32>) outs(%[[INIT]] : tensor<?x128xf32>)
// CHECK-NOT: linalg.generic
// CHECK: return %[[Y]]
func.func @linear(%x: tensor<?x64xf32>, %w: tensor<128x64xf32>) -> tensor<?x128xf32> {
  %y = tfm.linear %x, %w : (tensor<?x64xf32>, tensor<128x64xf32>) -> tensor<?x128xf32>
  return %y : tensor<?x128xf32>
}

// The bias is a separate elementwise add, read through a column map.
// CHECK-LABEL: func @linear_bias
// CHECK-SAME: (%[[X:.*]]: tensor<?x64xf32>, %[[W:.*]]: tensor<128x64xf32>, %[[B:.*]]: tensor<128xf32>)
// CHECK: %[[Y:.*]] = linalg.matmul_transpose_b ins(%[[X]], %[[W]] : tensor<?x64xf32>, tensor<128x64xf32>)
// CHECK: linalg.generic {indexing_maps = [#[[ID2]], #[[COL]], #[[ID2]]], iterator_types = ["parallel", "parallel"]} ins(%[[Y]], %[[B]] : tensor<?x128xf32>, tensor<128xf32>)
// CHECK: arith.addf
func.func @linear_bias(%x: tensor<?x64xf32>, %w: tensor<128x64xf32>, %b: tensor<128xf32>) -> tensor<?x128xf32> {
  %y = tfm.linear %x, %w, %b : (tensor<?x64xf32>, tensor<128x64xf32>, tensor<128xf32>) -> tensor<?x128xf32>
  return %y : tensor<?x128xf32>
}

// CHECK-LABEL: func @lm_head
// CHECK: linalg.fill
// CHECK: linalg.matmul_transpose_b ins(%{{.*}}, %{{.*}} : tensor<1x64xf32>, tensor<512x64xf32>) outs(%{{.*}} : tensor<1x512xf32>)
// CHECK-NOT: linalg.generic
func.func @lm_head(%x: tensor<1x64xf32>, %emb: tensor<512x64xf32>) -> tensor<1x512xf32> {
  %l = tfm.lm_head %x, %emb : (tensor<1x64xf32>, tensor<512x64xf32>) -> tensor<1x512xf32>
  return %l : tensor<1x512xf32>
}

// Plain multi-head Q K^T: group size 1, so the rhs batch index is d0.
// CHECK-LABEL: func @matmul_mha
// CHECK: linalg.generic {indexing_maps = [#[[LHS]], #[[RHS_MHA]], #[[OUT]]], iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
// CHECK: arith.mulf
// CHECK: arith.addf
func.func @matmul_mha(%q: tensor<8x?x8xf32>, %k: tensor<8x?x8xf32>) -> tensor<8x?x?xf32> {
  %s = tfm.matmul %q, %k {transpose_rhs} : (tensor<8x?x8xf32>, tensor<8x?x8xf32>) -> tensor<8x?x?xf32>
  return %s : tensor<8x?x?xf32>
}

// GQA scores: 8 query heads, 2 key heads, so query head h reads key head h floordiv 4.
// CHECK-LABEL: func @matmul_gqa_scores
// CHECK-SAME: (%[[Q:.*]]: tensor<8x?x8xf32>, %[[K:.*]]: tensor<2x?x8xf32>)
// CHECK: %[[INIT:.*]] = linalg.fill ins(%{{.*}} : f32) outs(%{{.*}} : tensor<8x?x?xf32>)
// CHECK: linalg.generic {indexing_maps = [#[[LHS]], #[[RHS_T_G4]], #[[OUT]]], iterator_types = ["parallel", "parallel", "parallel", "reduction"]} ins(%[[Q]], %[[K]] : tensor<8x?x8xf32>, tensor<2x?x8xf32>) outs(%[[INIT]] : tensor<8x?x?xf32>)
func.func @matmul_gqa_scores(%q: tensor<8x?x8xf32>, %k: tensor<2x?x8xf32>) -> tensor<8x?x?xf32> {
  %s = tfm.matmul %q, %k {transpose_rhs} : (tensor<8x?x8xf32>, tensor<2x?x8xf32>) -> tensor<8x?x?xf32>
  return %s : tensor<8x?x?xf32>
}

// GQA P V: V is not transposed, so the rhs reads (h floordiv 4, k, n).
// CHECK-LABEL: func @matmul_gqa_values
// CHECK: linalg.generic {indexing_maps = [#[[LHS]], #[[RHS_G4]], #[[OUT]]], iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
func.func @matmul_gqa_values(%p: tensor<8x?x?xf32>, %v: tensor<2x?x8xf32>) -> tensor<8x?x8xf32> {
  %o = tfm.matmul %p, %v : (tensor<8x?x?xf32>, tensor<2x?x8xf32>) -> tensor<8x?x8xf32>
  return %o : tensor<8x?x8xf32>
}

// MQA: every one of 8 query heads reads the single key head.
// CHECK-LABEL: func @matmul_mqa
// CHECK: linalg.generic {indexing_maps = [#[[LHS]], #[[RHS_T_G8]], #[[OUT]]]
func.func @matmul_mqa(%q: tensor<8x?x8xf32>, %k: tensor<1x?x8xf32>) -> tensor<8x?x?xf32> {
  %s = tfm.matmul %q, %k {transpose_rhs} : (tensor<8x?x8xf32>, tensor<1x?x8xf32>) -> tensor<8x?x?xf32>
  return %s : tensor<8x?x?xf32>
}
