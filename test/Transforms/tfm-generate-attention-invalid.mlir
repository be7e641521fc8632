// RUN: tfm-opt %s --tfm-generate-attention -verify-diagnostics

// No library defines tfm_attention: a call the pass cannot specialise (here
// a mask flag that is not a constant) is an error, not a call left to fail
// at link time.

#any = strided<[?, ?, ?], offset: ?>
func.func private @tfm_attention(memref<?x?x?xf32, #any>, memref<?x?x?xf32, #any>, memref<?x?x?xf32, #any>, memref<?x?x?xf32, #any>, i64, f32, i64, i64) attributes {llvm.emit_c_interface}

func.func @dynamic_flag(%out: memref<8x?x16xf32>, %q: memref<8x?x16xf32>, %k: memref<2x?x16xf32, strided<[4096, 16, 1], offset: ?>>, %v: memref<2x?x16xf32, strided<[4096, 16, 1], offset: ?>>, %pos: index, %causal: i64) {
  %ot = memref.transpose %out (d0, d1, d2) -> (d1, d0, d2) : memref<8x?x16xf32> to memref<?x8x16xf32, strided<[16, ?, 1]>>
  %oc = memref.cast %ot : memref<?x8x16xf32, strided<[16, ?, 1]>> to memref<?x?x?xf32, #any>
  %qc0 = memref.cast %q : memref<8x?x16xf32> to memref<8x?x16xf32, #any>
  %qt = memref.transpose %qc0 (d0, d1, d2) -> (d1, d0, d2) : memref<8x?x16xf32, #any> to memref<?x8x16xf32, #any>
  %qc = memref.cast %qt : memref<?x8x16xf32, #any> to memref<?x?x?xf32, #any>
  %kt = memref.transpose %k (d0, d1, d2) -> (d1, d0, d2) : memref<2x?x16xf32, strided<[4096, 16, 1], offset: ?>> to memref<?x2x16xf32, strided<[16, 4096, 1], offset: ?>>
  %kc = memref.cast %kt : memref<?x2x16xf32, strided<[16, 4096, 1], offset: ?>> to memref<?x?x?xf32, #any>
  %vt = memref.transpose %v (d0, d1, d2) -> (d1, d0, d2) : memref<2x?x16xf32, strided<[4096, 16, 1], offset: ?>> to memref<?x2x16xf32, strided<[16, 4096, 1], offset: ?>>
  %vc = memref.cast %vt : memref<?x2x16xf32, strided<[16, 4096, 1], offset: ?>> to memref<?x?x?xf32, #any>
  %p = arith.index_cast %pos : index to i64
  %scale = arith.constant 2.500000e-01 : f32
  %alibi = arith.constant 0 : i64
  // expected-error @+1 {{tfm-generate-attention: cannot generate this attention}}
  call @tfm_attention(%oc, %qc, %kc, %vc, %p, %scale, %causal, %alibi) : (memref<?x?x?xf32, #any>, memref<?x?x?xf32, #any>, memref<?x?x?xf32, #any>, memref<?x?x?xf32, #any>, i64, f32, i64, i64) -> ()
  return
}
