//===- TfmDialect.td - The tfm dialect ---------------------*- tablegen -*-===//

#ifndef TFM_DIALECT_TFM_IR_TFMDIALECT_TD
#define TFM_DIALECT_TFM_IR_TFMDIALECT_TD

include "mlir/IR/OpBase.td"

def Tfm_Dialect : Dialect {
  let name = "tfm";
  let summary = "Transformer language-model graphs";
  let description = [{
    The `tfm` dialect describes decoder-only transformer language models at the
    level of the concepts people use to explain them: token embeddings,
    positional encodings, attention written out as matmul / scale / mask /
    softmax / matmul, feed-forward networks, norms and residual adds. Values
    are ranked `f32` tensors; the sequence dimension is dynamic in the prefill
    entry point and 1 in the decode entry point. Weights are referenced by
    name (`tfm.weight`), never stored in the IR. The KV cache is a memref
    owned by the runtime. See `dialects/docs/RationaleTfm.md`.
  }];
  let cppNamespace = "::mlir::tfm";
  let useDefaultAttributePrinterParser = 1;
}

class Tfm_Op<string mnemonic, list<Trait> traits = []>
    : Op<Tfm_Dialect, mnemonic, traits>;

#endif // TFM_DIALECT_TFM_IR_TFMDIALECT_TD
