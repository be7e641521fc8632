// RUN: tfm-opt %s --tfm-merge-projections --split-input-file | FileCheck %s

// Linear layers that read the same input, with weights that follow each
// other in the offsets table, become one linear layer over the merged weight
// (rows in table order, at the first part's offset) and a column slice per
// original result. GQA: Q is 32 rows, K and V 16 each.

// CHECK-LABEL: func.func private @qkv
// CHECK-SAME: "layers.{i}.wq+wk+wv.weight" = 0 : i64
// CHECK: %[[W:.*]] = tfm.weight "layers.{i}.wq+wk+wv.weight" packed 16 {tfm.merged = ["layers.{i}.wq.weight", "layers.{i}.wk.weight", "layers.{i}.wv.weight"]} : tensor<64x8xf32>
// CHECK: %[[Y:.*]] = tfm.linear %arg0, %[[W]] : (tensor<1x8xf32>, tensor<64x8xf32>) -> tensor<1x64xf32>
// CHECK-NOT: tfm.linear
// One token: 1-D slices, expanded back to 1 x N (unit strides once
// bufferized, so the heads' reshapes need no copy).
// CHECK: %[[QS:.*]] = tensor.extract_slice %[[Y]][0, 0] [1, 32] [1, 1] : tensor<1x64xf32> to tensor<32xf32>
// CHECK: %[[Q:.*]] = tensor.expand_shape %[[QS]] {{\[}}[0, 1]] output_shape [1, 32] : tensor<32xf32> into tensor<1x32xf32>
// CHECK: %[[KS:.*]] = tensor.extract_slice %[[Y]][0, 32] [1, 16] [1, 1] : tensor<1x64xf32> to tensor<16xf32>
// CHECK: %[[K:.*]] = tensor.expand_shape %[[KS]]
// CHECK: %[[VS:.*]] = tensor.extract_slice %[[Y]][0, 48] [1, 16] [1, 1] : tensor<1x64xf32> to tensor<16xf32>
// CHECK: %[[V:.*]] = tensor.expand_shape %[[VS]]
// CHECK: return %[[Q]], %[[K]], %[[V]]
func.func private @qkv(%x: tensor<1x8xf32>) -> (tensor<1x32xf32>, tensor<1x16xf32>, tensor<1x16xf32>)
    attributes {tfm.weight_offsets = {"layers.{i}.wq.weight" = 0 : i64, "layers.{i}.wk.weight" = 1024 : i64,
                                      "layers.{i}.wv.weight" = 1536 : i64, "layers.{i}.wo.weight" = 2048 : i64}} {
  %wq = tfm.weight "layers.{i}.wq.weight" packed 16 : tensor<32x8xf32>
  %q = tfm.linear %x, %wq : (tensor<1x8xf32>, tensor<32x8xf32>) -> tensor<1x32xf32>
  %wk = tfm.weight "layers.{i}.wk.weight" packed 16 : tensor<16x8xf32>
  %k = tfm.linear %x, %wk : (tensor<1x8xf32>, tensor<16x8xf32>) -> tensor<1x16xf32>
  %wv = tfm.weight "layers.{i}.wv.weight" packed 16 : tensor<16x8xf32>
  %v = tfm.linear %x, %wv : (tensor<1x8xf32>, tensor<16x8xf32>) -> tensor<1x16xf32>
  return %q, %k, %v : tensor<1x32xf32>, tensor<1x16xf32>, tensor<1x16xf32>
}

// -----

// Gate and up of a gated FFN, T dynamic, q8_0 blocks (encoding and
// packing carry over; 96 rows of 64 columns fit in the parts' bytes).
// CHECK-LABEL: func.func private @gate_up
// CHECK: %[[W:.*]] = tfm.weight "layers.{i}.w1+w3.weight" encoding q8_0 packed 16 {tfm.merged = ["layers.{i}.w1.weight", "layers.{i}.w3.weight"]} : tensor<96x64xf32>
// CHECK: %[[Y:.*]] = tfm.linear %arg0, %[[W]] : (tensor<?x64xf32>, tensor<96x64xf32>) -> tensor<?x96xf32>
// CHECK: %[[T:.*]] = tensor.dim %[[Y]], %c0
// CHECK: %[[G:.*]] = tensor.extract_slice %[[Y]][0, 0] [%[[T]], 48] [1, 1] : tensor<?x96xf32> to tensor<?x48xf32>
// CHECK: %[[U:.*]] = tensor.extract_slice %[[Y]][0, 48] [%[[T]], 48] [1, 1] : tensor<?x96xf32> to tensor<?x48xf32>
// CHECK: %[[S:.*]] = tfm.silu %[[G]]
// CHECK: tfm.mul %[[S]], %[[U]]
func.func private @gate_up(%x: tensor<?x64xf32>) -> tensor<?x48xf32>
    attributes {tfm.weight_offsets = {"layers.{i}.w1.weight" = 0 : i64, "layers.{i}.w3.weight" = 3264 : i64,
                                      "layers.{i}.w2.weight" = 6528 : i64}} {
  %w1 = tfm.weight "layers.{i}.w1.weight" encoding q8_0 packed 16 : tensor<48x64xf32>
  %h = tfm.linear %x, %w1 : (tensor<?x64xf32>, tensor<48x64xf32>) -> tensor<?x48xf32>
  %s = tfm.silu %h : tensor<?x48xf32>
  %w3 = tfm.weight "layers.{i}.w3.weight" encoding q8_0 packed 16 : tensor<48x64xf32>
  %u = tfm.linear %x, %w3 : (tensor<?x64xf32>, tensor<48x64xf32>) -> tensor<?x48xf32>
  %y = tfm.mul %s, %u : tensor<?x48xf32>
  return %y : tensor<?x48xf32>
}

