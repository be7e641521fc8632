// RUN: tfm-opt %s --tfm-to-linalg --canonicalize | FileCheck %s
// RUN: tfm-opt %s --tfm-to-linalg --canonicalize --tfm-bufferize --tfm-generate-kernels | FileCheck %s --check-prefix=GEN
// RUN: tfm-opt %s --tfm-to-linalg --canonicalize --tfm-bufferize --tfm-generate-kernels | FileCheck %s --check-prefix=GENK
// RUN: tfm-opt %s --tfm-to-linalg --canonicalize --tfm-bufferize --tfm-generate-kernels="int-dot=avx512vnni" | FileCheck %s --check-prefix=VNNI
// RUN: tfm-opt %s --tfm-to-linalg --canonicalize --tfm-bufferize --tfm-generate-kernels="int-dot=avx512bw" | FileCheck %s --check-prefix=BW
// RUN: tfm-opt %s --tfm-to-linalg --canonicalize --tfm-bufferize --tfm-generate-kernels="int-dot=avx512bw" --canonicalize | FileCheck %s --check-prefix=ROW
// RUN: tfm-opt %s --tfm-to-linalg --canonicalize --tfm-bufferize --tfm-generate-kernels="int-dot=avx2" --canonicalize | FileCheck %s --check-prefix=K23

// A 4/5-bit weight is one view per component of its encoding (Encodings.h),
// the values last, each array at a multiple of 64 bytes: q4_0's f16 scales
// [N/P, K/32, P], then [N/P, K/2, P] bytes of nibble pairs (byte j of a block:
// elements j and j + 16). The contraction reads the bytes at
// (k floordiv 32) * 16 + k mod 16 and takes the low or the high nibble by
// k mod 32 floordiv 16: w = d * ((q >> 4 part) & 15 - 8).

