//===- Npy.h - Writing NumPy .npy arrays ------------------------*- C++ -*-===//
//
// The executables write --attention-out as a .npy file (version 1.0,
// little-endian float32, C order) that numpy.load and tfm-inspect read; the
// reader is in formats/ (tfm/Formats/Npy.h), which libtfmrt does not link.
//
//===----------------------------------------------------------------------===//

#ifndef TFM_RUNTIME_NPY_H
#define TFM_RUNTIME_NPY_H

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

namespace tfm {
namespace rt {

/// The .npy header of a float32 C-order array of `shape`: magic, version
/// 1.0, length, dict, padded with spaces and a newline to a multiple of 64.
std::string npyHeader(const std::vector<int64_t> &shape);

/// Writes the header and the product-of-shape floats of `data`; false on a
/// short write.
bool writeNpy(std::FILE *file, const std::vector<int64_t> &shape,
              const float *data);

} // namespace rt
} // namespace tfm

#endif // TFM_RUNTIME_NPY_H
