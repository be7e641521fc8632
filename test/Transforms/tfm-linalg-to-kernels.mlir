// RUN: tfm-opt %s --tfm-linalg-to-kernels | FileCheck %s

// Every buffer-level linalg.matmul_transpose_b becomes
// `call @tfmrt_linear(out, x, w, accumulate)`. Right after a zero fill of its
// output the fill is dropped and the kernel overwrites (accumulate = 0);
// otherwise the kernel accumulates into `out` (accumulate = 1), as linalg
// does, and any fill stays. Tensor-level matmuls are left alone.

// CHECK: func.func private @tfmrt_linear(memref<?x?xf32, strided<[?, ?], offset: ?>>, memref<?x?xf32, strided<[?, ?], offset: ?>>, memref<?x?xf32, strided<[?, ?], offset: ?>>, i64) attributes {llvm.emit_c_interface}
// CHECK-NOT: func.func private @tfmrt_linear

// CHECK-LABEL: func @zero_filled
// CHECK-SAME: (%[[X:.*]]: memref<?x64xf32>, %[[W:.*]]: memref<128x64xf32>, %[[Y:.*]]: memref<?x128xf32>)
// CHECK-NOT: linalg.fill
// CHECK-NOT: linalg.matmul_transpose_b
// CHECK-DAG: %[[OVERWRITE:.*]] = arith.constant 0 : i64
// CHECK-DAG: %[[YC:.*]] = memref.cast %[[Y]] : memref<?x128xf32> to memref<?x?xf32, strided<[?, ?], offset: ?>>
// CHECK-DAG: %[[XC:.*]] = memref.cast %[[X]] : memref<?x64xf32> to memref<?x?xf32, strided<[?, ?], offset: ?>>
// CHECK-DAG: %[[WC:.*]] = memref.cast %[[W]] : memref<128x64xf32> to memref<?x?xf32, strided<[?, ?], offset: ?>>
// CHECK: call @tfmrt_linear(%[[YC]], %[[XC]], %[[WC]], %[[OVERWRITE]])
// CHECK-NOT: linalg.matmul_transpose_b
// CHECK: return
func.func @zero_filled(%x: memref<?x64xf32>, %w: memref<128x64xf32>, %y: memref<?x128xf32>) {
  %zero = arith.constant 0.0 : f32
  linalg.fill ins(%zero : f32) outs(%y : memref<?x128xf32>)
  linalg.matmul_transpose_b ins(%x, %w : memref<?x64xf32>, memref<128x64xf32>) outs(%y : memref<?x128xf32>)
  return
}

// Two linears in a function: two overwriting calls, one declaration.
// CHECK-LABEL: func @two
// CHECK: %[[OVERWRITE:.*]] = arith.constant 0 : i64
// CHECK-COUNT-2: call @tfmrt_linear(%{{.*}}, %{{.*}}, %{{.*}}, %[[OVERWRITE]])
// CHECK-NOT: linalg
func.func @two(%x: memref<1x64xf32>, %w: memref<128x64xf32>, %y: memref<1x128xf32>, %z: memref<1x128xf32>) {
  %zero = arith.constant 0.0 : f32
  linalg.fill ins(%zero : f32) outs(%y : memref<1x128xf32>)
  linalg.matmul_transpose_b ins(%x, %w : memref<1x64xf32>, memref<128x64xf32>) outs(%y : memref<1x128xf32>)
  linalg.fill ins(%zero : f32) outs(%z : memref<1x128xf32>)
  linalg.matmul_transpose_b ins(%x, %w : memref<1x64xf32>, memref<128x64xf32>) outs(%z : memref<1x128xf32>)
  return
}

// No fill: linalg accumulates into whatever %y holds, so the kernel must too.
// CHECK-LABEL: func @no_fill
// CHECK: %[[ACC:.*]] = arith.constant 1 : i64
// CHECK: call @tfmrt_linear(%{{.*}}, %{{.*}}, %{{.*}}, %[[ACC]])
// CHECK-NOT: linalg.matmul_transpose_b
func.func @no_fill(%x: memref<?x64xf32>, %w: memref<128x64xf32>, %y: memref<?x128xf32>) {
  linalg.matmul_transpose_b ins(%x, %w : memref<?x64xf32>, memref<128x64xf32>) outs(%y : memref<?x128xf32>)
  return
}