// CHECK-DAG: #[[Q4:.*]] = affine_map<(d0, d1, d2, d3) -> (d1, (d3 floordiv 32) * 16 + d3 mod 16, d2)>
// CHECK-DAG: #[[BLK:.*]] = affine_map<(d0, d1, d2, d3) -> (d1, d3 floordiv 32, d2)>
// CHECK-DAG: #[[SUPER:.*]] = affine_map<(d0, d1, d2, d3) -> (d1, d3 floordiv 256, d2)>
module attributes {tfm.weight_offsets = {"wq.weight" = 4096 : i64, "wk.weight" = 8192 : i64, "wv.weight" = 12288 : i64, "wo.weight" = 20480 : i64}} {
// CHECK-LABEL: func @q4_0
// 32 x 64 weight in tiles of 16: 128 bytes of scales at 4096, values at 4224.
// CHECK: memref.view %{{.*}}[%c4096][] : memref<16384xi8> to memref<2x2x16xf16>
// CHECK: memref.view %{{.*}}[%c4224][] : memref<16384xi8> to memref<2x32x16xi8>
// CHECK: linalg.generic {indexing_maps = [#{{.*}}, #[[Q4]], #[[BLK]], #{{.*}}]
// CHECK: ^bb0(%[[X:.*]]: f32, %[[Q:.*]]: i8, %[[D:.*]]: f16, %[[ACC:.*]]: f32):
// CHECK: %[[DF:.*]] = arith.extf %[[D]] : f16 to f32
// CHECK: linalg.index 3
// CHECK: %[[SH:.*]] = arith.shrui %[[Q]], %{{.*}} : i8
// CHECK: %[[NIB:.*]] = arith.andi %[[SH]], %{{.*}} : i8
// CHECK: %[[WIDE:.*]] = arith.extui %[[NIB]] : i8 to i32
// CHECK: %[[CEN:.*]] = arith.subi %[[WIDE]], %{{.*}} : i32
// CHECK: %[[QF:.*]] = arith.sitofp %[[CEN]] : i32 to f32
// CHECK: %[[W:.*]] = arith.mulf %[[DF]], %[[QF]] : f32
// CHECK: arith.mulf %[[X]], %[[W]] : f32

// The generated body: per block of 32 one scale vector, then 16 steps of one
// P-byte load giving two elements (low and high nibble).
// GEN-LABEL: func.func private @tfmrt_parallel_for_q4_0
// GEN-LABEL: func @q4_0
// GEN: call @tfmrt_parallel_for_q4_0(
// GEN-LABEL: func.func private @tfm_linear_k64_p16_q4_0_rows
// GEN: vector.load %{{.*}} : memref<?x?xf16, strided<[32, 1], offset: ?>>, vector<16xf16>
// GEN: arith.extf %{{.*}} : vector<16xf16> to vector<16xf32>
// GEN: vector.load %{{.*}} : memref<?x?xi8, strided<[512, 1], offset: ?>>, vector<16xi8>
// GEN: arith.shrui %{{.*}} : vector<16xi8>
// GEN: vector.fma
// GEN: arith.shrui %{{.*}} : vector<16xi8>
// GEN: vector.fma
// With integer dot products (IntegerDot.h) x is quantized to int8 blocks
// first and each encoding's scheduler runs a `_dot_` body. These layers
// have many rows (prefill): per register tile's column tiles and K block,
// the weight is unpacked once into a stack buffer (`memref.alloca`: per 4
// rows of a block's bytes one 64-byte load per tile, transposed so each i32
// lane holds one column's 4 bytes, then the low nibbles (& 15) and the high
// ones (>> 4, & 15), q5_1 with its fifth bits ((word >> j & 15) * 0x02040810
// & 0x10101010) or-ed in), which every row tile then reads as unsigned
// operands of vpdpbusd (no + 128) or vpmaddubsw (x as it is: no sign
// select). q4_0's offset starts the int32 sums: the quantization stores
// -8 * sum(xq) as i32 bits; q5_1's minimum adds m * xd * sum(xq) per block.
// VNNI-DAG: func.func private @tfmrt_parallel_for_q4_0_dot(
// VNNI-DAG: func.func private @tfmrt_parallel_for_q5_1_dot(
// VNNI-LABEL: func @q4_0
// VNNI: %[[QS:.*]] = vector.reduction <add>, %{{.*}} : vector<32xi32> into i32
// VNNI: %[[BIAS:.*]] = arith.muli %[[QS]], %c-8_i32 : i32
// VNNI: %[[BITS:.*]] = arith.bitcast %[[BIAS]] : i32 to f32
// VNNI: memref.store %[[BITS]]
// VNNI: call @tfmrt_parallel_for_q4_0_dot(
// VNNI-LABEL: func @q5_1
// VNNI: %[[QS:.*]] = vector.reduction <add>, %{{.*}} : vector<32xi32> into i32
// VNNI: arith.sitofp %[[QS]] : i32 to f32
// VNNI: call @tfmrt_parallel_for_q5_1_dot(
// q6_K's quantization: -32 * sum(xq) per 16 as i32 bits (two per block).
// VNNI-LABEL: func @q6_K
// VNNI: %[[QS6:.*]] = vector.reduction <add>, %{{.*}} : vector<16xi32> into i32
// VNNI: arith.muli %[[QS6]], %c-32_i32 : i32
// VNNI: vector.reduction <add>, %{{.*}} : vector<16xi32> into i32
// VNNI: call @tfmrt_parallel_for_q6_K_dot(
// VNNI-LABEL: func.func private @tfm_linear_k64_p16_q4_0_dot_avx512vnni_rows
// VNNI: %[[KEPT:.*]] = memref.alloca() {alignment = 64 : i64} : memref<2x1024xi8>
// VNNI: %[[RAW:.*]] = vector.load %{{.*}} : memref<?x?xi8, strided<[512, 1], offset: ?>>, vector<64xi8>
// VNNI: %[[T:.*]] = vector.shuffle %[[RAW]], %[[RAW]] [0, 16, 32, 48, 1, 17, 33, 49,
// VNNI: %[[LO:.*]] = arith.andi %[[T]], %{{.*}} : vector<64xi8>
// VNNI: vector.store %[[LO]], %[[KEPT]]
// VNNI: %[[HI:.*]] = arith.shrui %[[T]], %{{.*}} : vector<64xi8>
// VNNI: %[[HQ:.*]] = arith.andi %[[HI]], %{{.*}} : vector<64xi8>
// VNNI: vector.store %[[HQ]], %[[KEPT]]
// VNNI: %[[B:.*]] = memref.load %{{.*}} : memref<?x?xf32, strided<[4, 1], offset: ?>>
// VNNI: %[[BI:.*]] = arith.bitcast %[[B]] : f32 to i32
// VNNI: %[[START:.*]] = vector.broadcast %[[BI]] : i32 to vector<16xi32>
// VNNI: scf.for {{.*}} iter_args(%{{.*}} = %[[START]], %{{.*}} = %[[START]],
// VNNI: %[[W:.*]] = vector.load %[[KEPT]]{{.*}} : memref<2x1024xi8>, vector<64xi8>
// VNNI-NOT: vector.shuffle
// VNNI: %[[WW:.*]] = vector.bitcast %[[W]] : vector<64xi8> to vector<16xi32>
// VNNI: llvm.call_intrinsic "llvm.x86.avx512.vpdpbusd.512"(%{{.*}}, %[[WW]], %{{.*}})
// VNNI: %[[S:.*]] = arith.sitofp %{{.*}} : vector<16xi32> to vector<16xf32>
// VNNI-NOT: arith.subf
// VNNI: vector.fma %[[S]],
// VNNI-LABEL: func.func private @tfm_linear_k64_p16_q5_1_dot_avx512vnni_rows
// VNNI: %[[KEPT:.*]] = memref.alloca() {alignment = 64 : i64} : memref<2x1024xi8>
// VNNI: %[[WORDS:.*]] = vector.load %{{.*}} : memref<?x?xi32, strided<[32, 1], offset: ?>>, vector<16xi32>
// VNNI: arith.shrui %[[WORDS]], %{{.*}} : vector<16xi32>
// VNNI: arith.muli %{{.*}}, %{{.*}} : vector<16xi32>
// VNNI: %[[Q:.*]] = arith.ori %{{.*}}, %{{.*}} : vector<64xi8>
// VNNI: vector.store %[[Q]], %[[KEPT]]
// VNNI: vector.load %[[KEPT]]{{.*}} : memref<2x1024xi8>, vector<64xi8>
// VNNI: llvm.call_intrinsic "llvm.x86.avx512.vpdpbusd.512"
// VNNI: arith.sitofp %{{.*}} : vector<16xi32> to vector<16xf32>
// VNNI-NOT: arith.subf
// VNNI: vector.fma
// VNNI: vector.fma
// BW-LABEL: func.func private @tfm_linear_k64_p16_q4_0_dot_avx512bw_rows
// BW: %[[KEPT:.*]] = memref.alloca() {alignment = 64 : i64} : memref<2x1024xi8>
// BW: %[[LO:.*]] = arith.andi %{{.*}}, %{{.*}} : vector<64xi8>
// BW: vector.store %[[LO]], %[[KEPT]]
// BW: %[[W:.*]] = vector.load %[[KEPT]]{{.*}} : memref<2x1024xi8>, vector<64xi8>
// BW-NOT: arith.select
// BW: llvm.call_intrinsic "llvm.x86.avx512.pmaddubs.w.512"(%[[W]], %{{.*}}) : (vector<64xi8>, vector<64xi8>) -> vector<32xi16>
// BW: llvm.call_intrinsic "llvm.x86.avx512.pmaddw.d.512"
func.func @q4_0(%blob: memref<16384xi8> {tfm.weights}, %x: tensor<?x64xf32>) -> tensor<?x32xf32> {
  %w = tfm.weight "wq.weight" encoding q4_0 packed 16 : tensor<32x64xf32>
  %y = tfm.linear %x, %w : (tensor<?x64xf32>, tensor<32x64xf32>) -> tensor<?x32xf32>
  return %y : tensor<?x32xf32>
}

// q5_1: scales, minimums, 32-bit fifth-bit words, then the nibbles; the
// contraction takes all four, w = d * (nibble | bit << 4) + m.
// CHECK-LABEL: func @q5_1
// CHECK: memref.view %{{.*}}[%c8192][] : memref<16384xi8> to memref<2x2x16xf16>
// CHECK: memref.view %{{.*}}[%c8320][] : memref<16384xi8> to memref<2x2x16xf16>
// CHECK: memref.view %{{.*}}[%c8448][] : memref<16384xi8> to memref<2x2x16xi32>
// CHECK: memref.view %{{.*}}[%c8704][] : memref<16384xi8> to memref<2x32x16xi8>
// CHECK: linalg.generic {indexing_maps = [#{{.*}}, #[[Q4]], #[[BLK]], #[[BLK]], #[[BLK]], #{{.*}}]
// CHECK: arith.ori
// CHECK: arith.sitofp
// CHECK: arith.mulf
// CHECK: arith.addf
func.func @q5_1(%blob: memref<16384xi8> {tfm.weights}, %x: tensor<?x64xf32>) -> tensor<?x32xf32> {
  %w = tfm.weight "wk.weight" encoding q5_1 packed 16 : tensor<32x64xf32>
  %y = tfm.linear %x, %w : (tensor<?x64xf32>, tensor<32x64xf32>) -> tensor<?x32xf32>
  return %y : tensor<?x32xf32>
}

// q4_K (repacked, Quants.h): u8 sub-block scales and minimums [N/P, K/32, P],
// f16 d and dmin [N/P, K/256, P], then the nibbles of each 32-value sub-block
// in q4_0's order: the contraction's block is the sub-block (kernelBlock),
// d and dmin are read at k floordiv 256; w = (d * sc) * nibble - dmin * m.
// CHECK-LABEL: func @q4_K
// CHECK: memref.view %{{.*}}[%c12288][] : memref<32768xi8> to memref<2x8x16xi8>
// CHECK: memref.view %{{.*}}[%c12544][] : memref<32768xi8> to memref<2x8x16xi8>
// CHECK: memref.view %{{.*}}[%c12800][] : memref<32768xi8> to memref<2x1x16xf16>
// CHECK: memref.view %{{.*}}[%c12864][] : memref<32768xi8> to memref<2x1x16xf16>
// CHECK: memref.view %{{.*}}[%c12928][] : memref<32768xi8> to memref<2x128x16xi8>
// CHECK: linalg.generic {indexing_maps = [#{{.*}}, #[[Q4]], #[[BLK]], #[[BLK]], #[[SUPER]], #[[SUPER]], #{{.*}}]
// CHECK: ^bb0(%{{.*}}: f32, %[[Q:.*]]: i8, %[[SC:.*]]: i8, %[[M:.*]]: i8, %[[D:.*]]: f16, %[[DMIN:.*]]: f16, %{{.*}}: f32):
// CHECK: %[[SCW:.*]] = arith.extui %[[SC]] : i8 to i32
// CHECK: %[[SCF:.*]] = arith.uitofp %[[SCW]] : i32 to f32
// CHECK: %[[DF:.*]] = arith.extf %[[D]] : f16 to f32
// CHECK: %[[D1:.*]] = arith.mulf %[[DF]], %[[SCF]] : f32
// CHECK: %[[M1:.*]] = arith.mulf
// CHECK: arith.shrui %[[Q]]
// CHECK: %[[QF:.*]] = arith.sitofp %{{.*}} : i32 to f32
// CHECK: %[[DQ:.*]] = arith.mulf %[[D1]], %[[QF]] : f32
// CHECK: arith.subf %[[DQ]], %[[M1]] : f32

// The generated body: per sub-block the scale and minimum vectors and d, dmin
// at the sub-block's index divided by 8 (256 / 32), then 16 two-element steps.
// GENK-LABEL: func.func private @tfmrt_parallel_for_q4_K
// GENK-LABEL: func @q4_K
// GENK: call @tfmrt_parallel_for_q4_K(
// GENK-LABEL: func.func private @tfm_linear_k256_p16_q4_K_rows
// GENK: vector.load %{{.*}} : memref<?x?xi8, strided<[128, 1], offset: ?>>, vector<16xi8>
// GENK: arith.divui %{{.*}}, %c256{{.*}} : index
// GENK: vector.load %{{.*}} : memref<?x?xf16, strided<[16, 1], offset: ?>>, vector<16xf16>
// GENK: arith.uitofp %{{.*}} : vector<16xi32> to vector<16xf32>
// GENK: vector.load %{{.*}} : memref<?x?xi8, strided<[2048, 1], offset: ?>>, vector<16xi8>
// GENK: arith.subf %{{.*}} : vector<16xf32>
// GENK: vector.fma
func.func @q4_K(%blob: memref<32768xi8> {tfm.weights}, %x: tensor<?x256xf32>) -> tensor<?x32xf32> {
  %w = tfm.weight "wv.weight" encoding q4_K packed 16 : tensor<32x256xf32>
  %y = tfm.linear %x, %w : (tensor<?x256xf32>, tensor<32x256xf32>) -> tensor<?x32xf32>
  return %y : tensor<?x32xf32>
}

// q4_K's int-dot body: per 32-value sub-block the block values of the f32
// body (d1 = d * sc, m1 = dmin * m), q4_1's nibble steps, then
// acc += sum * (d1 * xd) and m1 * -(xd * sum(xq)) (w = d1 * q - m1).
// VNNI-LABEL: func.func private @tfm_linear_k256_p16_q4_K_dot_avx512vnni_rows
// VNNI: llvm.call_intrinsic "llvm.x86.avx512.vpdpbusd.512"
// VNNI: %[[SC4:.*]] = arith.uitofp %{{.*}} : vector<16xi32> to vector<16xf32>
// VNNI: %[[D4:.*]] = arith.extf %{{.*}} : vector<16xf16> to vector<16xf32>
// VNNI: %[[D1:.*]] = arith.mulf %[[D4]], %[[SC4]] : vector<16xf32>
// VNNI: %[[M4:.*]] = arith.uitofp %{{.*}} : vector<16xi32> to vector<16xf32>
// VNNI: %[[DM4:.*]] = arith.extf %{{.*}} : vector<16xf16> to vector<16xf32>
// VNNI: %[[M1:.*]] = arith.mulf %[[DM4]], %[[M4]] : vector<16xf32>
// VNNI: %[[XT:.*]] = arith.mulf %{{.*}}, %{{.*}} : f32
// VNNI: %[[NEG:.*]] = arith.negf %[[XT]] : f32
// VNNI: %[[NEGV:.*]] = vector.broadcast %[[NEG]] : f32 to vector<16xf32>
// VNNI-NOT: arith.subf
// VNNI: %[[A4:.*]] = vector.fma
// VNNI: vector.fma %[[M1]], %[[NEGV]], %[[A4]]
// q6_K: the int-dot body's blocks are its 16-value sub-blocks (8 rows of
// nibble bytes, two rows of 4 each giving its low and high nibbles); the
// prefill body unpacks them into the kept buffer once per K block, each
// row's two high bits per element one shift of the sub-block's word,
// & 0x03030303 (50529027), << 4 (Quants.h's byte-aligned order). The
// quantization stores -32 * sum(xq) per 16 as i32 bits (xd's sums at
// K/32 + kb), which start the sub-block's int32 sums: no subtraction, then
// one FMA by d * sc times xd.
// VNNI-LABEL: func.func private @tfm_linear_k256_p16_q6_K_dot_avx512vnni_rows
// VNNI: memref.reinterpret_cast {{.*}} to memref<?x?xf32, strided<[24, 1], offset: ?>>
// VNNI: %[[KEPT6:.*]] = memref.alloca() {alignment = 64 : i64} : memref<2x4096xi8>
// VNNI: %[[HW:.*]] = vector.load %{{.*}} : memref<?x?xi32, strided<[256, 1], offset: ?>>, vector<16xi32>
// VNNI: arith.shrui %[[HW]], %{{.*}} : vector<16xi32>
// VNNI: arith.andi %{{.*}}, %cst{{.*}} : vector<16xi32>
// VNNI: arith.shli %{{.*}}, %cst{{.*}} : vector<16xi32>
// VNNI: %[[Q6:.*]] = arith.ori %{{.*}}, %{{.*}} : vector<64xi8>
// VNNI: vector.store %[[Q6]], %[[KEPT6]]
// VNNI: %[[B6:.*]] = arith.bitcast %{{.*}} : f32 to i32
// VNNI: %[[START6:.*]] = vector.broadcast %[[B6]] : i32 to vector<16xi32>
// VNNI: scf.for %{{.*}} = %{{.*}} to %c16{{.*}} step %c4{{.*}} iter_args(%{{.*}} = %[[START6]],
// VNNI: vector.load %[[KEPT6]]{{.*}} : memref<2x4096xi8>, vector<64xi8>
// VNNI: llvm.call_intrinsic "llvm.x86.avx512.vpdpbusd.512"
// VNNI: %[[S6:.*]] = arith.sitofp %{{.*}} : vector<16xi32> to vector<16xf32>
// VNNI-NOT: arith.subf
// VNNI: vector.fma %[[S6]],
func.func @q6_K(%blob: memref<32768xi8> {tfm.weights}, %x: tensor<?x256xf32>) -> tensor<?x32xf32> {
  %w = tfm.weight "wo.weight" encoding q6_K packed 16 : tensor<32x256xf32>
  %y = tfm.linear %x, %w : (tensor<?x256xf32>, tensor<32x256xf32>) -> tensor<?x32xf32>
  return %y : tensor<?x32xf32>
}

// A one-row q4_0 layer: its body's 8 dot steps of a block (4 loads, a low
// and a high nibble step each) add their vpmaddubsw pair sums in i16 (|sum|
// <= 8 * 2 * 15 * 127 < 2^15), then one vpmaddwd per tile and block (4
// tiles a step without parts).
// ROW-LABEL: func.func private @tfm_linear_k64_p16_q4_0_dot_avx512bw_row(
// ROW: iter_args({{.*}}) -> (vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>) {
// ROW-NOT: scf.for
// ROW-COUNT-32: llvm.call_intrinsic "llvm.x86.avx512.pmaddubs.w.512"
// ROW-COUNT-4: llvm.call_intrinsic "llvm.x86.avx512.pmaddw.d.512"
// ROW-NOT: pmaddubs
// ROW: scf.yield
func.func @q4_0_decode(%blob: memref<16384xi8> {tfm.weights}, %x: tensor<1x64xf32>) -> tensor<1x32xf32> {
  %w = tfm.weight "wq.weight" encoding q4_0 packed 16 : tensor<32x64xf32>
  %y = tfm.linear %x, %w : (tensor<1x64xf32>, tensor<32x64xf32>) -> tensor<1x32xf32>
  return %y : tensor<1x32xf32>
}

// q3_K one row: its 16-value sub-blocks are one load of 4 bytes a column
// (four 2-bit values each), four dot steps from it (>> 2, 4, 6, & 3); each
// step's four third bits, bits 4 part .. + 3 of the sub-block's 16-bit word,
// go to bit 2 of the four bytes: & 15, * 0x00810204 (8454660), &
// 0x04040404 (67372036). The four steps' pair sums add in i16 before one
// vpmaddwd per tile (4 tiles a step: 2 parts of 2 tiles).
// K23-LABEL: func.func private @tfm_linear_k256_p8_q3_K_dot_avx2_quads_row(
// K23-DAG: dense<8454660> : vector<8xi32>
// K23-DAG: dense<67372036> : vector<8xi32>
// K23: %[[W:.*]] = vector.load %{{.*}} : memref<?x?xi16, {{.*}}>, vector<8xi16>
// K23: %[[V:.*]] = vector.load {{.*}} vector<32xi8>
// K23: arith.andi %[[V]], %{{.*}} : vector<32xi8>
// K23: arith.extui %[[W]] : vector<8xi16> to vector<8xi32>
// K23: arith.muli %{{.*}}, %cst{{.*}} : vector<8xi32>
// K23-COUNT-4: llvm.call_intrinsic "llvm.x86.avx2.pmadd.ub.sw"
// K23: arith.shrui %[[V]], %{{.*}} : vector<32xi8>
// K23-COUNT-4: llvm.call_intrinsic "llvm.x86.avx2.pmadd.ub.sw"
// K23: arith.shrui %[[V]], %{{.*}} : vector<32xi8>
// K23-COUNT-4: llvm.call_intrinsic "llvm.x86.avx2.pmadd.ub.sw"
// K23: arith.shrui %[[V]], %{{.*}} : vector<32xi8>
// K23-COUNT-4: llvm.call_intrinsic "llvm.x86.avx2.pmadd.ub.sw"
// K23-NOT: pmadd.ub.sw
// K23-COUNT-4: llvm.call_intrinsic "llvm.x86.avx2.pmadd.wd"
// K23-NOT: pmadd.ub.sw
// K23: scf.yield
func.func @q3_K_decode(%blob: memref<32768xi8> {tfm.weights}, %x: tensor<1x256xf32>) -> tensor<1x32xf32> {
  %w = tfm.weight "wq.weight" encoding q3_K packed 8 quads : tensor<32x256xf32>
  %y = tfm.linear %x, %w : (tensor<1x256xf32>, tensor<32x256xf32>) -> tensor<1x32xf32>
  return %y : tensor<1x32xf32>
}

// q2_K: per 16-value sub-block d * (byte & 15) and dmin * (byte >> 4) from
// one byte of scale and min, then (as q4_K) d1 * sum - m1 * xd * sum(xq).
// K23-LABEL: func.func private @tfm_linear_k256_p8_q2_K_dot_avx2_quads_row(
// K23: %[[SM:.*]] = vector.load %{{.*}} : memref<?x?xi8, {{.*}}>, vector<8xi8>
// K23-DAG: arith.andi %[[SM]], %{{.*}} : vector<8xi8>
// K23-DAG: arith.shrui %[[SM]], %{{.*}} : vector<8xi8>
// K23: arith.negf
// K23: vector.fma
// K23: vector.fma
func.func @q2_K_decode(%blob: memref<32768xi8> {tfm.weights}, %x: tensor<1x256xf32>) -> tensor<1x32xf32> {
  %w = tfm.weight "wk.weight" encoding q2_K packed 8 quads : tensor<32x256xf32>
  %y = tfm.linear %x, %w : (tensor<1x256xf32>, tensor<32x256xf32>) -> tensor<1x32xf32>
  return %y : tensor<1x32xf32>
}
}
