//===- ImporterSupport.h - What the checkpoint importers share --*- C++ -*-===//
//
// Private to compiler/lib/Frontend: helpers of GgufImporter.cpp and
// SafetensorsImporter.cpp.
//
//===----------------------------------------------------------------------===//

#ifndef TFM_FRONTEND_IMPORTERSUPPORT_H
#define TFM_FRONTEND_IMPORTERSUPPORT_H

/// Declares `var` as the value of the llvm::Expected `expr`, or returns its
/// error from the enclosing function (which returns llvm::Error or an
/// llvm::Expected).
#define TFM_TRY(var, expr)                                                     \
  auto var##OrErr = (expr);                                                    \
  if (!var##OrErr)                                                             \
    return var##OrErr.takeError();                                             \
  auto var = *var##OrErr;

#endif // TFM_FRONTEND_IMPORTERSUPPORT_H
