// Invariant checks for the fuzz targets: a failed check prints what broke
// and aborts, which libFuzzer reports as a crash with the input saved.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string>

namespace dw::fuzz {

[[noreturn]] inline void Violated(const char* file, int line, const char* condition, const std::string& detail) {
  std::fprintf(stderr, "%s:%d: invariant violated: %s\n%s\n", file, line, condition, detail.c_str());
  std::abort();
}

}  // namespace dw::fuzz

// DW_FUZZ_CHECK(condition, detail): aborts with `detail` (a std::string
// expression, evaluated only on failure) when `condition` is false.
#define DW_FUZZ_CHECK(condition, detail)                                              \
  do {                                                                                \
    if (!(condition)) ::dw::fuzz::Violated(__FILE__, __LINE__, #condition, (detail)); \
  } while (0)
