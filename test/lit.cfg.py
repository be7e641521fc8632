# -*- Python -*-
# lit configuration of tfmc's FileCheck tests.

import os
import platform

import lit.formats
from lit.llvm import llvm_config

config.name = "tfmc"
config.test_format = lit.formats.ShTest(not llvm_config.use_lit_shell)
config.suffixes = [".mlir", ".tfm", ".test"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.tfm_obj_root, "test")
# Folders with their own runners (gtest, Python) are not lit tests.
config.excludes = ["runtime", "reference", "fixtures", "embed", "CMakeLists.txt", "lit.cfg.py"]

llvm_config.with_system_environment(["HOME", "TMPDIR", "TFM_TEST_DATA"])
llvm_config.use_default_substitutions()

config.substitutions.append(("%tfmc", os.path.join(config.tfm_tools_dir, "tfmc")))
config.substitutions.append(("%tfm-opt", os.path.join(config.tfm_tools_dir, "tfm-opt")))
config.substitutions.append(("%tfm-inspect", os.path.join(config.tfm_tools_dir, "tfm-inspect")))
config.substitutions.append(("%python", "/usr/bin/python3"))
config.substitutions.append(("%shared", config.tfm_shared_dir))
config.substitutions.append(("%srcroot", config.tfm_src_root))
config.substitutions.append(("%tfm_libdir", os.path.join(config.tfm_obj_root, "lib")))
config.substitutions.append(("%tfm_build", config.tfm_obj_root))
# What a program linking libtfmrt needs besides it (a sanitizer runtime).
config.substitutions.append(("%tfm_link_flags", config.tfm_link_flags))
# Built with -DTFM_SANITIZE=ON: time and memory limits allow for the
# sanitizers' overhead.
sanitized = "-fsanitize" in config.tfm_link_flags
config.substitutions.append(("%sanitized", "1" if sanitized else "0"))
# Bounds the memory of the rest of a `sh -c` command line at about 4 GB:
# `ulimit -v`, except under ASan, whose shadow memory reserves terabytes of
# address space (it cannot start under that limit), so ASan's own RSS limit.
config.substitutions.append(
    ("%limit_4gb", 'export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}'
     'hard_rss_limit_mb=4000";' if sanitized else "ulimit -v 4000000;"))

llvm_config.with_environment("PATH", config.tfm_tools_dir, append_path=True)
llvm_config.with_environment("PATH", config.llvm_tools_dir, append_path=True)
tools = ["tfm-opt", "tfmc", "FileCheck", "not", "count"]
llvm_config.add_tool_substitutions(tools, [config.tfm_tools_dir, config.llvm_tools_dir])

# Tests that name CPUs of a particular target declare `REQUIRES: host-x86_64`.
config.available_features.add("host-" + platform.machine())

# Tests that read ../shared declare `REQUIRES: shared-data`.
if os.path.isdir(os.path.join(config.tfm_shared_dir, "models")):
    config.available_features.add("shared-data")

# Tests that run code built for an x86-64 level declare what the CPU must have
# (`REQUIRES: cpu-avx2`, `cpu-avx512f`).
try:
    with open("/proc/cpuinfo") as cpuinfo:
        flags = next((l.split(":", 1)[1].split() for l in cpuinfo if l.startswith("flags")), [])
    for flag in ("avx2", "avx512f"):
        if flag in flags:
            config.available_features.add("cpu-" + flag)
except OSError:
    pass
