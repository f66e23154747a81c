// The one place that lists the binding entry points of icecore._core. Each bind_<area>.cpp
// defines one of these; module.cpp calls them in the order below, each on its own submodule.
#pragma once

#include <pybind11/pybind11.h>

namespace icecore::python {

namespace py = pybind11;

void bind_healpix(py::module_& m);          // _core.healpix   bind_healpix.cpp
void bind_direction_fitter(py::module_& m); // _core.scan      bind_fitter.cpp (base class first)
void bind_scan(py::module_& m);             // _core.scan      bind_scan.cpp
void bind_likelihood(py::module_& m);       // _core.likelihood bind_likelihood.cpp
void bind_ps(py::module_& m);               // _core.ps        bind_ps.cpp
void bind_radio(py::module_& m);            // _core.radio     bind_radio.cpp
void bind_lvk(py::module_& m);              // _core.lvk       bind_lvk.cpp

}  // namespace icecore::python
