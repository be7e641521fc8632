// RUN: tfm-opt %s --pass-pipeline='builtin.module(func.func(tfm-fuse-elementwise))' | FileCheck %s

// The linalg-on-tensors shapes tfm-to-linalg emits for the FFN of a
// Llama-style block: two matmuls, silu on the first, a gating multiply.

#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d1)>

// SwiGLU: silu(a) * b becomes one generic; the matmuls and their fills
// stay as they are.
// CHECK-LABEL: func.func @swiglu
// CHECK: %[[FILL:.*]] = linalg.fill
// CHECK: %[[A:.*]] = linalg.matmul_transpose_b {{.*}} outs(%[[FILL]]
// CHECK: %[[B:.*]] = linalg.matmul_transpose_b {{.*}} outs(%[[FILL]]
// CHECK: %[[R:.*]] = linalg.generic
// CHECK-SAME: ins(%[[A]], %[[B]] :
// CHECK: math.exp
// CHECK: arith.divf
// CHECK: arith.mulf
// CHECK: linalg.yield
// CHECK-NOT: linalg.generic
// CHECK: return %[[R]]
func.func @swiglu(%x: tensor<?x8xf32>, %w1: tensor<16x8xf32>, %w3: tensor<16x8xf32>) -> tensor<?x16xf32> {
  %c0 = arith.constant 0 : index
  %zero = arith.constant 0.0 : f32
  %one = arith.constant 1.0 : f32
  %n = tensor.dim %x, %c0 : tensor<?x8xf32>
  %e = tensor.empty(%n) : tensor<?x16xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<?x16xf32>) -> tensor<?x16xf32>
  %a = linalg.matmul_transpose_b ins(%x, %w1 : tensor<?x8xf32>, tensor<16x8xf32>) outs(%f : tensor<?x16xf32>) -> tensor<?x16xf32>
  %b = linalg.matmul_transpose_b ins(%x, %w3 : tensor<?x8xf32>, tensor<16x8xf32>) outs(%f : tensor<?x16xf32>) -> tensor<?x16xf32>
  %s = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%a : tensor<?x16xf32>) outs(%e : tensor<?x16xf32>) {
  ^bb0(%in: f32, %out: f32):
    %neg = arith.negf %in : f32
    %ex = math.exp %neg : f32
    %den = arith.addf %one, %ex : f32
    %sig = arith.divf %in, %den : f32
    linalg.yield %sig : f32
  } -> tensor<?x16xf32>
  %g = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%s, %b : tensor<?x16xf32>, tensor<?x16xf32>) outs(%e : tensor<?x16xf32>) {
  ^bb0(%in: f32, %in2: f32, %out: f32):
    %m = arith.mulf %in, %in2 : f32
    linalg.yield %m : f32
  } -> tensor<?x16xf32>
  return %g : tensor<?x16xf32>
}

// Bias add then activation (GPT-2's FFN): one generic reading the matmul
// result and the bias row.
// CHECK-LABEL: func.func @bias_relu
// CHECK: %[[MM:.*]] = linalg.matmul_transpose_b
// CHECK: %[[R:.*]] = linalg.generic
// CHECK-SAME: ins(%[[MM]], %{{.*}} : tensor<4x16xf32>, tensor<16xf32>)
// CHECK: arith.addf
// CHECK: arith.maximumf
// CHECK-NOT: linalg.generic
// CHECK: return %[[R]]
func.func @bias_relu(%x: tensor<4x8xf32>, %w: tensor<16x8xf32>, %bias: tensor<16xf32>) -> tensor<4x16xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<4x16xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<4x16xf32>) -> tensor<4x16xf32>
  %mm = linalg.matmul_transpose_b ins(%x, %w : tensor<4x8xf32>, tensor<16x8xf32>) outs(%f : tensor<4x16xf32>) -> tensor<4x16xf32>
  %biased = linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel"]}
      ins(%mm, %bias : tensor<4x16xf32>, tensor<16xf32>) outs(%e : tensor<4x16xf32>) {
  ^bb0(%in: f32, %bv: f32, %out: f32):
    %s = arith.addf %in, %bv : f32
    linalg.yield %s : f32
  } -> tensor<4x16xf32>
  %act = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%biased : tensor<4x16xf32>) outs(%e : tensor<4x16xf32>) {
  ^bb0(%in: f32, %out: f32):
    %r = arith.maximumf %in, %zero : f32
    linalg.yield %r : f32
  } -> tensor<4x16xf32>
  return %act : tensor<4x16xf32>
}

