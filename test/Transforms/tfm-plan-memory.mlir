// RUN: tfm-opt %s --split-input-file --pass-pipeline='builtin.module(func.func(tfm-plan-memory{print=1}))' | FileCheck %s

// A chain a -> b -> c: `a` is dead once `b` is written, so `c` reuses its
// bytes; `b` is live with both and sits above them. Positions count the
// ops of the entry block from 0.

// CHECK-LABEL: memory plan of @chain (dynamic sizes at context length 0, alignment 64)
// CHECK-NEXT:  buffer    type                   bytes   first    last        offset
// CHECK-NEXT:  %alloc    memref<16xf32>            64       1       3             0
// CHECK-NEXT:  %alloc_0  memref<16xf32>            64       3       5            64
// CHECK-NEXT:  %alloc_1  memref<16xf32>            64       5       6             0
// CHECK-NEXT:  arena: 128 bytes in 1 allocation; naive sum: 192 bytes in 3 allocations

// CHECK-LABEL: func.func @chain
// CHECK: %[[ARENA:.*]] = memref.alloc() {alignment = 64 : i64} : memref<128xi8>
// CHECK: %[[C0:.*]] = arith.constant 0 : index
// CHECK: %[[A:.*]] = memref.view %[[ARENA]][%[[C0]]][] : memref<128xi8> to memref<16xf32>
// CHECK: %[[C64:.*]] = arith.constant 64 : index
// CHECK: %[[B:.*]] = memref.view %[[ARENA]][%[[C64]]][] : memref<128xi8> to memref<16xf32>
// CHECK: linalg.copy ins(%[[A]] {{.*}} outs(%[[B]]
// CHECK: %[[C:.*]] = memref.view %[[ARENA]][%{{.*}}][] : memref<128xi8> to memref<16xf32>
// CHECK-NOT: memref.dealloc %[[A]]
// CHECK-NOT: memref.dealloc %[[B]]
// CHECK-NOT: memref.dealloc %[[C]]
// CHECK: memref.dealloc %[[ARENA]]
// CHECK-NEXT: return
func.func @chain(%in: memref<16xf32>, %out: memref<16xf32>) {
  %a = memref.alloc() {alignment = 64 : i64} : memref<16xf32>
  linalg.copy ins(%in : memref<16xf32>) outs(%a : memref<16xf32>)
  %b = memref.alloc() {alignment = 64 : i64} : memref<16xf32>
  linalg.copy ins(%a : memref<16xf32>) outs(%b : memref<16xf32>)
  %c = memref.alloc() {alignment = 64 : i64} : memref<16xf32>
  linalg.copy ins(%b : memref<16xf32>) outs(%c : memref<16xf32>)
  linalg.copy ins(%c : memref<16xf32>) outs(%out : memref<16xf32>)
  memref.dealloc %a : memref<16xf32>
  memref.dealloc %b : memref<16xf32>
  memref.dealloc %c : memref<16xf32>
  return
}

// -----

// A use through an alias (a transposed view, read last at op 7) keeps the
// buffer live, so nothing reuses its bytes; %alloc_0 and %alloc_1 meet at
// op 6 (the copy from one to the other), so they do not share either.
// Offsets are multiples of the alignment (40 bytes take 64).

// CHECK-LABEL: memory plan of @alias
// CHECK:  %alloc    memref<2x5xf32>            40       1       7             0
// CHECK:  %alloc_0  memref<2x5xf32>            40       4       6            64
// CHECK:  %alloc_1  memref<2x5xf32>            40       6       6           128
// CHECK:  arena: 192 bytes
func.func @alias(%in: memref<2x5xf32>, %out: memref<5x2xf32>) {
  %a = memref.alloc() : memref<2x5xf32>
  linalg.copy ins(%in : memref<2x5xf32>) outs(%a : memref<2x5xf32>)
  %t = memref.transpose %a (d0, d1) -> (d1, d0) : memref<2x5xf32> to memref<5x2xf32, strided<[1, 5]>>
  %b = memref.alloc() : memref<2x5xf32>
  linalg.copy ins(%in : memref<2x5xf32>) outs(%b : memref<2x5xf32>)
  %c = memref.alloc() : memref<2x5xf32>
  linalg.copy ins(%b : memref<2x5xf32>) outs(%c : memref<2x5xf32>)
  linalg.copy ins(%t : memref<5x2xf32, strided<[1, 5]>>) outs(%out : memref<5x2xf32>)
  memref.dealloc %a : memref<2x5xf32>
  memref.dealloc %b : memref<2x5xf32>
  memref.dealloc %c : memref<2x5xf32>
  return
}

// -----

// Dynamic sizes (the token count) are bounded by tfm.context_length, and
// checked at run time.

