#include "report/png_image.h"

#include <png.h>

namespace dw::report::testing {

RgbaImage ReadPng(const std::string& path, std::string* error) {
  RgbaImage image;
  png_image png{};
  png.version = PNG_IMAGE_VERSION;
  if (!png_image_begin_read_from_file(&png, path.c_str())) {
    *error = png.message;
    return image;
  }
  png.format = PNG_FORMAT_RGBA;
  image.pixels.resize(PNG_IMAGE_SIZE(png));
  if (!png_image_finish_read(&png, nullptr, image.pixels.data(), 0, nullptr)) {
    *error = png.message;
    png_image_free(&png);
    return RgbaImage{};
  }
  image.width = static_cast<int>(png.width);
  image.height = static_cast<int>(png.height);
  return image;
}

}  // namespace dw::report::testing
