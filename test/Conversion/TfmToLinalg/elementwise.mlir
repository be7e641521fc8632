// RUN: tfm-opt %s --tfm-to-linalg | FileCheck %s

// Activations, scale, add/mul, the masks and softmax become linalg.generic
// ops on tensors: all-parallel for elementwise ops, a last-dim reduction for
// softmax's max and sum.

// CHECK-DAG: #[[ID2:.*]] = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-DAG: #[[ID3:.*]] = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
// CHECK-DAG: #[[ROW3:.*]] = affine_map<(d0, d1, d2) -> (d0, d1)>
// CHECK-DAG: #[[HEAD3:.*]] = affine_map<(d0, d1, d2) -> (d0)>

// CHECK-LABEL: func @relu
// CHECK-SAME: (%[[X:.*]]: tensor<?x256xf32>)
// CHECK: %[[D:.*]] = tensor.dim %[[X]], %{{.*}} : tensor<?x256xf32>
// CHECK: %[[E:.*]] = tensor.empty(%[[D]]) : tensor<?x256xf32>
// CHECK: linalg.generic {indexing_maps = [#[[ID2]], #[[ID2]]], iterator_types = ["parallel", "parallel"]} ins(%[[X]] : tensor<?x256xf32>) outs(%[[E]] : tensor<?x256xf32>)
// CHECK: arith.maximumf
// CHECK-NOT: tfm.
func.func @relu(%x: tensor<?x256xf32>) -> tensor<?x256xf32> {
  %y = tfm.relu %x : tensor<?x256xf32>
  return %y : tensor<?x256xf32>
}

// x / (1 + exp(-x)) written as x * (1 / (1 + exp(-x))).
// CHECK-LABEL: func @silu
// CHECK: linalg.generic {{.*}}iterator_types = ["parallel", "parallel"]
// CHECK: arith.negf
// CHECK: math.exp
// CHECK: arith.divf
// CHECK: arith.mulf
func.func @silu(%x: tensor<?x172xf32>) -> tensor<?x172xf32> {
  %y = tfm.silu %x : tensor<?x172xf32>
  return %y : tensor<?x172xf32>
}

