// Reads PNG files (libpng) into RGBA pixels, for checking screenshots.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace dw::report::testing {

struct RgbaImage {
  int width = 0;
  int height = 0;
  std::vector<std::uint8_t> pixels;  // 4 bytes per pixel, row by row
};

// Decodes `path`; sets `error` and returns an empty image on failure.
RgbaImage ReadPng(const std::string& path, std::string* error);

}  // namespace dw::report::testing