// CHECK-LABEL: memory plan of @dynamic (dynamic sizes at context length 8, alignment 64)
// CHECK:  %alloc    memref<?x4xf32>           128       3       5             0
// CHECK:  %alloc_0  memref<?x4xf32>           128       5       6           128
// CHECK:  arena: 256 bytes

// CHECK-LABEL: func.func @dynamic
// CHECK: %[[ARENA:.*]] = memref.alloc() {alignment = 64 : i64} : memref<256xi8>
// CHECK: %[[N:.*]] = memref.dim
// CHECK: %[[BOUND:.*]] = arith.constant 8 : index
// CHECK: %[[OK:.*]] = arith.cmpi ule, %[[N]], %[[BOUND]]
// CHECK: cf.assert %[[OK]]
// CHECK: memref.view %[[ARENA]][%{{.*}}][%[[N]]] : memref<256xi8> to memref<?x4xf32>
// CHECK: memref.view %[[ARENA]][%{{.*}}][%[[N]]] : memref<256xi8> to memref<?x4xf32>
func.func @dynamic(%in: memref<?x4xf32>, %out: memref<?x4xf32>) attributes {tfm.context_length = 8 : i64} {
  %c0 = arith.constant 0 : index
  %n = memref.dim %in, %c0 : memref<?x4xf32>
  %a = memref.alloc(%n) : memref<?x4xf32>
  linalg.copy ins(%in : memref<?x4xf32>) outs(%a : memref<?x4xf32>)
  %b = memref.alloc(%n) : memref<?x4xf32>
  linalg.copy ins(%a : memref<?x4xf32>) outs(%b : memref<?x4xf32>)
  linalg.copy ins(%b : memref<?x4xf32>) outs(%out : memref<?x4xf32>)
  memref.dealloc %a : memref<?x4xf32>
  memref.dealloc %b : memref<?x4xf32>
  return
}

// -----

// With tfm.max_tokens, a dimension of an argument (the token count T) is
// bounded by it, any other dynamic size (the cached length pos + T) by
// tfm.context_length; each gets its own run-time check.

// CHECK-LABEL: memory plan of @chunk (tokens at most 4, other dynamic sizes at context length 32, alignment 64)
// CHECK:  %alloc    memref<?x4xf32>      64
// CHECK:  %alloc_0  memref<?x?xf32>     512
// CHECK:  arena: 576 bytes

// CHECK-LABEL: func.func @chunk
// CHECK: %[[T:.*]] = memref.dim
// CHECK: %[[TOKENS:.*]] = arith.constant 4 : index
// CHECK: arith.cmpi ule, %[[T]], %[[TOKENS]]
// CHECK: %[[S:.*]] = arith.addi
// CHECK: %[[CONTEXT:.*]] = arith.constant 32 : index
// CHECK: arith.cmpi ule, %[[S]], %[[CONTEXT]]
func.func @chunk(%in: memref<?x4xf32>, %pos: index, %out: memref<?x4xf32>) attributes {tfm.context_length = 32 : i64, tfm.max_tokens = 4 : i64} {
  %c0 = arith.constant 0 : index
  %zero = arith.constant 0.0 : f32
  %t = memref.dim %in, %c0 : memref<?x4xf32>
  %s = arith.addi %pos, %t : index
  %a = memref.alloc(%t) : memref<?x4xf32>
  linalg.copy ins(%in : memref<?x4xf32>) outs(%a : memref<?x4xf32>)
  %scores = memref.alloc(%t, %s) : memref<?x?xf32>
  linalg.fill ins(%zero : f32) outs(%scores : memref<?x?xf32>)
  linalg.copy ins(%a : memref<?x4xf32>) outs(%out : memref<?x4xf32>)
  memref.dealloc %a : memref<?x4xf32>
  memref.dealloc %scores : memref<?x?xf32>
  return
}

// -----

// Left alone: a returned buffer, and a dynamic one without a bound.

// CHECK-LABEL: memory plan of @not_planned
// CHECK: not planned: %alloc: escapes the function
// CHECK: not planned: %alloc_0: dynamic size and no context length to bound it
// CHECK: arena: none (nothing to plan)
// CHECK-LABEL: func.func @not_planned
// CHECK-NOT: memref.view
// CHECK: return
func.func @not_planned(%in: memref<4xf32>, %n: index) -> memref<4xf32> {
  %a = memref.alloc() : memref<4xf32>
  linalg.copy ins(%in : memref<4xf32>) outs(%a : memref<4xf32>)
  %b = memref.alloc(%n) : memref<?xf32>
  memref.dealloc %b : memref<?xf32>
  return %a : memref<4xf32>
}
