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

// -----

// With quads (integer dot products in every linear layer), packed weights
// of int8 values are stored in lanes of 4 k: q8_0 and q4_K here; not f16
// values, not a table an embedding reads, and the LM head's only with
// quad-head.
// RUN: tfm-opt %s --tfm-pack-weights="tile=8 quads=true" --split-input-file | FileCheck %s --check-prefix=QUADS
// RUN: tfm-opt %s --tfm-pack-weights="tile=8 quads=true quad-head=true" --split-input-file | FileCheck %s --check-prefix=HEAD
// QUADS-LABEL: func @quads
// QUADS: tfm.weight "layers.{i}.wq.weight" encoding q8_0 packed 8 quads : tensor<32x64xf32>
// QUADS: tfm.weight "layers.{i}.w2.weight" encoding q4_K packed 8 quads : tensor<16x256xf32>
// QUADS: tfm.weight "layers.{i}.wv.weight" encoding f16 packed 8 : tensor<16x64xf32>
// QUADS: tfm.weight "tok_embeddings.weight" encoding q8_0 packed 8 : tensor<64x64xf32>
// QUADS: tfm.weight "output.weight" encoding q8_0 packed 8 : tensor<40x64xf32>
// HEAD-LABEL: func @quads
// HEAD: tfm.weight "tok_embeddings.weight" encoding q8_0 packed 8 : tensor<64x64xf32>
// HEAD: tfm.weight "output.weight" encoding q8_0 packed 8 quads : tensor<40x64xf32>
func.func @quads(%ids: tensor<?xi32>, %x: tensor<?x64xf32>, %x2: tensor<?x256xf32>) -> (tensor<?x32xf32>, tensor<?x16xf32>, tensor<?x16xf32>, tensor<?x64xf32>, tensor<?x64xf32>, tensor<?x40xf32>) {
  %w = tfm.weight "layers.{i}.wq.weight" encoding q8_0 : tensor<32x64xf32>
  %y = tfm.linear %x, %w : (tensor<?x64xf32>, tensor<32x64xf32>) -> tensor<?x32xf32>
  %w2 = tfm.weight "layers.{i}.w2.weight" encoding q4_K : tensor<16x256xf32>
  %z = tfm.linear %x2, %w2 : (tensor<?x256xf32>, tensor<16x256xf32>) -> tensor<?x16xf32>
  %wv = tfm.weight "layers.{i}.wv.weight" encoding f16 : tensor<16x64xf32>
  %v = tfm.linear %x, %wv : (tensor<?x64xf32>, tensor<16x64xf32>) -> tensor<?x16xf32>
  %t = tfm.weight "tok_embeddings.weight" encoding q8_0 : tensor<64x64xf32>
  %e = tfm.embedding %t, %ids : (tensor<64x64xf32>, tensor<?xi32>) -> tensor<?x64xf32>
  %t2 = tfm.weight "tok_embeddings.weight" encoding q8_0 : tensor<64x64xf32>
  %l = tfm.lm_head %x, %t2 : (tensor<?x64xf32>, tensor<64x64xf32>) -> tensor<?x64xf32>
  %o = tfm.weight "output.weight" encoding q8_0 : tensor<40x64xf32>
  %l2 = tfm.lm_head %x, %o : (tensor<?x64xf32>, tensor<40x64xf32>) -> tensor<?x40xf32>
  return %y, %z, %v, %e, %l, %l2 : tensor<?x32xf32>, tensor<?x16xf32>, tensor<?x16xf32>, tensor<?x64xf32>, tensor<?x64xf32>, tensor<?x40xf32>
}
