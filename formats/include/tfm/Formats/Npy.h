//===- Npy.h - NumPy .npy arrays of float32 ---------------------*- C++ -*-===//
//
// The .npy format (NumPy's format.py, versions 1.0, 2.0 and 3.0): the magic
// "\x93NUMPY", a version, a little-endian header length, then a Python dict
// literal {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), } padded
// with spaces to a multiple of 64 bytes, then the data. Executables compiled
// with tfmc --probes=attention write their --attention-out in this form;
// tfm-inspect reads it back.
//
//===----------------------------------------------------------------------===//

#ifndef TFM_FORMATS_NPY_H
#define TFM_FORMATS_NPY_H

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <string>
#include <vector>

namespace tfm::formats {

/// A C-order float32 array.
struct NpyArray {
  std::vector<int64_t> shape;
  std::vector<float> data; ///< Product of shape elements.
};

/// Reads a little-endian float32 C-order .npy file. Anything else (another
/// dtype, Fortran order, a malformed header, a file shorter or longer than
/// its shape says) is an error naming the file and the byte offset.
llvm::Expected<NpyArray> readNpyF32(llvm::StringRef path);

/// Parses the bytes of a .npy file (`name` is used in messages).
llvm::Expected<NpyArray> parseNpyF32(llvm::StringRef bytes,
                                     llvm::StringRef name);

} // namespace tfm::formats

#endif // TFM_FORMATS_NPY_H
