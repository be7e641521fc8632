// RUN: tfm-opt %s | tfm-opt | FileCheck %s
// RUN: tfm-opt %s --mlir-print-op-generic | tfm-opt | FileCheck %s

// One function per op (and per variant) of TfmOps.td; each must print and
// parse back to the same thing.

// CHECK-LABEL: func @weight
// CHECK: tfm.weight "layers.0.wq.weight" : tensor<64x64xf32>
func.func @weight() -> tensor<64x64xf32> {
  %w = tfm.weight "layers.0.wq.weight" : tensor<64x64xf32>
  return %w : tensor<64x64xf32>
}

// CHECK-LABEL: func @weight_packed
// CHECK: tfm.weight "layers.{i}.w1.weight" packed 16 : tensor<32x8xf32>
func.func @weight_packed() -> tensor<32x8xf32> {
  %w = tfm.weight "layers.{i}.w1.weight" packed 16 : tensor<32x8xf32>
  return %w : tensor<32x8xf32>
}

// A tile need not divide the rows: the last 40 mod 16 rows are one tail tile.
// CHECK-LABEL: func @weight_q8_0
// CHECK: tfm.weight "layers.{i}.wq.weight" encoding q8_0 packed 16 : tensor<40x64xf32>
// CHECK: tfm.weight "tok_embeddings.weight" encoding q8_0 : tensor<40x32xf32>
func.func @weight_q8_0() -> (tensor<40x64xf32>, tensor<40x32xf32>) {
  %w = tfm.weight "layers.{i}.wq.weight" encoding q8_0 packed 16 : tensor<40x64xf32>
  %t = tfm.weight "tok_embeddings.weight" encoding q8_0 : tensor<40x32xf32>
  return %w, %t : tensor<40x64xf32>, tensor<40x32xf32>
}

// CHECK-LABEL: func @weight_packed_tail
// CHECK: tfm.weight "output.weight" packed 16 : tensor<40x8xf32>
func.func @weight_packed_tail() -> tensor<40x8xf32> {
  %w = tfm.weight "output.weight" packed 16 : tensor<40x8xf32>
  return %w : tensor<40x8xf32>
}

// CHECK-LABEL: func @embedding
// CHECK-SAME: (%[[T:.*]]: tensor<512x64xf32>, %[[IDS:.*]]: tensor<?xi32>)
// CHECK: tfm.embedding %[[T]], %[[IDS]] : (tensor<512x64xf32>, tensor<?xi32>) -> tensor<?x64xf32>
func.func @embedding(%t: tensor<512x64xf32>, %ids: tensor<?xi32>) -> tensor<?x64xf32> {
  %x = tfm.embedding %t, %ids : (tensor<512x64xf32>, tensor<?xi32>) -> tensor<?x64xf32>
  return %x : tensor<?x64xf32>
}

// CHECK-LABEL: func @embedding_decode
// CHECK: tfm.embedding %{{.*}}, %{{.*}} : (tensor<512x64xf32>, tensor<1xi32>) -> tensor<1x64xf32>
func.func @embedding_decode(%t: tensor<512x64xf32>, %ids: tensor<1xi32>) -> tensor<1x64xf32> {
  %x = tfm.embedding %t, %ids : (tensor<512x64xf32>, tensor<1xi32>) -> tensor<1x64xf32>
  return %x : tensor<1x64xf32>
}

// CHECK-LABEL: func @positional_sinusoidal
// CHECK-SAME: (%[[X:.*]]: tensor<?x64xf32>, %[[P:.*]]: index)
// CHECK: tfm.positional sinusoidal %[[X]], %[[P]] : (tensor<?x64xf32>, index) -> tensor<?x64xf32>
func.func @positional_sinusoidal(%x: tensor<?x64xf32>, %pos: index) -> tensor<?x64xf32> {
  %y = tfm.positional sinusoidal %x, %pos : (tensor<?x64xf32>, index) -> tensor<?x64xf32>
  return %y : tensor<?x64xf32>
}

// CHECK-LABEL: func @positional_learned
// CHECK-SAME: (%[[X:.*]]: tensor<?x64xf32>, %[[P:.*]]: index, %[[TAB:.*]]: tensor<128x64xf32>)
// CHECK: tfm.positional learned %[[X]], %[[P]], %[[TAB]] : (tensor<?x64xf32>, index, tensor<128x64xf32>) -> tensor<?x64xf32>
func.func @positional_learned(%x: tensor<?x64xf32>, %pos: index, %table: tensor<128x64xf32>) -> tensor<?x64xf32> {
  %y = tfm.positional learned %x, %pos, %table : (tensor<?x64xf32>, index, tensor<128x64xf32>) -> tensor<?x64xf32>
  return %y : tensor<?x64xf32>
}