// -----

// The last part may end in a tail tile (24 = 16 + 8); the first may not
// (@tail_first below).
// CHECK-LABEL: func.func private @tail_last
// CHECK: tfm.weight "a+b.weight" packed 16 {tfm.merged = ["a.weight", "b.weight"]} : tensor<56x8xf32>
// CHECK-COUNT-1: tfm.linear
// CHECK-NOT: tfm.linear
func.func private @tail_last(%x: tensor<1x8xf32>) -> (tensor<1x32xf32>, tensor<1x24xf32>)
    attributes {tfm.weight_offsets = {"a.weight" = 0 : i64, "b.weight" = 1024 : i64}} {
  %wa = tfm.weight "a.weight" packed 16 : tensor<32x8xf32>
  %a = tfm.linear %x, %wa : (tensor<1x8xf32>, tensor<32x8xf32>) -> tensor<1x32xf32>
  %wb = tfm.weight "b.weight" packed 16 : tensor<24x8xf32>
  %b = tfm.linear %x, %wb : (tensor<1x8xf32>, tensor<24x8xf32>) -> tensor<1x24xf32>
  return %a, %b : tensor<1x32xf32>, tensor<1x24xf32>
}

// -----

// Not merged: another weight between the parts in the table, a bias, a
// first part that ends in a tail tile, different encodings, different
// inputs.
// CHECK-LABEL: func.func private @apart
// CHECK-NOT: +
// CHECK-COUNT-2: tfm.linear
// CHECK-LABEL: func.func private @bias
// CHECK-NOT: +
// CHECK-COUNT-2: tfm.linear
// CHECK-LABEL: func.func private @tail_first
// CHECK-NOT: +
// CHECK-COUNT-2: tfm.linear
// CHECK-LABEL: func.func private @encodings
// CHECK-NOT: +
// CHECK-COUNT-2: tfm.linear
// CHECK-LABEL: func.func private @inputs
// CHECK-NOT: +
// CHECK-COUNT-2: tfm.linear
func.func private @apart(%x: tensor<1x8xf32>) -> (tensor<1x16xf32>, tensor<1x16xf32>)
    attributes {tfm.weight_offsets = {"a.weight" = 0 : i64, "n.weight" = 512 : i64, "b.weight" = 576 : i64}} {
  %wa = tfm.weight "a.weight" : tensor<16x8xf32>
  %a = tfm.linear %x, %wa : (tensor<1x8xf32>, tensor<16x8xf32>) -> tensor<1x16xf32>
  %wb = tfm.weight "b.weight" : tensor<16x8xf32>
  %b = tfm.linear %x, %wb : (tensor<1x8xf32>, tensor<16x8xf32>) -> tensor<1x16xf32>
  return %a, %b : tensor<1x16xf32>, tensor<1x16xf32>
}
func.func private @bias(%x: tensor<1x8xf32>) -> (tensor<1x16xf32>, tensor<1x16xf32>)
    attributes {tfm.weight_offsets = {"a.weight" = 0 : i64, "a.bias" = 512 : i64, "b.weight" = 576 : i64}} {
  %wa = tfm.weight "a.weight" : tensor<16x8xf32>
  %ba = tfm.weight "a.bias" : tensor<16xf32>
  %a = tfm.linear %x, %wa, %ba : (tensor<1x8xf32>, tensor<16x8xf32>, tensor<16xf32>) -> tensor<1x16xf32>
  %wb = tfm.weight "b.weight" : tensor<16x8xf32>
  %b = tfm.linear %x, %wb : (tensor<1x8xf32>, tensor<16x8xf32>) -> tensor<1x16xf32>
  return %a, %b : tensor<1x16xf32>, tensor<1x16xf32>
}
func.func private @tail_first(%x: tensor<1x8xf32>) -> (tensor<1x24xf32>, tensor<1x16xf32>)
    attributes {tfm.weight_offsets = {"a.weight" = 0 : i64, "b.weight" = 768 : i64}} {
  %wa = tfm.weight "a.weight" packed 16 : tensor<24x8xf32>
  %a = tfm.linear %x, %wa : (tensor<1x8xf32>, tensor<24x8xf32>) -> tensor<1x24xf32>
  %wb = tfm.weight "b.weight" packed 16 : tensor<16x8xf32>
  %b = tfm.linear %x, %wb : (tensor<1x8xf32>, tensor<16x8xf32>) -> tensor<1x16xf32>
  return %a, %b : tensor<1x24xf32>, tensor<1x16xf32>
}
func.func private @encodings(%x: tensor<1x32xf32>) -> (tensor<1x16xf32>, tensor<1x16xf32>)
    attributes {tfm.weight_offsets = {"a.weight" = 0 : i64, "b.weight" = 576 : i64}} {
  %wa = tfm.weight "a.weight" encoding q8_0 : tensor<16x32xf32>
  %a = tfm.linear %x, %wa : (tensor<1x32xf32>, tensor<16x32xf32>) -> tensor<1x16xf32>
  %wb = tfm.weight "b.weight" : tensor<16x32xf32>
  %b = tfm.linear %x, %wb : (tensor<1x32xf32>, tensor<16x32xf32>) -> tensor<1x16xf32>
  return %a, %b : tensor<1x16xf32>, tensor<1x16xf32>
}
func.func private @inputs(%x: tensor<1x8xf32>, %z: tensor<1x8xf32>) -> (tensor<1x16xf32>, tensor<1x16xf32>)
    attributes {tfm.weight_offsets = {"a.weight" = 0 : i64, "b.weight" = 512 : i64}} {
  %wa = tfm.weight "a.weight" : tensor<16x8xf32>
  %a = tfm.linear %x, %wa : (tensor<1x8xf32>, tensor<16x8xf32>) -> tensor<1x16xf32>
  %wb = tfm.weight "b.weight" : tensor<16x8xf32>
  %b = tfm.linear %z, %wb : (tensor<1x8xf32>, tensor<16x8xf32>) -> tensor<1x16xf32>
  return %a, %b : tensor<1x16xf32>, tensor<1x16xf32>
}

