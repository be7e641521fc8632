// RUN: tfm-opt %s --tfm-to-linalg -split-input-file -verify-diagnostics

// tfm.weight lowers only with an offset table on the function or module and
// a blob argument on the function; each missing piece is reported on the op.

func.func @no_offsets(%blob: memref<256xi8> {tfm.weights}) -> tensor<64xf32> {
  // expected-error @+2 {{'tfm.weight' op no tfm.weight_offsets on the enclosing function or module}}
  // expected-error @+1 {{failed to legalize operation 'tfm.weight'}}
  %w = tfm.weight "w" : tensor<64xf32>
  return %w : tensor<64xf32>
}

// -----

module attributes {tfm.weight_offsets = {"w" = 0 : i64}} {
  func.func @unknown_name(%blob: memref<256xi8> {tfm.weights}) -> tensor<64xf32> {
    // expected-error @+2 {{'tfm.weight' op no offset recorded for weight 'v'}}
    // expected-error @+1 {{failed to legalize operation 'tfm.weight'}}
    %w = tfm.weight "v" : tensor<64xf32>
    return %w : tensor<64xf32>
  }
}

// -----

module attributes {tfm.weight_offsets = {"w" = 0 : i64}} {
  func.func @no_blob(%blob: memref<256xi8>) -> tensor<64xf32> {
    // expected-error @+2 {{'tfm.weight' op enclosing function has no tfm.weights argument}}
    // expected-error @+1 {{failed to legalize operation 'tfm.weight'}}
    %w = tfm.weight "w" : tensor<64xf32>
    return %w : tensor<64xf32>
  }
}
