// RUN: tfm-opt %s -split-input-file -verify-diagnostics

// One case per verifier rule of TfmOps.cpp and per ODS constraint worth
// showing. dialects/docs/RationaleTfm.md names the case of each rule.

//===----------------------------------------------------------------------===//
// tfm.weight
//===----------------------------------------------------------------------===//

func.func @weight_empty_name() {
  // expected-error @+1 {{'tfm.weight' op needs a non-empty weight name}}
  %w = tfm.weight "" : tensor<4xf32>
  return
}

// -----

func.func @weight_dynamic_shape() {
  // expected-error @+1 {{'tfm.weight' op result #0 must be statically shaped tensor}}
  %w = tfm.weight "w" : tensor<?x4xf32>
  return
}

// -----

func.func @weight_packed_rank() {
  // expected-error @+1 {{'tfm.weight' op packs 2-D weights only, got rank 1}}
  %w = tfm.weight "w" packed 4 : tensor<8xf32>
  return
}

// -----

func.func @weight_packed_tile() {
  // expected-error @+1 {{'tfm.weight' op tile must be at least 1, got 0}}
  %w = tfm.weight "w" packed 0 : tensor<24x8xf32>
  return
}

// -----

func.func @weight_quads_f16() {
  // expected-error @+1 {{'tfm.weight' op quads needs packed tiles of int8 values in groups of 4 per block}}
  %w = tfm.weight "w" encoding f16 packed 8 quads : tensor<24x32xf32>
  return
}

// -----

func.func @weight_quads_unpacked() {
  // expected-error @+1 {{'tfm.weight' op quads needs packed tiles of int8 values in groups of 4 per block}}
  %w = tfm.weight "w" encoding q8_0 quads : tensor<24x32xf32>
  return
}

//===----------------------------------------------------------------------===//
// tfm.embedding
//===----------------------------------------------------------------------===//

// -----

func.func @embedding_ids_not_i32(%t: tensor<512x64xf32>, %ids: tensor<?xi64>) {
  // expected-error @+1 {{'tfm.embedding' op operand #1 must be 1D tensor of 32-bit signless integer values}}
  %x = tfm.embedding %t, %ids : (tensor<512x64xf32>, tensor<?xi64>) -> tensor<?x64xf32>
  return
}

// -----

func.func @embedding_rows_vs_ids(%t: tensor<512x64xf32>, %ids: tensor<3xi32>) {
  // expected-error @+1 {{'tfm.embedding' op result dimension 0 (4) must equal ids dimension 0 (3)}}
  %x = tfm.embedding %t, %ids : (tensor<512x64xf32>, tensor<3xi32>) -> tensor<4x64xf32>
  return
}

// -----

func.func @embedding_width_vs_table(%t: tensor<512x64xf32>, %ids: tensor<?xi32>) {
  // expected-error @+1 {{'tfm.embedding' op result dimension 1 (32) must equal table dimension 1 (64)}}
  %x = tfm.embedding %t, %ids : (tensor<512x64xf32>, tensor<?xi32>) -> tensor<?x32xf32>
  return
}

//===----------------------------------------------------------------------===//
// tfm.positional
//===----------------------------------------------------------------------===//

// -----

func.func @positional_result_shape(%x: tensor<?x64xf32>, %pos: index) {
  // expected-error @+1 {{'tfm.positional' op result shape must equal the input shape}}
  %y = tfm.positional sinusoidal %x, %pos : (tensor<?x64xf32>, index) -> tensor<?x32xf32>
  return
}

// -----

func.func @positional_learned_without_table(%x: tensor<?x64xf32>, %pos: index) {
  // expected-error @+1 {{'tfm.positional' op learned positions need a position table}}
  %y = tfm.positional learned %x, %pos : (tensor<?x64xf32>, index) -> tensor<?x64xf32>
  return
}

// -----

func.func @positional_learned_table_width(%x: tensor<?x64xf32>, %pos: index, %table: tensor<128x32xf32>) {
  // expected-error @+1 {{'tfm.positional' op table dimension 1 (32) must equal input dimension 1 (64)}}
  %y = tfm.positional learned %x, %pos, %table : (tensor<?x64xf32>, index, tensor<128x32xf32>) -> tensor<?x64xf32>
  return
}

