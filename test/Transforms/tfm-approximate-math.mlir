// RUN: tfm-opt %s --tfm-approximate-math | FileCheck %s

// The transcendental functions of the activations and of softmax become
// arithmetic: no math op is left for convert-math-to-libm to turn into a
// call per element. sqrt (norms) is an instruction and stays.

// CHECK-LABEL: func @activations
// CHECK-NOT: math.exp
// CHECK-NOT: math.tanh
// CHECK-NOT: math.erf
// CHECK: arith.mulf
// CHECK: math.sqrt
// CHECK-NOT: math.exp
// CHECK-NOT: math.tanh
// CHECK-NOT: math.erf
// CHECK: return
func.func @activations(%x: f32, %v: vector<8xf32>) -> (f32, f32, f32, vector<8xf32>, f32) {
  %e = math.exp %x : f32
  %t = math.tanh %x : f32
  %r = math.erf %x : f32
  %ev = math.exp %v : vector<8xf32>
  %s = math.sqrt %x : f32
  return %e, %t, %r, %ev, %s : f32, f32, f32, vector<8xf32>, f32
}
