//===- Main.cpp - main() of every tfmc-generated executable ---------------===//
//
// tfmc links this beside the model object, which defines `tfm_model`. All
// logic lives in libtfmrt (tfm::rt::tfmMain) so it is testable without a
// compiled model; see Generate.h for the behaviour and Args.h for the flags.
//
//===----------------------------------------------------------------------===//

#include "tfm/runtime/Generate.h"

#include <cstdio>

extern "C" const TfmModelInfo tfm_model;

int main(int argc, char **argv) {
  return tfm::rt::tfmMain(tfm_model, argc, argv, stdout, stderr);
}
