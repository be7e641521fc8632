// RUN: tfm-opt %s --tfm-to-linalg -split-input-file -verify-diagnostics

// Position tables (sinusoids, RoPE cosines and sines) have a row per
// position: without the function's tfm.context_length there is no size, and
// the op says so.

func.func @rope_no_context(%q: tensor<8x?x8xf32>, %pos: index) -> tensor<8x?x8xf32> {
  // expected-error @+2 {{'tfm.rope' op needs the enclosing function's tfm.context_length (the rows of its position table)}}
  // expected-error @+1 {{failed to legalize operation 'tfm.rope'}}
  %r = tfm.rope %q, %pos {theta = 10000.0 : f32, style = #tfm<rope_style interleaved>} : tensor<8x?x8xf32>
  return %r : tensor<8x?x8xf32>
}

// -----

func.func @sinusoid_no_context(%x: tensor<?x64xf32>, %pos: index) -> tensor<?x64xf32> {
  // expected-error @+2 {{'tfm.positional' op needs the enclosing function's tfm.context_length (the rows of its position table)}}
  // expected-error @+1 {{failed to legalize operation 'tfm.positional'}}
  %y = tfm.positional sinusoidal %x, %pos : (tensor<?x64xf32>, index) -> tensor<?x64xf32>
  return %y : tensor<?x64xf32>
}
