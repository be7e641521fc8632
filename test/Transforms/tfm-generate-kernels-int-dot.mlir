// RUN: tfm-opt %s --tfm-generate-kernels="int-dot=avx512bw" --canonicalize --split-input-file | FileCheck %s
// RUN: tfm-opt %s --tfm-generate-kernels="int-dot=avx512vnni" --canonicalize --split-input-file | FileCheck %s --check-prefix=VNNI
// RUN: tfm-opt %s --tfm-generate-kernels="int-dot=avx2" --canonicalize --split-input-file | FileCheck %s --check-prefix=AVX2
// RUN: tfm-opt %s --tfm-generate-kernels="int-dot=avx512bw int-dot-decode=false" --canonicalize --split-input-file | FileCheck %s --check-prefix=OFF
// RUN: tfm-opt %s --tfm-generate-kernels="int-dot=avx512bw int-dot-head=false" --canonicalize --split-input-file | FileCheck %s --check-prefix=HEAD
// RUN: tfm-opt %s --tfm-generate-kernels="int-dot=avx512vnni int-dot-head-bits=16" --canonicalize --split-input-file | FileCheck %s --check-prefix=HEAD16
// RUN: tfm-opt %s --tfm-generate-kernels="int-dot=avx512bw int-dot-decode-tiles=1 int-dot-decode-streams=2" --canonicalize --split-input-file | FileCheck %s --check-prefix=STREAMS
// RUN: tfm-opt %s --tfm-generate-kernels="int-dot=avx512bw int-dot-decode-tiles=1 int-dot-decode-streams=2 int-dot-decode-stream-budget=8" --canonicalize --split-input-file | FileCheck %s --check-prefix=BUDGET
// RUN: tfm-opt %s --tfm-generate-kernels="int-dot=avx512bw int-dot-decode-tiles=1 int-dot-decode-streams=2 int-dot-decode-stream-budget=2" --canonicalize --split-input-file | FileCheck %s --check-prefix=STREAMS
// RUN: not tfm-opt %s --tfm-generate-kernels="int-dot=avx3" --split-input-file 2>&1 | FileCheck %s --check-prefix=BAD
// RUN: not tfm-opt %s --tfm-generate-kernels="int-dot=avx512bw int-dot-head-bits=12" --split-input-file 2>&1 | FileCheck %s --check-prefix=BADBITS
// RUN: not tfm-opt %s --tfm-generate-kernels="int-dot=avx2 int-dot-decode-tiles=0" --split-input-file 2>&1 | FileCheck %s --check-prefix=BADTILES
// RUN: not tfm-opt %s --tfm-generate-kernels="int-dot=avx2 int-dot-decode-streams=0" --split-input-file 2>&1 | FileCheck %s --check-prefix=BADTILES
// RUN: not tfm-opt %s --tfm-generate-kernels="int-dot=avx2 int-dot-decode-stream-budget=-1" --split-input-file 2>&1 | FileCheck %s --check-prefix=BADTILES

// q8_0 layers with integer dot products (IntegerDot.h). Before the call, x
// is quantized per block of 32 into int8 values (xq) and f32 scales (xd);
// the body, run by tfmrt_parallel_for_q8_dot(body, out, xd, xq, values,
// scales), keeps int32 sums per block: per 4 k one 64-byte load per tile
// transposed so each i32 lane holds one column's 4 k, |w| and sign(x, w)
// into vpmaddubsw + vpmaddwd (AVX-512BW: the sign by a select, AVX2 by
// psignb), or VNNI's vpdpbusd of w + 128 and x; per block
// acc += float(sum) * (dw * dx), less 128 * sum(x) for vpdpbusd (xd holds
// the block scales, then the blocks' sum(x)).
// AVX2's lanes are 8: a P = 16 layer keeps f32 arithmetic there.