// A non-zero fill (e.g. a bias-like init) must be kept and accumulated into.
// CHECK-LABEL: func @nonzero_fill
// CHECK: %[[ACC:.*]] = arith.constant 1 : i64
// CHECK: %[[ONE:.*]] = arith.constant 1.000000e+00 : f32
// CHECK: linalg.fill ins(%[[ONE]] : f32)
// CHECK: call @tfmrt_linear(%{{.*}}, %{{.*}}, %{{.*}}, %[[ACC]])
// CHECK-NOT: linalg.matmul_transpose_b
func.func @nonzero_fill(%x: memref<?x64xf32>, %w: memref<128x64xf32>, %y: memref<?x128xf32>) {
  %one = arith.constant 1.0 : f32
  linalg.fill ins(%one : f32) outs(%y : memref<?x128xf32>)
  linalg.matmul_transpose_b ins(%x, %w : memref<?x64xf32>, memref<128x64xf32>) outs(%y : memref<?x128xf32>)
  return
}

// The zero fill is of another buffer: it stays, and the kernel accumulates.
// CHECK-LABEL: func @fill_other_buffer
// CHECK-SAME: %[[OTHER:[a-z0-9]+]]: memref<?x128xf32>)
// CHECK: %[[ACC:.*]] = arith.constant 1 : i64
// CHECK: linalg.fill ins(%{{.*}} : f32) outs(%[[OTHER]] : memref<?x128xf32>)
// CHECK: call @tfmrt_linear(%{{.*}}, %{{.*}}, %{{.*}}, %[[ACC]])
func.func @fill_other_buffer(%x: memref<?x64xf32>, %w: memref<128x64xf32>, %y: memref<?x128xf32>, %other: memref<?x128xf32>) {
  %zero = arith.constant 0.0 : f32
  linalg.fill ins(%zero : f32) outs(%other : memref<?x128xf32>)
  linalg.matmul_transpose_b ins(%x, %w : memref<?x64xf32>, memref<128x64xf32>) outs(%y : memref<?x128xf32>)
  return
}

// Something between the fill and the matmul: the pattern only trusts a fill
// immediately before, so the fill stays and the kernel accumulates.
// CHECK-LABEL: func @fill_not_adjacent
// CHECK: %[[ACC:.*]] = arith.constant 1 : i64
// CHECK: linalg.fill
// CHECK: memref.copy
// CHECK: call @tfmrt_linear(%{{.*}}, %{{.*}}, %{{.*}}, %[[ACC]])
func.func @fill_not_adjacent(%x: memref<?x64xf32>, %w: memref<128x64xf32>, %y: memref<?x128xf32>, %src: memref<?x128xf32>) {
  %zero = arith.constant 0.0 : f32
  linalg.fill ins(%zero : f32) outs(%y : memref<?x128xf32>)
  memref.copy %src, %y : memref<?x128xf32> to memref<?x128xf32>
  linalg.matmul_transpose_b ins(%x, %w : memref<?x64xf32>, memref<128x64xf32>) outs(%y : memref<?x128xf32>)
  return
}

// Tensor-level matmuls wait for bufferization.
// CHECK-LABEL: func @tensors
// CHECK: linalg.matmul_transpose_b
// CHECK-NOT: call @tfmrt_linear
func.func @tensors(%x: tensor<?x64xf32>, %w: tensor<128x64xf32>, %init: tensor<?x128xf32>) -> tensor<?x128xf32> {
  %zero = arith.constant 0.0 : f32
  %f = linalg.fill ins(%zero : f32) outs(%init : tensor<?x128xf32>) -> tensor<?x128xf32>
  %y = linalg.matmul_transpose_b ins(%x, %w : tensor<?x64xf32>, tensor<128x64xf32>) outs(%f : tensor<?x128xf32>) -> tensor<?x128xf32>
  return %y : tensor<?x128xf32>
}
