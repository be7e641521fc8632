//===- InitAll.h - The one place that registers tfmc's dialects and passes ===//

#ifndef TFM_INITALL_H
#define TFM_INITALL_H

namespace mlir {
class DialectRegistry;
} // namespace mlir

namespace tfm {

/// Registers every dialect tfm-opt and tfmc use, with their interfaces.
void registerAllDialects(mlir::DialectRegistry &registry);

/// Registers tfm's passes, the upstream passes of the lowering pipeline and
/// the named pipelines, so tfm-opt can run any of them.
void registerAllPasses();

} // namespace tfm

#endif // TFM_INITALL_H
