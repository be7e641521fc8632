// RUN: tfm-opt %s --pass-pipeline='builtin.module(func.func(tfm-vectorize-elementwise))' | FileCheck %s

// The buffer-level shapes of a Llama block's elementwise work after
// bufferization: each op becomes a loop over rows (and chunks of a wide row)
// around 1-D vector code; contractions and fills are left for the kernel
// passes and convert-linalg-to-loops.

#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>
#col = affine_map<(d0, d1) -> (d1)>
#id3 = affine_map<(d0, d1, d2) -> (d0, d1, d2)>

// RMSNorm's sum of squares: one row at a time, one vector of the whole row,
// a reassociating reduction (a tree of adds, not 288 dependent ones).
// CHECK-LABEL: func.func @rms_sum
// CHECK: %[[T:.*]] = memref.dim %arg0, %c0
// CHECK: scf.for %[[I:.*]] = %c0 to %[[T]] step %c1 {
// CHECK: %[[ROW:.*]] = memref.subview %arg0[%[[I]], 0] [1, 288] [1, 1]
// CHECK: %[[X:.*]] = vector.transfer_read %[[ROW]]{{.*}} vector<288xf32>
// CHECK: %[[SQ:.*]] = arith.mulf %[[X]], %[[X]] : vector<288xf32>
// CHECK: vector.reduction <add>, %[[SQ]], %{{.*}} fastmath<reassoc> : vector<288xf32> into f32
// CHECK: vector.transfer_write
// CHECK-NOT: linalg.generic
func.func @rms_sum(%x: memref<?x288xf32>, %s: memref<?xf32>) {
  linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]}
      ins(%x : memref<?x288xf32>) outs(%s : memref<?xf32>) {
  ^bb0(%in: f32, %out: f32):
    %sq = arith.mulf %in, %in : f32
    %acc = arith.addf %out, %sq : f32
    linalg.yield %acc : f32
  }
  return
}

// The in-place scaling of the hidden state: read and written through the
// same row of the same buffer, the per-row scale broadcast, the weight row
// read whole.
// CHECK-LABEL: func.func @norm_scale_in_place
// CHECK: scf.for %[[I:.*]] =
// CHECK-DAG: %[[X:.*]] = memref.subview %arg0[%[[I]], 0] [1, 288] [1, 1]
// CHECK-DAG: %[[S:.*]] = memref.load
// CHECK-DAG: vector.broadcast %[[S]] : f32 to vector<288xf32>
// CHECK: vector.transfer_write %{{.*}}, %{{.*}} : vector<288xf32>, memref<1x288xf32, strided<[288, 1], offset: ?>>
// CHECK-NOT: linalg.generic
func.func @norm_scale_in_place(%x: memref<?x288xf32>, %s: memref<?xf32>, %w: memref<288xf32>) {
  linalg.generic {indexing_maps = [#id, #row, #col, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x, %s, %w : memref<?x288xf32>, memref<?xf32>, memref<288xf32>) outs(%x : memref<?x288xf32>) {
  ^bb0(%in: f32, %ss: f32, %ww: f32, %out: f32):
    %m = arith.mulf %in, %ss : f32
    %y = arith.mulf %m, %ww : f32
    linalg.yield %y : f32
  }
  return
}

// A row wider than 512 goes in chunks of 512 that divide it (1536 = 3 x
// 512), exp stays a math op on vectors (tfm-approximate-math makes it a
// polynomial later).
// CHECK-LABEL: func.func @swiglu
// CHECK: scf.for %[[I:.*]] = %c0 to %{{.*}} step %c1 {
// CHECK: scf.for %[[J:.*]] = %c0 to %c1536 step %c512 {
// CHECK: memref.subview %arg0[%[[I]], %[[J]]] [1, 512] [1, 1]
// CHECK: math.exp %{{.*}} : vector<512xf32>
// CHECK: vector.transfer_write %{{.*}} : vector<512xf32>
// CHECK-NOT: linalg.generic
func.func @swiglu(%a: memref<?x1536xf32, strided<[1536, 1]>>, %b: memref<?x1536xf32, strided<[1536, 1], offset: 768>>, %o: memref<?x1536xf32>) {
  %one = arith.constant 1.0 : f32
  linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%a, %b : memref<?x1536xf32, strided<[1536, 1]>>, memref<?x1536xf32, strided<[1536, 1], offset: 768>>) outs(%o : memref<?x1536xf32>) {
  ^bb0(%in: f32, %in2: f32, %out: f32):
    %neg = arith.negf %in : f32
    %ex = math.exp %neg : f32
    %den = arith.addf %ex, %one : f32
    %sig = arith.divf %one, %den : f32
    %s = arith.mulf %in, %sig : f32
    %m = arith.mulf %s, %in2 : f32
    linalg.yield %m : f32
  }
  return
}

