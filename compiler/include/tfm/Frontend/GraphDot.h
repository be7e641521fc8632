//===- GraphDot.h - A Graphviz picture of a model's structure ---*- C++ -*-===//

#ifndef TFM_FRONTEND_GRAPHDOT_H
#define TFM_FRONTEND_GRAPHDOT_H

#include "tfm/Frontend/ModelSpec.h"

#include "llvm/Support/raw_ostream.h"

namespace tfm {

/// Writes the block structure of `spec` (embedding, one block in detail with
/// its repeat count, final norm, head) as a Graphviz digraph.
void printGraphDot(const ModelSpec &spec, llvm::raw_ostream &os);

} // namespace tfm

#endif // TFM_FRONTEND_GRAPHDOT_H
