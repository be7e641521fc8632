// RUN: tfm-opt %s --tfm-to-linalg | FileCheck %s

// tfm.fused_attention becomes a call to the runtime's online-softmax kernel
// `tfmrt_attention(out, q, k, v, pos, scale, causal, alibi)`, declared once
// per module. Operands are passed as [T, H, hd] / [S, KV, hd] transposed
// views (strides only, no copies) of the head-major tensors.

// CHECK: func.func private @tfmrt_attention(memref<?x?x?xf32, strided<[?, ?, ?], offset: ?>>, memref<?x?x?xf32, strided<[?, ?, ?], offset: ?>>, memref<?x?x?xf32, strided<[?, ?, ?], offset: ?>>, memref<?x?x?xf32, strided<[?, ?, ?], offset: ?>>, i64, f32, i64, i64) attributes {llvm.emit_c_interface}
// CHECK-NOT: func.func private @tfmrt_attention

// CHECK-LABEL: func @gqa_causal
// CHECK-SAME: (%[[Q:.*]]: tensor<8x?x8xf32>, %[[K:.*]]: tensor<2x?x8xf32>, %[[V:.*]]: tensor<2x?x8xf32>, %[[P:.*]]: index)
// CHECK: %[[T:.*]] = tensor.dim %[[Q]], %{{.*}} : tensor<8x?x8xf32>
// CHECK: %[[OUT:.*]] = memref.alloc(%[[T]]) : memref<8x?x8xf32>
// CHECK: %[[OUTT:.*]] = memref.transpose %[[OUT]] (d0, d1, d2) -> (d1, d0, d2)
// CHECK: %[[OUTV:.*]] = memref.cast %[[OUTT]]
// CHECK: %[[POS:.*]] = arith.index_cast %[[P]] : index to i64
// CHECK: %[[QM:.*]] = bufferization.to_memref %[[Q]] read_only
// CHECK: %[[QT:.*]] = memref.transpose %[[QM]] (d0, d1, d2) -> (d1, d0, d2)
// CHECK: %[[QV:.*]] = memref.cast %[[QT]]
// CHECK: %[[KM:.*]] = bufferization.to_memref %[[K]] read_only
// CHECK: %[[KT:.*]] = memref.transpose %[[KM]] (d0, d1, d2) -> (d1, d0, d2) : memref<2x?x8xf32, {{.*}}> to memref<?x2x8xf32
// CHECK: %[[KV:.*]] = memref.cast %[[KT]]
// CHECK: %[[VM:.*]] = bufferization.to_memref %[[V]] read_only
// CHECK: %[[VT:.*]] = memref.transpose %[[VM]]
// CHECK: %[[VV:.*]] = memref.cast %[[VT]]
// CHECK: %[[SCALE:.*]] = arith.constant 0.353553385 : f32
// CHECK: %[[CAUSAL:.*]] = arith.constant 1 : i64
// CHECK: %[[ALIBI:.*]] = arith.constant 0 : i64
// CHECK: call @tfmrt_attention(%[[OUTV]], %[[QV]], %[[KV]], %[[VV]], %[[POS]], %[[SCALE]], %[[CAUSAL]], %[[ALIBI]])
// CHECK: %[[R:.*]] = bufferization.to_tensor %[[OUT]] restrict writable : memref<8x?x8xf32>
// CHECK: return %[[R]]
// CHECK-NOT: tfm.fused_attention
func.func @gqa_causal(%q: tensor<8x?x8xf32>, %k: tensor<2x?x8xf32>, %v: tensor<2x?x8xf32>, %pos: index) -> tensor<8x?x8xf32> {
  %o = tfm.fused_attention %q, %k, %v, %pos {scale = 0.353553385 : f32, causal} : (tensor<8x?x8xf32>, tensor<2x?x8xf32>, tensor<2x?x8xf32>, index) -> tensor<8x?x8xf32>
  return %o : tensor<8x?x8xf32>
}

// ALiBi: both flags set.
// CHECK-LABEL: func @alibi
// CHECK: %[[SCALE:.*]] = arith.constant 1.250000e-01 : f32
// CHECK: %[[CAUSAL:.*]] = arith.constant 1 : i64
// CHECK: %[[ALIBI:.*]] = arith.constant 1 : i64
// CHECK: call @tfmrt_attention(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %[[SCALE]], %[[CAUSAL]], %[[ALIBI]])
func.func @alibi(%q: tensor<4x?x64xf32>, %k: tensor<4x?x64xf32>, %v: tensor<4x?x64xf32>, %pos: index) -> tensor<4x?x64xf32> {
  %o = tfm.fused_attention %q, %k, %v, %pos {scale = 0.125 : f32, causal, alibi} : (tensor<4x?x64xf32>, tensor<4x?x64xf32>, tensor<4x?x64xf32>, index) -> tensor<4x?x64xf32>
  return %o : tensor<4x?x64xf32>
}

// Decode with no mask: static T = 1 needs no tensor.dim; both flags 0.
// CHECK-LABEL: func @decode_plain
// CHECK-NOT: tensor.dim
// CHECK: memref.alloc() : memref<8x1x8xf32>
// CHECK: %[[CAUSAL:.*]] = arith.constant 0 : i64
// CHECK: %[[ALIBI:.*]] = arith.constant 0 : i64
// CHECK: call @tfmrt_attention(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %[[CAUSAL]], %[[ALIBI]])
func.func @decode_plain(%q: tensor<8x1x8xf32>, %k: tensor<8x?x8xf32>, %v: tensor<8x?x8xf32>, %pos: index) -> tensor<8x1x8xf32> {
  %o = tfm.fused_attention %q, %k, %v, %pos {scale = 0.353553385 : f32} : (tensor<8x1x8xf32>, tensor<8x?x8xf32>, tensor<8x?x8xf32>, index) -> tensor<8x1x8xf32>
  return %o : tensor<8x1x8xf32>
}
