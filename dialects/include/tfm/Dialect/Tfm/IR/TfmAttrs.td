//===- TfmAttrs.td - Enums and attributes of tfm -----------*- tablegen -*-===//

#ifndef TFM_DIALECT_TFM_IR_TFMATTRS_TD
#define TFM_DIALECT_TFM_IR_TFMATTRS_TD

include "tfm/Dialect/Tfm/IR/TfmDialect.td"
include "mlir/IR/EnumAttr.td"

def Tfm_PositionalKind : I32EnumAttr<"PositionalKind",
    "absolute positional encoding added to the embeddings", [
      I32EnumAttrCase<"Sinusoidal", 0, "sinusoidal">,
      I32EnumAttrCase<"Learned", 1, "learned">]> {
  let genSpecializedAttr = 0;
  let cppNamespace = "::mlir::tfm";
}
def Tfm_PositionalKindAttr : EnumAttr<Tfm_Dialect, Tfm_PositionalKind, "positional_kind">;

def Tfm_RopeStyle : I32EnumAttr<"RopeStyle", "which elements RoPE rotates together", [
      I32EnumAttrCase<"Interleaved", 0, "interleaved">,
      I32EnumAttrCase<"Half", 1, "half">]> {
  let genSpecializedAttr = 0;
  let cppNamespace = "::mlir::tfm";
}
def Tfm_RopeStyleAttr : EnumAttr<Tfm_Dialect, Tfm_RopeStyle, "rope_style">;

def Tfm_GeluApproximation : I32EnumAttr<"GeluApproximation", "GELU formula", [
      I32EnumAttrCase<"None", 0, "none">,
      I32EnumAttrCase<"Tanh", 1, "tanh">]> {
  let genSpecializedAttr = 0;
  let cppNamespace = "::mlir::tfm";
}
def Tfm_GeluApproximationAttr : EnumAttr<Tfm_Dialect, Tfm_GeluApproximation, "gelu_approximation">;

def Tfm_CacheKind : I32EnumAttr<"CacheKind", "which half of the KV cache", [
      I32EnumAttrCase<"Key", 0, "key">,
      I32EnumAttrCase<"Value", 1, "value">]> {
  let genSpecializedAttr = 0;
  let cppNamespace = "::mlir::tfm";
}
def Tfm_CacheKindAttr : EnumAttr<Tfm_Dialect, Tfm_CacheKind, "cache_kind">;

// One case per row of the encodings table (tfm/Formats/Encodings.h) that the
// blob can store, with its value; f32 (0) is the attribute's absence. WeightEncodings.h holds the
// MLIR half of each row.
def Tfm_WeightEncoding : I32EnumAttr<"WeightEncoding",
    "how the blob stores a weight's values (absent: f32)", [
      I32EnumAttrCase<"F16", 1, "f16">,
      I32EnumAttrCase<"BF16", 2, "bf16">,
      I32EnumAttrCase<"Q8_0", 3, "q8_0">,
      I32EnumAttrCase<"Q4_0", 4, "q4_0">,
      I32EnumAttrCase<"Q4_1", 5, "q4_1">,
      I32EnumAttrCase<"Q5_0", 6, "q5_0">,
      I32EnumAttrCase<"Q5_1", 7, "q5_1">,
      I32EnumAttrCase<"Q2_K", 8, "q2_K">,
      I32EnumAttrCase<"Q3_K", 9, "q3_K">,
      I32EnumAttrCase<"Q4_K", 10, "q4_K">,
      I32EnumAttrCase<"Q5_K", 11, "q5_K">,
      I32EnumAttrCase<"Q6_K", 12, "q6_K">]> {
  let genSpecializedAttr = 0;
  let cppNamespace = "::mlir::tfm";
}
def Tfm_WeightEncodingAttr : EnumAttr<Tfm_Dialect, Tfm_WeightEncoding, "weight_encoding">;

#endif // TFM_DIALECT_TFM_IR_TFMATTRS_TD