// CHECK-LABEL: func @rope_interleaved
// CHECK: tfm.rope %{{.*}}, %{{.*}} {style = #tfm<rope_style interleaved>, theta = 1.000000e+04 : f32} : tensor<8x?x8xf32>
func.func @rope_interleaved(%q: tensor<8x?x8xf32>, %pos: index) -> tensor<8x?x8xf32> {
  %r = tfm.rope %q, %pos {theta = 10000.0 : f32, style = #tfm<rope_style interleaved>} : tensor<8x?x8xf32>
  return %r : tensor<8x?x8xf32>
}

// CHECK-LABEL: func @rope_half
// CHECK: tfm.rope %{{.*}}, %{{.*}} {style = #tfm<rope_style half>, theta = 5.000000e+05 : f32} : tensor<2x?x16xf32>
func.func @rope_half(%k: tensor<2x?x16xf32>, %pos: index) -> tensor<2x?x16xf32> {
  %r = tfm.rope %k, %pos {theta = 500000.0 : f32, style = #tfm<rope_style half>} : tensor<2x?x16xf32>
  return %r : tensor<2x?x16xf32>
}

// CHECK-LABEL: func @layer_norm
// CHECK-SAME: (%[[X:.*]]: tensor<?x64xf32>, %[[W:.*]]: tensor<64xf32>, %[[B:.*]]: tensor<64xf32>)
// CHECK: tfm.layer_norm %[[X]], %[[W]], %[[B]] {eps = 9.99999974E-6 : f32} : (tensor<?x64xf32>, tensor<64xf32>, tensor<64xf32>) -> tensor<?x64xf32>
func.func @layer_norm(%x: tensor<?x64xf32>, %w: tensor<64xf32>, %b: tensor<64xf32>) -> tensor<?x64xf32> {
  %y = tfm.layer_norm %x, %w, %b {eps = 1.0e-05 : f32} : (tensor<?x64xf32>, tensor<64xf32>, tensor<64xf32>) -> tensor<?x64xf32>
  return %y : tensor<?x64xf32>
}

// CHECK-LABEL: func @rms_norm
// CHECK-SAME: (%[[X:.*]]: tensor<?x64xf32>, %[[W:.*]]: tensor<64xf32>)
// CHECK: tfm.rms_norm %[[X]], %[[W]] {eps = 9.99999974E-6 : f32} : (tensor<?x64xf32>, tensor<64xf32>) -> tensor<?x64xf32>
func.func @rms_norm(%x: tensor<?x64xf32>, %w: tensor<64xf32>) -> tensor<?x64xf32> {
  %y = tfm.rms_norm %x, %w {eps = 1.0e-05 : f32} : (tensor<?x64xf32>, tensor<64xf32>) -> tensor<?x64xf32>
  return %y : tensor<?x64xf32>
}

// CHECK-LABEL: func @linear_bias
// CHECK-SAME: (%[[X:.*]]: tensor<?x64xf32>, %[[W:.*]]: tensor<128x64xf32>, %[[B:.*]]: tensor<128xf32>)
// CHECK: tfm.linear %[[X]], %[[W]], %[[B]] : (tensor<?x64xf32>, tensor<128x64xf32>, tensor<128xf32>) -> tensor<?x128xf32>
func.func @linear_bias(%x: tensor<?x64xf32>, %w: tensor<128x64xf32>, %b: tensor<128xf32>) -> tensor<?x128xf32> {
  %y = tfm.linear %x, %w, %b : (tensor<?x64xf32>, tensor<128x64xf32>, tensor<128xf32>) -> tensor<?x128xf32>
  return %y : tensor<?x128xf32>
}

// CHECK-LABEL: func @linear_no_bias
// CHECK-SAME: (%[[X:.*]]: tensor<?x64xf32>, %[[W:.*]]: tensor<128x64xf32>)
// CHECK: tfm.linear %[[X]], %[[W]] : (tensor<?x64xf32>, tensor<128x64xf32>) -> tensor<?x128xf32>
func.func @linear_no_bias(%x: tensor<?x64xf32>, %w: tensor<128x64xf32>) -> tensor<?x128xf32> {
  %y = tfm.linear %x, %w : (tensor<?x64xf32>, tensor<128x64xf32>) -> tensor<?x128xf32>
  return %y : tensor<?x128xf32>
}

// CHECK-LABEL: func @lm_head
// CHECK: tfm.lm_head %{{.*}}, %{{.*}} : (tensor<?x64xf32>, tensor<512x64xf32>) -> tensor<?x512xf32>
func.func @lm_head(%x: tensor<?x64xf32>, %emb: tensor<512x64xf32>) -> tensor<?x512xf32> {
  %l = tfm.lm_head %x, %emb : (tensor<?x64xf32>, tensor<512x64xf32>) -> tensor<?x512xf32>
  return %l : tensor<?x512xf32>
}

// CHECK-LABEL: func @matmul
// CHECK-NOT: transpose_rhs
// CHECK: tfm.matmul %{{.*}}, %{{.*}} : (tensor<8x?x?xf32>, tensor<8x?x8xf32>) -> tensor<8x?x8xf32>
func.func @matmul(%p: tensor<8x?x?xf32>, %v: tensor<8x?x8xf32>) -> tensor<8x?x8xf32> {
  %o = tfm.matmul %p, %v : (tensor<8x?x?xf32>, tensor<8x?x8xf32>) -> tensor<8x?x8xf32>
  return %o : tensor<8x?x8xf32>
}

// CHECK-LABEL: func @matmul_transpose_rhs
// CHECK: tfm.matmul %{{.*}}, %{{.*}} {transpose_rhs} : (tensor<8x?x8xf32>, tensor<8x?x8xf32>) -> tensor<8x?x?xf32>
func.func @matmul_transpose_rhs(%q: tensor<8x?x8xf32>, %k: tensor<8x?x8xf32>) -> tensor<8x?x?xf32> {
  %s = tfm.matmul %q, %k {transpose_rhs} : (tensor<8x?x8xf32>, tensor<8x?x8xf32>) -> tensor<8x?x?xf32>
  return %s : tensor<8x?x?xf32>
}

// Grouped-query attention: 4 key heads serve 8 query heads.
// CHECK-LABEL: func @matmul_gqa
// CHECK: tfm.matmul %{{.*}}, %{{.*}} {transpose_rhs} : (tensor<8x?x8xf32>, tensor<4x?x8xf32>) -> tensor<8x?x?xf32>
func.func @matmul_gqa(%q: tensor<8x?x8xf32>, %k: tensor<4x?x8xf32>) -> tensor<8x?x?xf32> {
  %s = tfm.matmul %q, %k {transpose_rhs} : (tensor<8x?x8xf32>, tensor<4x?x8xf32>) -> tensor<8x?x?xf32>
  return %s : tensor<8x?x?xf32>
}

// CHECK-LABEL: func @scale
// CHECK: tfm.scale %{{.*}} {factor = 0.353553385 : f32} : tensor<8x?x?xf32>
func.func @scale(%s: tensor<8x?x?xf32>) -> tensor<8x?x?xf32> {
  %y = tfm.scale %s {factor = 0.353553385 : f32} : tensor<8x?x?xf32>
  return %y : tensor<8x?x?xf32>
}

// CHECK-LABEL: func @causal_mask
// CHECK-SAME: (%[[S:.*]]: tensor<8x?x?xf32>, %[[P:.*]]: index)
// CHECK: tfm.causal_mask %[[S]], %[[P]] : tensor<8x?x?xf32>
func.func @causal_mask(%s: tensor<8x?x?xf32>, %pos: index) -> tensor<8x?x?xf32> {
  %m = tfm.causal_mask %s, %pos : tensor<8x?x?xf32>
  return %m : tensor<8x?x?xf32>
}

// CHECK-LABEL: func @alibi
// CHECK-SAME: (%[[S:.*]]: tensor<8x?x?xf32>, %[[P:.*]]: index)
// CHECK: tfm.alibi %[[S]], %[[P]] : tensor<8x?x?xf32>
func.func @alibi(%s: tensor<8x?x?xf32>, %pos: index) -> tensor<8x?x?xf32> {
  %b = tfm.alibi %s, %pos : tensor<8x?x?xf32>
  return %b : tensor<8x?x?xf32>
}

// CHECK-LABEL: func @softmax
// CHECK: tfm.softmax %{{.*}} : tensor<8x?x?xf32>
func.func @softmax(%s: tensor<8x?x?xf32>) -> tensor<8x?x?xf32> {
  %p = tfm.softmax %s : tensor<8x?x?xf32>
  return %p : tensor<8x?x?xf32>
}

// CHECK-LABEL: func @relu
// CHECK: tfm.relu %{{.*}} : tensor<?x256xf32>
func.func @relu(%x: tensor<?x256xf32>) -> tensor<?x256xf32> {
  %y = tfm.relu %x : tensor<?x256xf32>
  return %y : tensor<?x256xf32>
}

// CHECK-LABEL: func @silu
// CHECK: tfm.silu %{{.*}} : tensor<?x172xf32>
func.func @silu(%x: tensor<?x172xf32>) -> tensor<?x172xf32> {
  %y = tfm.silu %x : tensor<?x172xf32>
  return %y : tensor<?x172xf32>
}

// CHECK-LABEL: func @gelu_exact
// CHECK: tfm.gelu %{{.*}} {approximation = #tfm<gelu_approximation none>} : tensor<?x256xf32>
func.func @gelu_exact(%x: tensor<?x256xf32>) -> tensor<?x256xf32> {
  %y = tfm.gelu %x {approximation = #tfm<gelu_approximation none>} : tensor<?x256xf32>
  return %y : tensor<?x256xf32>
}

// CHECK-LABEL: func @gelu_tanh
// CHECK: tfm.gelu %{{.*}} {approximation = #tfm<gelu_approximation tanh>} : tensor<?x256xf32>
func.func @gelu_tanh(%x: tensor<?x256xf32>) -> tensor<?x256xf32> {
  %y = tfm.gelu %x {approximation = #tfm<gelu_approximation tanh>} : tensor<?x256xf32>
  return %y : tensor<?x256xf32>
}

// CHECK-LABEL: func @add
// CHECK-SAME: (%[[A:.*]]: tensor<?x64xf32>, %[[B:.*]]: tensor<?x64xf32>)
// CHECK: tfm.add %[[A]], %[[B]] : tensor<?x64xf32>
func.func @add(%a: tensor<?x64xf32>, %b: tensor<?x64xf32>) -> tensor<?x64xf32> {
  %y = tfm.add %a, %b : tensor<?x64xf32>
  return %y : tensor<?x64xf32>
}

// CHECK-LABEL: func @mul
// CHECK-SAME: (%[[A:.*]]: tensor<?x172xf32>, %[[B:.*]]: tensor<?x172xf32>)
// CHECK: tfm.mul %[[A]], %[[B]] : tensor<?x172xf32>
func.func @mul(%a: tensor<?x172xf32>, %b: tensor<?x172xf32>) -> tensor<?x172xf32> {
  %y = tfm.mul %a, %b : tensor<?x172xf32>
  return %y : tensor<?x172xf32>
}

// CHECK-LABEL: func @split_heads
// CHECK: tfm.split_heads %{{.*}} : (tensor<?x64xf32>) -> tensor<8x?x8xf32>
func.func @split_heads(%x: tensor<?x64xf32>) -> tensor<8x?x8xf32> {
  %q = tfm.split_heads %x : (tensor<?x64xf32>) -> tensor<8x?x8xf32>
  return %q : tensor<8x?x8xf32>
}

// CHECK-LABEL: func @merge_heads
// CHECK: tfm.merge_heads %{{.*}} : (tensor<8x?x8xf32>) -> tensor<?x64xf32>
func.func @merge_heads(%o: tensor<8x?x8xf32>) -> tensor<?x64xf32> {
  %x = tfm.merge_heads %o : (tensor<8x?x8xf32>) -> tensor<?x64xf32>
  return %x : tensor<?x64xf32>
}

// CHECK-LABEL: func @kv_cache_append
// CHECK-SAME: (%[[K:.*]]: tensor<4x?x8xf32>, %[[V:.*]]: tensor<4x?x8xf32>, %[[C:.*]]: memref<2x4x512x8xf32>, %[[P:.*]]: index)
// CHECK: tfm.kv_cache_append %[[K]] into %[[C]][ key] at %[[P]] : tensor<4x?x8xf32>, memref<2x4x512x8xf32>
// CHECK: tfm.kv_cache_append %[[V]] into %[[C]][ value] at %[[P]] : tensor<4x?x8xf32>, memref<2x4x512x8xf32>
func.func @kv_cache_append(%k: tensor<4x?x8xf32>, %v: tensor<4x?x8xf32>, %cache: memref<2x4x512x8xf32>, %pos: index) {
  tfm.kv_cache_append %k into %cache[key] at %pos : tensor<4x?x8xf32>, memref<2x4x512x8xf32>
  tfm.kv_cache_append %v into %cache[value] at %pos : tensor<4x?x8xf32>, memref<2x4x512x8xf32>
  return
}

// A layer's slice of the whole cache, as the entry points pass it.
// CHECK-LABEL: func @kv_cache_read
// CHECK-SAME: (%[[C:.*]]: memref<2x4x512x8xf32, strided<[16384, 4096, 8, 1], offset: ?>>, %[[L:.*]]: index)
// CHECK: tfm.kv_cache_read %[[C]][ key], %[[L]] : memref<2x4x512x8xf32, strided<[16384, 4096, 8, 1], offset: ?>> -> tensor<4x?x8xf32>
// CHECK: tfm.kv_cache_read %[[C]][ value], %[[L]] : memref<2x4x512x8xf32, strided<[16384, 4096, 8, 1], offset: ?>> -> tensor<4x?x8xf32>
func.func @kv_cache_read(%cache: memref<2x4x512x8xf32, strided<[16384, 4096, 8, 1], offset: ?>>, %len: index) -> (tensor<4x?x8xf32>, tensor<4x?x8xf32>) {
  %k = tfm.kv_cache_read %cache[key], %len : memref<2x4x512x8xf32, strided<[16384, 4096, 8, 1], offset: ?>> -> tensor<4x?x8xf32>
  %v = tfm.kv_cache_read %cache[value], %len : memref<2x4x512x8xf32, strided<[16384, 4096, 8, 1], offset: ?>> -> tensor<4x?x8xf32>
  return %k, %v : tensor<4x?x8xf32>, tensor<4x?x8xf32>
}

// CHECK-LABEL: func @fused_attention_causal
// CHECK-SAME: (%[[Q:.*]]: tensor<8x?x8xf32>, %[[K:.*]]: tensor<4x?x8xf32>, %[[V:.*]]: tensor<4x?x8xf32>, %[[P:.*]]: index)
// CHECK: tfm.fused_attention %[[Q]], %[[K]], %[[V]], %[[P]] {causal, scale = 0.353553385 : f32} : (tensor<8x?x8xf32>, tensor<4x?x8xf32>, tensor<4x?x8xf32>, index) -> tensor<8x?x8xf32>
func.func @fused_attention_causal(%q: tensor<8x?x8xf32>, %k: tensor<4x?x8xf32>, %v: tensor<4x?x8xf32>, %pos: index) -> tensor<8x?x8xf32> {
  %o = tfm.fused_attention %q, %k, %v, %pos {scale = 0.353553385 : f32, causal} : (tensor<8x?x8xf32>, tensor<4x?x8xf32>, tensor<4x?x8xf32>, index) -> tensor<8x?x8xf32>
  return %o : tensor<8x?x8xf32>
}

// CHECK-LABEL: func @fused_attention_alibi
// CHECK: tfm.fused_attention {{.*}} {alibi, causal, scale = 1.250000e-01 : f32}
func.func @fused_attention_alibi(%q: tensor<4x?x64xf32>, %k: tensor<4x?x64xf32>, %v: tensor<4x?x64xf32>, %pos: index) -> tensor<4x?x64xf32> {
  %o = tfm.fused_attention %q, %k, %v, %pos {scale = 0.125 : f32, causal, alibi} : (tensor<4x?x64xf32>, tensor<4x?x64xf32>, tensor<4x?x64xf32>, index) -> tensor<4x?x64xf32>
  return %o : tensor<4x?x64xf32>
}

// Non-causal, and decode (one query token against S cached keys).
// CHECK-LABEL: func @fused_attention_plain_decode
// CHECK: tfm.fused_attention {{.*}} {scale = 1.250000e-01 : f32} : (tensor<8x1x64xf32>, tensor<1x?x64xf32>, tensor<1x?x64xf32>, index) -> tensor<8x1x64xf32>
func.func @fused_attention_plain_decode(%q: tensor<8x1x64xf32>, %k: tensor<1x?x64xf32>, %v: tensor<1x?x64xf32>, %pos: index) -> tensor<8x1x64xf32> {
  %o = tfm.fused_attention %q, %k, %v, %pos {scale = 0.125 : f32} : (tensor<8x1x64xf32>, tensor<1x?x64xf32>, tensor<1x?x64xf32>, index) -> tensor<8x1x64xf32>
  return %o : tensor<8x1x64xf32>
}
