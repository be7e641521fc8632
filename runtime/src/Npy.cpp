//===- Npy.cpp - Writing NumPy .npy arrays --------------------------------===//

#include "tfm/runtime/Npy.h"

namespace tfm {
namespace rt {

std::string npyHeader(const std::vector<int64_t> &shape) {
  std::string dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (";
  for (size_t i = 0; i < shape.size(); ++i)
    dict += (i ? ", " : "") + std::to_string(shape[i]);
  dict += shape.size() == 1 ? ",), }" : "), }";
  // magic (6) + version (2) + length (2) + dict + padding + '\n'.
  size_t total = 10 + dict.size() + 1;
  dict.append((64 - total % 64) % 64, ' ');
  dict += '\n';
  std::string header = "\x93NUMPY\x01";
  header += '\0';
  header += char(dict.size() & 0xFF);
  header += char(dict.size() >> 8);
  return header + dict;
}

bool writeNpy(std::FILE *file, const std::vector<int64_t> &shape,
              const float *data) {
  std::string header = npyHeader(shape);
  size_t count = 1;
  for (int64_t d : shape)
    count *= size_t(d);
  // Every host tfmc targets is little-endian: the floats are the file bytes.
  return std::fwrite(header.data(), 1, header.size(), file) == header.size() &&
         std::fwrite(data, sizeof(float), count, file) == count;
}

} // namespace rt
} // namespace tfm
