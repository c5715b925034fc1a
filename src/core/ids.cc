#include "core/ids.h"

#include <unistd.h>

#include <array>
#include <cstdio>
#include <random>

namespace dw {

std::string NewUuid() {
  thread_local std::mt19937_64 rng{std::random_device{}() ^ (static_cast<unsigned long long>(std::random_device{}()) << 32)};
  std::array<unsigned char, 16> b;
  for (size_t i = 0; i < b.size(); i += 8) {
    unsigned long long v = rng();
    for (size_t k = 0; k < 8; ++k) b[i + k] = static_cast<unsigned char>(v >> (8 * k));
  }
  b[6] = static_cast<unsigned char>((b[6] & 0x0f) | 0x40);
  b[8] = static_cast<unsigned char>((b[8] & 0x3f) | 0x80);
  char out[37];
  std::snprintf(out, sizeof out, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
                b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
  return out;
}

std::string HostName() {
  char buf[256] = {0};
  if (gethostname(buf, sizeof buf - 1) != 0 || buf[0] == '\0') return "unknown";
  return buf;
}

}  // namespace dw