#x = affine_map<(m, n1, n0, k) -> (m, k)>
#q = affine_map<(m, n1, n0, k) -> (n1, k, n0)>
#d = affine_map<(m, n1, n0, k) -> (n1, k floordiv 32, n0)>
#y = affine_map<(m, n1, n0, k) -> (m, n1 * 16 + n0)>

// CHECK-LABEL: func.func private @tfmrt_parallel_for_q8_dot
// CHECK-SAME: memref<?x?xf32, strided<[?, ?], offset: ?>>, memref<?x?xf32, strided<[?, ?], offset: ?>>, memref<?x?xi8, strided<[?, ?], offset: ?>>, memref<?x?xi8, strided<[?, ?], offset: ?>>, memref<?x?xf16, strided<[?, ?], offset: ?>>, i64, i64)
// CHECK-LABEL: func @decode_q8
// CHECK: %[[BODY:.*]] = constant @tfm_linear_k64_p16_q8_0_dot_avx512bw_row
// CHECK: %[[XQ:.*]] = memref.alloc() : memref<1x64xi8>
// CHECK: %[[XD:.*]] = memref.alloc() : memref<1x4xf32>
// CHECK: scf.for
// CHECK: math.absf
// CHECK: vector.reduction <maxsi>
// CHECK: math.roundeven
// CHECK: %[[Q:.*]] = arith.fptosi {{.*}} : vector<32xf32> to vector<32xi8>
// CHECK: vector.store %[[Q]], %[[XQ]]
// CHECK: memref.store %{{.*}}, %[[XD]]
// CHECK: %[[QI:.*]] = arith.extsi %[[Q]] : vector<32xi8> to vector<32xi32>
// CHECK: %[[QS:.*]] = vector.reduction <add>, %[[QI]]
// CHECK: %[[SUM:.*]] = arith.sitofp %[[QS]] : i32 to f32
// CHECK: memref.store %[[SUM]], %[[XD]]
// CHECK: call @tfmrt_parallel_for_q8_dot(%[[BODY]],
// CHECK: memref.dealloc %[[XQ]]
// CHECK: memref.dealloc %[[XD]]
// With int-dot-decode-streams=2 the row body reads the two halves of its
// tile range side by side (two weight streams), tile n with tile n + half,
// without software prefetch; a tile left over goes alone.
// STREAMS-LABEL: func.func private @tfm_linear_k64_p16_q8_0_dot_avx512bw_row(
// STREAMS: %[[SPAN:.*]] = arith.subi %arg1, %arg0 : index
// STREAMS: %[[HALF:.*]] = arith.divui %[[SPAN]], %c2 : index
// STREAMS: %[[MID:.*]] = arith.addi %arg0, %[[HALF]] : index
// STREAMS: scf.for %[[N:.*]] = %arg0 to %[[MID]] step %c1 {
// STREAMS: %[[N2:.*]] = arith.addi %[[N]], %[[HALF]] : index
// STREAMS-NOT: memref.prefetch
// STREAMS: scf.for {{.*}} iter_args({{.*}}) -> (vector<16xf32>, vector<16xf32>)
// STREAMS-NOT: memref.prefetch
// STREAMS: vector.load %{{.*}}[%[[N]], %{{.*}}] : memref<?x?xi8, strided<[1024, 1], offset: ?>>, vector<64xi8>
// STREAMS-NOT: memref.prefetch
// STREAMS: vector.load %{{.*}}[%[[N2]], %{{.*}}] : memref<?x?xi8, strided<[1024, 1], offset: ?>>, vector<64xi8>
// STREAMS-NOT: memref.prefetch
// STREAMS: %[[DONE:.*]] = arith.muli %[[HALF]], %c2 : index
// STREAMS: %[[REST:.*]] = arith.addi %arg0, %[[DONE]] : index
// STREAMS: scf.for %{{.*}} = %[[REST]] to %arg1 step %c1 {
// STREAMS: scf.for {{.*}} iter_args({{.*}}) -> (vector<16xf32>) {
// STREAMS-NOT: memref.prefetch
// STREAMS: return
// With int-dot-decode-stream-budget=8 a q8_0 weight (2 arrays: values and
// scales) is read in 8 / 2 = 4 parts, tile n with n + q, n + 2q, n + 3q (a
// budget of 2 keeps int-dot-decode-streams' 2 parts: STREAMS above).
// BUDGET-LABEL: func.func private @tfm_linear_k64_p16_q8_0_dot_avx512bw_row(
// BUDGET: %[[SPAN:.*]] = arith.subi %arg1, %arg0 : index
// BUDGET: %[[Q:.*]] = arith.divui %[[SPAN]], %c4 : index
// BUDGET: %[[END:.*]] = arith.addi %arg0, %[[Q]] : index
// BUDGET: scf.for %[[N:.*]] = %arg0 to %[[END]] step %c1 {
// BUDGET: %[[N1:.*]] = arith.addi %[[N]], %[[Q]] : index
// BUDGET: %[[Q2:.*]] = arith.muli %[[Q]], %c2 : index
// BUDGET: %[[N2:.*]] = arith.addi %[[N]], %[[Q2]] : index
// BUDGET: %[[Q3:.*]] = arith.muli %[[Q]], %c3 : index
// BUDGET: %[[N3:.*]] = arith.addi %[[N]], %[[Q3]] : index
// BUDGET: scf.for {{.*}} iter_args({{.*}}) -> (vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>)
// BUDGET: vector.load %{{.*}}[%[[N]], %{{.*}}] : memref<?x?xi8, strided<[1024, 1], offset: ?>>, vector<64xi8>
// BUDGET: vector.load %{{.*}}[%[[N1]], %{{.*}}] : memref<?x?xi8, strided<[1024, 1], offset: ?>>, vector<64xi8>
// BUDGET: vector.load %{{.*}}[%[[N2]], %{{.*}}] : memref<?x?xi8, strided<[1024, 1], offset: ?>>, vector<64xi8>
// BUDGET: vector.load %{{.*}}[%[[N3]], %{{.*}}] : memref<?x?xi8, strided<[1024, 1], offset: ?>>, vector<64xi8>
// BUDGET-NOT: memref.prefetch
// BUDGET: return
// CHECK-LABEL: func.func private @tfm_linear_k64_p16_q8_0_dot_avx512bw_row
// Column tiles 4 at a time (int-dot-decode-tiles; f32 decode takes 8).
// CHECK: scf.for %{{.*}} = %{{.*}} to %{{.*}} step %c4 {
// CHECK: scf.for %[[KB:.*]] = %{{.*}} to %{{.*}} step %{{.*}} iter_args({{.*}}) -> (vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>)
// The next tile group's block is prefetched, a line at a time (512 bytes:
// 8 lines a tile).
// CHECK-COUNT-32: memref.prefetch %{{.*}}[%{{.*}}, %{{.*}}], read, locality<2>, data : memref<?x?xi8, strided<[1024, 1], offset: ?>>
// CHECK-NOT: memref.prefetch {{.*}}xi8
// CHECK: scf.for %{{.*}} = %{{.*}} to %{{.*}} step %{{.*}} iter_args(
// CHECK: %[[RAW:.*]] = vector.load %{{.*}} : memref<?x?xi8, strided<[1024, 1], offset: ?>>, vector<64xi8>
// CHECK: %[[W:.*]] = vector.shuffle %[[RAW]], %[[RAW]] [0, 16, 32, 48, 1, 17, 33, 49,
// CHECK: arith.maxsi %[[W]],
// CHECK: %[[NEG:.*]] = arith.cmpi slt, %[[W]],
// CHECK: %[[QUAD:.*]] = vector.load %{{.*}} : memref<?x?xi8, strided<[64, 1], offset: ?>>, vector<4xi8>
// CHECK: vector.bitcast %[[QUAD]] : vector<4xi8> to vector<1xi32>
// CHECK: %[[SX:.*]] = arith.select %[[NEG]],
// CHECK: %[[PAIRS:.*]] = llvm.call_intrinsic "llvm.x86.avx512.pmaddubs.w.512"({{.*}}, %[[SX]]) : (vector<64xi8>, vector<64xi8>) -> vector<32xi16>
// CHECK: %[[SUMS:.*]] = llvm.call_intrinsic "llvm.x86.avx512.pmaddw.d.512"(%[[PAIRS]], {{.*}}) : (vector<32xi16>, vector<32xi16>) -> vector<16xi32>
// CHECK: arith.addi {{.*}}%[[SUMS]]
// CHECK: scf.yield
// CHECK: vector.load %{{.*}} : memref<?x?xf16, strided<[32, 1], offset: ?>>, vector<16xf16>
// CHECK: memref.load %{{.*}} : memref<?x?xf32, strided<[4, 1], offset: ?>>
// CHECK: arith.sitofp %{{.*}} : vector<16xi32> to vector<16xf32>
// CHECK: vector.fma
// VNNI-LABEL: func.func private @tfm_linear_k64_p16_q8_0_dot_avx512vnni_row
// VNNI: %[[W:.*]] = vector.shuffle
// VNNI: %[[U:.*]] = arith.xori %[[W]], %{{.*}} : vector<64xi8>
// VNNI: %[[UW:.*]] = vector.bitcast %[[U]] : vector<64xi8> to vector<16xi32>
// VNNI: llvm.call_intrinsic "llvm.x86.avx512.vpdpbusd.512"(%{{.*}}, %[[UW]], %{{.*}}) : (vector<16xi32>, vector<16xi32>, vector<16xi32>) -> vector<16xi32>
// VNNI-NOT: pmaddubs
// VNNI: memref.load %{{.*}} : memref<?x?xf32, strided<[4, 1], offset: ?>>
// VNNI: %[[S:.*]] = arith.sitofp
// VNNI: arith.subf %[[S]], %{{.*}} : vector<16xf32>
// AVX2-NOT: _dot_
// AVX2-LABEL: func.func private @tfm_linear_k64_p16_q8_0_row
// OFF-NOT: _dot_
// OFF-LABEL: func.func private @tfm_linear_k64_p16_q8_0_row
// BAD: unknown int-dot 'avx3'
func.func @decode_q8(%x: memref<1x64xf32>, %q: memref<2x64x16xi8>, %d: memref<2x2x16xf16>, %y: memref<1x32xf32>) {
  %zero = arith.constant 0.0 : f32
  linalg.fill ins(%zero : f32) outs(%y : memref<1x32xf32>)
  linalg.generic {indexing_maps = [#x, #q, #d, #y],
                  iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%x, %q, %d : memref<1x64xf32>, memref<2x64x16xi8>, memref<2x2x16xf16>) outs(%y : memref<1x32xf32>) {
  ^bb0(%a: f32, %v: i8, %s: f16, %acc: f32):
    %sf = arith.extf %s : f16 to f32
    %vf = arith.sitofp %v : i8 to f32
    %w = arith.mulf %sf, %vf : f32
    %p = arith.mulf %a, %w : f32
    %r = arith.addf %acc, %p : f32
    linalg.yield %r : f32
  }
  return
}

// -----

// Prefill, P = 8 (AVX2): psignb for the sign; the register tile is
// int-dot-rows (4) rows by 2 tiles, each accumulator with an int32 twin.

#x = affine_map<(m, n1, n0, k) -> (m, k)>
#q = affine_map<(m, n1, n0, k) -> (n1, k, n0)>
#d = affine_map<(m, n1, n0, k) -> (n1, k floordiv 32, n0)>
#y = affine_map<(m, n1, n0, k) -> (m, n1 * 8 + n0)>

// AVX2-LABEL: func @prefill_q8
// AVX2: memref.alloc(%{{.*}}) : memref<?x64xi8>
// AVX2: memref.alloc(%{{.*}}) : memref<?x4xf32>
// AVX2: call @tfmrt_parallel_for_q8_dot(
// AVX2-LABEL: func.func private @tfm_linear_k64_p8_q8_0_dot_avx2_rows_acc
// AVX2: scf.for {{.*}} -> (vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>)
// AVX2: scf.for {{.*}} -> (vector<8xi32>, vector<8xi32>, vector<8xi32>, vector<8xi32>, vector<8xi32>, vector<8xi32>, vector<8xi32>, vector<8xi32>)
// AVX2: vector.load %{{.*}} : memref<?x?xi8, strided<[512, 1], offset: ?>>, vector<32xi8>
// AVX2: vector.shuffle {{.*}} [0, 8, 16, 24, 1, 9, 17, 25,
// AVX2: %[[SX:.*]] = llvm.call_intrinsic "llvm.x86.avx2.psign.b"
// AVX2: %[[P:.*]] = llvm.call_intrinsic "llvm.x86.avx2.pmadd.ub.sw"({{.*}}, %[[SX]]) : (vector<32xi8>, vector<32xi8>) -> vector<16xi16>
// AVX2: llvm.call_intrinsic "llvm.x86.avx2.pmadd.wd"(%[[P]], {{.*}}) : (vector<16xi16>, vector<16xi16>) -> vector<8xi32>
// AVX2: vector.fma {{.*}} : vector<8xf32>
func.func @prefill_q8(%x: memref<?x64xf32>, %q: memref<2x64x8xi8>, %d: memref<2x2x8xf16>, %y: memref<?x16xf32>) {
  linalg.generic {indexing_maps = [#x, #q, #d, #y],
                  iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%x, %q, %d : memref<?x64xf32>, memref<2x64x8xi8>, memref<2x2x8xf16>) outs(%y : memref<?x16xf32>) {
  ^bb0(%a: f32, %v: i8, %s: f16, %acc: f32):
    %sf = arith.extf %s : f16 to f32
    %vf = arith.sitofp %v : i8 to f32
    %w = arith.mulf %sf, %vf : f32
    %p = arith.mulf %a, %w : f32
    %r = arith.addf %acc, %p : f32
    linalg.yield %r : f32
  }
  return
}

// -----

// Prefill, P = 16 (VNNI), K = 320: two K blocks (k-block 256). Per column
// tile pair and K block the body unpacks the weights once into a stack
// buffer (tiles x K block x P bytes): the 4P-byte rows transposed and + 128
// (xor), read by every row tile with no shuffle. The quantization stores
// -128 * sum(xq) as i32 bits, which start the int32 sums: no subtraction.

#x = affine_map<(m, n1, n0, k) -> (m, k)>
#q = affine_map<(m, n1, n0, k) -> (n1, k, n0)>
#d = affine_map<(m, n1, n0, k) -> (n1, k floordiv 32, n0)>
#y = affine_map<(m, n1, n0, k) -> (m, n1 * 16 + n0)>

// VNNI-LABEL: func @prefill_q8_vnni
// VNNI: %[[QS:.*]] = vector.reduction <add>, %{{.*}} : vector<32xi32> into i32
// VNNI: %[[BIAS:.*]] = arith.muli %[[QS]], %c-128_i32 : i32
// VNNI: %[[BITS:.*]] = arith.bitcast %[[BIAS]] : i32 to f32
// VNNI: memref.store %[[BITS]]
// VNNI: call @tfmrt_parallel_for_q8_dot(
// VNNI-LABEL: func.func private @tfm_linear_k320_p16_q8_0_dot_avx512vnni_rows
// VNNI: %[[KEPT:.*]] = memref.alloca() {alignment = 64 : i64} : memref<2x4096xi8>
// VNNI: %[[RAW:.*]] = vector.load %{{.*}} : memref<?x?xi8, strided<[5120, 1], offset: ?>>, vector<64xi8>
// VNNI: %[[T:.*]] = vector.shuffle %[[RAW]], %[[RAW]] [0, 16, 32, 48, 1, 17, 33, 49,
// VNNI: %[[U:.*]] = arith.xori %[[T]], %{{.*}} : vector<64xi8>
// VNNI: vector.store %[[U]], %[[KEPT]]
// VNNI: %[[B:.*]] = memref.load %{{.*}} : memref<?x?xf32, strided<[20, 1], offset: ?>>
// VNNI: %[[BI:.*]] = arith.bitcast %[[B]] : f32 to i32
// VNNI: %[[START:.*]] = vector.broadcast %[[BI]] : i32 to vector<16xi32>
// VNNI: scf.for {{.*}} iter_args(%{{.*}} = %[[START]],
// VNNI: %[[W:.*]] = vector.load %[[KEPT]]{{.*}} : memref<2x4096xi8>, vector<64xi8>
// VNNI-NOT: vector.shuffle
// VNNI: %[[WW:.*]] = vector.bitcast %[[W]] : vector<64xi8> to vector<16xi32>
// VNNI: llvm.call_intrinsic "llvm.x86.avx512.vpdpbusd.512"(%{{.*}}, %[[WW]], %{{.*}})
// VNNI: %[[S:.*]] = arith.sitofp %{{.*}} : vector<16xi32> to vector<16xf32>
// VNNI-NOT: arith.subf
// VNNI: vector.fma %[[S]],
func.func @prefill_q8_vnni(%x: memref<?x320xf32>, %q: memref<2x320x16xi8>, %d: memref<2x10x16xf16>, %y: memref<?x32xf32>) {
  linalg.generic {indexing_maps = [#x, #q, #d, #y],
                  iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%x, %q, %d : memref<?x320xf32>, memref<2x320x16xi8>, memref<2x10x16xf16>) outs(%y : memref<?x32xf32>) {
  ^bb0(%a: f32, %v: i8, %s: f16, %acc: f32):
    %sf = arith.extf %s : f16 to f32
    %vf = arith.sitofp %v : i8 to f32
    %w = arith.mulf %sf, %vf : f32
    %p = arith.mulf %a, %w : f32
    %r = arith.addf %acc, %p : f32
    linalg.yield %r : f32
  }
  return
}

// -----

// The LM head's contraction (`tfm.lm_head`, tfm-to-linalg): with
// int-dot-head=false (tfmc's default) it keeps f32; the others do not.

#x = affine_map<(m, n1, n0, k) -> (m, k)>
#q = affine_map<(m, n1, n0, k) -> (n1, k, n0)>
#d = affine_map<(m, n1, n0, k) -> (n1, k floordiv 32, n0)>
#y = affine_map<(m, n1, n0, k) -> (m, n1 * 16 + n0)>

// HEAD-LABEL: func @head_q8
// HEAD: call @tfmrt_parallel_for_q8_dot(
// HEAD: call @tfmrt_parallel_for_q8(

// int-dot-head-bits=16 (tfmc's auto): the head's input quantized per 32 to
// int16 (d = max|x| / 32767, two bytes per value in xq), its body
// `_dot16_` widening the weights to i16 (no + 128: vpdpwssd is signed x
// signed), two vpdpwssd per 4 k (each half of the columns, 2 lanes per
// column), the lane pairs summed once per block; the other layer int8.
// HEAD16-LABEL: func @head_q8
// HEAD16-DAG: %[[LEVELS:.*]] = arith.constant 3.276700e+04 : f32
// HEAD16-DAG: %[[BODY16:.*]] = constant @tfm_linear_k64_p16_q8_0_dot16_avx512vnni_row_acc
// HEAD16-DAG: %[[BODY8:.*]] = constant @tfm_linear_k64_p16_q8_0_dot_avx512vnni_row_acc
// HEAD16: call @tfmrt_parallel_for_q8_dot(%[[BODY8]],
// HEAD16: %[[XQ:.*]] = memref.alloc() : memref<1x128xi8>
// HEAD16: arith.divf %{{.*}}, %[[LEVELS]] : f32
// HEAD16: arith.divf %[[LEVELS]], %{{.*}} : f32
// HEAD16: %[[Q16:.*]] = arith.fptosi %{{.*}} : vector<32xf32> to vector<32xi16>
// HEAD16: %[[BYTES:.*]] = vector.bitcast %[[Q16]] : vector<32xi16> to vector<64xi8>
// HEAD16: vector.store %[[BYTES]], %[[XQ]]
// HEAD16: call @tfmrt_parallel_for_q8_dot(%[[BODY16]],
// HEAD16-LABEL: func.func private @tfm_linear_k64_p16_q8_0_dot16_avx512vnni_row_acc
// HEAD16-NOT: arith.xori
// HEAD16: strides: [128, 1]
// HEAD16: scf.for {{.*}} -> (vector<32xi32>, vector<32xi32>, vector<32xi32>, vector<32xi32>)
// HEAD16: %[[W16:.*]] = arith.extsi %{{.*}} : vector<64xi8> to vector<64xi16>
// HEAD16: %[[X8:.*]] = vector.load %{{.*}} : memref<?x?xi8, strided<[128, 1], offset: ?>>, vector<8xi8>
// HEAD16: %[[X64:.*]] = vector.bitcast %[[X8]] : vector<8xi8> to vector<1xi64>
// HEAD16: vector.broadcast %[[X64]] : vector<1xi64> to vector<8xi64>
// HEAD16: vector.extract_strided_slice %[[W16]] {offsets = [0], sizes = [32]
// HEAD16: llvm.call_intrinsic "llvm.x86.avx512.vpdpwssd.512"
// HEAD16: vector.extract_strided_slice %[[W16]] {offsets = [32], sizes = [32]
// HEAD16: llvm.call_intrinsic "llvm.x86.avx512.vpdpwssd.512"
// HEAD16: vector.shuffle {{.*}} [1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31] : vector<32xi32>
// HEAD16: vector.shuffle {{.*}} [0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30] : vector<32xi32>
// HEAD16: %[[SUM:.*]] = arith.addi %{{.*}} : vector<16xi32>
// HEAD16: arith.sitofp %[[SUM]] : vector<16xi32> to vector<16xf32>
// HEAD16: vector.fma
// BADBITS: int-dot-head-bits must be 8 or 16
// BADTILES: int-dot-decode-tiles, int-dot-decode-streams and int-dot-rows must be >= 1, int-dot-decode-stream-budget >= 0
func.func @head_q8(%x: memref<1x64xf32>, %q: memref<2x64x16xi8>, %d: memref<2x2x16xf16>, %h: memref<1x32xf32>, %y: memref<1x32xf32>) {
  linalg.generic {indexing_maps = [#x, #q, #d, #y],
                  iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%x, %q, %d : memref<1x64xf32>, memref<2x64x16xi8>, memref<2x2x16xf16>) outs(%h : memref<1x32xf32>) {
  ^bb0(%a: f32, %v: i8, %s: f16, %acc: f32):
    %sf = arith.extf %s : f16 to f32
    %vf = arith.sitofp %v : i8 to f32
    %w = arith.mulf %sf, %vf : f32
    %p = arith.mulf %a, %w : f32
    %r = arith.addf %acc, %p : f32
    linalg.yield %r : f32
  }
  linalg.generic {indexing_maps = [#x, #q, #d, #y],
                  iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%x, %q, %d : memref<1x64xf32>, memref<2x64x16xi8>, memref<2x2x16xf16>) outs(%y : memref<1x32xf32>)
      attrs = {tfm.lm_head} {
  ^bb0(%a: f32, %v: i8, %s: f16, %acc: f32):
    %sf = arith.extf %s : f16 to f32
    %vf = arith.sitofp %v : i8 to f32
    %w = arith.mulf %sf, %vf : f32
    %p = arith.mulf %a, %w : f32
    %r = arith.addf %acc, %p : f32
    linalg.yield %r : f32
  }
  return
}
