// RUN: tfm-opt %s --tfm-to-linalg | FileCheck %s

// Weights, embeddings, positions, RoPE, head split/merge and the KV cache.

// CHECK-DAG: #[[ID2:.*]] = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-DAG: #[[ROW:.*]] = affine_map<(d0, d1) -> (d0)>
// CHECK-DAG: #[[ID3:.*]] = affine_map<(d0, d1, d2) -> (d0, d1, d2)>

module attributes {tfm.weight_offsets = {"norm.weight" = 0 : i64, "wq.weight" = 256 : i64}} {

// A weight is a view of the blob argument at its recorded byte offset: no
// copy and no dense attribute.
// CHECK-LABEL: func @weight
// CHECK-SAME: (%[[BLOB:.*]]: memref<4352xi8> {tfm.weights})
// CHECK: %[[O0:.*]] = arith.constant 0 : index
// CHECK: %[[V0:.*]] = memref.view %[[BLOB]][%[[O0]]][] : memref<4352xi8> to memref<64xf32>
// CHECK: %[[T0:.*]] = bufferization.to_tensor %[[V0]] restrict : memref<64xf32>
// CHECK: %[[O1:.*]] = arith.constant 256 : index
// CHECK: %[[V1:.*]] = memref.view %[[BLOB]][%[[O1]]][] : memref<4352xi8> to memref<16x64xf32>
// CHECK: %[[T1:.*]] = bufferization.to_tensor %[[V1]] restrict : memref<16x64xf32>
// CHECK: return %[[T0]], %[[T1]]
// CHECK-NOT: dense<
func.func @weight(%blob: memref<4352xi8> {tfm.weights}) -> (tensor<64xf32>, tensor<16x64xf32>) {
  %a = tfm.weight "norm.weight" : tensor<64xf32>
  %b = tfm.weight "wq.weight" : tensor<16x64xf32>
  return %a, %b : tensor<64xf32>, tensor<16x64xf32>
}

// A block function has its own table: offsets of its layer's weights,
// named by template, relative to its weights argument (one layer's part of
// the blob). It is found before the module's ("norm.weight" is at 0 there).
// CHECK-LABEL: func @block_weight
// CHECK-SAME: (%[[LW:.*]]: memref<1024xi8> {tfm.weights})
// CHECK: %[[O:.*]] = arith.constant 512 : index
// CHECK: memref.view %[[LW]][%[[O]]][] : memref<1024xi8> to memref<64xf32>
// CHECK: %[[O2:.*]] = arith.constant 768 : index
// CHECK: memref.view %[[LW]][%[[O2]]][] : memref<1024xi8> to memref<64xf32>
func.func @block_weight(%layer: memref<1024xi8> {tfm.weights}) -> (tensor<64xf32>, tensor<64xf32>)
    attributes {tfm.weight_offsets = {"layers.{i}.attn_norm.weight" = 512 : i64, "norm.weight" = 768 : i64}} {
  %a = tfm.weight "layers.{i}.attn_norm.weight" : tensor<64xf32>
  %b = tfm.weight "norm.weight" : tensor<64xf32>
  return %a, %b : tensor<64xf32>, tensor<64xf32>
}

// result[t, d] = table[ids[t], d]: the ids are read through a row map and
// the table row is extracted with the index cast of the id.
// CHECK-LABEL: func @embedding
// CHECK-SAME: (%[[TAB:.*]]: tensor<512x64xf32>, %[[IDS:.*]]: tensor<?xi32>)
// CHECK: linalg.generic {indexing_maps = [#[[ROW]], #[[ID2]]], iterator_types = ["parallel", "parallel"]} ins(%[[IDS]] : tensor<?xi32>)
// CHECK: ^bb0(%[[ID:.*]]: i32, %{{.*}}: f32):
// CHECK: %[[I:.*]] = arith.index_cast %[[ID]] : i32 to index
// CHECK: %[[LO:.*]] = arith.maxsi %[[I]], %{{.*}} : index
// CHECK: %[[R:.*]] = arith.minsi %[[LO]], %{{.*}} : index
// CHECK: %[[C:.*]] = linalg.index 1 : index
// CHECK: tensor.extract %[[TAB]][%[[R]], %[[C]]] : tensor<512x64xf32>
func.func @embedding(%t: tensor<512x64xf32>, %ids: tensor<?xi32>) -> tensor<?x64xf32> {
  %x = tfm.embedding %t, %ids : (tensor<512x64xf32>, tensor<?xi32>) -> tensor<?x64xf32>
  return %x : tensor<?x64xf32>
}

// Sinusoidal: a [context, D] table of sin for even, cos for odd columns of
// p / 10000^(2i/D), computed at compile time; row min(pos + t, context - 1)
// is added. No libm call is left.
// CHECK-LABEL: func @positional_sinusoidal
// CHECK: %[[TABLE:.*]] = arith.constant dense<{{.*}}> : tensor<16x64xf32>
// CHECK: linalg.generic {indexing_maps = [#[[ID2]], #[[ID2]]], iterator_types = ["parallel", "parallel"]}
// CHECK: %[[T:.*]] = linalg.index 0 : index
// CHECK: %[[P:.*]] = arith.addi %{{.*}}, %[[T]] : index
// CHECK: %[[ROW:.*]] = arith.minsi %[[P]], %{{.*}} : index
// CHECK: %[[D:.*]] = linalg.index 1 : index
// CHECK: tensor.extract %[[TABLE]][%[[ROW]], %[[D]]] : tensor<16x64xf32>
// CHECK: arith.addf
// CHECK-NOT: math.
func.func @positional_sinusoidal(%x: tensor<?x64xf32>, %pos: index) -> tensor<?x64xf32> attributes {tfm.context_length = 16 : i64} {
  %y = tfm.positional sinusoidal %x, %pos : (tensor<?x64xf32>, index) -> tensor<?x64xf32>
  return %y : tensor<?x64xf32>
}

// Learned: adds row pos + t of the table.
// CHECK-LABEL: func @positional_learned
// CHECK-SAME: (%[[X:.*]]: tensor<?x64xf32>, %[[P:.*]]: index, %[[TAB:.*]]: tensor<128x64xf32>)
// CHECK: linalg.generic {indexing_maps = [#[[ID2]], #[[ID2]]], iterator_types = ["parallel", "parallel"]} ins(%[[X]] : tensor<?x64xf32>)
// CHECK: %[[T:.*]] = linalg.index 0 : index
// CHECK: %[[ROWP:.*]] = arith.addi %[[P]], %[[T]] : index
// CHECK: %[[D:.*]] = linalg.index 1 : index
// CHECK: tensor.extract %[[TAB]][%[[ROWP]], %[[D]]] : tensor<128x64xf32>
// CHECK-NOT: math.sin
func.func @positional_learned(%x: tensor<?x64xf32>, %pos: index, %table: tensor<128x64xf32>) -> tensor<?x64xf32> {
  %y = tfm.positional learned %x, %pos, %table : (tensor<?x64xf32>, index, tensor<128x64xf32>) -> tensor<?x64xf32>
  return %y : tensor<?x64xf32>
}

// Interleaved RoPE: the partner of element i is i + 1 for even i, i - 1 for
// odd i (pairs (2j, 2j+1)); cos and sin of (pos + t) * theta^(-2j/hd) come
// from [context, hd/2] tables computed at compile time (row 1, pair 0: cos 1
// and sin 1).
// CHECK-LABEL: func @rope_interleaved
// CHECK-SAME: (%[[Q:.*]]: tensor<8x?x8xf32>, %[[P:.*]]: index)
// CHECK-DAG: %[[COS:.*]] = arith.constant dense<{{\[}}[1.000000e+00, 1.000000e+00, 1.000000e+00, 1.000000e+00], [0.540302277, {{.*}}]]> : tensor<16x4xf32>
// CHECK-DAG: %[[SIN:.*]] = arith.constant dense<{{\[}}[0.000000e+00, 0.000000e+00, 0.000000e+00, 0.000000e+00], [0.841470957, {{.*}}]]> : tensor<16x4xf32>
// CHECK: linalg.generic {indexing_maps = [#[[ID3]], #[[ID3]]], iterator_types = ["parallel", "parallel", "parallel"]} ins(%[[Q]] : tensor<8x?x8xf32>)
// CHECK: %[[H:.*]] = linalg.index 0 : index
// CHECK: %[[T:.*]] = linalg.index 1 : index
// CHECK: %[[I:.*]] = linalg.index 2 : index
// CHECK: %[[TWO:.*]] = arith.constant 2 : index
// CHECK: arith.remui %[[I]], %[[TWO]] : index
// CHECK: %[[PAIR:.*]] = arith.divui %[[I]], %{{.*}} : index
// CHECK: %[[PARTNER:.*]] = arith.select
// CHECK: %[[PT:.*]] = arith.addi %[[P]], %[[T]] : index
// CHECK: %[[ROW:.*]] = arith.minsi %[[PT]], %{{.*}} : index
// CHECK: tensor.extract %[[COS]][%[[ROW]], %[[PAIR]]] : tensor<16x4xf32>
// CHECK: tensor.extract %[[SIN]][%[[ROW]], %[[PAIR]]] : tensor<16x4xf32>
// CHECK: tensor.extract %[[Q]][%[[H]], %[[T]], %[[PARTNER]]] : tensor<8x?x8xf32>
// CHECK-NOT: math.
func.func @rope_interleaved(%q: tensor<8x?x8xf32>, %pos: index) -> tensor<8x?x8xf32> attributes {tfm.context_length = 16 : i64} {
  %r = tfm.rope %q, %pos {theta = 10000.0 : f32, style = #tfm<rope_style interleaved>} : tensor<8x?x8xf32>
  return %r : tensor<8x?x8xf32>
}

// Half RoPE: elements below hd/2 = 8 come first in their pair, and the
// partner is i +- 8; pair j of element i is i mod 8.
// CHECK-LABEL: func @rope_half
// CHECK-DAG: arith.constant dense<{{.*}}> : tensor<32x8xf32>
// CHECK-DAG: arith.constant dense<{{.*}}> : tensor<32x8xf32>
// CHECK: %[[I:.*]] = linalg.index 2 : index
// CHECK: %[[HALF:.*]] = arith.constant 8 : index
// CHECK: arith.cmpi ult, %[[I]], %[[HALF]] : index
// CHECK: arith.remui %[[I]], %{{.*}} : index
// CHECK-NOT: linalg.generic
func.func @rope_half(%k: tensor<2x?x16xf32>, %pos: index) -> tensor<2x?x16xf32> attributes {tfm.context_length = 32 : i64} {
  %r = tfm.rope %k, %pos {theta = 500000.0 : f32, style = #tfm<rope_style half>} : tensor<2x?x16xf32>
  return %r : tensor<2x?x16xf32>
}

// [T, H*hd] -> expand to [T, H, hd] -> transpose to [H, T, hd].
// CHECK-LABEL: func @split_heads
// CHECK-SAME: (%[[X:.*]]: tensor<?x64xf32>)
// CHECK: %[[E:.*]] = tensor.expand_shape %[[X]] {{\[}}[0], [1, 2]] output_shape [%{{.*}}, 8, 8] : tensor<?x64xf32> into tensor<?x8x8xf32>
// CHECK: %[[R:.*]] = linalg.transpose ins(%[[E]] : tensor<?x8x8xf32>) outs(%{{.*}} : tensor<8x?x8xf32>) permutation = [1, 0, 2]
// CHECK: return %[[R]]
func.func @split_heads(%x: tensor<?x64xf32>) -> tensor<8x?x8xf32> {
  %q = tfm.split_heads %x : (tensor<?x64xf32>) -> tensor<8x?x8xf32>
  return %q : tensor<8x?x8xf32>
}

// One token (decode): [1, H*hd] and [H, 1, hd] have the same layout, so the
// heads move by reshaping, with no transpose (no copy).
// CHECK-LABEL: func @split_heads_one_token
// CHECK-SAME: (%[[X:.*]]: tensor<1x64xf32>)
// CHECK: %[[F:.*]] = tensor.collapse_shape %[[X]] {{\[}}[0, 1]] : tensor<1x64xf32> into tensor<64xf32>
// CHECK: %[[R:.*]] = tensor.expand_shape %[[F]] {{\[}}[0, 1, 2]] output_shape [8, 1, 8] : tensor<64xf32> into tensor<8x1x8xf32>
// CHECK-NOT: linalg.transpose
// CHECK: return %[[R]]
func.func @split_heads_one_token(%x: tensor<1x64xf32>) -> tensor<8x1x8xf32> {
  %q = tfm.split_heads %x : (tensor<1x64xf32>) -> tensor<8x1x8xf32>
  return %q : tensor<8x1x8xf32>
}

// CHECK-LABEL: func @merge_heads_one_token
// CHECK-SAME: (%[[O:.*]]: tensor<8x1x8xf32>)
// CHECK: %[[F:.*]] = tensor.collapse_shape %[[O]] {{\[}}[0, 1, 2]] : tensor<8x1x8xf32> into tensor<64xf32>
// CHECK: %[[R:.*]] = tensor.expand_shape %[[F]] {{\[}}[0, 1]] output_shape [1, 64] : tensor<64xf32> into tensor<1x64xf32>
// CHECK-NOT: linalg.transpose
// CHECK: return %[[R]]
func.func @merge_heads_one_token(%o: tensor<8x1x8xf32>) -> tensor<1x64xf32> {
  %x = tfm.merge_heads %o : (tensor<8x1x8xf32>) -> tensor<1x64xf32>
  return %x : tensor<1x64xf32>
}

// [H, T, hd] -> transpose to [T, H, hd] -> collapse to [T, H*hd].
// CHECK-LABEL: func @merge_heads
// CHECK-SAME: (%[[O:.*]]: tensor<8x?x8xf32>)
// CHECK: %[[TR:.*]] = linalg.transpose ins(%[[O]] : tensor<8x?x8xf32>) outs(%{{.*}} : tensor<?x8x8xf32>) permutation = [1, 0, 2]
// CHECK: %[[R:.*]] = tensor.collapse_shape %[[TR]] {{\[}}[0], [1, 2]] : tensor<?x8x8xf32> into tensor<?x64xf32>
// CHECK: return %[[R]]
func.func @merge_heads(%o: tensor<8x?x8xf32>) -> tensor<?x64xf32> {
  %x = tfm.merge_heads %o : (tensor<8x?x8xf32>) -> tensor<?x64xf32>
  return %x : tensor<?x64xf32>
}

// Append: the tensor is materialised into the [KV, T, hd] window at
// [kind, 0, pos, 0] of a layer's cache (value = 1), here a strided slice of
// the whole cache as the entry points pass it. Read: the window
// [kind, 0, 0, 0] of `length` positions, as a tensor.
// CHECK-LABEL: func @kv_cache
// CHECK-SAME: (%[[K:.*]]: tensor<4x?x8xf32>, %[[C:.*]]: memref<2x4x512x8xf32, strided<[16384, 4096, 8, 1], offset: ?>>, %[[P:.*]]: index, %[[L:.*]]: index)
// CHECK: %[[T:.*]] = tensor.dim %[[K]], %{{.*}} : tensor<4x?x8xf32>
// CHECK: %[[W:.*]] = memref.subview %[[C]][1, 0, %[[P]], 0] [1, 4, %[[T]], 8] [1, 1, 1, 1] : memref<2x4x512x8xf32, strided<[16384, 4096, 8, 1], offset: ?>> to memref<4x?x8xf32, strided<[4096, 8, 1], offset: ?>>
// CHECK: bufferization.materialize_in_destination %[[K]] in restrict writable %[[W]]
// CHECK: %[[R:.*]] = memref.subview %[[C]][0, 0, %{{.*}}, 0] [1, 4, %[[L]], 8] [1, 1, 1, 1]
// CHECK: %[[RT:.*]] = bufferization.to_tensor %[[R]] restrict
// CHECK: return %[[RT]]
func.func @kv_cache(%k: tensor<4x?x8xf32>, %cache: memref<2x4x512x8xf32, strided<[16384, 4096, 8, 1], offset: ?>>, %pos: index, %len: index) -> tensor<4x?x8xf32> {
  tfm.kv_cache_append %k into %cache[value] at %pos : tensor<4x?x8xf32>, memref<2x4x512x8xf32, strided<[16384, 4096, 8, 1], offset: ?>>
  %r = tfm.kv_cache_read %cache[key], %len : memref<2x4x512x8xf32, strided<[16384, 4096, 8, 1], offset: ?>> -> tensor<4x?x8xf32>
  return %r : tensor<4x?x8xf32>
}

// One new position (decode): the window is created first thing, before the
// value is computed, so that eliminate-empty-tensors can compute the value
// straight into the cache.
// CHECK-LABEL: func @kv_cache_append_one
// CHECK-SAME: (%[[X:.*]]: tensor<4x1x8xf32>, %[[C:.*]]: memref<2x4x512x8xf32>, %[[P:.*]]: index)
// CHECK-NEXT: %[[W:.*]] = memref.subview %[[C]][0, 0, %[[P]], 0] [1, 4, 1, 8] [1, 1, 1, 1] : memref<2x4x512x8xf32> to memref<4x1x8xf32, strided<[4096, 8, 1], offset: ?>>
// CHECK: %[[K:.*]] = linalg.generic
// CHECK: bufferization.materialize_in_destination %[[K]] in restrict writable %[[W]]
func.func @kv_cache_append_one(%x: tensor<4x1x8xf32>, %cache: memref<2x4x512x8xf32>, %pos: index) attributes {tfm.context_length = 512 : i64} {
  %k = tfm.rope %x, %pos {theta = 10000.0 : f32, style = #tfm<rope_style half>} : tensor<4x1x8xf32>
  tfm.kv_cache_append %k into %cache[key] at %pos : tensor<4x1x8xf32>, memref<2x4x512x8xf32>
  return
}

}