// -----

func.func @positional_sinusoidal_with_table(%x: tensor<?x64xf32>, %pos: index, %table: tensor<128x64xf32>) {
  // expected-error @+1 {{'tfm.positional' op sinusoidal positions take no table}}
  %y = tfm.positional sinusoidal %x, %pos, %table : (tensor<?x64xf32>, index, tensor<128x64xf32>) -> tensor<?x64xf32>
  return
}

// -----

func.func @positional_sinusoidal_odd(%x: tensor<?x63xf32>, %pos: index) {
  // expected-error @+1 {{'tfm.positional' op sinusoidal positions need an even model dimension, got 63}}
  %y = tfm.positional sinusoidal %x, %pos : (tensor<?x63xf32>, index) -> tensor<?x63xf32>
  return
}

// -----

func.func @positional_sinusoidal_dynamic_width(%x: tensor<?x?xf32>, %pos: index) {
  // expected-error @+1 {{'tfm.positional' op needs a static model dimension}}
  %y = tfm.positional sinusoidal %x, %pos : (tensor<?x?xf32>, index) -> tensor<?x?xf32>
  return
}

//===----------------------------------------------------------------------===//
// tfm.rope
//===----------------------------------------------------------------------===//

// -----

func.func @rope_odd_head_dim(%q: tensor<8x?x7xf32>, %pos: index) {
  // expected-error @+1 {{'tfm.rope' op rotates pairs, so the head dimension must be even, got 7}}
  %r = tfm.rope %q, %pos {theta = 10000.0 : f32, style = #tfm<rope_style interleaved>} : tensor<8x?x7xf32>
  return
}

// -----

func.func @rope_dynamic_head_dim(%q: tensor<8x?x?xf32>, %pos: index) {
  // expected-error @+1 {{'tfm.rope' op needs a static head dimension}}
  %r = tfm.rope %q, %pos {theta = 10000.0 : f32, style = #tfm<rope_style half>} : tensor<8x?x?xf32>
  return
}

// -----

func.func @rope_rank(%q: tensor<?x64xf32>, %pos: index) {
  // expected-error @+1 {{'tfm.rope' op operand #0 must be 3D tensor of 32-bit float values}}
  %r = "tfm.rope"(%q, %pos) {theta = 10000.0 : f32, style = #tfm<rope_style half>} : (tensor<?x64xf32>, index) -> tensor<?x64xf32>
  return
}

// -----

func.func @rope_style_unknown(%q: tensor<8x?x8xf32>, %pos: index) {
  // expected-error @+2 {{expected ::mlir::tfm::RopeStyle to be one of: interleaved, half}}
  // expected-error @+1 {{failed to parse Tfm_RopeStyleAttr parameter 'value'}}
  %r = tfm.rope %q, %pos {theta = 10000.0 : f32, style = #tfm<rope_style neox>} : tensor<8x?x8xf32>
  return
}

//===----------------------------------------------------------------------===//
// tfm.layer_norm and tfm.rms_norm
//===----------------------------------------------------------------------===//

// -----

func.func @layer_norm_weight_size(%x: tensor<?x64xf32>, %w: tensor<32xf32>, %b: tensor<64xf32>) {
  // expected-error @+1 {{'tfm.layer_norm' op weight dimension 0 (32) must equal input dimension 1 (64)}}
  %y = tfm.layer_norm %x, %w, %b {eps = 1.0e-05 : f32} : (tensor<?x64xf32>, tensor<32xf32>, tensor<64xf32>) -> tensor<?x64xf32>
  return
}

// -----

func.func @layer_norm_bias_size(%x: tensor<?x64xf32>, %w: tensor<64xf32>, %b: tensor<65xf32>) {
  // expected-error @+1 {{'tfm.layer_norm' op bias dimension 0 (65) must equal input dimension 1 (64)}}
  %y = tfm.layer_norm %x, %w, %b {eps = 1.0e-05 : f32} : (tensor<?x64xf32>, tensor<64xf32>, tensor<65xf32>) -> tensor<?x64xf32>
  return
}

// -----

func.func @layer_norm_result_shape(%x: tensor<?x64xf32>, %w: tensor<64xf32>, %b: tensor<64xf32>) {
  // expected-error @+1 {{'tfm.layer_norm' op result shape must equal the input shape}}
  %y = tfm.layer_norm %x, %w, %b {eps = 1.0e-05 : f32} : (tensor<?x64xf32>, tensor<64xf32>, tensor<64xf32>) -> tensor<?x128xf32>
  return
}

// -----

func.func @layer_norm_dynamic_width(%x: tensor<?x?xf32>, %w: tensor<?xf32>, %b: tensor<?xf32>) {
  // expected-error @+1 {{'tfm.layer_norm' op needs a static model dimension}}
  %y = tfm.layer_norm %x, %w, %b {eps = 1.0e-05 : f32} : (tensor<?x?xf32>, tensor<?xf32>, tensor<?xf32>) -> tensor<?x?xf32>
  return
}

// -----

func.func @rms_norm_weight_size(%x: tensor<?x64xf32>, %w: tensor<128xf32>) {
  // expected-error @+1 {{'tfm.rms_norm' op weight dimension 0 (128) must equal input dimension 1 (64)}}
  %y = tfm.rms_norm %x, %w {eps = 1.0e-05 : f32} : (tensor<?x64xf32>, tensor<128xf32>) -> tensor<?x64xf32>
  return
}

// -----

func.func @rms_norm_result_shape(%x: tensor<4x64xf32>, %w: tensor<64xf32>) {
  // expected-error @+1 {{'tfm.rms_norm' op result shape must equal the input shape}}
  %y = tfm.rms_norm %x, %w {eps = 1.0e-05 : f32} : (tensor<4x64xf32>, tensor<64xf32>) -> tensor<5x64xf32>
  return
}

// -----

func.func @rms_norm_dynamic_width(%x: tensor<?x?xf32>, %w: tensor<?xf32>) {
  // expected-error @+1 {{'tfm.rms_norm' op needs a static model dimension}}
  %y = tfm.rms_norm %x, %w {eps = 1.0e-05 : f32} : (tensor<?x?xf32>, tensor<?xf32>) -> tensor<?x?xf32>
  return
}

// -----

func.func @rms_norm_missing_eps(%x: tensor<?x64xf32>, %w: tensor<64xf32>) {
  // expected-error @+1 {{'tfm.rms_norm' op requires attribute 'eps'}}
  %y = tfm.rms_norm %x, %w : (tensor<?x64xf32>, tensor<64xf32>) -> tensor<?x64xf32>
  return
}

//===----------------------------------------------------------------------===//
// tfm.linear and tfm.lm_head
//===----------------------------------------------------------------------===//

// -----

func.func @linear_inner_dim(%x: tensor<?x64xf32>, %w: tensor<128x32xf32>) {
  // expected-error @+1 {{'tfm.linear' op weight dimension 1 (32) must equal input dimension 1 (64)}}
  %y = tfm.linear %x, %w : (tensor<?x64xf32>, tensor<128x32xf32>) -> tensor<?x128xf32>
  return
}

// -----

func.func @linear_result_rows(%x: tensor<4x64xf32>, %w: tensor<128x64xf32>) {
  // expected-error @+1 {{'tfm.linear' op result dimension 0 (5) must equal input dimension 0 (4)}}
  %y = tfm.linear %x, %w : (tensor<4x64xf32>, tensor<128x64xf32>) -> tensor<5x128xf32>
  return
}

// -----

func.func @linear_result_width(%x: tensor<?x64xf32>, %w: tensor<128x64xf32>) {
  // expected-error @+1 {{'tfm.linear' op result dimension 1 (64) must equal weight dimension 0 (128)}}
  %y = tfm.linear %x, %w : (tensor<?x64xf32>, tensor<128x64xf32>) -> tensor<?x64xf32>
  return
}

// -----

func.func @linear_bias_size(%x: tensor<?x64xf32>, %w: tensor<128x64xf32>, %b: tensor<64xf32>) {
  // expected-error @+1 {{'tfm.linear' op bias dimension 0 (64) must equal weight dimension 0 (128)}}
  %y = tfm.linear %x, %w, %b : (tensor<?x64xf32>, tensor<128x64xf32>, tensor<64xf32>) -> tensor<?x128xf32>
  return
}

// -----

func.func @linear_f16(%x: tensor<?x64xf16>, %w: tensor<128x64xf16>) {
  // expected-error @+1 {{'tfm.linear' op operand #0 must be 2D tensor of 32-bit float values}}
  %y = tfm.linear %x, %w : (tensor<?x64xf16>, tensor<128x64xf16>) -> tensor<?x128xf16>
  return
}

// -----

func.func @lm_head_inner_dim(%x: tensor<?x64xf32>, %w: tensor<512x32xf32>) {
  // expected-error @+1 {{'tfm.lm_head' op weight dimension 1 (32) must equal input dimension 1 (64)}}
  %l = tfm.lm_head %x, %w : (tensor<?x64xf32>, tensor<512x32xf32>) -> tensor<?x512xf32>
  return
}

// -----

func.func @lm_head_result_rows(%x: tensor<1x64xf32>, %w: tensor<512x64xf32>) {
  // expected-error @+1 {{'tfm.lm_head' op result dimension 0 (2) must equal input dimension 0 (1)}}
  %l = tfm.lm_head %x, %w : (tensor<1x64xf32>, tensor<512x64xf32>) -> tensor<2x512xf32>
  return
}

// -----

func.func @lm_head_vocab(%x: tensor<?x64xf32>, %w: tensor<512x64xf32>) {
  // expected-error @+1 {{'tfm.lm_head' op result dimension 1 (500) must equal weight dimension 0 (512)}}
  %l = tfm.lm_head %x, %w : (tensor<?x64xf32>, tensor<512x64xf32>) -> tensor<?x500xf32>
  return
}

//===----------------------------------------------------------------------===//
// tfm.matmul
//===----------------------------------------------------------------------===//

// -----

// kv heads (3) do not divide query heads (8).
func.func @matmul_batch_not_dividing(%q: tensor<8x?x8xf32>, %k: tensor<3x?x8xf32>) {
  // expected-error @+1 {{'tfm.matmul' op rhs batch (3) must divide lhs batch (8)}}
  %s = tfm.matmul %q, %k {transpose_rhs} : (tensor<8x?x8xf32>, tensor<3x?x8xf32>) -> tensor<8x?x?xf32>
  return
}

// -----

func.func @matmul_zero_batch(%q: tensor<8x?x8xf32>, %k: tensor<0x?x8xf32>) {
  // expected-error @+1 {{'tfm.matmul' op rhs batch (0) must divide lhs batch (8)}}
  %s = tfm.matmul %q, %k {transpose_rhs} : (tensor<8x?x8xf32>, tensor<0x?x8xf32>) -> tensor<8x?x?xf32>
  return
}

// -----

func.func @matmul_inner_dims(%p: tensor<8x4x4xf32>, %v: tensor<8x5x8xf32>) {
  // expected-error @+1 {{'tfm.matmul' op lhs dimension 2 (4) must equal rhs dimension 1 (5)}}
  %o = tfm.matmul %p, %v : (tensor<8x4x4xf32>, tensor<8x5x8xf32>) -> tensor<8x4x8xf32>
  return
}

// -----

func.func @matmul_inner_dims_transposed(%q: tensor<8x?x8xf32>, %k: tensor<8x?x16xf32>) {
  // expected-error @+1 {{'tfm.matmul' op lhs dimension 2 (8) must equal rhs dimension 2 (16)}}
  %s = tfm.matmul %q, %k {transpose_rhs} : (tensor<8x?x8xf32>, tensor<8x?x16xf32>) -> tensor<8x?x?xf32>
  return
}

// -----

func.func @matmul_result_batch(%q: tensor<8x?x8xf32>, %k: tensor<4x?x8xf32>) {
  // expected-error @+1 {{'tfm.matmul' op result dimension 0 (4) must equal lhs dimension 0 (8)}}
  %s = tfm.matmul %q, %k {transpose_rhs} : (tensor<8x?x8xf32>, tensor<4x?x8xf32>) -> tensor<4x?x?xf32>
  return
}

// -----

func.func @matmul_result_rows(%q: tensor<8x3x8xf32>, %k: tensor<8x?x8xf32>) {
  // expected-error @+1 {{'tfm.matmul' op result dimension 1 (4) must equal lhs dimension 1 (3)}}
  %s = tfm.matmul %q, %k {transpose_rhs} : (tensor<8x3x8xf32>, tensor<8x?x8xf32>) -> tensor<8x4x?xf32>
  return
}

// -----

func.func @matmul_result_cols(%p: tensor<8x?x?xf32>, %v: tensor<8x?x8xf32>) {
  // expected-error @+1 {{'tfm.matmul' op result dimension 2 (16) must equal rhs dimension 2 (8)}}
  %o = tfm.matmul %p, %v : (tensor<8x?x?xf32>, tensor<8x?x8xf32>) -> tensor<8x?x16xf32>
  return
}

//===----------------------------------------------------------------------===//
// Elementwise ops: ODS type constraints
//===----------------------------------------------------------------------===//

// -----

func.func @scale_type_mismatch(%x: tensor<8x?x?xf32>) {
  // expected-error @+2 {{'tfm.scale' op inferred type(s) 'tensor<8x?x?xf32>' are incompatible with return type(s) of operation 'tensor<8x4x4xf32>'}}
  // expected-error @+1 {{'tfm.scale' op failed to infer returned types}}
  %y = "tfm.scale"(%x) {factor = 0.5 : f32} : (tensor<8x?x?xf32>) -> tensor<8x4x4xf32>
  return
}

// -----

func.func @causal_mask_type_mismatch(%s: tensor<8x?x?xf32>, %pos: index) {
  // expected-error @+1 {{'tfm.causal_mask' op failed to verify that all of {input, result} have same type}}
  %m = "tfm.causal_mask"(%s, %pos) : (tensor<8x?x?xf32>, index) -> tensor<4x?x?xf32>
  return
}

// -----

func.func @alibi_rank(%s: tensor<?x?xf32>, %pos: index) {
  // expected-error @+1 {{'tfm.alibi' op operand #0 must be 3D tensor of 32-bit float values}}
  %b = tfm.alibi %s, %pos : tensor<?x?xf32>
  return
}

// -----

func.func @softmax_scalar(%x: tensor<f32>) {
  // expected-error @+1 {{'tfm.softmax' op operand #0 must be 1D/2D/3D/4D tensor of 32-bit float values}}
  %p = tfm.softmax %x : tensor<f32>
  return
}

// -----

func.func @relu_unranked(%x: tensor<*xf32>) {
  // expected-error @+1 {{'tfm.relu' op operand #0 must be ranked tensor of 32-bit float values}}
  %y = "tfm.relu"(%x) : (tensor<*xf32>) -> tensor<*xf32>
  return
}

// -----

func.func @silu_integer(%x: tensor<?x4xi32>) {
  // expected-error @+1 {{'tfm.silu' op operand #0 must be ranked tensor of 32-bit float values}}
  %y = tfm.silu %x : tensor<?x4xi32>
  return
}

// -----

func.func @gelu_missing_approximation(%x: tensor<?x4xf32>) {
  // expected-error @+1 {{'tfm.gelu' op requires attribute 'approximation'}}
  %y = tfm.gelu %x : tensor<?x4xf32>
  return
}

// -----

func.func @add_type_mismatch(%a: tensor<?x64xf32>, %b: tensor<?x32xf32>) {
  // expected-error @+1 {{'tfm.add' op requires the same type for all operands and results}}
  %y = "tfm.add"(%a, %b) : (tensor<?x64xf32>, tensor<?x32xf32>) -> tensor<?x64xf32>
  return
}

// -----

func.func @mul_type_mismatch(%a: tensor<?x172xf32>, %b: tensor<?x172xf32>) {
  // expected-error @+1 {{'tfm.mul' op requires the same type for all operands and results}}
  %y = "tfm.mul"(%a, %b) : (tensor<?x172xf32>, tensor<?x172xf32>) -> tensor<?x171xf32>
  return
}

//===----------------------------------------------------------------------===//
// tfm.split_heads and tfm.merge_heads
//===----------------------------------------------------------------------===//

// -----

// 6 heads of 8 do not make a width of 64: heads do not divide the width.
func.func @split_heads_width(%x: tensor<?x64xf32>) {
  // expected-error @+1 {{'tfm.split_heads' op heads (6) x head dim (8) must equal the input width (64)}}
  %q = tfm.split_heads %x : (tensor<?x64xf32>) -> tensor<6x?x8xf32>
  return
}

// -----

func.func @split_heads_tokens(%x: tensor<4x64xf32>) {
  // expected-error @+1 {{'tfm.split_heads' op result dimension 1 (5) must equal input dimension 0 (4)}}
  %q = tfm.split_heads %x : (tensor<4x64xf32>) -> tensor<8x5x8xf32>
  return
}

// -----

func.func @split_heads_dynamic(%x: tensor<?x64xf32>) {
  // expected-error @+1 {{'tfm.split_heads' op needs static model, head and head-dim sizes}}
  %q = tfm.split_heads %x : (tensor<?x64xf32>) -> tensor<?x?x8xf32>
  return
}

// -----

func.func @merge_heads_width(%o: tensor<8x?x8xf32>) {
  // expected-error @+1 {{'tfm.merge_heads' op heads (8) x head dim (8) must equal the result width (32)}}
  %x = tfm.merge_heads %o : (tensor<8x?x8xf32>) -> tensor<?x32xf32>
  return
}

// -----

func.func @merge_heads_tokens(%o: tensor<8x2x8xf32>) {
  // expected-error @+1 {{'tfm.merge_heads' op result dimension 0 (3) must equal input dimension 1 (2)}}
  %x = tfm.merge_heads %o : (tensor<8x2x8xf32>) -> tensor<3x64xf32>
  return
}

// -----

func.func @merge_heads_dynamic(%o: tensor<8x?x8xf32>) {
  // expected-error @+1 {{'tfm.merge_heads' op needs static model, head and head-dim sizes}}
  %x = tfm.merge_heads %o : (tensor<8x?x8xf32>) -> tensor<?x?xf32>
  return
}

//===----------------------------------------------------------------------===//
// tfm.kv_cache_append and tfm.kv_cache_read
//===----------------------------------------------------------------------===//

// -----

func.func @cache_dim0_not_2(%k: tensor<4x?x8xf32>, %cache: memref<1x4x512x8xf32>, %pos: index) {
  // expected-error @+1 {{'tfm.kv_cache_append' op cache dimension 0 must be 2 (keys and values)}}
  tfm.kv_cache_append %k into %cache[key] at %pos : tensor<4x?x8xf32>, memref<1x4x512x8xf32>
  return
}

// -----

func.func @cache_kv_heads(%k: tensor<8x?x8xf32>, %cache: memref<2x4x512x8xf32>, %pos: index) {
  // expected-error @+1 {{'tfm.kv_cache_append' op tensor dimension 0 (8) must equal cache dimension 1 (4)}}
  tfm.kv_cache_append %k into %cache[key] at %pos : tensor<8x?x8xf32>, memref<2x4x512x8xf32>
  return
}

// -----

func.func @cache_head_dim(%cache: memref<2x4x512x8xf32>, %len: index) {
  // expected-error @+1 {{'tfm.kv_cache_read' op tensor dimension 2 (16) must equal cache dimension 3 (8)}}
  %v = tfm.kv_cache_read %cache[value], %len : memref<2x4x512x8xf32> -> tensor<4x?x16xf32>
  return
}

// -----

func.func @cache_dynamic_heads(%k: tensor<4x?x8xf32>, %cache: memref<2x?x512x8xf32>, %pos: index) {
  // expected-error @+1 {{'tfm.kv_cache_append' op needs a static number of key/value heads in the cache}}
  tfm.kv_cache_append %k into %cache[key] at %pos : tensor<4x?x8xf32>, memref<2x?x512x8xf32>
  return
}

// -----

func.func @cache_dynamic_head_dim(%cache: memref<2x4x512x?xf32>, %len: index) {
  // expected-error @+1 {{'tfm.kv_cache_read' op needs a static head dimension in the cache}}
  %v = tfm.kv_cache_read %cache[value], %len : memref<2x4x512x?xf32> -> tensor<4x?x8xf32>
  return
}

// -----

func.func @cache_rank(%k: tensor<4x?x8xf32>, %cache: memref<5x2x4x512x8xf32>, %pos: index) {
  // expected-error @+1 {{'tfm.kv_cache_append' op operand #1 must be 4D memref of 32-bit float values}}
  tfm.kv_cache_append %k into %cache[key] at %pos : tensor<4x?x8xf32>, memref<5x2x4x512x8xf32>
  return
}

// -----

func.func @cache_kind_unknown(%cache: memref<2x4x512x8xf32>, %len: index) {
  // expected-error @+2 {{expected ::mlir::tfm::CacheKind to be one of: key, value}}
  // expected-error @+1 {{failed to parse Tfm_CacheKindAttr parameter 'value'}}
  %v = tfm.kv_cache_read %cache[query], %len : memref<2x4x512x8xf32> -> tensor<4x?x8xf32>
  return
}

//===----------------------------------------------------------------------===//
// tfm.fused_attention
//===----------------------------------------------------------------------===//

// -----

func.func @fused_attention_kv_not_dividing(%q: tensor<8x?x8xf32>, %k: tensor<3x?x8xf32>, %v: tensor<3x?x8xf32>, %pos: index) {
  // expected-error @+1 {{'tfm.fused_attention' op key/value heads (3) must divide query heads (8)}}
  %o = tfm.fused_attention %q, %k, %v, %pos {scale = 0.35 : f32, causal} : (tensor<8x?x8xf32>, tensor<3x?x8xf32>, tensor<3x?x8xf32>, index) -> tensor<8x?x8xf32>
  return
}

// -----

func.func @fused_attention_result_type(%q: tensor<8x?x8xf32>, %k: tensor<8x?x8xf32>, %v: tensor<8x?x8xf32>, %pos: index) {
  // expected-error @+1 {{'tfm.fused_attention' op result type must equal the query type}}
  %o = tfm.fused_attention %q, %k, %v, %pos {scale = 0.35 : f32} : (tensor<8x?x8xf32>, tensor<8x?x8xf32>, tensor<8x?x8xf32>, index) -> tensor<8x4x8xf32>
  return
}

// -----

func.func @fused_attention_kv_types(%q: tensor<8x?x8xf32>, %k: tensor<4x?x8xf32>, %v: tensor<2x?x8xf32>, %pos: index) {
  // expected-error @+1 {{'tfm.fused_attention' op key and value types must be equal}}
  %o = tfm.fused_attention %q, %k, %v, %pos {scale = 0.35 : f32} : (tensor<8x?x8xf32>, tensor<4x?x8xf32>, tensor<2x?x8xf32>, index) -> tensor<8x?x8xf32>
  return
}

// -----

func.func @fused_attention_head_dim(%q: tensor<8x?x8xf32>, %k: tensor<4x?x16xf32>, %v: tensor<4x?x16xf32>, %pos: index) {
  // expected-error @+1 {{'tfm.fused_attention' op key dimension 2 (16) must equal query dimension 2 (8)}}
  %o = tfm.fused_attention %q, %k, %v, %pos {scale = 0.35 : f32} : (tensor<8x?x8xf32>, tensor<4x?x16xf32>, tensor<4x?x16xf32>, index) -> tensor<8x?x8xf32>
  return
}

// -----

func.func @fused_attention_missing_scale(%q: tensor<8x?x8xf32>, %k: tensor<8x?x8xf32>, %v: tensor<8x?x8xf32>, %pos: index) {
  // expected-error @+1 {{'tfm.fused_attention' op requires attribute 'scale'}}
  %o = tfm.fused_attention %q, %k, %v, %pos {causal} : (tensor<8x?x8xf32>, tensor<8x?x8xf32>, tensor<8x?x8xf32>, index) -> tensor<8x?x8xf32>
  return
}

// -----

func.func @weight_q8_0_blocks() {
  // expected-error @+1 {{stores q8_0 blocks of 32 along the rows of a 2-D weight, got 'tensor<8x48xf32>'}}
  %w = tfm.weight "w" encoding q8_0 : tensor<8x48xf32>
  return
}

// -----

func.func @weight_q8_0_rank() {
  // expected-error @+1 {{stores q8_0 blocks of 32 along the rows of a 2-D weight}}
  %w = tfm.weight "w" encoding q8_0 : tensor<64xf32>
  return
}
