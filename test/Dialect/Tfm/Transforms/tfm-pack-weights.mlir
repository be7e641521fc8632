// RUN: tfm-opt %s --tfm-pack-weights=tile=16 --split-input-file | FileCheck %s
// RUN: tfm-opt %s --tfm-pack-weights=tile=8 --split-input-file | FileCheck %s --check-prefix=AVX2

// Weights that only feed linear layers (and embedding lookups of a tied
// head) are stored in [N/P][K][P] column tiles; the decision is per name.

// CHECK-LABEL: func @linear
// CHECK: tfm.weight "layers.{i}.wq.weight" packed 16 : tensor<32x8xf32>
// CHECK: tfm.weight "layers.{i}.w2.weight" packed 16 : tensor<16x8xf32>
// AVX2-LABEL: func @linear
// AVX2: tfm.weight "layers.{i}.wq.weight" packed 8 : tensor<32x8xf32>
// AVX2: tfm.weight "layers.{i}.w2.weight" packed 8 : tensor<16x8xf32>
func.func @linear(%x: tensor<?x8xf32>) -> (tensor<?x32xf32>, tensor<?x16xf32>) {
  %w = tfm.weight "layers.{i}.wq.weight" : tensor<32x8xf32>
  %y = tfm.linear %x, %w : (tensor<?x8xf32>, tensor<32x8xf32>) -> tensor<?x32xf32>
  %w2 = tfm.weight "layers.{i}.w2.weight" : tensor<16x8xf32>
  %b = tfm.weight "layers.{i}.w2.bias" : tensor<16xf32>
  %z = tfm.linear %x, %w2, %b : (tensor<?x8xf32>, tensor<16x8xf32>, tensor<16xf32>) -> tensor<?x16xf32>
  return %y, %z : tensor<?x32xf32>, tensor<?x16xf32>
}

// -----

// A tied LM head: the embedding reads the same weight, from the tiles.
// CHECK-LABEL: func @tied_head
// CHECK: tfm.weight "tok_embeddings.weight" packed 16 : tensor<64x8xf32>
// CHECK: tfm.weight "tok_embeddings.weight" packed 16 : tensor<64x8xf32>
func.func @tied_head(%ids: tensor<?xi32>, %h: tensor<?x8xf32>) -> (tensor<?x8xf32>, tensor<?x64xf32>) {
  %t = tfm.weight "tok_embeddings.weight" : tensor<64x8xf32>
  %x = tfm.embedding %t, %ids : (tensor<64x8xf32>, tensor<?xi32>) -> tensor<?x8xf32>
  %t2 = tfm.weight "tok_embeddings.weight" : tensor<64x8xf32>
  %l = tfm.lm_head %h, %t2 : (tensor<?x8xf32>, tensor<64x8xf32>) -> tensor<?x64xf32>
  return %x, %l : tensor<?x8xf32>, tensor<?x64xf32>
}

// -----

// Not packed: an embedding table that feeds no linear layer, a bias. A row
// count the tile does not divide is packed (40 = 2 x 16 + a tail of 8).
// CHECK-LABEL: func @unpacked
// CHECK: tfm.weight "tok_embeddings.weight" : tensor<64x8xf32>
// CHECK: tfm.weight "output.weight" packed 16 : tensor<40x8xf32>
// CHECK: tfm.weight "b" : tensor<16xf32>
// AVX2-LABEL: func @unpacked
// AVX2: tfm.weight "tok_embeddings.weight" : tensor<64x8xf32>
// AVX2: tfm.weight "output.weight" packed 8 : tensor<40x8xf32>
func.func @unpacked(%ids: tensor<?xi32>, %h: tensor<?x8xf32>) -> (tensor<?x8xf32>, tensor<?x40xf32>) {
  %t = tfm.weight "tok_embeddings.weight" : tensor<64x8xf32>
  %x = tfm.embedding %t, %ids : (tensor<64x8xf32>, tensor<?xi32>) -> tensor<?x8xf32>
  %w = tfm.weight "output.weight" : tensor<40x8xf32>
  %l = tfm.lm_head %h, %w : (tensor<?x8xf32>, tensor<40x8xf32>) -> tensor<?x40xf32>
  %b = tfm.weight "b" : tensor<16xf32>
  return %x, %l : tensor<?x8xf32>, tensor<?x40xf32>
}

// -----

// One op of the name has another use: no op of the name is packed, even in
// another function.
// CHECK-LABEL: func @other_use
// CHECK: tfm.weight "layers.{i}.wo.weight" : tensor<16x16xf32>
// CHECK-LABEL: func @other_use_elsewhere
// CHECK: tfm.weight "layers.{i}.wo.weight" : tensor<16x16xf32>
func.func @other_use(%x: tensor<?x16xf32>) -> tensor<?x16xf32> {
  %w = tfm.weight "layers.{i}.wo.weight" : tensor<16x16xf32>
  %y = tfm.linear %x, %w : (tensor<?x16xf32>, tensor<16x16xf32>) -> tensor<?x16xf32>
  return %y : tensor<?x16xf32>
}
func.func @other_use_elsewhere() -> tensor<16x16xf32> {
  %w = tfm.weight "layers.{i}.wo.weight" : tensor<16x16xf32>
  return %w : tensor<16x16xf32>
}
