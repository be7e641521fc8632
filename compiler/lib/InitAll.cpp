//===- InitAll.cpp - Registration of dialects and passes ------------------===//
//
// Only what tfmc needs: mlir/InitAllDialects.h would cost 20 s of compile time.
//
//===----------------------------------------------------------------------===//

#include "tfm/InitAll.h"

#include "tfm/Conversion/Passes.h"
#include "tfm/Dialect/Tfm/IR/TfmOps.h"
#include "tfm/Dialect/Tfm/Transforms/Passes.h"
#include "tfm/Pipelines/Pipelines.h"
#include "tfm/Transforms/Passes.h"

#include "mlir/Conversion/Passes.h"
#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Bufferization/Transforms/Passes.h"
#include "mlir/Dialect/ControlFlow/IR/ControlFlow.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/Passes.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/MemRef/Transforms/Passes.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/Transforms/Passes.h"

void tfm::registerAllDialects(mlir::DialectRegistry &registry) {
  registry.insert<mlir::tfm::TfmDialect, mlir::arith::ArithDialect,
                  mlir::func::FuncDialect, mlir::LLVM::LLVMDialect,
                  mlir::linalg::LinalgDialect, mlir::math::MathDialect,
                  mlir::memref::MemRefDialect, mlir::scf::SCFDialect,
                  mlir::tensor::TensorDialect, mlir::vector::VectorDialect,
                  mlir::bufferization::BufferizationDialect,
                  mlir::cf::ControlFlowDialect, mlir::affine::AffineDialect>();
  registerPipelineInterfaces(registry);
}

void tfm::registerAllPasses() {
  mlir::tfm::registerTfmPasses();
  mlir::tfm::registerTfmConversionPasses();
  mlir::tfm::registerTfmTransformsPasses();
  registerPipelines();

  // The upstream passes of the pipeline, one by one (not mlir's InitAll*):
  // tfm-opt can run each, and --mlir-print-ir-after=NAME works in tfmc.
  mlir::registerCanonicalizerPass();
  mlir::registerCSEPass();
  mlir::bufferization::registerEmptyTensorEliminationPass();
  mlir::bufferization::registerOneShotBufferizePass();
  mlir::bufferization::registerDropEquivalentBufferResultsPass();
  mlir::bufferization::registerOwnershipBasedBufferDeallocationPass();
  mlir::bufferization::registerBufferDeallocationSimplificationPass();
  mlir::bufferization::registerLowerDeallocationsPass();
  mlir::memref::registerExpandReallocPass();
  mlir::memref::registerExpandStridedMetadataPass();
  mlir::registerConvertLinalgToLoopsPassPass();
  mlir::registerConvertAffineToStandardPass();
  mlir::registerSCFToControlFlowPass();
  mlir::registerConvertVectorToLLVMPass();
  mlir::registerConvertMathToLibmPass();
  mlir::registerConvertMathToLLVMPassPass();
  mlir::registerFinalizeMemRefToLLVMConversionPassPass();
  mlir::registerArithToLLVMConversionPassPass();
  mlir::registerConvertFuncToLLVMPassPass();
  mlir::registerConvertControlFlowToLLVMPassPass();
  mlir::registerReconcileUnrealizedCastsPass();
}
