// RUN: tfm-opt %s --tfm-fuse-attention --split-input-file | FileCheck %s

// The chain matmul(Q, K^T) -> scale -> [causal_mask | alibi] -> softmax ->
// matmul(P, V) becomes one tfm.fused_attention, and only when every
// intermediate has a single user.

//===----------------------------------------------------------------------===//
// Matches
//===----------------------------------------------------------------------===//

// CHECK-LABEL: func @mha_causal
// CHECK-SAME: (%[[Q:.*]]: tensor<8x?x8xf32>, %[[K:.*]]: tensor<8x?x8xf32>, %[[V:.*]]: tensor<8x?x8xf32>, %[[P:.*]]: index)
// CHECK-NEXT: %[[O:.*]] = tfm.fused_attention %[[Q]], %[[K]], %[[V]], %[[P]] {causal, scale = 0.353553385 : f32} : (tensor<8x?x8xf32>, tensor<8x?x8xf32>, tensor<8x?x8xf32>, index) -> tensor<8x?x8xf32>
// CHECK-NEXT: return %[[O]]
func.func @mha_causal(%q: tensor<8x?x8xf32>, %k: tensor<8x?x8xf32>, %v: tensor<8x?x8xf32>, %pos: index) -> tensor<8x?x8xf32> {
  %s = tfm.matmul %q, %k {transpose_rhs} : (tensor<8x?x8xf32>, tensor<8x?x8xf32>) -> tensor<8x?x?xf32>
  %c = tfm.scale %s {factor = 0.353553385 : f32} : tensor<8x?x?xf32>
  %m = tfm.causal_mask %c, %pos : tensor<8x?x?xf32>
  %p = tfm.softmax %m : tensor<8x?x?xf32>
  %o = tfm.matmul %p, %v : (tensor<8x?x?xf32>, tensor<8x?x8xf32>) -> tensor<8x?x8xf32>
  return %o : tensor<8x?x8xf32>
}

// -----

// Grouped-query attention: 2 key/value heads for 8 query heads.
// CHECK-LABEL: func @gqa
// CHECK: tfm.fused_attention {{.*}} {causal, scale = 2.500000e-01 : f32} : (tensor<8x?x16xf32>, tensor<2x?x16xf32>, tensor<2x?x16xf32>, index) -> tensor<8x?x16xf32>
// CHECK-NOT: tfm.softmax
// CHECK-NOT: tfm.matmul
func.func @gqa(%q: tensor<8x?x16xf32>, %k: tensor<2x?x16xf32>, %v: tensor<2x?x16xf32>, %pos: index) -> tensor<8x?x16xf32> {
  %s = tfm.matmul %q, %k {transpose_rhs} : (tensor<8x?x16xf32>, tensor<2x?x16xf32>) -> tensor<8x?x?xf32>
  %c = tfm.scale %s {factor = 0.25 : f32} : tensor<8x?x?xf32>
  %m = tfm.causal_mask %c, %pos : tensor<8x?x?xf32>
  %p = tfm.softmax %m : tensor<8x?x?xf32>
  %o = tfm.matmul %p, %v : (tensor<8x?x?xf32>, tensor<2x?x16xf32>) -> tensor<8x?x16xf32>
  return %o : tensor<8x?x16xf32>
}

// -----

// Multi-query attention: one key/value head.
// CHECK-LABEL: func @mqa
// CHECK: tfm.fused_attention {{.*}} : (tensor<4x?x16xf32>, tensor<1x?x16xf32>, tensor<1x?x16xf32>, index) -> tensor<4x?x16xf32>
// CHECK-NOT: tfm.softmax
func.func @mqa(%q: tensor<4x?x16xf32>, %k: tensor<1x?x16xf32>, %v: tensor<1x?x16xf32>, %pos: index) -> tensor<4x?x16xf32> {
  %s = tfm.matmul %q, %k {transpose_rhs} : (tensor<4x?x16xf32>, tensor<1x?x16xf32>) -> tensor<4x?x?xf32>
  %c = tfm.scale %s {factor = 0.25 : f32} : tensor<4x?x?xf32>
  %m = tfm.causal_mask %c, %pos : tensor<4x?x?xf32>
  %p = tfm.softmax %m : tensor<4x?x?xf32>
  %o = tfm.matmul %p, %v : (tensor<4x?x?xf32>, tensor<1x?x16xf32>) -> tensor<4x?x16xf32>
  return %o : tensor<4x?x16xf32>
}

// -----

