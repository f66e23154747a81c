// The one extension module, icecore._core. Each area registers itself from its own
// bind_<area>.cpp; CMake generates registry.inc from those file names.
#include <pybind11/pybind11.h>

#include "registry.inc"

#ifndef ICECORE_VERSION_INFO
#define ICECORE_VERSION_INFO "dev"
#endif

PYBIND11_MODULE(_core, m) {
    m.doc() = "icecore compiled kernels (C++17). Use the Python API in icecore.* instead of "
              "calling these directly: the wrappers validate input and convert units.";
    m.attr("__version__") = ICECORE_VERSION_INFO;
    icecore::python::register_all(m);
}