// The split into heads: one head_dim vector per (head, row).
// CHECK-LABEL: func.func @heads
// CHECK: scf.for %[[H:.*]] = %c0 to %c6 step %c1 {
// CHECK: scf.for %[[T:.*]] = %c0 to %{{.*}} step %c1 {
// CHECK: memref.subview %arg0[%[[T]], %[[H]], 0] [1, 1, 48]
// CHECK: memref.subview %arg1[%[[H]], %[[T]], 0] [1, 1, 48]
// CHECK: vector.transfer_read {{.*}} vector<48xf32>
// CHECK: vector.transfer_write {{.*}} vector<48xf32>
// CHECK-NOT: linalg.transpose
func.func @heads(%x: memref<?x6x48xf32>, %o: memref<6x?x48xf32>) {
  linalg.transpose ins(%x : memref<?x6x48xf32>) outs(%o : memref<6x?x48xf32>) permutation = [1, 0, 2]
  return
}

// A body that loads by computed index (rotary embeddings' tables) is
// refused by the vectorizer: it stays a scalar generic per tile, its
// linalg.index offset by the tile's position.
// CHECK-LABEL: func.func @table_by_index
// CHECK: scf.for %[[H:.*]] =
// CHECK: scf.for %[[T:.*]] =
// CHECK: linalg.generic
// CHECK: linalg.index 1
// CHECK: affine.apply #{{.*}}(%{{.*}}, %[[T]])
// CHECK: memref.load %arg1
// CHECK-NOT: vector.
func.func @table_by_index(%x: memref<6x?x48xf32>, %table: memref<256x24xf32>, %o: memref<6x?x48xf32>) {
  %c2 = arith.constant 2 : index
  linalg.generic {indexing_maps = [#id3, #id3], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%x : memref<6x?x48xf32>) outs(%o : memref<6x?x48xf32>) {
  ^bb0(%in: f32, %out: f32):
    %t = linalg.index 1 : index
    %i = linalg.index 2 : index
    %j = arith.divui %i, %c2 : index
    %c = memref.load %table[%t, %j] : memref<256x24xf32>
    %y = arith.mulf %in, %c : f32
    linalg.yield %y : f32
  }
  return
}

// A linear layer on packed weights (two inputs, a reduction): untouched.
// CHECK-LABEL: func.func @matmul
// CHECK-NOT: scf.for
// CHECK: linalg.generic
// CHECK-SAME: iterator_types = ["parallel", "parallel", "parallel", "reduction"]
func.func @matmul(%x: memref<?x288xf32>, %w: memref<18x288x16xf32>, %o: memref<?x288xf32>) {
  linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d3)>, affine_map<(d0, d1, d2, d3) -> (d1, d3, d2)>, affine_map<(d0, d1, d2, d3) -> (d0, d1 * 16 + d2)>], iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%x, %w : memref<?x288xf32>, memref<18x288x16xf32>) outs(%o : memref<?x288xf32>) {
  ^bb0(%in: f32, %in2: f32, %out: f32):
    %m = arith.mulf %in, %in2 : f32
    %a = arith.addf %out, %m : f32
    linalg.yield %a : f32
  }
  return
}

// CHECK-LABEL: func.func @fill
// CHECK-NEXT: arith.constant
// CHECK-NEXT: linalg.fill
func.func @fill(%o: memref<?x288xf32>) {
  %zero = arith.constant 0.0 : f32
  linalg.fill ins(%zero : f32) outs(%o : memref<?x288xf32>)
  return
}