// ALiBi biases and masks: the fused op is both causal and alibi.
// CHECK-LABEL: func @alibi
// CHECK-SAME: %[[P:[^:]*]]: index)
// CHECK: tfm.fused_attention %{{.*}}, %{{.*}}, %{{.*}}, %[[P]] {alibi, causal, scale = 1.250000e-01 : f32}
// CHECK-NOT: tfm.alibi
func.func @alibi(%q: tensor<4x?x64xf32>, %k: tensor<4x?x64xf32>, %v: tensor<4x?x64xf32>, %pos: index) -> tensor<4x?x64xf32> {
  %s = tfm.matmul %q, %k {transpose_rhs} : (tensor<4x?x64xf32>, tensor<4x?x64xf32>) -> tensor<4x?x?xf32>
  %c = tfm.scale %s {factor = 0.125 : f32} : tensor<4x?x?xf32>
  %m = tfm.alibi %c, %pos : tensor<4x?x?xf32>
  %p = tfm.softmax %m : tensor<4x?x?xf32>
  %o = tfm.matmul %p, %v : (tensor<4x?x?xf32>, tensor<4x?x64xf32>) -> tensor<4x?x64xf32>
  return %o : tensor<4x?x64xf32>
}

// -----

// No mask: neither causal nor alibi, and the position is a constant 0.
// CHECK-LABEL: func @non_causal
// CHECK: %[[ZERO:.*]] = arith.constant 0 : index
// CHECK: tfm.fused_attention %{{.*}}, %{{.*}}, %{{.*}}, %[[ZERO]] {scale = 1.250000e-01 : f32}
func.func @non_causal(%q: tensor<4x?x64xf32>, %k: tensor<4x?x64xf32>, %v: tensor<4x?x64xf32>) -> tensor<4x?x64xf32> {
  %s = tfm.matmul %q, %k {transpose_rhs} : (tensor<4x?x64xf32>, tensor<4x?x64xf32>) -> tensor<4x?x?xf32>
  %c = tfm.scale %s {factor = 0.125 : f32} : tensor<4x?x?xf32>
  %p = tfm.softmax %c : tensor<4x?x?xf32>
  %o = tfm.matmul %p, %v : (tensor<4x?x?xf32>, tensor<4x?x64xf32>) -> tensor<4x?x64xf32>
  return %o : tensor<4x?x64xf32>
}

// -----

// Decode: one query token against the cached keys.
// CHECK-LABEL: func @decode
// CHECK: tfm.fused_attention {{.*}} {causal, scale = 0.353553385 : f32} : (tensor<8x1x8xf32>, tensor<4x?x8xf32>, tensor<4x?x8xf32>, index) -> tensor<8x1x8xf32>
func.func @decode(%q: tensor<8x1x8xf32>, %k: tensor<4x?x8xf32>, %v: tensor<4x?x8xf32>, %pos: index) -> tensor<8x1x8xf32> {
  %s = tfm.matmul %q, %k {transpose_rhs} : (tensor<8x1x8xf32>, tensor<4x?x8xf32>) -> tensor<8x1x?xf32>
  %c = tfm.scale %s {factor = 0.353553385 : f32} : tensor<8x1x?xf32>
  %m = tfm.causal_mask %c, %pos : tensor<8x1x?xf32>
  %p = tfm.softmax %m : tensor<8x1x?xf32>
  %o = tfm.matmul %p, %v : (tensor<8x1x?xf32>, tensor<4x?x8xf32>) -> tensor<8x1x8xf32>
  return %o : tensor<8x1x8xf32>
}

// -----

// The scale was folded into Q: the fused op takes the unscaled Q.
// CHECK-LABEL: func @scale_on_query
// CHECK-SAME: (%[[Q:.*]]: tensor<8x?x8xf32>, %[[K:.*]]: tensor<8x?x8xf32>, %[[V:.*]]: tensor<8x?x8xf32>, %[[P:.*]]: index)
// CHECK-NOT: tfm.scale
// CHECK: tfm.fused_attention %[[Q]], %[[K]], %[[V]], %[[P]] {causal, scale = 5.000000e-01 : f32}
func.func @scale_on_query(%q: tensor<8x?x8xf32>, %k: tensor<8x?x8xf32>, %v: tensor<8x?x8xf32>, %pos: index) -> tensor<8x?x8xf32> {
  %qs = tfm.scale %q {factor = 0.5 : f32} : tensor<8x?x8xf32>
  %s = tfm.matmul %qs, %k {transpose_rhs} : (tensor<8x?x8xf32>, tensor<8x?x8xf32>) -> tensor<8x?x?xf32>
  %m = tfm.causal_mask %s, %pos : tensor<8x?x?xf32>
  %p = tfm.softmax %m : tensor<8x?x?xf32>
  %o = tfm.matmul %p, %v : (tensor<8x?x?xf32>, tensor<8x?x8xf32>) -> tensor<8x?x8xf32>
  return %o : tensor<8x?x8xf32>
}