// CHECK-LABEL: func @gelu_exact
// CHECK: linalg.generic
// CHECK: math.erf
// CHECK-NOT: math.tanh
func.func @gelu_exact(%x: tensor<?x256xf32>) -> tensor<?x256xf32> {
  %y = tfm.gelu %x {approximation = #tfm<gelu_approximation none>} : tensor<?x256xf32>
  return %y : tensor<?x256xf32>
}

// GPT-2's tanh approximation, with sqrt(2/pi) and 0.044715.
// CHECK-LABEL: func @gelu_tanh
// CHECK: linalg.generic
// CHECK: arith.constant 4.471500e-02 : f32
// CHECK: arith.constant 0.797884583 : f32
// CHECK: math.tanh
// CHECK-NOT: math.erf
func.func @gelu_tanh(%x: tensor<?x256xf32>) -> tensor<?x256xf32> {
  %y = tfm.gelu %x {approximation = #tfm<gelu_approximation tanh>} : tensor<?x256xf32>
  return %y : tensor<?x256xf32>
}

// CHECK-LABEL: func @scale
// CHECK: linalg.generic {indexing_maps = [#[[ID3]], #[[ID3]]], iterator_types = ["parallel", "parallel", "parallel"]}
// CHECK: %[[F:.*]] = arith.constant 1.250000e-01 : f32
// CHECK: arith.mulf %{{.*}}, %[[F]] : f32
func.func @scale(%s: tensor<8x?x?xf32>) -> tensor<8x?x?xf32> {
  %y = tfm.scale %s {factor = 0.125 : f32} : tensor<8x?x?xf32>
  return %y : tensor<8x?x?xf32>
}

// The sum is written over the lhs (the residual stream), which bufferization
// reuses when it is dead afterwards; the body never reads it.
// CHECK-LABEL: func @add
// CHECK-SAME: (%[[A:.*]]: tensor<?x64xf32>, %[[B:.*]]: tensor<?x64xf32>)
// CHECK: linalg.generic {indexing_maps = [#[[ID2]], #[[ID2]], #[[ID2]]], iterator_types = ["parallel", "parallel"]} ins(%[[A]], %[[B]] : tensor<?x64xf32>, tensor<?x64xf32>) outs(%[[A]] : tensor<?x64xf32>)
// CHECK: ^bb0(%[[IA:.*]]: f32, %[[IB:.*]]: f32, %{{.*}}: f32):
// CHECK-NEXT: %[[S:.*]] = arith.addf %[[IA]], %[[IB]] : f32
// CHECK-NEXT: linalg.yield %[[S]]
func.func @add(%a: tensor<?x64xf32>, %b: tensor<?x64xf32>) -> tensor<?x64xf32> {
  %y = tfm.add %a, %b : tensor<?x64xf32>
  return %y : tensor<?x64xf32>
}

// The product goes to a new tensor: writing over the lhs would give the
// SwiGLU activation a second use and stop tfm-fuse-elementwise.
// CHECK-LABEL: func @mul
// CHECK: %[[E:.*]] = tensor.empty
// CHECK: linalg.generic {indexing_maps = [#[[ID2]], #[[ID2]], #[[ID2]]], iterator_types = ["parallel", "parallel"]} ins(%{{.*}}, %{{.*}} : tensor<?x172xf32>, tensor<?x172xf32>) outs(%[[E]] : tensor<?x172xf32>)
// CHECK: arith.mulf
func.func @mul(%a: tensor<?x172xf32>, %b: tensor<?x172xf32>) -> tensor<?x172xf32> {
  %y = tfm.mul %a, %b : tensor<?x172xf32>
  return %y : tensor<?x172xf32>
}

// Key s is hidden from the query at position pos + t when s > pos + t.
// CHECK-LABEL: func @causal_mask
// CHECK-SAME: (%[[S:.*]]: tensor<8x?x?xf32>, %[[P:.*]]: index)
// CHECK: linalg.generic {indexing_maps = [#[[ID3]], #[[ID3]]], iterator_types = ["parallel", "parallel", "parallel"]} ins(%[[S]] : tensor<8x?x?xf32>)
// CHECK: %[[T:.*]] = linalg.index 1 : index
// CHECK: %[[QP:.*]] = arith.addi %[[P]], %[[T]] : index
// CHECK: %[[KP:.*]] = linalg.index 2 : index
// CHECK: %[[FUT:.*]] = arith.cmpi ugt, %[[KP]], %[[QP]] : index
// CHECK: %[[NINF:.*]] = arith.constant 0xFF800000 : f32
// CHECK: arith.select %[[FUT]], %[[NINF]], %{{.*}} : f32
func.func @causal_mask(%s: tensor<8x?x?xf32>, %pos: index) -> tensor<8x?x?xf32> {
  %m = tfm.causal_mask %s, %pos : tensor<8x?x?xf32>
  return %m : tensor<8x?x?xf32>
}

// ALiBi: one slope per head (2^-2, 2^-4, ... for 4 heads), read through a
// head-only map; the bias is slope * (query position - key position).
// CHECK-LABEL: func @alibi
// CHECK: %[[SLOPES:.*]] = arith.constant dense<[2.500000e-01, 6.250000e-02, 1.562500e-02, 3.906250e-03]> : tensor<4xf32>
// CHECK: linalg.generic {indexing_maps = [#[[ID3]], #[[HEAD3]], #[[ID3]]], iterator_types = ["parallel", "parallel", "parallel"]} ins(%{{.*}}, %[[SLOPES]] : tensor<4x?x?xf32>, tensor<4xf32>)
// CHECK: arith.cmpi ugt
// CHECK: arith.subi
// CHECK: arith.mulf
// CHECK: arith.subf
// CHECK: arith.select
func.func @alibi(%s: tensor<4x?x?xf32>, %pos: index) -> tensor<4x?x?xf32> {
  %b = tfm.alibi %s, %pos : tensor<4x?x?xf32>
  return %b : tensor<4x?x?xf32>
}

// 6 heads, not a power of two: the ALiBi reference code's get_slopes gives
// the 4 slopes of 4 heads, then every other slope of 8 heads (2^-1, 2^-3).
// The lowering and the attention kernel share tfm::rt::alibiSlope.
// CHECK-LABEL: func @alibi_six_heads
// CHECK: arith.constant dense<[2.500000e-01, 6.250000e-02, 1.562500e-02, 3.906250e-03, 5.000000e-01, 1.250000e-01]> : tensor<6xf32>
func.func @alibi_six_heads(%s: tensor<6x?x?xf32>, %pos: index) -> tensor<6x?x?xf32> {
  %b = tfm.alibi %s, %pos : tensor<6x?x?xf32>
  return %b : tensor<6x?x?xf32>
}

// Stable softmax: max over the last dim (from -inf), exp(x - max), sum,
// divide.
// CHECK-LABEL: func @softmax
// CHECK-SAME: (%[[X:.*]]: tensor<8x?x?xf32>)
// CHECK: %[[NINF:.*]] = arith.constant 0xFF800000 : f32
// CHECK: %[[MINIT:.*]] = linalg.fill ins(%[[NINF]] : f32) outs(%{{.*}} : tensor<8x?xf32>)
// CHECK: %[[MAX:.*]] = linalg.generic {indexing_maps = [#[[ID3]], #[[ROW3]]], iterator_types = ["parallel", "parallel", "reduction"]} ins(%[[X]] : tensor<8x?x?xf32>) outs(%[[MINIT]] : tensor<8x?xf32>)
// CHECK: arith.maximumf
// CHECK: %[[EXP:.*]] = linalg.generic {indexing_maps = [#[[ID3]], #[[ROW3]], #[[ID3]]], iterator_types = ["parallel", "parallel", "parallel"]} ins(%[[X]], %[[MAX]] : tensor<8x?x?xf32>, tensor<8x?xf32>)
// CHECK: arith.subf
// CHECK: math.exp
// CHECK: %[[SUM:.*]] = linalg.generic {indexing_maps = [#[[ID3]], #[[ROW3]]], iterator_types = ["parallel", "parallel", "reduction"]} ins(%[[EXP]] : tensor<8x?x?xf32>)
// CHECK: arith.addf
// CHECK: %[[R:.*]] = linalg.generic {indexing_maps = [#[[ID3]], #[[ROW3]], #[[ID3]]], iterator_types = ["parallel", "parallel", "parallel"]} ins(%[[EXP]], %[[SUM]] : tensor<8x?x?xf32>, tensor<8x?xf32>)
// CHECK: arith.divf
// CHECK: return %[[R]]
func.func @softmax(%s: tensor<8x?x?xf32>) -> tensor<8x?x?xf32> {
  %p = tfm.softmax %s : tensor<8x?x?xf32>
  return %p : tensor<8x?x?xf32>
}
