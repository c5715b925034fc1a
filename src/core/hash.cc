#include "core/hash.h"

#include <openssl/evp.h>
#include <openssl/sha.h>

namespace dw {

std::string Sha256Raw(std::string_view bytes) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(), digest);
  return std::string(reinterpret_cast<const char*>(digest), sizeof digest);
}

std::string HexEncode(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out.push_back(kDigits[c >> 4]);
    out.push_back(kDigits[c & 0xf]);
  }
  return out;
}

std::string Sha256Hex(std::string_view bytes) { return HexEncode(Sha256Raw(bytes)); }

std::string CanonicalJson(const nlohmann::json& value) {
  // nlohmann::json objects are std::map-backed, so dump() already sorts keys
  // by byte order; ensure_ascii=false keeps UTF-8 as-is; invalid UTF-8 is
  // replaced rather than throwing.
  return value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string ContentHash(const nlohmann::json& value) { return Sha256Hex(CanonicalJson(value)); }

}  // namespace dw