// -----

// Two layers in one function: two fusions.
// CHECK-LABEL: func @two_layers
// CHECK-COUNT-2: tfm.fused_attention
// CHECK-NOT: tfm.softmax
func.func @two_layers(%q: tensor<8x?x8xf32>, %k: tensor<8x?x8xf32>, %v: tensor<8x?x8xf32>, %pos: index) -> tensor<8x?x8xf32> {
  %s = tfm.matmul %q, %k {transpose_rhs} : (tensor<8x?x8xf32>, tensor<8x?x8xf32>) -> tensor<8x?x?xf32>
  %c = tfm.scale %s {factor = 0.353553385 : f32} : tensor<8x?x?xf32>
  %m = tfm.causal_mask %c, %pos : tensor<8x?x?xf32>
  %p = tfm.softmax %m : tensor<8x?x?xf32>
  %o = tfm.matmul %p, %v : (tensor<8x?x?xf32>, tensor<8x?x8xf32>) -> tensor<8x?x8xf32>
  %s2 = tfm.matmul %o, %k {transpose_rhs} : (tensor<8x?x8xf32>, tensor<8x?x8xf32>) -> tensor<8x?x?xf32>
  %c2 = tfm.scale %s2 {factor = 0.353553385 : f32} : tensor<8x?x?xf32>
  %m2 = tfm.causal_mask %c2, %pos : tensor<8x?x?xf32>
  %p2 = tfm.softmax %m2 : tensor<8x?x?xf32>
  %o2 = tfm.matmul %p2, %v : (tensor<8x?x?xf32>, tensor<8x?x8xf32>) -> tensor<8x?x8xf32>
  return %o2 : tensor<8x?x8xf32>
}

//===----------------------------------------------------------------------===//
// Deliberate non-matches
//===----------------------------------------------------------------------===//

// -----

// The scores have a second user.
// CHECK-LABEL: func @scores_second_use
// CHECK-NOT: tfm.fused_attention
// CHECK: tfm.softmax
// CHECK-NOT: tfm.fused_attention
func.func @scores_second_use(%q: tensor<8x?x8xf32>, %k: tensor<8x?x8xf32>, %v: tensor<8x?x8xf32>, %pos: index) -> (tensor<8x?x8xf32>, tensor<8x?x?xf32>) {
  %s = tfm.matmul %q, %k {transpose_rhs} : (tensor<8x?x8xf32>, tensor<8x?x8xf32>) -> tensor<8x?x?xf32>
  %c = tfm.scale %s {factor = 0.353553385 : f32} : tensor<8x?x?xf32>
  %m = tfm.causal_mask %c, %pos : tensor<8x?x?xf32>
  %p = tfm.softmax %m : tensor<8x?x?xf32>
  %o = tfm.matmul %p, %v : (tensor<8x?x?xf32>, tensor<8x?x8xf32>) -> tensor<8x?x8xf32>
  return %o, %s : tensor<8x?x8xf32>, tensor<8x?x?xf32>
}

// -----

// The scaled scores have a second user.
// CHECK-LABEL: func @scaled_second_use
// CHECK-NOT: tfm.fused_attention
// CHECK: tfm.softmax
// CHECK-NOT: tfm.fused_attention
func.func @scaled_second_use(%q: tensor<8x?x8xf32>, %k: tensor<8x?x8xf32>, %v: tensor<8x?x8xf32>, %pos: index) -> (tensor<8x?x8xf32>, tensor<8x?x?xf32>) {
  %s = tfm.matmul %q, %k {transpose_rhs} : (tensor<8x?x8xf32>, tensor<8x?x8xf32>) -> tensor<8x?x?xf32>
  %c = tfm.scale %s {factor = 0.353553385 : f32} : tensor<8x?x?xf32>
  %m = tfm.causal_mask %c, %pos : tensor<8x?x?xf32>
  %p = tfm.softmax %m : tensor<8x?x?xf32>
  %o = tfm.matmul %p, %v : (tensor<8x?x?xf32>, tensor<8x?x8xf32>) -> tensor<8x?x8xf32>
  return %o, %c : tensor<8x?x8xf32>, tensor<8x?x?xf32>
}