// A residual stream (the add feeds the next add and the result) has two
// users: it stays materialised, so nothing is fused.
// CHECK-LABEL: func.func @multi_use_not_fused
// CHECK: %[[ADD:.*]] = linalg.generic
// CHECK: arith.addf
// CHECK: %[[MUL:.*]] = linalg.generic
// CHECK-SAME: ins(%[[ADD]] :
// CHECK: arith.mulf
// CHECK: return %[[ADD]], %[[MUL]]
func.func @multi_use_not_fused(%x: tensor<4x16xf32>, %y: tensor<4x16xf32>) -> (tensor<4x16xf32>, tensor<4x16xf32>) {
  %e = tensor.empty() : tensor<4x16xf32>
  %add = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x, %y : tensor<4x16xf32>, tensor<4x16xf32>) outs(%e : tensor<4x16xf32>) {
  ^bb0(%a: f32, %b: f32, %out: f32):
    %s = arith.addf %a, %b : f32
    linalg.yield %s : f32
  } -> tensor<4x16xf32>
  %mul = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%add, %add : tensor<4x16xf32>, tensor<4x16xf32>) outs(%e : tensor<4x16xf32>) {
  ^bb0(%a: f32, %b: f32, %out: f32):
    %m = arith.mulf %a, %b : f32
    linalg.yield %m : f32
  } -> tensor<4x16xf32>
  return %add, %mul : tensor<4x16xf32>, tensor<4x16xf32>
}

// A named op is never fused into (the kernel rewrite needs it intact), and
// a reduction (RMSNorm's sum of squares) is never a producer.
// CHECK-LABEL: func.func @reduction_not_fused
// CHECK: %[[SUM:.*]] = linalg.generic {{.*}}iterator_types = ["parallel", "reduction"]
// CHECK: %[[NORM:.*]] = linalg.generic
// CHECK-SAME: ins(%[[SUM]] :
// CHECK: return %[[NORM]]
func.func @reduction_not_fused(%x: tensor<4x16xf32>) -> tensor<4x16xf32> {
  %zero = arith.constant 0.0 : f32
  %e1 = tensor.empty() : tensor<4xf32>
  %f1 = linalg.fill ins(%zero : f32) outs(%e1 : tensor<4xf32>) -> tensor<4xf32>
  %sum = linalg.generic {indexing_maps = [#id, affine_map<(d0, d1) -> (d0)>], iterator_types = ["parallel", "reduction"]}
      ins(%x : tensor<4x16xf32>) outs(%f1 : tensor<4xf32>) {
  ^bb0(%in: f32, %acc: f32):
    %sq = arith.mulf %in, %in : f32
    %s = arith.addf %acc, %sq : f32
    linalg.yield %s : f32
  } -> tensor<4xf32>
  %e = tensor.empty() : tensor<4x16xf32>
  %norm = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0)>, #id], iterator_types = ["parallel", "parallel"]}
      ins(%sum : tensor<4xf32>) outs(%e : tensor<4x16xf32>) {
  ^bb0(%s: f32, %out: f32):
    %r = math.rsqrt %s : f32
    linalg.yield %r : f32
  } -> tensor<4x16xf32>
  return %norm : tensor<4x16xf32>
}

// The destination tfm-to-linalg chose for a residual add (its lhs) stays,
// although the body never reads it: upstream's RemoveOutsDependency pattern,
// which would replace it by a tensor.empty, is not part of the pass. The
// bias add still fuses into the residual add.
// CHECK-LABEL: func.func @residual_destination_kept
// CHECK-SAME: (%[[X:.*]]: tensor<4x16xf32>, %[[Y:.*]]: tensor<4x16xf32>, %[[B:.*]]: tensor<16xf32>)
// CHECK: %[[R:.*]] = linalg.generic
// CHECK-SAME: ins(%[[X]], %[[Y]], %[[B]] : tensor<4x16xf32>, tensor<4x16xf32>, tensor<16xf32>) outs(%[[X]] : tensor<4x16xf32>)
// CHECK-NOT: linalg.generic
// CHECK: return %[[R]]
func.func @residual_destination_kept(%x: tensor<4x16xf32>, %y: tensor<4x16xf32>, %bias: tensor<16xf32>) -> tensor<4x16xf32> {
  %e = tensor.empty() : tensor<4x16xf32>
  %biased = linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel"]}
      ins(%y, %bias : tensor<4x16xf32>, tensor<16xf32>) outs(%e : tensor<4x16xf32>) {
  ^bb0(%in: f32, %bv: f32, %out: f32):
    %s = arith.addf %in, %bv : f32
    linalg.yield %s : f32
  } -> tensor<4x16xf32>
  %sum = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x, %biased : tensor<4x16xf32>, tensor<4x16xf32>) outs(%x : tensor<4x16xf32>) {
  ^bb0(%a: f32, %b: f32, %out: f32):
    %s = arith.addf %a, %b : f32
    linalg.yield %s : f32
  } -> tensor<4x16xf32>
  return %sum : tensor<4x16xf32>
}