// -----

// The decision is per name: the names merge in @decode_block but not in
// @prefill_block (whose K has another user), so they merge in neither.
// CHECK-LABEL: func.func private @decode_block
// CHECK-NOT: +
// CHECK-COUNT-2: tfm.linear
// CHECK-LABEL: func.func private @prefill_block
// CHECK-NOT: +
// CHECK-COUNT-2: tfm.linear
func.func private @decode_block(%x: tensor<1x8xf32>) -> (tensor<1x16xf32>, tensor<1x16xf32>)
    attributes {tfm.weight_offsets = {"q.weight" = 0 : i64, "k.weight" = 512 : i64}} {
  %wq = tfm.weight "q.weight" : tensor<16x8xf32>
  %q = tfm.linear %x, %wq : (tensor<1x8xf32>, tensor<16x8xf32>) -> tensor<1x16xf32>
  %wk = tfm.weight "k.weight" : tensor<16x8xf32>
  %k = tfm.linear %x, %wk : (tensor<1x8xf32>, tensor<16x8xf32>) -> tensor<1x16xf32>
  return %q, %k : tensor<1x16xf32>, tensor<1x16xf32>
}
func.func private @prefill_block(%x: tensor<?x8xf32>) -> (tensor<?x16xf32>, tensor<?x16xf32>, tensor<16x8xf32>)
    attributes {tfm.weight_offsets = {"q.weight" = 0 : i64, "k.weight" = 512 : i64}} {
  %wq = tfm.weight "q.weight" : tensor<16x8xf32>
  %q = tfm.linear %x, %wq : (tensor<?x8xf32>, tensor<16x8xf32>) -> tensor<?x16xf32>
  %wk = tfm.weight "k.weight" : tensor<16x8xf32>
  %k = tfm.linear %x, %wk : (tensor<?x8xf32>, tensor<16x8xf32>) -> tensor<?x16xf32>
  return %q, %k, %wk : tensor<?x16xf32>, tensor<?x16xf32>, tensor<16x8xf32>
}