// -----

// The masked scores have a second user.
// CHECK-LABEL: func @masked_second_use
// CHECK-NOT: tfm.fused_attention
// CHECK: tfm.softmax
// CHECK-NOT: tfm.fused_attention
func.func @masked_second_use(%q: tensor<8x?x8xf32>, %k: tensor<8x?x8xf32>, %v: tensor<8x?x8xf32>, %pos: index) -> (tensor<8x?x8xf32>, tensor<8x?x?xf32>) {
  %s = tfm.matmul %q, %k {transpose_rhs} : (tensor<8x?x8xf32>, tensor<8x?x8xf32>) -> tensor<8x?x?xf32>
  %c = tfm.scale %s {factor = 0.353553385 : f32} : tensor<8x?x?xf32>
  %m = tfm.causal_mask %c, %pos : tensor<8x?x?xf32>
  %p = tfm.softmax %m : tensor<8x?x?xf32>
  %o = tfm.matmul %p, %v : (tensor<8x?x?xf32>, tensor<8x?x8xf32>) -> tensor<8x?x8xf32>
  return %o, %m : tensor<8x?x8xf32>, tensor<8x?x?xf32>
}

// -----

// The probabilities have a second user (e.g. returned for inspection).
// CHECK-LABEL: func @probabilities_second_use
// CHECK-NOT: tfm.fused_attention
// CHECK: tfm.softmax
// CHECK-NOT: tfm.fused_attention
func.func @probabilities_second_use(%q: tensor<8x?x8xf32>, %k: tensor<8x?x8xf32>, %v: tensor<8x?x8xf32>, %pos: index) -> (tensor<8x?x8xf32>, tensor<8x?x?xf32>) {
  %s = tfm.matmul %q, %k {transpose_rhs} : (tensor<8x?x8xf32>, tensor<8x?x8xf32>) -> tensor<8x?x?xf32>
  %c = tfm.scale %s {factor = 0.353553385 : f32} : tensor<8x?x?xf32>
  %m = tfm.causal_mask %c, %pos : tensor<8x?x?xf32>
  %p = tfm.softmax %m : tensor<8x?x?xf32>
  %o = tfm.matmul %p, %v : (tensor<8x?x?xf32>, tensor<8x?x8xf32>) -> tensor<8x?x8xf32>
  return %o, %p : tensor<8x?x8xf32>, tensor<8x?x?xf32>
}

// -----

// P V^T is not attention's second matmul.
// CHECK-LABEL: func @v_transposed
// CHECK-NOT: tfm.fused_attention
// CHECK: tfm.softmax
// CHECK-NOT: tfm.fused_attention
func.func @v_transposed(%q: tensor<8x?x8xf32>, %k: tensor<8x?x8xf32>, %v: tensor<8x8x?xf32>, %pos: index) -> tensor<8x?x8xf32> {
  %s = tfm.matmul %q, %k {transpose_rhs} : (tensor<8x?x8xf32>, tensor<8x?x8xf32>) -> tensor<8x?x?xf32>
  %c = tfm.scale %s {factor = 0.353553385 : f32} : tensor<8x?x?xf32>
  %m = tfm.causal_mask %c, %pos : tensor<8x?x?xf32>
  %p = tfm.softmax %m : tensor<8x?x?xf32>
  %o = tfm.matmul %p, %v {transpose_rhs} : (tensor<8x?x?xf32>, tensor<8x8x?xf32>) -> tensor<8x?x8xf32>
  return %o : tensor<8x?x8xf32>
}

// -----

// Q K without the transpose is not a score matrix.
// CHECK-LABEL: func @k_not_transposed
// CHECK-NOT: tfm.fused_attention
// CHECK: tfm.softmax
// CHECK-NOT: tfm.fused_attention
func.func @k_not_transposed(%q: tensor<8x?x8xf32>, %kt: tensor<8x8x?xf32>, %v: tensor<8x?x8xf32>, %pos: index) -> tensor<8x?x8xf32> {
  %s = tfm.matmul %q, %kt : (tensor<8x?x8xf32>, tensor<8x8x?xf32>) -> tensor<8x?x?xf32>
  %c = tfm.scale %s {factor = 0.353553385 : f32} : tensor<8x?x?xf32>
  %m = tfm.causal_mask %c, %pos : tensor<8x?x?xf32>
  %p = tfm.softmax %m : tensor<8x?x?xf32>
  %o = tfm.matmul %p, %v : (tensor<8x?x?xf32>, tensor<8x?x8xf32>) -> tensor<8x?x8xf32>
  return %o : tensor<8x?x8xf32>
}

