"""The whole Casework system on one machine: the services as processes, and what runs over them.

This package sits above the library and the three services (the library never imports it; see
docs/adr/005-the-stack-above-the-library.md). It plugs `casework up`, `casework demo` and
`casework rebuild` into the library's `casework` console script.
"""