// -----

// No scale anywhere: not the attention the fused kernel computes.
// CHECK-LABEL: func @missing_scale
// CHECK-NOT: tfm.fused_attention
// CHECK: tfm.softmax
// CHECK-NOT: tfm.fused_attention
func.func @missing_scale(%q: tensor<8x?x8xf32>, %k: tensor<8x?x8xf32>, %v: tensor<8x?x8xf32>, %pos: index) -> tensor<8x?x8xf32> {
  %s = tfm.matmul %q, %k {transpose_rhs} : (tensor<8x?x8xf32>, tensor<8x?x8xf32>) -> tensor<8x?x?xf32>
  %m = tfm.causal_mask %s, %pos : tensor<8x?x?xf32>
  %p = tfm.softmax %m : tensor<8x?x?xf32>
  %o = tfm.matmul %p, %v : (tensor<8x?x?xf32>, tensor<8x?x8xf32>) -> tensor<8x?x8xf32>
  return %o : tensor<8x?x8xf32>
}

// -----

// The scale sits after the mask: the pattern wants it on the raw scores.
// CHECK-LABEL: func @scale_after_mask
// CHECK-NOT: tfm.fused_attention
// CHECK: tfm.softmax
// CHECK-NOT: tfm.fused_attention
func.func @scale_after_mask(%q: tensor<8x?x8xf32>, %k: tensor<8x?x8xf32>, %v: tensor<8x?x8xf32>, %pos: index) -> tensor<8x?x8xf32> {
  %s = tfm.matmul %q, %k {transpose_rhs} : (tensor<8x?x8xf32>, tensor<8x?x8xf32>) -> tensor<8x?x?xf32>
  %m = tfm.causal_mask %s, %pos : tensor<8x?x?xf32>
  %c = tfm.scale %m {factor = 0.353553385 : f32} : tensor<8x?x?xf32>
  %p = tfm.softmax %c : tensor<8x?x?xf32>
  %o = tfm.matmul %p, %v : (tensor<8x?x?xf32>, tensor<8x?x8xf32>) -> tensor<8x?x8xf32>
  return %o : tensor<8x?x8xf32>
}

// -----

// K and V types differ (V's head dim is 16): the fused op wants them equal.
// CHECK-LABEL: func @kv_types_differ
// CHECK-NOT: tfm.fused_attention
// CHECK: tfm.softmax
// CHECK-NOT: tfm.fused_attention
func.func @kv_types_differ(%q: tensor<8x?x8xf32>, %k: tensor<8x?x8xf32>, %v: tensor<8x?x16xf32>, %pos: index) -> tensor<8x?x16xf32> {
  %s = tfm.matmul %q, %k {transpose_rhs} : (tensor<8x?x8xf32>, tensor<8x?x8xf32>) -> tensor<8x?x?xf32>
  %c = tfm.scale %s {factor = 0.353553385 : f32} : tensor<8x?x?xf32>
  %m = tfm.causal_mask %c, %pos : tensor<8x?x?xf32>
  %p = tfm.softmax %m : tensor<8x?x?xf32>
  %o = tfm.matmul %p, %v : (tensor<8x?x?xf32>, tensor<8x?x16xf32>) -> tensor<8x?x16xf32>
  return %o : tensor<8x?x16xf32>
}

// -----

// The output type differs from Q's (static T in Q, dynamic in the result).
// CHECK-LABEL: func @output_type_differs
// CHECK-NOT: tfm.fused_attention
// CHECK: tfm.softmax
// CHECK-NOT: tfm.fused_attention
func.func @output_type_differs(%q: tensor<8x4x8xf32>, %k: tensor<8x?x8xf32>, %v: tensor<8x?x8xf32>, %pos: index) -> tensor<8x?x8xf32> {
  %s = tfm.matmul %q, %k {transpose_rhs} : (tensor<8x4x8xf32>, tensor<8x?x8xf32>) -> tensor<8x?x?xf32>
  %c = tfm.scale %s {factor = 0.353553385 : f32} : tensor<8x?x?xf32>
  %m = tfm.causal_mask %c, %pos : tensor<8x?x?xf32>
  %p = tfm.softmax %m : tensor<8x?x?xf32>
  %o = tfm.matmul %p, %v : (tensor<8x?x?xf32>, tensor<8x?x8xf32>) -> tensor<8x?x8xf32>
  return %o : tensor<8x?x8xf32>
}
